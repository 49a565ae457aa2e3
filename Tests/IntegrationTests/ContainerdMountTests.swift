import Containerd
import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Images served straight from a real containerd (`--containerd`): by containerd's names, its
/// blobs read from its content directory, held by a containerd lease (issue 14).
@Suite("containerd images by name", .serialized)
struct ContainerdMountTests {
    /// A containerd holding the demo image as docker.io/demo/busybox:1.35 in `default`, and a
    /// second image docker.io/demo/other:1 in namespace `other`.
    private static func filled(_ work: String) throws -> ContainerdServer {
        let containerd = try ContainerdServer(directory: work + "/containerd")
        try Harness.makeDemoImage(at: work + "/src")
        try Harness.runOK(["skopeo", "copy", "oci:\(work)/src:1.35", "oci-archive:\(work)/image.tar:docker.io/demo/busybox:1.35"])
        try containerd.ctr(["images", "import", work + "/image.tar"])
        try containerd.importBuilt(work + "/other", name: "docker.io/demo/other:1", namespace: "other")
        return containerd
    }

    /// A second image in `default`, docker.io/demo/next:2, to move a name onto.
    private static func importNext(_ containerd: ContainerdServer, _ work: String) throws -> BuiltImage {
        try containerd.importBuilt(work + "/next", name: "docker.io/demo/next:2")
    }

    /// Runs containerd's garbage collection now: a lease deleted with --sync collects.
    private static func collectGarbage(_ containerd: ContainerdServer, namespace: String = "default") throws {
        try containerd.ctr(["leases", "create", "--id", "gc-trigger"], namespace: namespace)
        try containerd.ctr(["leases", "delete", "--sync", "gc-trigger"], namespace: namespace)
    }

    private static func blobs(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/blobs/sha256").sorted()
    }

    @Test(
        "a containerd image mounts by its short name (and a bare --containerd finds the socket in $CONTAINERD_ADDRESS), passes skopeo, umoci and oci-image-tool, and its lease keeps every blob through ctr images rm --sync until unmount"
    )
    func mountByName() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "umoci", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            let content = containerd.contentDirectory
            let listing = try Harness.layoutfs(["images", "--containerd", containerd.socket], store: store).stdout
            #expect(listing.contains("docker.io/demo/busybox:1.35") && !listing.contains("demo/other"), "\(listing)")
            #expect(listing.contains("linux/amd64"), "\(listing)")
            // A bare --containerd: the socket from $CONTAINERD_ADDRESS (ctr's variable), and
            // the image name after it is not taken for the socket.
            let bare = try Harness.run(
                [Harness.binary, "export", "--containerd", "demo/busybox:1.35", "--materialize", work + "/bare"],
                environment: ["LAYOUTFS_ROOT": store, "CONTAINERD_ADDRESS": "unix://" + containerd.socket])
            #expect(bare.status == 0, "\(bare.stderr)")
            let others = try Harness.layoutfs(["images", "--containerd=\(containerd.socket)", "--namespace", "other"], store: store).stdout
            #expect(others.contains("docker.io/demo/other:1") && !others.contains("busybox"), "\(others)")

            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            try Harness.runOK(["skopeo", "inspect", "oci:\(mnt):1.35"])
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", mnt])
            try Harness.runOK(["umoci", "unpack", "--image", "\(mnt):1.35", work + "/bundle"])
            let shown = try Self.blobs(mnt)
            #expect(shown.count == 4)
            // Nothing copied into the store.
            #expect(try Self.blobs(store + "/content").isEmpty)

