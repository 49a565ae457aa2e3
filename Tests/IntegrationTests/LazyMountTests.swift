import CLinuxShims
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Lazy blobs through a real mount: `pull --lazy` from the real registry behind the fault
/// proxy, then reads that fetch on demand. What was fetched is counted by the proxy itself.
@Suite("lazy blobs through the mount", .serialized)
struct LazyMountTests {
    /// A lazily pulled image with a random layer of about 16 MiB, mounted.
    struct Lazy {
        var work: String
        var store: String
        var mnt: String
        var proxy: FaultProxy
        var reference: String
        /// The random layer: digest (hex), its bytes' file, and its path in the mount.
        var layer: String
        var layerFile: String
        var layerSize: Int
        var mountLog: String
        /// Blob GETs the lazy pull made (the config).
        var blobRequestsAfterPull: Int
        var blobPath: String { mnt + "/blobs/sha256/" + layer }
        var cacheFile: String { store + "/cache/sha256/" + layer }
    }

    static let layerMiB = 16

    /// Builds the image, pushes it, pulls it lazily through the proxy and mounts it with
    /// `mountOptions`; the proxy's `faults` apply from the mount on. Always unmounts.
    func withLazyMount(mountOptions: [String] = [], faults: [FaultProxy.Rule] = [], _ body: (Lazy) throws -> Void) throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "python3", "docker-registry")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            // Compressed (random bytes do not shrink): skopeo would compress a plain one on push.
            try Harness.runOK(["dd", "if=/dev/urandom", "of=\(work)/layer", "bs=1M", "count=\(Self.layerMiB)", "status=none"])
            try Harness.runOK(["gzip", "-1", work + "/layer"])
            let layerFile = work + "/layer.gz"
            let layerSize = try #require(try FileManager.default.attributesOfItem(atPath: layerFile)[.size] as? Int)
            try MaterializeTests.addLayer(layerFile, toLayoutAt: work + "/src", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/lazy:1")
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            let reference = "\(proxy.address)/team/lazy:1"
            let store = work + "/store"
            try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            let blobRequestsAfterPull = try proxy.fetchedRanges(matching: "/blobs/").count
            try proxy.setFaults(faults)
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount", reference, mnt] + mountOptions, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let log = try Harness.mountLog(mounted)
            let lazy = Lazy(
                work: work, store: store, mnt: mnt, proxy: proxy, reference: reference, layer: try Harness.sha256(ofFile: layerFile),
                layerFile: layerFile, layerSize: layerSize, mountLog: log,
                blobRequestsAfterPull: blobRequestsAfterPull)
            try body(lazy)
        }
    }

    static func state(_ path: String) throws -> String {
        try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.state", path]).stdout
    }

    /// SHA-256 (sha256sum's output) of `count` MiB at `skip` MiB of `path`, read with dd.
    static func windowDigest(_ path: String, skip: Int = 0, count: Int) throws -> String {
        try Harness.runOK(["sh", "-c", "dd if=\(path) bs=1M skip=\(skip) count=\(count) status=none | sha256sum"]).stdout
    }

    /// The proxy sent every byte of the layer exactly once: disjoint ranges summing to its size.
    static func expectFetchedOnce(_ lazy: Lazy, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ranges = try lazy.proxy.fetchedRanges(matching: lazy.layer)
        expectDisjoint(ranges, sourceLocation: sourceLocation)
        #expect(ranges.reduce(0) { $0 + $1.count } == lazy.layerSize, "each byte once: \(ranges)", sourceLocation: sourceLocation)
    }

    /// Ranges must never overlap: each byte fetched at most once.
    static func expectDisjoint(_ ranges: [Range<Int>], sourceLocation: SourceLocation = #_sourceLocation) {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            #expect(a.upperBound <= b.lowerBound, "ranges \(a) and \(b) overlap: \(sorted)", sourceLocation: sourceLocation)
        }
    }

    @Test(
        "pull --lazy + mount + skopeo inspect fetch no layer byte; a full read fetches each byte once, is byte-identical and commits the blob; skopeo copies the rest"
    )
    func lazyFlow() throws {
        try Harness.require("getfattr")
        try withLazyMount { lazy in
            #expect(try Self.state(lazy.blobPath) == "lazy 0/\(lazy.layerSize)")
            #expect(try Harness.runOK(["stat", "-c", "%s", lazy.blobPath]).stdout.hasPrefix("\(lazy.layerSize)"))
            try Harness.runOK(["skopeo", "inspect", "oci:\(lazy.mnt):1"])
            #expect(try lazy.proxy.fetchedRanges(matching: "/blobs/").count == lazy.blobRequestsAfterPull, "mount and inspect fetched no blob")

            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            try Self.expectFetchedOnce(lazy)
            #expect(try Self.state(lazy.blobPath).hasPrefix("local"), "local, or local (passthrough)")
            #expect(FileManager.default.fileExists(atPath: lazy.store + "/content/blobs/sha256/" + lazy.layer))
            try Harness.runOK(["cmp", lazy.layerFile, lazy.store + "/content/blobs/sha256/" + lazy.layer])
            // Cache entry files are gone once the blob is committed.
            #expect(!FileManager.default.fileExists(atPath: lazy.cacheFile + ".chunks"))

            // Every other blob, read by real tools: skopeo copies, oci-image-tool validates.
            try Harness.runOK(["skopeo", "copy", "oci:\(lazy.mnt):1", "oci:\(lazy.work)/copy:1"])
            for blob in try FileManager.default.contentsOfDirectory(atPath: lazy.work + "/copy/blobs/sha256") {
                try Harness.runOK(["cmp", lazy.work + "/copy/blobs/sha256/" + blob, lazy.work + "/src/blobs/sha256/" + blob])
            }
            let log = try String(contentsOfFile: lazy.mountLog, encoding: .utf8)
            #expect(log.contains("committed to the store"), "\(log)")
        }
    }

    @Test("16 readers of one uncached window cause one fetch per chunk, and all get the right bytes")
    func sixteenReaders() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            let window = 4..<8  // MiB
            var children: [Harness.Child] = []
            for reader in 0..<16 {
                // Each starts at another chunk of the window and wraps around it.
                let first = window.lowerBound + reader % window.count
                let order = Array(first..<window.upperBound) + Array(window.lowerBound..<first)
                let script = order.map { "dd if=\(lazy.blobPath) bs=1M skip=\($0) count=1 status=none" }.joined(separator: "; ")
                children.append(try Harness.spawn(["sh", "-c", "{ \(script); } | sha256sum"]))
            }
            var expected: [Int: String] = [:]
            for reader in 0..<16 {
                let first = window.lowerBound + reader % window.count
                let order = Array(first..<window.upperBound) + Array(window.lowerBound..<first)
                let script = order.map { "dd if=\(lazy.layerFile) bs=1M skip=\($0) count=1 status=none" }.joined(separator: "; ")
                expected[reader] = try Harness.runOK(["sh", "-c", "{ \(script); } | sha256sum"]).stdout
            }
            for (reader, child) in children.enumerated() {
                #expect(Harness.wait(child.pid) == 0)
                #expect(child.readOutput() == expected[reader], "reader \(reader): \(child.readError())")
            }
            let ranges = try lazy.proxy.fetchedRanges(matching: lazy.layer)
            Self.expectDisjoint(ranges)
            let fetched = ranges.reduce(0) { $0 + $1.count }
            // The window, plus at most the kernel's readahead past it (1 MiB).
            #expect(fetched >= window.count << 20 && fetched <= (window.count + 1) << 20, "\(ranges)")
        }
    }

    @Test("a stalled registry: every reader gets EIO within the deadline while ls -l and stat answer at once")
    func stalledRegistry() throws {
        try Harness.require("getfattr")
        try withLazyMount(mountOptions: ["--prefetch", "none", "--read-timeout", "2"]) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "stall")])
            var readers: [Harness.Child] = []
            for reader in 0..<4 {
                readers.append(try Harness.spawn(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "skip=\(reader * 3)", "count=1"]))
            }
            // Once the proxy holds a fetch, readers are waiting: the tree still answers.
            try Self.waitUntil("the proxy stalls a fetch") { try lazy.proxy.requests(matching: lazy.layer).contains { $0.fault == "stall" } }
            let listing = try Harness.runOK(["ls", "-l", lazy.mnt + "/blobs/sha256"]).stdout
            #expect(listing.contains(lazy.layer))
            try Harness.runOK(["stat", lazy.blobPath])
            #expect(try Self.state(lazy.blobPath).hasPrefix("fetching "))
            var stillWaiting = 0
            for reader in readers {
                var status: Int32 = 0
                if waitpid(reader.pid, &status, WNOHANG) == 0 { stillWaiting += 1 }
            }
            #expect(stillWaiting > 0, "ls and stat answered while readers waited")
            for reader in readers {
                #expect(Harness.wait(reader.pid) != 0)
                #expect(reader.readError().contains("Input/output error"), "\(reader.readError())")
            }
        }
    }

    @Test("SIGTERM while reads wait on a stalled registry: the daemon answers them, unmounts and exits; the reader fails at once")
    func shutdownAnswersParkedReads() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none", "--read-timeout", "120"]) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "stall")])
            let reader = try Harness.spawn(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "count=1"])
            try Self.waitUntil("the proxy stalls a fetch") { try lazy.proxy.requests(matching: lazy.layer).contains { $0.fault == "stall" } }
            let pid = try #require(MountTests.daemonPID(lazy.mnt))
            kill(pid, SIGTERM)
            #expect(Harness.wait(reader.pid) != 0)
            // The parked readahead got EIO; the kernel's own retry of the page then finds the
            // connection closing (ENOTCONN, or ECONNABORTED while it is aborted): either way the
            // reader fails at once instead of waiting out its deadline.
            let error = reader.readError()
            let failures = ["Input/output error", "Transport endpoint is not connected", "Software caused connection abort"]
            #expect(failures.contains { error.contains($0) }, "\(error)")
            try MountTests.waitForExit(pid)
            let log = try String(contentsOfFile: lazy.mountLog, encoding: .utf8)
            #expect(log.contains("waiting reads with EIO at shutdown"), "\(log)")
            #expect(MountTests.mountEntry(lazy.mnt) == nil)
        }
    }

    @Test("a flipped byte never reaches a sequential reader's EOF; the cache is dropped and a later read gets the right bytes")
    func flippedByte() throws {
        try withLazyMount(faults: []) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "flip-byte")])
            let read = try Harness.run(["sh", "-c", "cat \(lazy.blobPath) > \(lazy.work)/out"])
            #expect(!read.succeeded)
            #expect(read.stderr.contains("Input/output error"), "\(read.stderr)")
            let copied = (try FileManager.default.attributesOfItem(atPath: lazy.work + "/out")[.size] as? Int) ?? -1
            #expect(copied < lazy.layerSize, "the reader never got to EOF")
            let log = try String(contentsOfFile: lazy.mountLog, encoding: .utf8)
            #expect(log.contains("does not match its digest") && log.contains(lazy.layer) && log.contains(lazy.proxy.address), "\(log)")
            #expect(!FileManager.default.fileExists(atPath: lazy.store + "/content/blobs/sha256/" + lazy.layer))

            try lazy.proxy.setFaults([])
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
        }
    }

    @Test("a byte flipped once: the reader that may have seen it fails before EOF; a new reader gets the right bytes")
    func flippedOnce() throws {
        try withLazyMount { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "flip-byte", times: 1)])
            let read = try Harness.run(["sh", "-c", "cat \(lazy.blobPath) > \(lazy.work)/out"])
            #expect(!read.succeeded, "the reader opened before the corruption was found must not reach EOF")
            #expect(try Harness.sha256(ofFile: lazy.work + "/out") != lazy.layer)
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            try Harness.runOK(["cmp", lazy.layerFile, lazy.store + "/content/blobs/sha256/" + lazy.layer])
        }
    }

    @Test("bytes served unverified, then the blob committed by a full pull: a new open does not see the old pages")
    func committedElsewhere() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "flip-byte", times: 1)])
            _ = try Harness.run(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "skip=2", "count=1"])
            try lazy.proxy.setFaults([])
            try Harness.layoutfs(["pull", lazy.reference], store: lazy.store)
            #expect(try Self.state(lazy.blobPath).hasPrefix("local"), "local, or local (passthrough)")
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
        }
    }

    @Test("a registry that trickles bytes: the transfer is abandoned after the read timeout and the blob reads again once the registry behaves")
    func tricklingRegistry() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none", "--read-timeout", "2"]) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "trickle")])
            let stuck = try Harness.run(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "count=1"])
            #expect(!stuck.succeeded && stuck.stderr.contains("Input/output error"), "\(stuck.stderr)")
            try lazy.proxy.setFaults([])
            // The abandoned transfer released its chunks: a new read fetches them.
            let expected = try Self.windowDigest(lazy.layerFile, count: 1)
            try Self.waitUntil("the first chunk reads again") {
                try Harness.run(["sh", "-c", "dd if=\(lazy.blobPath) bs=1M count=1 status=none | sha256sum"]).stdout == expected
            }
            let log = try String(contentsOfFile: lazy.mountLog, encoding: .utf8)
            #expect(log.contains("stalled"), "\(log)")
        }
    }

    @Test("a symlink planted in the cache is never followed: the blob is served right and the target is untouched")
    func symlinkInCache() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            try Harness.runOK([Harness.binary, "unmount", lazy.mnt])
            let victim = lazy.work + "/victim"
            try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: lazy.store + "/cache/sha256", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: lazy.cacheFile, withDestinationPath: victim)
            try Harness.layoutfs(["mount", lazy.reference, lazy.mnt], store: lazy.store)
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: lazy.store + "/content/blobs/sha256/" + lazy.layer)) == nil)
        }
    }

    @Test("kill -9 of the daemon at 40% of a blob, remount, reread: no byte is fetched twice")
    func killedDaemonResumes() throws {
        try Harness.require("getfattr")
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            let firstMiB = Self.layerMiB * 4 / 10
            try Harness.runOK(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "count=\(firstMiB)", "status=none"])
            // Wait until every fetched chunk is durable (bits in the chunks file) and no fetch runs.
            try Self.waitUntil("fetched chunks are durable") {
                let fetched = try lazy.proxy.fetchedRanges(matching: lazy.layer).reduce(0) { $0 + $1.count }
                let state = try Self.state(lazy.blobPath)
                return state.hasPrefix("lazy ") && Self.durableBytes(lazy.cacheFile + ".chunks", size: lazy.layerSize) == fetched
            }
            let before = try lazy.proxy.fetchedRanges(matching: lazy.layer)
            #expect(before.reduce(0) { $0 + $1.count } >= firstMiB << 20)
            let pid = try #require(MountTests.daemonPID(lazy.mnt))
            kill(pid, SIGKILL)
            try MountTests.waitForExit(pid)
            try Harness.layoutfs(["mount", lazy.reference, lazy.mnt, "--prefetch", "none"], store: lazy.store)
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            try Self.expectFetchedOnce(lazy)
        }
    }

    @Test("an unmount right after a read keeps what was fetched: the remount reads it without fetching again")
    func unmountRightAfterRead() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            try Harness.runOK(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "count=2", "status=none"])
            let pid = try #require(MountTests.daemonPID(lazy.mnt))
            // At once: the batch is younger than the sync interval (100 ms). Without --root: the
            // command finds another store's daemon through the mount and waits for it.
            try Harness.runOK([Harness.binary, "unmount", lazy.mnt])
            #expect(MountTests.hasExited(pid), "unmount returned before the daemon \(pid) finished")
            let before = try lazy.proxy.fetchedRanges(matching: lazy.layer)
            // What was read is durable. A readahead fetch still under way at the unmount may
            // have been cancelled: it is counted by the proxy but never stored.
            let durable = Self.durableChunks(lazy.cacheFile + ".chunks", size: lazy.layerSize)
            #expect(durable.isSuperset(of: [0, 1]), "durable chunks \(durable.sorted()) of fetched \(before)")
            try Harness.layoutfs(["mount", lazy.reference, lazy.mnt, "--prefetch", "none"], store: lazy.store)
            #expect(try Self.windowDigest(lazy.blobPath, count: 2) == Self.windowDigest(lazy.layerFile, count: 2))
            let again = try lazy.proxy.fetchedRanges(matching: lazy.layer).dropFirst(before.count)
            for range in again {
                let chunks = Set(range.lowerBound >> 20...(range.upperBound - 1) >> 20)
                #expect(chunks.isDisjoint(with: durable), "the remount fetched \(range) again (durable chunks \(durable.sorted()))")
            }
        }
    }

    @Test("FUSE passthrough: a lazy blob committed under an open file reads through the daemon until that file closes; the next open is passthrough")
    func passthroughAfterCommit() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            let opens = { try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.passthrough_opens", lazy.mnt]).stdout }
            let first = try FileHandle(forReadingFrom: URL(fileURLWithPath: lazy.blobPath))
            let bytes = try first.readToEnd() ?? Data()
            try bytes.write(to: URL(fileURLWithPath: lazy.mnt + "/../read-lazily"))
            #expect(try Harness.sha256(ofFile: lazy.mnt + "/../read-lazily") == lazy.layer)
            try Self.waitUntil("the blob is committed") { try Self.state(lazy.blobPath).hasPrefix("local") }
            // Committed, but an open of the inode reads through the daemon: no mixed modes.
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            #expect(try opens() == "0")
            try first.close()
            // The kernel sends the release after close(2) returned: until the daemon has it, an
            // open still reads through the daemon (with the right bytes).
            try Self.waitUntil("an open after the last lazy one was released is passthrough") {
                try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer && opens() == "1"
            }
            #expect(try Self.state(lazy.blobPath) == "local (passthrough)")
        }
    }

    @Test("a 200 to a Range request (Range ignored) still serves the right bytes")
    func rangeIgnored() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "ignore-range")])
            #expect(try Self.windowDigest(lazy.blobPath, skip: 5, count: 2) == Self.windowDigest(lazy.layerFile, skip: 5, count: 2))
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            #expect(try lazy.proxy.requests(matching: lazy.layer).contains { $0.fault == "ignore-range" })
        }
    }

    @Test("--verify strict: the first read of a blob waits for the whole blob and its digest")
    func strictVerification() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none", "--verify", "strict"]) { lazy in
            #expect(try Self.windowDigest(lazy.blobPath, count: 1) == Self.windowDigest(lazy.layerFile, count: 1))
            try Self.expectFetchedOnce(lazy)
        }
    }

    @Test("a full disk under the cache: the blob is still served right, from memory, and the log says so")
    func fullCacheDisk() throws {
        try withLazyMount(mountOptions: ["--prefetch", "none"]) { lazy in
            // Remount with the cache directory on a 4 MiB tmpfs: writes fail after a few chunks.
            try Harness.runOK([Harness.binary, "unmount", lazy.mnt])
            try FileManager.default.createDirectory(atPath: lazy.store + "/cache", withIntermediateDirectories: true)
            try Harness.runOK(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", lazy.store + "/cache"])
            defer { _ = try? Harness.run(["umount", "-l", lazy.store + "/cache"]) }
            let mounted = try Harness.layoutfs(["mount", lazy.reference, lazy.mnt, "--prefetch", "none"], store: lazy.store)
            let log = try Harness.mountLog(mounted)
            #expect(try Harness.sha256(ofFile: lazy.blobPath) == lazy.layer)
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.contains("serving from memory"), "\(text)")
            try Harness.runOK([Harness.binary, "unmount", lazy.mnt])
        }
    }

    @Test("mount docker://REF pulls lazily first and serves the image")
    func dockerReference() throws {
        try withLazyMount { lazy in
            let other = lazy.work + "/mnt2"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount", "docker://" + lazy.reference, other], store: lazy.store + "2")
            defer { _ = try? Harness.run([Harness.binary, "unmount", other, "--lazy"]) }
            #expect(mounted.stdout.contains("pulled"), "\(mounted.stdout)")
            try Harness.runOK(["skopeo", "inspect", "oci:\(other):1"])
            #expect(try Harness.sha256(ofFile: other + "/blobs/sha256/" + lazy.layer) == lazy.layer)
        }
    }

    /// Bytes named durable by a chunks file (1 MiB chunks).
    static func durableBytes(_ path: String, size: Int) -> Int {
        durableChunks(path, size: size).reduce(0) { $0 + min(1 << 20, size - ($1 << 20)) }
    }

    /// The 1 MiB chunks whose bits are set in a `.chunks` file.
    static func durableChunks(_ path: String, size: Int) -> Set<Int> {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return Set((0..<(size + (1 << 20) - 1) >> 20).filter { $0 / 8 < data.count && data[$0 / 8] & (1 << ($0 % 8)) != 0 })
    }

    /// Polls an observable condition (bounded: 20 s); fails the test when it never holds.
    static func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        Issue.record("timed out waiting until \(what)")
        throw HarnessError("timed out waiting until \(what)")
    }
}
