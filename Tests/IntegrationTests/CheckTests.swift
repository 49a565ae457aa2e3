import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs check [--repair] [--json]`, `pull --verify-existing` and `import --verify-existing`
/// on a store with a byte flipped in a committed blob (issue 12, case 6).
@Suite("check and repair of corrupt store blobs", .serialized)
struct CheckTests {
    /// Flips one byte of a store blob in place (blobs are 0444 in the 0700 root).
    static func flipByte(_ path: String, at offset: off_t = 100) throws {
        #expect(chmod(path, 0o644) == 0)
        let fd = open(path, O_RDWR)
        try #require(fd >= 0, "cannot open \(path)")
        defer { close(fd) }
        var byte: UInt8 = 0
        try #require(pread(fd, &byte, 1, offset) == 1)
        byte ^= 0xFF
        try #require(pwrite(fd, &byte, 1, offset) == 1)
        #expect(fsync(fd) == 0)
        #expect(fchmod(fd, 0o444) == 0)
    }

    /// The largest blob of a layout's `blobs/sha256` (a layer), by hex name.
    static func largestBlob(in directory: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let sizes = try names.map { ($0, try FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.size] as? Int ?? 0) }
        return try #require(sizes.max { $0.1 < $1.1 }?.0)
    }

    static func json(_ output: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "not a JSON object: \(output)")
    }

    @Test("check on a clean store says so and exits 0; --json says the same")
    func cleanStore() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            let check = try Harness.layoutfs(["check"], store: store)
            #expect(check.stdout.contains("checked 4 blobs") && check.stdout.contains("all sound"), "\(check.stdout)")
            let one = try Harness.layoutfs(["check", "demo/busybox:1.35"], store: store)
            #expect(one.stdout.contains("checked 4 blobs") && one.stdout.contains("all sound"), "\(one.stdout)")
            let report = try Self.json(try Harness.layoutfs(["check", "--json"], store: store).stdout)
            #expect(report["checkedBlobs"] as? Int == 4)
            #expect((report["corrupt"] as? [Any])?.isEmpty == true)
            #expect(report["remaining"] as? Int == 0)
        }
    }

    @Test("a corrupt blob no source restores is reported with the images it breaks, exits non-zero, and a re-import restores it")
    func unrestorableBlob() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/busybox:stable"], store: store)
            let victim = try Self.largestBlob(in: store + "/content/blobs/sha256")
            let path = store + "/content/blobs/sha256/" + victim
            try Self.flipByte(path)

            let check = try Harness.layoutfs(["check"], store: store, expectSuccess: false)
            #expect(!check.succeeded)
            #expect(check.stdout.contains("corrupt store blob sha256:\(victim)"), "\(check.stdout)")
            #expect(check.stdout.contains("breaks docker.io/demo/busybox:1.35, docker.io/demo/busybox:stable"), "\(check.stdout)")
            #expect(check.stdout.contains("1 corrupt, 1 remains"), "\(check.stdout)")
            #expect(check.stderr.contains("layoutfs: error: 1 corrupt blob remains"), "\(check.stderr)")
            // Only the image asked about is re-hashed, and the finding is the same.
            let one = try Harness.layoutfs(["check", "demo/busybox:stable"], store: store, expectSuccess: false)
            #expect(!one.succeeded && one.stdout.contains("sha256:\(victim)") && one.stdout.contains("checked 4 blobs"), "\(one.stdout)")

            let json = try Self.json(try Harness.layoutfs(["check", "--json"], store: store, expectSuccess: false).stdout)
            let corrupt = try #require(json["corrupt"] as? [[String: Any]])
            #expect(corrupt.count == 1)
            #expect(corrupt.first?["digest"] as? String == "sha256:" + victim)
            #expect(corrupt.first?["location"] as? String == "store")
            #expect(corrupt.first?["images"] as? [String] == ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:stable"])
            #expect(corrupt.first?["action"] as? String == "none")
            #expect(json["remaining"] as? Int == 1)

            // Nothing serves docker.io/demo/busybox here: the blob is removed (no bad bytes are
            // served any more) and the images are named as damaged, with the ways to restore them.
            let repair = try Harness.layoutfs(["check", "--repair"], store: store, expectSuccess: false)
            #expect(!repair.succeeded)
            #expect(repair.stdout.contains("sha256:\(victim)") && repair.stdout.contains("stay damaged"), "\(repair.stdout)")
            #expect(repair.stdout.contains("layoutfs pull docker.io/demo/busybox:1.35") && repair.stdout.contains("layoutfs import"), "\(repair.stdout)")
            #expect(!FileManager.default.fileExists(atPath: path))
            // A later check does not call the store sound: the removed blob is missing.
            for arguments in [["check"], ["check", "demo/busybox:stable"]] {
                let after = try Harness.layoutfs(arguments, store: store, expectSuccess: false)
                #expect(!after.succeeded, "\(arguments): \(after.stdout)")
                #expect(after.stdout.contains("missing blob sha256:\(victim)") && after.stdout.contains("1 blob missing"), "\(after.stdout)")
                #expect(after.stderr.contains("missing from the store"), "\(after.stderr)")
            }
            let missing = try Self.json(try Harness.layoutfs(["check", "--json"], store: store, expectSuccess: false).stdout)["missing"] as? [[String: Any]]
            #expect(missing?.first?["images"] as? [String] == ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:stable"])

            let reimport = try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store)
            #expect(reimport.stdout.contains("copied 1 blob"), "\(reimport.stdout)")
            #expect(try Harness.sha256(ofFile: path) == victim)
            #expect(try Harness.layoutfs(["check"], store: store).stdout.contains("all sound"))
        }
    }

    @Test("import --verify-existing re-hashes stored blobs and replaces wrong ones, from a layout and from an archive")
    func importVerifyExisting() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", work + "/demo.tar"], store: store)
            let victim = try Self.largestBlob(in: store + "/content/blobs/sha256")
            let path = store + "/content/blobs/sha256/" + victim
            try Self.flipByte(path)

            // Without the flag the blob is skipped, and stays wrong.
            let plain = try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store)
            #expect(plain.stdout.contains("skipped 4"), "\(plain.stdout)")
            #expect(try Harness.sha256(ofFile: path) != victim)

            let verified = try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35", "--verify-existing"], store: store)
            #expect(verified.stdout.contains("copied 1 blob") && verified.stdout.contains("replaced 1 wrong"), "\(verified.stdout)")
            #expect(try Harness.sha256(ofFile: path) == victim)

            try Self.flipByte(path)
            let archive = try Harness.layoutfs(["import", work + "/demo.tar", "--name", "demo/busybox:1.35", "--verify-existing"], store: store)
            #expect(archive.stdout.contains("replaced 1 wrong"), "\(archive.stdout)")
            #expect(try Harness.sha256(ofFile: path) == victim)
            #expect(try Harness.layoutfs(["check"], store: store).stdout.contains("all sound"))
        }
    }

    @Test("pull --verify-existing re-hashes stored blobs (a layer and the manifest) and fetches wrong ones again")
    func pullVerifyExisting() throws {
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/busybox:1.35")
            let store = work + "/store"
            let reference = "\(registry.address)/team/busybox:1.35"
            try Harness.layoutfs(["pull", reference], store: store)
            let blobs = store + "/content/blobs/sha256/"
            let layer = try Self.largestBlob(in: store + "/content/blobs/sha256")
            let manifest = try Harness.runOK(["jq", "-r", ".manifests[0].digest", work + "/src/index.json"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "sha256:", with: "")
            try Self.flipByte(blobs + layer)

            let plain = try Harness.layoutfs(["pull", reference], store: store)
            #expect(plain.stdout.contains("fetched 0 blobs"), "\(plain.stdout)")
            #expect(try Harness.sha256(ofFile: blobs + layer) != layer)

            try Self.flipByte(blobs + manifest, at: 10)
            let verified = try Harness.layoutfs(["pull", reference, "--verify-existing"], store: store)
            #expect(verified.stdout.contains("fetched 1 blob") && verified.stdout.contains("replaced 2 wrong"), "\(verified.stdout)")
            #expect(try Harness.sha256(ofFile: blobs + layer) == layer)
            #expect(try Harness.sha256(ofFile: blobs + manifest) == manifest)
            #expect(try Harness.layoutfs(["check"], store: store).stdout.contains("all sound"))
        }
    }

    @Test("check --repair fetches a corrupt blob again from its registry, and a running mount serves the repaired bytes")
    func repairUnderMount() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let (registry, reference) = try RegistryServer.holdingDemo(work, as: "team/busybox:1.35")
            let store = work + "/store"
            let mnt = work + "/mnt"
            try Harness.layoutfs(["pull", reference], store: store)
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", reference, mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }

            let victim = try Self.largestBlob(in: store + "/content/blobs/sha256")
            let served = mnt + "/blobs/sha256/" + victim
            try Self.flipByte(store + "/content/blobs/sha256/" + victim)
            // The mount serves what the store holds: the bad bytes (the daemon now has the file
            // open, the kernel has its pages).
            #expect(try Harness.sha256(ofFile: served) != victim)
            let reader = open(served, O_RDONLY)
            try #require(reader >= 0)
            defer { close(reader) }

            let check = try Harness.layoutfs(["check", reference], store: store, expectSuccess: false)
            #expect(!check.succeeded)
            #expect(
                check.stdout.contains("breaks \(reference)") && check.stdout.contains("fetches it again from \(registry.address)/team/busybox"),
                "\(check.stdout)")

            let repair = try Harness.layoutfs(["check", "--repair"], store: store)
            #expect(repair.stdout.contains("repaired: removed and fetched again from \(registry.address)/team/busybox"), "\(repair.stdout)")
            #expect(repair.stdout.contains("1 corrupt, 1 repaired"), "\(repair.stdout)")
            #expect(try Harness.sha256(ofFile: store + "/content/blobs/sha256/" + victim) == victim)
            // A new open right away reads the repaired bytes, though the file held open (FUSE
            // passthrough: its backing file is the replaced one, which the kernel keeps for the
            // inode) pins the old file.
            #expect(try Harness.sha256(ofFile: served) == victim, "a new open right after the repair")

            // With no new open, the file opened before the repair comes to read the repaired
            // bytes (the daemon looks for replaced files each second and drops the kernel's
            // pages of them).
            let original = Array(try #require(FileManager.default.contents(atPath: work + "/src/blobs/sha256/" + victim)))
            var bytes = [UInt8](repeating: 0, count: original.count)
            try LazyMountTests.waitUntil("the file opened before the repair reads the repaired bytes") {
                pread(reader, &bytes, bytes.count, 0) == bytes.count && bytes == original
            }
            // A new open gets the repaired file too.
            #expect(try Harness.sha256(ofFile: served) == victim)
            #expect(try Self.json(try Harness.layoutfs(["check", "--json"], store: store).stdout)["remaining"] as? Int == 0)
        }
    }

    @Test("a complete cache entry that does not match is reported and repaired from the registry the lazy record names")
    func corruptCacheEntry() throws {
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/lazy:1")
            let store = work + "/store"
            let reference = "\(registry.address)/team/lazy:1"
            try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            // A complete entry (every chunk bit set) whose data is the layer with one byte wrong,
            // as a disk error would leave it.
            let layer = try Self.largestBlob(in: work + "/src/blobs/sha256")
            var data = try #require(FileManager.default.contents(atPath: work + "/src/blobs/sha256/" + layer))
            data[100] ^= 0xFF
            let cache = store + "/cache/sha256/"
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: cache + layer))
            let chunks = (data.count + (1 << 20) - 1) >> 20
            var bitmap = [UInt8](repeating: 0, count: (chunks + 7) / 8)
            for chunk in 0..<chunks { bitmap[chunk / 8] |= 1 << UInt8(chunk % 8) }
            try Data(bitmap).write(to: URL(fileURLWithPath: cache + layer + ".chunks"))

            let check = try Harness.layoutfs(["check"], store: store, expectSuccess: false)
            #expect(!check.succeeded)
            #expect(check.stdout.contains("corrupt cache entry sha256:\(layer)") && check.stdout.contains("breaks \(reference)"), "\(check.stdout)")
            #expect(check.stdout.contains("and 1 cache entry"), "\(check.stdout)")

            let repair = try Harness.layoutfs(["check", "--repair"], store: store)
            #expect(repair.stdout.contains("fetched again from \(registry.address)/team/lazy"), "\(repair.stdout)")
            #expect(!FileManager.default.fileExists(atPath: cache + layer))
            #expect(try Harness.sha256(ofFile: store + "/content/blobs/sha256/" + layer) == layer)
        }
    }
}
