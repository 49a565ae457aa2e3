import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A mount that follows image names: `index.json` generations while imports move a tag.
@Suite("a mount follows moving names", .serialized)
struct LiveMountTests {
    struct Versions {
        var work: String
        var store: String
        var mnt: String
        /// Extra layer (hex) and manifest digest ("sha256:...") of each version.
        var layers: [String]
        var manifests: [String]
    }

    /// Two versions of one image; the first imported as team/app:1 and mounted with `options`.
    func withMountedFirstVersion(_ options: [String], _ body: (Versions) throws -> Void) throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            let mnt = work + "/mnt"
            try Harness.makeDemoImage(at: work + "/src")
            var layers: [String] = []
            var manifests: [String] = []
            for version in 1...2 {
                layers.append(try PruneTests.makeVariant(of: work + "/src", at: work + "/v\(version)", work: work, bytes: 300_000))
                manifests.append(
                    try Harness.runOK(["jq", "-r", ".manifests[0].digest", work + "/v\(version)/index.json"]).stdout.trimmingCharacters(
                        in: .whitespacesAndNewlines))
            }
            try Harness.layoutfs(["import", work + "/v1", "--name", "team/app:1"], store: store)
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "team/app:1", mnt] + options, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            try body(Versions(work: work, store: store, mnt: mnt, layers: layers, manifests: manifests))
        }
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }

    @Test(
        "a tag moved under a running mount: a new index.json within a second; readers of the old generation and its blobs read them to the end; prune keeps them"
    )
    func tagMoves() throws {
        try Harness.require("skopeo", "jq")
        try withMountedFirstVersion([]) { v in
            let indexFD = open(v.mnt + "/index.json", O_RDONLY)
            let blobFD = open(v.mnt + "/blobs/sha256/" + v.layers[0], O_RDONLY)
            #expect(indexFD >= 0 && blobFD >= 0)
            defer {
                close(indexFD)
                close(blobFD)
            }
            var head = [UInt8](repeating: 0, count: 100)
            #expect(read(blobFD, &head, 100) == 100)

            try Harness.layoutfs(["import", v.work + "/v2", "--name", "team/app:1"], store: v.store)
            try LazyMountTests.waitUntil("the mount shows the new index.json") {
                ((try? String(contentsOfFile: v.mnt + "/index.json", encoding: .utf8)) ?? "").contains(v.manifests[1])
            }
            // The old generation's readers finish with the old bytes.
            let oldIndex = String(decoding: Self.readAll(indexFD), as: UTF8.self)
            #expect(oldIndex.contains(v.manifests[0]) && !oldIndex.contains(v.manifests[1]), "\(oldIndex)")
            let rest = Self.readAll(blobFD)
            let whole = v.work + "/old-layer"
            try Data(head + rest).write(to: URL(fileURLWithPath: whole))
            #expect(try Harness.sha256(ofFile: whole) == v.layers[0])
            // New blobs appear; the old one is still reachable by name though no longer listed.
            let listing = try FileManager.default.contentsOfDirectory(atPath: v.mnt + "/blobs/sha256")
            #expect(listing.contains(v.layers[1]) && !listing.contains(v.layers[0]), "\(listing)")
            #expect(try Harness.sha256(ofFile: v.mnt + "/blobs/sha256/" + v.layers[0]) == v.layers[0])
            #expect(try Harness.sha256(ofFile: v.mnt + "/blobs/sha256/" + v.layers[1]) == v.layers[1])
            let inspect = try Harness.runOK(["skopeo", "inspect", "oci:\(v.mnt):1"]).stdout
            #expect(inspect.contains(v.manifests[1]), "\(inspect)")
            // The mount's lease holds the previous generation through its grace period.
            let pruned = try Harness.layoutfs(["prune"], store: v.store)
            #expect(pruned.stdout.contains("pruned 0 blobs"), "\(pruned.stdout)")
        }
    }

    @Test("after the grace period the previous generation's blobs leave the mount, and prune frees them")
    func graceEnds() throws {
        try Harness.require("jq")
        try withMountedFirstVersion(["--grace", "1"]) { v in
            try Harness.layoutfs(["import", v.work + "/v2", "--name", "team/app:1"], store: v.store)
            try LazyMountTests.waitUntil("the old layer is gone from the mount") {
                var st = stat()
                return stat(v.mnt + "/blobs/sha256/" + v.layers[0], &st) != 0 && errno == ENOENT
            }
            let pruned = try Harness.layoutfs(["prune"], store: v.store)
            #expect(pruned.stdout.contains("pruned 2 blobs"), "v1's manifest and layer: \(pruned.stdout)")
            #expect(try Harness.sha256(ofFile: v.mnt + "/blobs/sha256/" + v.layers[1]) == v.layers[1])
        }
    }

    @Test("a pinned NAME@digest is not followed")
    func pinned() throws {
        try Harness.require("jq")
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            let mnt = work + "/mnt"
            try Harness.makeDemoImage(at: work + "/src")
            try PruneTests.makeVariant(of: work + "/src", at: work + "/v1", work: work)
            try PruneTests.makeVariant(of: work + "/src", at: work + "/v2", work: work)
            let first = try Harness.runOK(["jq", "-r", ".manifests[0].digest", work + "/v1/index.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try Harness.layoutfs(["import", work + "/v1", "--name", "team/app:1"], store: store)
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "team/app:1@" + first, mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let before = try String(contentsOfFile: mnt + "/index.json", encoding: .utf8)
            try Harness.layoutfs(["import", work + "/v2", "--name", "team/app:1"], store: store)
            // Observable end of the follower's chance to act: another store change and two polls
            // of a followed mount would have shown it; a pinned one never changes.
            let follower = work + "/mnt2"
            try FileManager.default.createDirectory(atPath: follower, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "team/app:1", follower], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", follower, "--lazy"]) }
            #expect(try String(contentsOfFile: mnt + "/index.json", encoding: .utf8) == before)
        }
    }
}
