import Containerd
import Foundation
import OCISpec
import Synchronization
import TestSupport
import Testing

/// The containerd client against a real containerd (Debian's 1.6, its own root and socket):
/// names, namespaces, the content root and Read, leases and image events.
@Suite("containerd client", .serialized)
struct ContainerdClientTests {
    /// A containerd holding `docker.io/demo/multi:1` (two platforms, all blobs) in `default`
    /// and `docker.io/demo/other:1` in namespace `other`.
    private static func filled(_ work: String) throws -> (ContainerdServer, BuiltIndex, BuiltImage) {
        let containerd = try ContainerdServer(directory: work + "/containerd")
        let layout = try ImageBuilder(path: work + "/multi")
        let built = try layout.addMultiPlatformImage(attestations: false)
        try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1", imageName: "docker.io/demo/multi:1")])
        try Harness.runOK(["tar", "-C", layout.path, "-cf", work + "/multi.tar", "oci-layout", "index.json", "blobs"])
        try containerd.ctr(["images", "import", "--all-platforms", "--no-unpack", work + "/multi.tar"])
        let other = try ImageBuilder(path: work + "/other")
        let image = try other.addImage()
        try other.writeIndex([ImageBuilder.entry(image.manifest, refName: "1", imageName: "docker.io/demo/other:1")])
        try Harness.runOK(["tar", "-C", other.path, "-cf", work + "/other.tar", "oci-layout", "index.json", "blobs"])
        try containerd.ctr(["images", "import", "--no-unpack", work + "/other.tar"], namespace: "other")
        return (containerd, built, image)
    }

    /// Threads of their own for the client's tasks: the test process's cooperative threads
    /// may all be blocked by other suites waiting on subprocesses (Harness), which would
    /// starve the client's connection.
    static let executor = ThreadTaskExecutor()

    /// `Harness.withWorkDirectoryAsync` with the client's tasks on ``executor``.
    private static func withWork(_ body: (String) async throws -> Void) async throws {
        try await withTaskExecutorPreference(executor) { try await Harness.withWorkDirectoryAsync(body) }
    }

