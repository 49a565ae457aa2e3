import CLinuxShims
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs prune` with names, running mounts (leases), and a pull in flight (gc.lock).
@Suite("prune", .serialized)
struct PruneTests {
    /// The demo image plus one extra random layer (a new manifest, the same config and layers).
    /// - Returns: the extra layer's hex digest.
    @discardableResult
    static func makeVariant(of source: String, at path: String, work: String, bytes: Int = 4096) throws -> String {
        try Harness.runOK(["cp", "-r", source, path])
        let layer = work + "/layer-\(UInt64.random(in: 0...UInt64.max))"
        try Harness.runOK(["dd", "if=/dev/urandom", "of=\(layer)", "bs=\(bytes)", "count=1", "status=none"])
        try MaterializeTests.addLayer(layer, toLayoutAt: path)
        return try Harness.sha256(ofFile: layer)
    }

    static func blobCount(_ store: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256").count
    }

    @Test("prune deletes what no name references, keeps every named closure, and says what it freed")
    func namesOnly() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.makeDemoImage(at: work + "/src")
            try Self.makeVariant(of: work + "/src", at: work + "/variant", work: work)
            try Harness.layoutfs(["import", work + "/src", "--name", "demo/a:1"], store: store)
            try Harness.layoutfs(["import", work + "/variant", "--name", "demo/b:1"], store: store)
            #expect(try Self.blobCount(store) == 6)
            try Harness.layoutfs(["rm", "demo/b:1"], store: store)
            let dry = try Harness.layoutfs(["prune", "--dry-run"], store: store)
            #expect(dry.stdout.contains("would prune 2 blobs"), "\(dry.stdout)")
            #expect(try Self.blobCount(store) == 6)
            let pruned = try Harness.layoutfs(["prune"], store: store)
            #expect(pruned.stdout.contains("pruned 2 blobs") && pruned.stdout.contains("kept 4 blobs of 1 image"), "\(pruned.stdout)")
            #expect(try Self.blobCount(store) == 4)
            try Harness.layoutfs(["export", "demo/a:1", "--materialize", work + "/out"], store: store)
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            #expect(try Harness.layoutfs(["prune"], store: store).stdout.contains("pruned 0 blobs"))
            // Something planted in leases/ (a FIFO) neither hangs prune nor counts as a lease.
            try FileManager.default.createDirectory(atPath: store + "/leases", withIntermediateDirectories: true)
            try Harness.runOK(["mkfifo", store + "/leases/planted.lock"])
            let planted = try Harness.run(["timeout", "30", Harness.binary, "prune", "--root", store])
            #expect(planted.status == 0 && planted.stdout.contains("0 leases"), "\(planted.stdout) \(planted.stderr)")
        }
    }

    @Test("ten versions pushed under one tag and pulled, then pruned, leave only the current closure")
    func tenVersions() throws {
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            let store = work + "/store"
            try Harness.makeDemoImage(at: work + "/src")
            for version in 0..<10 {
                try Self.makeVariant(of: work + "/src", at: work + "/v\(version)", work: work)
                try registry.push(layout: work + "/v\(version)", tag: "1.35", to: "team/app:latest")
                try Harness.layoutfs(["pull", "\(registry.address)/team/app:latest"], store: store)
            }
            #expect(try Self.blobCount(store) == 3 + 2 * 10, "config, 2 layers, and a layer + manifest per version")
            let pruned = try Harness.layoutfs(["prune"], store: store)
            #expect(pruned.stdout.contains("pruned 18 blobs"), "\(pruned.stdout)")
            // What is left is exactly the current image's closure (as export writes it).
            try Harness.layoutfs(["export", "\(registry.address)/team/app:latest", "--materialize", work + "/out"], store: store)
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            let current = Set(try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256"))
            let kept = Set(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256"))
            #expect(kept == current && kept.count == 5, "\(kept) vs \(current)")
        }
    }

    @Test("a running mount's lease keeps its image through rm and prune; a killed daemon's lease is stale")
    func mountLease() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            let mnt = work + "/mnt"
            try Harness.makeDemoImage(at: work + "/src")
            try Self.makeVariant(of: work + "/src", at: work + "/variant", work: work)
            try Harness.layoutfs(["import", work + "/variant", "--name", "demo/b:1"], store: store)
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "demo/b:1", mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            try Harness.layoutfs(["rm", "demo/b:1"], store: store)
            let held = try Harness.layoutfs(["prune"], store: store)
            #expect(held.stdout.contains("pruned 0 blobs") && held.stdout.contains("1 lease"), "\(held.stdout)")
            for blob in try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256") {
                #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + blob) == blob)
            }
            let pid = try #require(MountTests.daemonPID(mnt))
            kill(pid, SIGKILL)
            try MountTests.waitForExit(pid)
            let freed = try Harness.layoutfs(["prune"], store: store)
            #expect(freed.stdout.contains("pruned 5 blobs") && freed.stdout.contains("0 leases"), "\(freed.stdout)")
            #expect(try Self.blobCount(store) == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/leases").isEmpty)
        }
    }

    @Test("prune waits for a pull that has not bound its name yet, then keeps what it pulled")
    func pullInFlight() throws {
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/app:1")
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            try proxy.setFaults([.init(match: "/blobs/", fault: "stall", times: 1)])
            let store = work + "/store"
            let pull = try Harness.spawn([Harness.binary, "pull", "\(proxy.address)/team/app:1", "--timeout", "2", "--root", store])
            try LazyMountTests.waitUntil("the pull is stalled") { try proxy.requests(matching: "/blobs/").contains { $0.fault == "stall" } }
            let prune = try Harness.spawn([Harness.binary, "prune", "--root", store])
            var status: Int32 = 0
            let pullRunning = waitpid(pull.pid, &status, WNOHANG) == 0
            #expect(pullRunning)
            #expect(waitpid(prune.pid, &status, WNOHANG) == 0, "prune waits while the pull holds gc.lock")
            #expect(Harness.wait(pull.pid) == 0, "\(pull.readError())")
            #expect(Harness.wait(prune.pid) == 0, "\(prune.readError())")
            #expect(prune.readError().contains("waiting"), "\(prune.readError())")
            #expect(prune.readOutput().contains("pruned 0 blobs"), "\(prune.readOutput())")
            try Harness.layoutfs(["export", "\(proxy.address)/team/app:1", "--materialize", work + "/out"], store: store)
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
        }
    }
}
