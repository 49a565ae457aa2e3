import CLinuxShims
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Reads of lazy blobs when the registry is stopped or refuses (issue 12, case 3): one deadline
/// per blob however many readers and kernel re-sends, failures counted and explained, and
/// reads that work again once the registry is back, without a remount.
@Suite("lazy read deadlines", .serialized)
struct LazyDeadlineTests {
    /// The mount log's lines for reads that waited out their deadline.
    private static func deadlineLines(_ log: String) throws -> [Substring] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { $0.contains("for its bytes and got EIO") }
    }

    private static func errorsCounted(_ mnt: String) throws -> Int {
        Int(try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.errors", mnt]).stdout) ?? -1
    }

    @Test("a stalled registry: four readers and a cat of one blob cost one deadline, all fail, and the log says why; ERRORS counts them")
    func oneDeadlinePerBlob() throws {
        try Harness.require("getfattr")
        try LazyMountTests().withLazyMount(mountOptions: ["--prefetch", "none", "--read-timeout", "3"]) { lazy in
            try lazy.proxy.setFaults([.init(match: lazy.layer, fault: "stall")])
            var readers: [Harness.Child] = []
            for reader in 0..<4 {
                readers.append(try Harness.spawn(["dd", "if=\(lazy.blobPath)", "of=/dev/null", "bs=1M", "skip=\(reader * 3)", "count=1"]))
            }
            readers.append(try Harness.spawn(["cat", lazy.blobPath]))
            for reader in readers {
                #expect(Harness.wait(reader.pid) != 0)
                #expect(reader.readError().contains("Input/output error"), "\(reader.readError())")
            }
            // Before: each parked request (the readahead, then the kernel's re-send, per reader)
            // waited a deadline of its own. Now the first expiry fails the blob's other reads
            // and its re-sends at once.
            let lines = try Self.deadlineLines(lazy.mountLog)
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains(lazy.layer) == true && lines.first?.contains("has not answered") == true, "\(lines)")
            #expect(try Self.errorsCounted(lazy.mnt) >= readers.count)
            let status = try Harness.layoutfs(["status", "--json"], store: lazy.store).stdout
            let mounts = try #require(try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [[String: Any]])
            #expect((mounts.first?["errors"] as? Int ?? 0) >= readers.count, "\(status)")
            // Nothing was served: a read refused at once is no cache hit.
            #expect(mounts.first?["cacheHits"] as? Int == 0, "\(status)")
        }
    }

    @Test("a refusing registry: a read fails with connection refused, the next at once, and the blob reads again once the registry is back")
    func refusedThenBack() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "getfattr", "docker-registry")
        try Harness.withWorkDirectory { work in
            var registry = try RegistryServer(directory: work + "/registry")
            let port = registry.port
            try Harness.makeDemoImage(at: work + "/src")
            try Harness.runOK(["dd", "if=/dev/urandom", "of=\(work)/layer", "bs=1M", "count=4", "status=none"])
            try Harness.runOK(["gzip", "-1", work + "/layer"])
            let layer = try Harness.sha256(ofFile: work + "/layer.gz")
            try MaterializeTests.addLayer(work + "/layer.gz", toLayoutAt: work + "/src", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/lazy:1")
            let store = work + "/store"
            let reference = "\(registry.address)/team/lazy:1"
            try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount", reference, mnt, "--prefetch", "none", "--read-timeout", "30", "--retries", "1"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let log = try Harness.mountLog(mounted)
            let blob = mnt + "/blobs/sha256/" + layer

            registry.stop()
            let first = try Harness.run(["dd", "if=\(blob)", "of=/dev/null", "bs=1M", "count=1"])
            #expect(!first.succeeded && first.stderr.contains("Input/output error"), "\(first.stderr)")
            let second = try Harness.run(["dd", "if=\(blob)", "of=/dev/null", "bs=1M", "skip=2", "count=1"])
            #expect(!second.succeeded && second.stderr.contains("Input/output error"), "\(second.stderr)")
            let text = try String(contentsOfFile: log, encoding: .utf8)
            // The fetch failed for good well inside the 30 s deadline: no read waited it out.
            #expect(try Self.deadlineLines(log).isEmpty, "\(text)")
            #expect(text.contains("connection refused") && text.contains("retrying in the background"), "\(text)")
            #expect(try Self.errorsCounted(mnt) >= 2)

            registry = try RegistryServer(directory: work + "/registry", port: port)
            try LazyMountTests.waitUntil("the blob reads again") {
                try Harness.run(["cmp", blob, work + "/layer.gz"]).succeeded
            }
            withExtendedLifetime(registry) {}
        }
    }
}