    @Test("names, targets and namespaces come from containerd's API, each namespace apart")
    func namesAndNamespaces() async throws {
        try await Self.withWork { work in
            let (containerd, built, other) = try Self.filled(work)
            let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: Self.executor)
            let images = try await client.images()
            #expect(images.map(\.name) == ["docker.io/demo/multi:1"])
            #expect(images.first?.target.digest == built.index.digest)
            #expect(images.first?.target.size == built.index.size)
            #expect(try await client.image(named: "docker.io/demo/multi:1")?.target.digest == built.index.digest)
            #expect(try await client.image(named: "docker.io/demo/other:1") == nil)
            #expect(try await client.namespaces() == ["default", "other"])
            #expect(try await client.version().hasPrefix("1."))
            await client.close()

            let otherClient = try ContainerdClient(socket: containerd.socket, namespace: "other", executor: Self.executor)
            #expect(try await otherClient.images().map(\.target.digest) == [other.manifest.digest])
            await otherClient.close()
        }
    }

    @Test("the content root is containerd's own directory, and Read gives the same bytes at any offset")
    func contentRootAndRead() async throws {
        try await Self.withWork { work in
            let (containerd, built, _) = try Self.filled(work)
            let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: Self.executor)
            #expect(try await client.contentRoot() == containerd.contentDirectory)
            let layer = built.images[0].layers[0]
            let onDisk = try Array(Data(contentsOf: URL(fileURLWithPath: "\(containerd.contentDirectory)/blobs/sha256/\(layer.digest.encoded)")))
            #expect(try await client.read(layer.digest, offset: 0, count: onDisk.count + 10) == onDisk)
            #expect(try await client.read(layer.digest, offset: 7, count: 100) == Array(onDisk[7..<107]))
            #expect(try await client.contentInfo(layer.digest)?.size == Int64(onDisk.count))
            // Children recorded by containerd's import as GC references on the index.
            let labels = try #require(try await client.contentInfo(built.index.digest)).labels
            #expect(labels.keys.contains { $0.hasPrefix("containerd.io/gc.ref.content") }, "\(labels)")
            let absent = try Digest(parsing: "sha256:" + String(repeating: "0", count: 64))
            #expect(try await client.contentInfo(absent) == nil)
            let missing = await #expect(throws: ContainerdError.self) { _ = try await client.read(absent, offset: 0, count: 1) }
            #expect(missing?.code == .notFound)
            #expect(Set(try await client.contentList().map(\.digest)).isSuperset(of: built.blobs.map(\.digest)))
            await client.close()
        }
    }

    @Test(
        "a Read or a List of a stopped containerd fails once it has sent nothing for the call deadline (it waited forever: export through the API hung), and works again once containerd goes on",
        .timeLimit(.minutes(1)))
    func stoppedContainerdStreams() async throws {
        try await Self.withWork { work in
            let (containerd, built, _) = try Self.filled(work)
            let client = try ContainerdClient(socket: containerd.socket, namespace: "default", callTimeout: .seconds(2), executor: Self.executor)
            let layer = built.images[0].layers[0]
            #expect(try await client.read(layer.digest, offset: 0, count: 1).count == 1)
            containerd.pause()
            defer { containerd.resume() }
            let started = ContinuousClock.now
            let read = await #expect(throws: ContainerdError.self) { _ = try await client.read(layer.digest) { _ in } }
            #expect(read?.code == .timeout, "\(String(describing: read))")
            #expect(read?.description.contains("sent nothing for 2") == true, "\(String(describing: read))")
            let list = await #expect(throws: ContainerdError.self) { _ = try await client.contentList() }
            #expect(list?.code == .timeout, "\(String(describing: list))")
            #expect(ContinuousClock.now - started < .seconds(20))
            containerd.resume()
            #expect(try await client.read(layer.digest, offset: 0, count: 1).count == 1)
            await client.close()
        }
    }

    @Test("a lease holds blobs: ctr lists it, and a blob whose image is removed stays until the lease is deleted")
    func leaseHoldsContent() async throws {
        try await Self.withWork { work in
            let (containerd, _, other) = try Self.filled(work)
            let client = try ContainerdClient(socket: containerd.socket, namespace: "other", executor: Self.executor)
            _ = try await client.createLease(id: "layoutfs-test", labels: ["layoutfs.mount": "/mnt/x"])
            try await client.addContent(other.blobs.map(\.digest), toLease: "layoutfs-test")
            #expect(Set(try await client.leasedContent("layoutfs-test")) == Set(other.blobs.map(\.digest.description)))
            #expect(try containerd.ctr(["leases", "ls"], namespace: "other").stdout.contains("layoutfs-test"))
            let taken = await #expect(throws: ContainerdError.self) { _ = try await client.createLease(id: "layoutfs-test", labels: [:]) }
            #expect(taken?.code == .alreadyExists)

            try containerd.ctr(["images", "rm", "--sync", "docker.io/demo/other:1"], namespace: "other")
            let path = "\(containerd.contentDirectory)/blobs/sha256/\(other.layers[0].digest.encoded)"
            #expect(FileManager.default.fileExists(atPath: path), "the lease did not hold the layer")
            try await client.deleteLease(id: "layoutfs-test", sync: true)
            #expect(!FileManager.default.fileExists(atPath: path), "garbage collection left the layer after the lease went")
            try await client.deleteLease(id: "layoutfs-test")  // already gone: not an error
            await client.close()
        }
    }

    @Test("image events: a tag, a forced retag (ctr 1.6: delete, then create) and a removal in the namespace, in order; other namespaces' are not seen")
    func imageEvents() async throws {
        try await Self.withWork { work in
            let (containerd, _, _) = try Self.filled(work)
            let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: Self.executor)
            let seen = Mutex<[ContainerdImageEvent]>([])
            let (subscribed, subscription) = AsyncStream.makeStream(of: Void.self)
            let (arrived, arrival) = AsyncStream.makeStream(of: Void.self)
            let follower = Task {
                try await client.followImages(subscribed: { subscription.yield() }) { event in
                    seen.withLock { $0.append(event) }
                    arrival.yield()
                }
            }
            // Until the first event: a tag in another namespace (never seen) then in this one.
            var waiting = subscribed.makeAsyncIterator()
            _ = await waiting.next()
            try containerd.ctr(["images", "tag", "docker.io/demo/other:1", "docker.io/demo/other:2"], namespace: "other")
            try containerd.ctr(["images", "tag", "docker.io/demo/multi:1", "docker.io/demo/multi:2"])
            try containerd.ctr(["images", "tag", "--force", "docker.io/demo/multi:1", "docker.io/demo/multi:2"])
            try containerd.ctr(["images", "rm", "docker.io/demo/multi:2"])
            var arrivals = arrived.makeAsyncIterator()
            for _ in 0..<4 { _ = await arrivals.next() }
            follower.cancel()
            _ = try? await follower.value
            #expect(
                seen.withLock { $0 } == [.create, .delete, .create, .delete].map { ContainerdImageEvent(kind: $0, name: "docker.io/demo/multi:2") })
            await client.close()
        }
    }

    @Test("close() with an event subscription nobody cancels: the calls in flight are cancelled after the grace, and the subscription ends with an error")
    func closeBoundedByGrace() async throws {
        try await Self.withWork { work in
            let (containerd, _, _) = try Self.filled(work)
            let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: Self.executor)
            let (subscribed, subscription) = AsyncStream.makeStream(of: Void.self)
            let follower = Task {
                try await client.followImages(subscribed: { subscription.yield() }) { _ in }
            }
            var waiting = subscribed.makeAsyncIterator()
            _ = await waiting.next()
            // A graceful close alone waits for the stream, which containerd never ends.
            let closed = Task { await client.close(grace: .milliseconds(200)) }
            let outcome = await withTaskGroup(of: String.self) { group in
                group.addTask {
                    await closed.value
                    return "closed"
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(30))
                    return "still open after 30 s"
                }
                defer { group.cancelAll() }
                return await group.next() ?? ""
            }
            #expect(outcome == "closed")
            if outcome != "closed" { follower.cancel() }
            let result = await follower.result
            #expect(throws: ContainerdError.self) { try result.get() }
        }
    }

    @Test("no socket, a socket nothing listens on, a file that is not a socket and a bad namespace are clear errors")
    func connectionErrors() throws {
        try Harness.withWorkDirectory { work in
            let none = #expect(throws: ContainerdError.self) { _ = try ContainerdClient(socket: work + "/none.sock", namespace: "default") }
            #expect(none?.code == .noSocket)
            #expect(none?.description.contains("no containerd socket at \(work)/none.sock") == true, "\(String(describing: none))")
            #expect(none?.description.contains("--containerd") == true)
            FileManager.default.createFile(atPath: work + "/file", contents: Data())
            let file = #expect(throws: ContainerdError.self) { _ = try ContainerdClient(socket: work + "/file", namespace: "default") }
            #expect(file?.code == .unavailable || file?.code == .noSocket, "\(String(describing: file))")
            // Linux refuses a connect to a file or a directory (ECONNREFUSED): the error says
            // what is there, not that containerd is not running.
            #expect(file?.description.contains("\(work)/file is a regular file, not a socket") == true, "\(String(describing: file))")
            try FileManager.default.createDirectory(atPath: work + "/directory", withIntermediateDirectories: false)
            let directory = #expect(throws: ContainerdError.self) { _ = try ContainerdClient(socket: work + "/directory", namespace: "default") }
            #expect(directory?.code == .noSocket)
            #expect(directory?.description.contains("\(work)/directory is a directory, not a socket") == true, "\(String(describing: directory))")
            let bad = #expect(throws: ContainerdError.self) { _ = try ContainerdClient(socket: work + "/none.sock", namespace: "a/b") }
            #expect(bad?.code == .invalidArgument)
            #expect(ContainerdSocket.path(explicit: nil, environment: ["CONTAINERD_ADDRESS": "unix:///x/c.sock"]) == "/x/c.sock")
            #expect(ContainerdSocket.path(explicit: nil, environment: [:]) == "/run/containerd/containerd.sock")
            #expect(ContainerdSocket.path(explicit: "/y.sock", environment: ["CONTAINERD_ADDRESS": "/x/c.sock"]) == "/y.sock")
        }
    }
}
