import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A containerd that stops answering (SIGSTOP: its socket still accepts, nothing answers)
/// under a mount that reads through its Read call.
@Suite("a stopped containerd under a mount", .serialized)
struct ContainerdStallTests {
    @Test(
        "through the Read call, a stopped containerd costs one read deadline per blob: four readers fail after one deadline (each read waited two, readahead then re-send), a later read at once, and reads work again once containerd goes on"
    )
    func oneDeadlinePerRemoteBlob() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            let image = try containerd.importBuilt(work + "/big", name: "docker.io/demo/big:1", layers: [ImageBuilder.randomBytes(16 << 20)])
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.run(
                [Harness.binary, "mount", "--containerd", containerd.socket, "demo/big:1", mnt, "--read-timeout", "3"],
                environment: ["LAYOUTFS_ROOT": store, "LAYOUTFS_CONTAINERD_READ": "api"])
            #expect(mounted.status == 0, "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let log = try Harness.mountLog(mounted)
            let blob = "\(mnt)/blobs/sha256/\(image.layers[0].digest.encoded)"
            try Harness.runOK(["dd", "if=\(blob)", "of=/dev/null", "bs=1M", "count=1"])

            containerd.pause()
            defer { containerd.resume() }
            let started = ContinuousClock.now
            var readers: [Harness.Child] = []
            for reader in 0..<4 {
                readers.append(try Harness.spawn(["dd", "if=\(blob)", "of=/dev/null", "bs=1M", "skip=\(2 + reader * 3)", "count=1"]))
            }
            for reader in readers {
                #expect(Harness.wait(reader.pid) != 0)
                #expect(reader.readError().contains("Input/output error"), "\(reader.readError())")
            }
            let later = try Harness.run(["dd", "if=\(blob)", "of=/dev/null", "bs=1M", "skip=14", "count=1"])
            #expect(!later.succeeded && later.stderr.contains("Input/output error"), "\(later.stderr)")
            // One deadline (3 s) for all; before, each read waited two.
            #expect(ContinuousClock.now - started < .seconds(9))
            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { $0.contains("for its bytes and got EIO") }
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains("containerd's Read) has not answered") == true, "\(lines)")

            containerd.resume()
            try LazyMountTests.waitUntil("reads work again") {
                try Harness.run(["dd", "if=\(blob)", "of=/dev/null", "bs=1M", "skip=14", "count=1"]).succeeded
            }
            #expect(try Harness.sha256(ofFile: blob) == image.layers[0].digest.encoded)
        }
    }
}