            let status = try Harness.layoutfs(["status", "--json"], store: store).stdout
            let lease = try #require(
                (try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [[String: Any]])?.first?["containerdLease"] as? String, "\(status)")
            let leases = try containerd.ctr(["leases", "ls"]).stdout
            #expect(leases.contains(lease) && leases.contains("containerd.io/gc.expire") && leases.contains("layoutfs.mountpoint=\(mnt)"), "\(leases)")
            #expect(status.contains("\"containerdNamespace\" : \"default\"") || status.contains("\"containerdNamespace\":\"default\""), "\(status)")
            let table = try Harness.layoutfs(["status"], store: store).stdout
            #expect(table.contains("(containerd lease \(lease) in namespace default)"), "\(table)")

            // Removed in containerd and collected: every blob stays, byte for byte.
            try containerd.ctr(["images", "rm", "--sync", "docker.io/demo/busybox:1.35"])
            try Self.collectGarbage(containerd)
            #expect(try Self.blobs(content).count >= shown.count)
            for blob in shown {
                #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob)") == blob)
            }
            try Harness.layoutfs(["unmount", mnt], store: store)
            #expect(!(try containerd.ctr(["leases", "ls"]).stdout.contains(lease)))
            try Self.collectGarbage(containerd)
            for blob in shown { #expect(!FileManager.default.fileExists(atPath: "\(content)/blobs/sha256/\(blob)"), "\(blob) outlived the lease") }
        }
    }

    @Test("export --containerd --materialize writes a layout skopeo and oci-image-tool read, by digest prefix too; its lease is gone afterwards")
    func exportMaterialize() throws {
        try Harness.require("skopeo", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            try Harness.layoutfs(["export", "--containerd", containerd.socket, "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            let digest = try Harness.runOK(["skopeo", "inspect", "--format", "{{.Digest}}", "oci:\(work)/out:1.35"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let prefix = String(digest.dropFirst("sha256:".count).prefix(12))
            try Harness.layoutfs(
                ["export", "--containerd", containerd.socket, prefix, "--name", "demo/copy:1", "--materialize", work + "/out2"], store: store)
            #expect(try String(contentsOfFile: work + "/out2/index.json", encoding: .utf8).contains(digest))
            #expect(try Self.blobs(work + "/out2") == Self.blobs(work + "/out"))
            #expect(!(try containerd.ctr(["leases", "ls"]).stdout.contains("layoutfs-export")))
        }
    }

    @Test(
        "a name moved in containerd (ctr images tag --force) onto an image imported after the mount started shows a new index.json generation, held by the lease",
        arguments: ["directory", "api"])
    func retagUnderMount(_ access: String) throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.run(
                [Harness.binary, "mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt],
                environment: ["LAYOUTFS_ROOT": store, "LAYOUTFS_CONTAINERD_READ": access == "api" ? "api" : ""])
            #expect(mounted.status == 0, "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let next = try Self.importNext(containerd, work)
            let before = try String(contentsOfFile: mnt + "/index.json", encoding: .utf8)
            #expect(!before.contains(next.manifest.digest.description))
            try containerd.ctr(["images", "tag", "--force", "docker.io/demo/next:2", "docker.io/demo/busybox:1.35"])
            try LazyMountTests.waitUntil("index.json shows the moved name") {
                (try? String(contentsOfFile: mnt + "/index.json", encoding: .utf8))?.contains(next.manifest.digest.description) == true
            }
            // Both names gone and collected: the new generation's blobs are held by the lease.
            try containerd.ctr(["images", "rm", "--sync", "docker.io/demo/next:2", "docker.io/demo/busybox:1.35"])
            try Self.collectGarbage(containerd)
            for blob in next.blobs {
                #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob.digest.encoded)") == blob.digest.encoded)
            }
        }
    }

    @Test(
        "containerd killed and restarted under a mount: reads go on, the log says so, the lease is renewed again at once, and a retag after the restart is followed"
    )
    func containerdRestart() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let next = try Self.importNext(containerd, work)
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            // A 3 s lease, renewed every second.
            let mounted = try Harness.run(
                [Harness.binary, "mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt, "--log-level", "info", "--root", store],
                environment: ["LAYOUTFS_CONTAINERD_LEASE_SECONDS": "3"])
            #expect(mounted.status == 0, "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let log = try Harness.mountLog(mounted)
            let shown = try Self.blobs(mnt)

            containerd.kill9()
            for blob in shown { #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob)") == blob) }
            try LazyMountTests.waitUntil("the log says the events were lost") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("lost containerd's image events") == true
            }
            try LazyMountTests.waitUntil("the log says the lease cannot be renewed") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("cannot renew the containerd lease") == true
            }
            try containerd.restart()
            try LazyMountTests.waitUntil("the log says the names are followed again") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("following containerd's names again") == true
            }
            try LazyMountTests.waitUntil("the log says the lease is renewed again") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("renewed the containerd lease again") == true
            }
            let renewed =
                try #require(
                    try JSONSerialization.jsonObject(with: Data(Harness.layoutfs(["status", "--json"], store: store).stdout.utf8)) as? [[String: Any]]
                ).first?["containerdLease"] as? String
            // Renewed every second, the id's last part moves on: the daemon's prefix is listed.
            let prefix = try #require(renewed?.split(separator: "-").dropLast().joined(separator: "-"))
            #expect(try containerd.ctr(["leases", "ls"]).stdout.contains(prefix + "-"))
            try containerd.ctr(["images", "tag", "--force", "docker.io/demo/next:2", "docker.io/demo/busybox:1.35"])
            try LazyMountTests.waitUntil("index.json shows the moved name") {
                (try? String(contentsOfFile: mnt + "/index.json", encoding: .utf8))?.contains(next.manifest.digest.description) == true
            }
        }
    }

    @Test(
        "a one-platform ctr images pull of a multi-platform index: the absent platform is fetched lazily from the registry, verified, into layoutfs's store only"
    )
    func absentPlatformFetchedLazily() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            let registry = try RegistryServer(directory: work + "/registry")
            let layout = try ImageBuilder(path: work + "/multi")
            let built = try layout.addMultiPlatformImage(attestations: false)
            try registry.pushRaw(layout: layout.path, manifest: built.index, children: built.images.map(\.manifest), tag: "1", to: "demo/multi")
            let name = "\(registry.address)/demo/multi:1"
            try containerd.ctr(["images", "pull", "--plain-http", "--platform", "linux/amd64", name])
            let arm64 = built.images[1]
            let content = containerd.contentDirectory
            #expect(!FileManager.default.fileExists(atPath: "\(content)/blobs/sha256/\(arm64.manifest.digest.encoded)"))
            let before = try Self.blobs(content)

            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            // The platform containerd has, chosen: nothing to fetch, no registry asked.
            let amd64 = try Harness.layoutfs(["mount", "--containerd", containerd.socket, "--platform", "linux/amd64", name, mnt], store: store)
            #expect(!amd64.stderr.contains("fetched"), "\(amd64.stderr)")
            #expect(try Self.blobs(mnt).count == built.images[0].blobs.count)
            #expect(try Self.blobs(store + "/content").isEmpty)
            try Harness.layoutfs(["unmount", mnt], store: store)
            let mounted = try Harness.layoutfs(["mount", "--containerd", containerd.socket, name, mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            #expect(mounted.stderr.contains("fetched what containerd lacks of \(name) from \(registry.address)/demo/multi"), "\(mounted.stderr)")
            // Every blob of both platforms reads byte for byte; arm64's layers came from the registry.
            for blob in built.blobs {
                #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob.digest.encoded)") == blob.digest.encoded)
            }
            #expect(FileManager.default.fileExists(atPath: "\(store)/content/blobs/sha256/\(arm64.layers[0].digest.encoded)"))
            // Nothing was written into containerd's store.
            #expect(try Self.blobs(content) == before)
            // With the registry gone, the error says why it was asked.
            registry.stop()
            let failed = try Harness.layoutfs(
                ["export", "--containerd", containerd.socket, name, "--materialize", work + "/out"], store: work + "/store2", expectSuccess: false)
            #expect(failed.status != 0)
            #expect(
                failed.stderr.contains("containerd lacks part of \(name)") && failed.stderr.contains("\(registry.address)/demo/multi failed"),
                "\(failed.stderr)")
        }
    }

    @Test(
        "through containerd's Read call (its content directory not read): a mount reads layers remotely, byte for byte, and passes umoci; an export copies them"
    )
    func readThroughAPI() throws {
        try Harness.requireFUSE()
        try Harness.require("umoci", "oci-image-tool", "getfattr")
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            let environment = ["LAYOUTFS_ROOT": store, "LAYOUTFS_CONTAINERD_READ": "api"]
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.run([Harness.binary, "mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt], environment: environment)
            #expect(mounted.status == 0, "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let shown = try Self.blobs(mnt)
            #expect(shown.count == 4)
            var states: [String] = []
            for blob in shown {
                states.append(try Harness.runOK(["getfattr", "-n", "user.layoutfs.state", "--only-values", "\(mnt)/blobs/sha256/\(blob)"]).stdout)
            }
            // Two layers remote; the manifest and config copied into the store.
            #expect(states.filter { $0 == "remote" }.count == 2, "\(states)")
            #expect(try Self.blobs(store + "/content").count == 2)
            try containerd.ctr(["images", "rm", "--sync", "docker.io/demo/busybox:1.35"])
            for blob in shown { #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob)") == blob) }
            try Harness.runOK(["umoci", "unpack", "--image", "\(mnt):1.35", work + "/bundle"])
            try Harness.layoutfs(["unmount", mnt], store: store)

            try containerd.ctr(["images", "import", work + "/image.tar"])
            let exported = try Harness.run(
                [Harness.binary, "export", "--containerd", containerd.socket, "demo/busybox:1.35", "--materialize", work + "/out"], environment: environment)
            #expect(exported.status == 0, "\(exported.stderr)")
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            #expect(try Self.blobs(work + "/out") == shown)
        }
    }

    @Test(
        "a name moved onto an index containerd pulled one platform of: the new generation fetches the other platform lazily from the registry (the port from the pulled name)"
    )
    func absentPlatformInLaterGeneration() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let registry = try RegistryServer(directory: work + "/registry")
            let layout = try ImageBuilder(path: work + "/multi")
            let built = try layout.addMultiPlatformImage(attestations: false)
            try registry.pushRaw(layout: layout.path, manifest: built.index, children: built.images.map(\.manifest), tag: "1", to: "demo/multi")
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt, "--log-level", "info"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let pulled = "\(registry.address)/demo/multi:1"
            try containerd.ctr(["images", "pull", "--plain-http", "--platform", "linux/amd64", pulled])
            #expect(!FileManager.default.fileExists(atPath: "\(containerd.contentDirectory)/blobs/sha256/\(built.images[1].manifest.digest.encoded)"))
            try containerd.ctr(["images", "tag", "--force", pulled, "docker.io/demo/busybox:1.35"])
            try LazyMountTests.waitUntil("index.json shows the moved name") {
                (try? String(contentsOfFile: mnt + "/index.json", encoding: .utf8))?.contains(built.index.digest.description) == true
            }
            for blob in built.blobs {
                #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob.digest.encoded)") == blob.digest.encoded)
            }
            let log = try String(contentsOfFile: try Harness.mountLog(mounted), encoding: .utf8)
            #expect(log.contains("fetched what containerd lacks of docker.io/demo/busybox:1.35 from \(registry.address)/demo/multi"), "\(log)")
            #expect(FileManager.default.fileExists(atPath: "\(store)/content/blobs/sha256/\(built.images[1].layers[0].digest.encoded)"))
        }
    }

    @Test("a manifest without containerd's gc.ref labels: the lease names its layers itself, and they outlive ctr images rm --sync")
    func unlabelledManifest() async throws {
        try Harness.requireFUSE()
        try await withTaskExecutorPreference(ContainerdClientTests.executor) {
            try await Harness.withWorkDirectoryAsync { work in
                let containerd = try ContainerdServer(directory: work + "/containerd")
                let image = try containerd.importBuilt(work + "/plain", name: "docker.io/demo/plain:1")
                // As a builder that writes no gc.ref labels leaves it: its own lease holds the blobs
                // (an empty value removes a label; without a lease the collector takes them).
                let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: ContainerdClientTests.executor)
                _ = try await client.createLease(id: "builder", labels: [:])
                try await client.addContent(image.blobs.map(\.digest), toLease: "builder")
                let keys = (try await client.contentInfo(image.manifest.digest))?.labels.keys.filter { $0.hasPrefix("containerd.io/gc.ref.content") } ?? []
                #expect(!keys.isEmpty)
                try containerd.ctr(["content", "label", image.manifest.digest.description] + keys.map { $0 + "=" })
                #expect((try await client.contentInfo(image.manifest.digest))?.labels.keys.contains { $0.hasPrefix("containerd.io/gc.ref") } == false)

                let store = work + "/store"
                let mnt = work + "/mnt"
                try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
                try Harness.layoutfs(["mount", "--containerd", containerd.socket, "demo/plain:1", mnt], store: store)
                defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
                let status = try Harness.layoutfs(["status", "--json"], store: store).stdout
                let lease = try #require(
                    (try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [[String: Any]])?.first?["containerdLease"] as? String, "\(status)")
                // The layers are named in the background, right after the mount is ready.
                let every = Set(image.blobs.map(\.digest.description))
                let deadline = ContinuousClock.now + .seconds(30)
                while !Set(try await client.leasedContent(lease)).isSuperset(of: every), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(Set(try await client.leasedContent(lease)).isSuperset(of: every))
                try await client.deleteLease(id: "builder")
                await client.close()
                try containerd.ctr(["images", "rm", "--sync", "docker.io/demo/plain:1"])
                try Self.collectGarbage(containerd)
                for blob in image.blobs {
                    #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob.digest.encoded)") == blob.digest.encoded)
                }
            }
        }
    }

    @Test("a manifest with containerd's gc.ref labels: the lease names the manifest and config, the layers are held through the labels")
    func labelledManifest() async throws {
        try Harness.requireFUSE()
        try await withTaskExecutorPreference(ContainerdClientTests.executor) {
            try await Harness.withWorkDirectoryAsync { work in
                let containerd = try Self.filled(work)
                let store = work + "/store"
                let mnt = work + "/mnt"
                try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
                let mounted = try Harness.layoutfs(
                    ["mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt, "--log-level", "info"], store: store)
                defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
                let status = try Harness.layoutfs(["status", "--json"], store: store).stdout
                let lease = try #require(
                    (try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [[String: Any]])?.first?["containerdLease"] as? String, "\(status)")
                // The documents shown: the manifest index.json names and its config.
                let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mnt + "/index.json"))) as? [String: Any]
                let manifest = try #require((index?["manifests"] as? [[String: Any]])?.first?["digest"] as? String)
                let body =
                    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(mnt)/blobs/sha256/\(manifest.dropFirst(7))")))
                    as? [String: Any]
                let config = try #require((body?["config"] as? [String: Any])?["digest"] as? String)
                let shown = try Self.blobs(mnt).count
                let log = try Harness.mountLog(mounted)
                try LazyMountTests.waitUntil("the log says how the blobs are held") {
                    (try? String(contentsOfFile: log, encoding: .utf8))?.contains(
                        "holds \(shown) blobs: 2 named, \(shown - 2) through containerd's gc.ref labels") == true
                }
                let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: ContainerdClientTests.executor)
                #expect(Set(try await client.leasedContent(lease)) == [manifest, config])
                await client.close()
            }
        }
    }

    @Test(
        "containerd stalled, then killed, in the middle of an export through its Read call: the export fails naming containerd's socket, DIR is never created, the store keeps no partial blob"
    )
    func containerdDiesMidExport() throws {
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            // Large enough that the copy through the Read call is still under way when the lease
            // is seen (about a third of a second in a release build, more in a debug one).
            let image = try containerd.importBuilt(work + "/big", name: "docker.io/demo/big:1", layers: [[UInt8](repeating: 0x5a, count: 96 << 20)])
            let store = work + "/store"
            let out = work + "/out"
            let export = try Harness.spawn(
                [Harness.binary, "export", "--containerd", containerd.socket, "demo/big:1", "--materialize", out],
                environment: ["LAYOUTFS_ROOT": store, "LAYOUTFS_CONTAINERD_READ": "api"])
            // The export's lease exists once it planned; the copy of the layer follows.
            try LazyMountTests.waitUntil("the export holds its lease") {
                try containerd.ctr(["leases", "ls"]).stdout.contains("layoutfs-export")
            }
            containerd.pause()
            var status: Int32 = 0
            #expect(waitpid(export.pid, &status, WNOHANG) == 0, "the export ended before containerd stopped: \(export.readError())")
            containerd.kill9()
            #expect(Harness.wait(export.pid) != 0)
            let said = export.readError()
            #expect(said.contains("containerd") && said.contains(containerd.socket), "\(said)")
            #expect(!FileManager.default.fileExists(atPath: out))
            // Nothing half-copied stays in the store.
            #expect(!FileManager.default.fileExists(atPath: "\(store)/content/blobs/sha256/\(image.layers[0].digest.encoded)"))
            let ingests = (try? FileManager.default.contentsOfDirectory(atPath: store + "/content/ingest")) ?? []
            #expect(ingests.isEmpty, "\(ingests)")
        }
    }

    @Test(
        "a mount command interrupted (SIGINT) before the mount is ready leaves no mount: the daemon, held up by a stopped containerd, unmounts itself when its ready line finds no reader, and deletes its lease"
    )
    func interruptedBeforeReady() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            // containerd stopped: the daemon waits in its first call, before it can be ready.
            containerd.pause()
            let command = try Harness.spawn([Harness.binary, "mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt, "--root", store])
            var daemon: pid_t = 0
            try LazyMountTests.waitUntil("the daemon has started") {
                daemon = Self.daemon(of: mnt) ?? 0
                return daemon != 0
            }
            kill(command.pid, SIGINT)
            #expect(Harness.wait(command.pid) != 0)
            containerd.resume()
            try LazyMountTests.waitUntil("the daemon has ended") { kill(daemon, 0) != 0 }
            #expect(MountRaceTests.stacked(mnt) == 0)
            let logs = try FileManager.default.contentsOfDirectory(atPath: store + "/logs")
            let log = try logs.map { try String(contentsOfFile: store + "/logs/" + $0, encoding: .utf8) }.joined()
            #expect(log.contains("the mount command ended before the mount was ready"), "\(log)")
            #expect(!(try containerd.ctr(["leases", "ls"]).stdout.contains("layoutfs-mount-\(daemon)")))
            #expect(try Harness.layoutfs(["status"], store: store).stdout.contains("no running mounts"))
        }
    }

    /// The pid of the mount daemon started for `mountpoint` (its command line ends in
    /// `--request-fd N` and names the mountpoint), from /proc.
    private static func daemon(of mountpoint: String) -> pid_t? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.contains("--request-fd"), arguments.contains(mountpoint) { return pid }
        }
        return nil
    }

    @Test("a killed daemon's containerd lease lapses by itself")
    func killedDaemonLeaseLapses() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.run(
                [Harness.binary, "mount", "--containerd", containerd.socket, "demo/busybox:1.35", mnt],
                environment: ["LAYOUTFS_ROOT": store, "LAYOUTFS_CONTAINERD_LEASE_SECONDS": "3"])
            #expect(mounted.status == 0, "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let shown = try Self.blobs(mnt)
            let pid = try #require(MountTests.daemonPID(mnt))
            kill(pid, SIGKILL)
            _ = Harness.wait(pid)
            #expect(try containerd.ctr(["leases", "ls"]).stdout.contains("layoutfs-mount-\(pid)"))
            try containerd.ctr(["images", "rm", "docker.io/demo/busybox:1.35"])
            // Past the expiry (3 s), containerd's collection drops the lease and the blobs.
            try LazyMountTests.waitUntil("the lease lapsed") {
                try Self.collectGarbage(containerd)
                return !(try containerd.ctr(["leases", "ls"]).stdout.contains("layoutfs-mount-\(pid)"))
            }
            #expect(Set(try Self.blobs(containerd.contentDirectory)).isDisjoint(with: shown))
        }
    }

    @Test(
        "no socket, a directory or ttrpc socket for one, an unknown namespace, an unknown name (and another namespace's), and docker:// with --containerd are errors that say what to do"
    )
    func errors() throws {
        try Harness.withWorkDirectory { work in
            let containerd = try Self.filled(work)
            let store = work + "/store"
            let none = try Harness.layoutfs(["images", "--containerd", work + "/none.sock"], store: store, expectSuccess: false)
            #expect(none.status != 0 && none.stderr.contains("no containerd socket at \(work)/none.sock"), "\(none.stderr)")
            let namespace = try Harness.layoutfs(["images", "--containerd", containerd.socket, "--namespace", "moby"], store: store, expectSuccess: false)
            #expect(namespace.stderr.contains("has no namespace moby (it has default, other;"), "\(namespace.stderr)")
            let name = try Harness.layoutfs(
                ["export", "--containerd", containerd.socket, "demo/busybox:1.34", "--materialize", work + "/out"], store: store, expectSuccess: false)
            #expect(name.stderr.contains("no image named docker.io/demo/busybox:1.34 in containerd namespace default"), "\(name.stderr)")
            #expect(name.stderr.contains("nearest: docker.io/demo/busybox:1.35"), "\(name.stderr)")
            let both = try Harness.layoutfs(
                ["images", "--containerd", containerd.socket, "--content", containerd.contentDirectory], store: store, expectSuccess: false)
            #expect(both.stderr.contains("--content and --containerd"), "\(both.stderr)")
            // A name another namespace has says so.
            let elsewhere = try Harness.layoutfs(
                ["export", "--containerd", containerd.socket, "demo/other:1", "--materialize", work + "/out"], store: store, expectSuccess: false)
            #expect(elsewhere.stderr.contains("namespace other of that containerd has it: add --namespace other"), "\(elsewhere.stderr)")
            // A socket path after a bare --containerd is the socket, even when it does not exist.
            let mistyped = try Harness.layoutfs(
                ["export", "--containerd", work + "/containerd", "demo/busybox:1.35", "--materialize", work + "/out"], store: store, expectSuccess: false)
            #expect(
                mistyped.stderr.contains("\(work)/containerd is a directory, not a socket: give --containerd=\(work)/containerd/containerd.sock"),
                "\(mistyped.stderr)")
            let ttrpc = try Harness.layoutfs(["images", "--containerd=\(containerd.socket).ttrpc"], store: store, expectSuccess: false)
            #expect(ttrpc.stderr.contains("is containerd's ttrpc socket"), "\(ttrpc.stderr)")
            let registry = try Harness.layoutfs(
                ["export", "--containerd", containerd.socket, "docker://127.0.0.1:1/demo/x:1", "--materialize", work + "/out"], store: store,
                expectSuccess: false)
            #expect(registry.stderr.contains("and --containerd do not go together"), "\(registry.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work + "/out"))
        }
    }
}
