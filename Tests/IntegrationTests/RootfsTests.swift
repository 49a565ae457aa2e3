import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `mount --rootfs`: an image's root filesystem through a real FUSE mount, compared with what
/// `umoci unpack` makes of the same image (Tests/Fixtures/compare-trees.py: types, modes,
/// owners, sizes, sha256, link targets, devices, mtimes to the nanosecond, xattrs, hard-link
/// groups). The image (Tests/Fixtures/make-rootfs-image.py) has every member type, whiteouts
/// and an opaque directory across three layers (gzip, plain tar, gzip in two members).
@Suite("the rootfs view", .serialized)
struct RootfsTests {
    static let fixtures = Harness.repositoryRoot + "/Tests/Fixtures"

    /// Writes the test image as an OCI layout at `work/src` (tag `t`), with `options` for the
    /// fixture script.
    static func makeImage(_ work: String, _ options: [String] = []) throws -> String {
        try Harness.require("python3")
        let layout = work + "/src"
        try Harness.runOK(["python3", fixtures + "/make-rootfs-image.py", layout, "t"] + options)
        return layout
    }

    /// The test image made at `work/src` (with `options`) and imported as `name` into
    /// `work/store`.
    static func imported(_ work: String, as name: String, _ options: [String] = []) throws -> (layout: String, store: String) {
        let layout = try makeImage(work, options)
        let store = work + "/store"
        try Harness.layoutfs(["import", layout, "--name", name], store: store)
        return (layout, store)
    }

    /// `umoci unpack` of the layout's tag `t`: the rootfs it makes.
    static func umociUnpack(_ layout: String, work: String) throws -> String {
        try Harness.require("umoci")
        try Harness.runOK(["umoci", "unpack", "--image", layout + ":t", work + "/bundle"])
        return work + "/bundle/rootfs"
    }

    /// Differences compare-trees.py finds (empty when none), with its summary line.
    static func compare(_ expected: String, _ actual: String) throws -> (differences: [String], summary: String) {
        let result = try Harness.run(["python3", fixtures + "/compare-trees.py", expected, actual, "--nanoseconds"])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        return (Array(lines.dropLast()), lines.last ?? "")
    }

    static func mount(_ image: String, at mnt: String, store: String, _ options: [String] = [], expectSuccess: Bool = true) throws -> RunResult {
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        return try Harness.layoutfs(["mount", "--rootfs", image, mnt] + options, store: store, expectSuccess: expectSuccess)
    }

    static func layers(_ mnt: String) throws -> String {
        try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.layers", mnt]).stdout
    }

    @Test("the mounted rootfs equals umoci unpack's, to the nanosecond, xattr and hard link; user.layoutfs.layer names each file's layer")
    func equalsUmociUnpack() throws {
        try Harness.requireFUSE()
        try Harness.require("getfattr")
        try Harness.withWorkDirectory { work in
            let (layout, store) = try Self.imported(work, as: "rootfs/test:1")
            let unpacked = try Self.umociUnpack(layout, work: work)
            let mnt = work + "/mnt"
            try Self.mount("rootfs/test:1", at: mnt, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let (differences, summary) = try Self.compare(unpacked, mnt)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            #expect(summary.hasPrefix("compared 34"), "\(summary)")
            // Whiteouts and opaque markers are applied, never shown.
            #expect(try Harness.run(["find", mnt, "-name", ".wh.*"]).stdout.isEmpty)
            let manifest = try Harness.runOK(["skopeo", "inspect", "--raw", "oci:\(layout):t"]).stdout
            let layerDigests = try #require(try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any])["layers"] as? [[String: Any]]
            let digests = try #require(layerDigests?.compactMap { $0["digest"] as? String })
            for (path, layer) in [("data/z", 2), ("usr/lib/big.bin", 0), ("opt/new", 1), ("usr/bin/tool3", 0)] {
                let named = try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.layer", mnt + "/" + path]).stdout
                #expect(named == "\(digests[layer]) (layer \(layer))", "\(path): \(named)")
            }
            // Answered by name, never listed (cp -a and rsync -X do not copy it).
            #expect(!(try Harness.runOK(["getfattr", "-d", "-m", "-", mnt + "/data/z"]).stdout.contains("layoutfs")))
            #expect(try Self.layers(mnt) == "3 indexed, 0 loaded")
            let list = try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.layer_list", mnt]).stdout.split(separator: "\n")
            #expect(list.count == 3 && list[2].hasPrefix("2 \(digests[2]) 9 members "), "\(list)")
            // Read-only, as files.
            #expect(try Harness.run(["touch", mnt + "/etc/new"]).status != 0)
        }
    }

    @Test("a remount reads every layer's index from the store (no decompression); a damaged index is rebuilt; prune removes an index with its layer")
    func persistedIndexes() throws {
        try Harness.requireFUSE()
        try Harness.require("getfattr")
        try Harness.withWorkDirectory { work in
            let (_, store) = try Self.imported(work, as: "rootfs/test:1")
            let mnt = work + "/mnt"
            try Self.mount("rootfs/test:1", at: mnt, store: store)
            let before = try Harness.sha256(ofFile: mnt + "/usr/lib/big.bin")
            #expect(try Self.layers(mnt) == "3 indexed, 0 loaded")
            try Harness.layoutfs(["unmount", mnt], store: store)
            let indexes = store + "/layer-index/sha256"
            let files = try FileManager.default.contentsOfDirectory(atPath: indexes).sorted()
            #expect(files.count == 3, "\(files)")
            // Each index is a small share of its layer (the 3 MiB random layer's the largest).
            for file in files {
                let indexSize = try #require(try FileManager.default.attributesOfItem(atPath: indexes + "/" + file)[.size] as? Int)
                let layerSize = try #require(try FileManager.default.attributesOfItem(atPath: store + "/content/blobs/sha256/" + file)[.size] as? Int)
                if layerSize > 1 << 20 { #expect(indexSize * 10 < layerSize, "index \(indexSize) of a \(layerSize)-byte layer") }
            }

            try Self.mount("rootfs/test:1", at: mnt, store: store)
            #expect(try Self.layers(mnt) == "0 indexed, 3 loaded")
            #expect(try Harness.sha256(ofFile: mnt + "/usr/lib/big.bin") == before)
            try Harness.layoutfs(["unmount", mnt], store: store)

            // One index damaged (a byte flipped), one cut short: both rebuilt, and the log says so.
            for (file, cut) in [(files[0], false), (files[1], true)] {
                let path = indexes + "/" + file
                var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                if cut { bytes.removeLast(10) } else { bytes[bytes.count / 2] ^= 0x40 }
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            }
            let remounted = try Self.mount("rootfs/test:1", at: mnt, store: store)
            #expect(try Self.layers(mnt) == "2 indexed, 1 loaded")
            #expect(try Harness.sha256(ofFile: mnt + "/usr/lib/big.bin") == before)
            let log = try String(contentsOfFile: try Harness.mountLog(remounted), encoding: .utf8)
            #expect(log.contains("cannot be read") && log.contains("building it again"), "\(log)")
            try Harness.layoutfs(["unmount", mnt], store: store)

            try Harness.layoutfs(["rm", "rootfs/test:1"], store: store)
            let pruned = try Harness.layoutfs(["prune"], store: store)
            #expect(pruned.stdout.contains("3 layer indexes"), "\(pruned.stdout)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: indexes).isEmpty)
        }
    }

    @Test("a layer whose diff_id is not the config's fails its files with EIO and is named; the other layers' files read")
    func diffIDMismatch() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let (_, store) = try Self.imported(work, as: "rootfs/bad:1", ["--bad-diff-id", "2"])
            let mnt = work + "/mnt"
            let mounted = try Self.mount("rootfs/bad:1", at: mnt, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            #expect(mounted.stderr.contains("layer 2") && mounted.stderr.contains("corrupt") && mounted.stderr.contains("EIO"), "\(mounted.stderr)")
            let failed = try Harness.run(["cat", mnt + "/data/z"])
            #expect(failed.status != 0 && failed.stderr.contains("Input/output error"), "\(failed.stderr)")
            #expect(try Harness.runOK(["cat", mnt + "/opt/new"]).stdout == "new\n")
            // A wrong index is never kept: the next mount checks the layer again. (The others
            // are kept once the mount is ready; unmount waits for the daemon.)
            try Harness.layoutfs(["unmount", mnt], store: store)
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/layer-index/sha256").count == 2)
        }
    }

    @Test("a member whose size overflows and one whose PAX path holds a NUL fail the mount with an error naming the layer, not a crash")
    func hostileMembers() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            for (kind, words) in [("hugesize", ["size"]), ("nulpath", ["NUL"])] {
                let directory = work + "/" + kind
                let layout = try Self.makeImage(directory, ["--break", kind])
                let store = directory + "/store"
                try Harness.layoutfs(["import", layout, "--name", "rootfs/\(kind):1"], store: store)
                let mounted = try Self.mount("rootfs/\(kind):1", at: directory + "/mnt", store: store, expectSuccess: false)
                #expect(!mounted.succeeded, "\(kind): \(mounted.stdout)")
                for word in words + ["layer 1", "cannot be read as a layer"] {
                    #expect(mounted.stderr.contains(word), "\(kind): \(mounted.stderr)")
                }
                #expect(!mounted.stderr.contains("Backtrace"), "\(kind): \(mounted.stderr)")
                #expect(MountTests.mountEntry(directory + "/mnt") == nil)
            }
        }
    }

    @Test("a truncated gzip layer, one that is not tar, a zstd one cut short, and a member escaping with .. fail the mount with an error naming the layer")
    func unreadableLayers() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            for (kind, layer, words) in [
                ("truncated", 0, ["truncated"]), ("notar", 1, ["not"]), ("zstd", 1, ["does not decompress"]), ("escape", 1, ["../escape"]),
            ] {
                let directory = work + "/" + kind
                let layout = try Self.makeImage(directory, ["--break", kind])
                let store = directory + "/store"
                try Harness.layoutfs(["import", layout, "--name", "rootfs/\(kind):1"], store: store)
                let mounted = try Self.mount("rootfs/\(kind):1", at: directory + "/mnt", store: store, expectSuccess: false)
                #expect(!mounted.succeeded, "\(kind): \(mounted.stdout)")
                for word in words + ["layer \(layer)"] {
                    #expect(mounted.stderr.contains(word), "\(kind): \(mounted.stderr)")
                }
                #expect(MountTests.mountEntry(directory + "/mnt") == nil)
            }
        }
    }

    @Test(
        "a lazy image from the registry (docker://) mounts as its rootfs, equal to umoci unpack's: gzip and plain layers, and a zstd one fetched then copied uncompressed",
        arguments: [[], ["--zstd", "0"]])
    func lazyFromRegistry(options: [String]) throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "docker-registry", "zstd")
        try Harness.withWorkDirectory { work in
            let unpacked = try Self.umociUnpack(try Self.makeImage(work + "/gzip"), work: work + "/gzip")
            let layout = try Self.makeImage(work + "/pushed", options)
            let registry = try RegistryServer(directory: work + "/registry")
            defer { registry.stop() }
            try registry.push(layout: layout, tag: "t", to: "team/rootfs:1")
            let store = work + "/store"
            let mnt = work + "/mnt"
            // No background prefetch: the lazy blobs' cache files still have holes while the
            // layers are indexed (a zstd pass once read them as the blob).
            try Self.mount("docker://\(registry.address)/team/rootfs:1", at: mnt, store: store, ["--prefetch", "none"])
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let (differences, _) = try Self.compare(unpacked, mnt)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            #expect(try Self.layers(mnt) == "3 indexed, 0 loaded")
            let fetched = try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.bytes_fetched", mnt]).stdout
            #expect((Int(fetched) ?? 0) > 3 << 20, "fetched \(fetched)")
        }
    }

    @Test("a followed name that moves gives a new tree (shared layers not indexed again); a file open before reads the old one to its end")
    func followsMovedName() throws {
        try Harness.requireFUSE()
        try Harness.require("getfattr")
        try Harness.withWorkDirectory { work in
            let v1 = try Self.makeImage(work + "/v1")
            let v2 = try Self.makeImage(work + "/v2", ["--big", "1"])
            let unpacked = try Self.umociUnpack(v2, work: work + "/v2")
            let store = work + "/store"
            try Harness.layoutfs(["import", v1, "--name", "rootfs/app:1"], store: store)
            let mnt = work + "/mnt"
            try Self.mount("rootfs/app:1", at: mnt, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let oldFile = open(mnt + "/usr/lib/big.bin", O_RDONLY)
            #expect(oldFile >= 0)
            defer { close(oldFile) }
            var head = [UInt8](repeating: 0, count: 100)
            #expect(read(oldFile, &head, 100) == 100)

            try Harness.layoutfs(["import", v2, "--name", "rootfs/app:1"], store: store)
            try LazyMountTests.waitUntil("the mount shows the new tree") {
                (try? FileManager.default.attributesOfItem(atPath: mnt + "/usr/lib/big.bin")[.size] as? Int) == 1 << 20
            }
            let (differences, _) = try Self.compare(unpacked, mnt)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            // Layers 1 and 2 are the same blobs in both images: their indexes were reused.
            #expect(try Self.layers(mnt) == "1 indexed, 2 loaded")
            // The file opened before the move reads the old bytes to their end (3 MiB).
            var rest: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let got = read(oldFile, &buffer, buffer.count)
                if got <= 0 { break }
                rest += buffer[0..<got]
            }
            #expect(head.count + rest.count == 3 << 20)
            // The fixture's random bytes come from one seeded stream: the new 1 MiB file is the
            // old one's first MiB.
            let new = try [UInt8](Data(contentsOf: URL(fileURLWithPath: mnt + "/usr/lib/big.bin")))
            #expect(Array((head + rest).prefix(1 << 20)) == new)
        }
    }

    @Test("a 100,000-file layer and a 4 GiB member: every name listed, the member's last bytes and the file after it read, spans bounded")
    func largeLayers() throws {
        try Harness.requireFUSE()
        try Harness.require("igzip", "openssl")
        try Harness.withWorkDirectory { work in
            let layout = work + "/src"
            try Harness.runOK([Self.fixtures + "/make-large-rootfs-image.sh", layout, "t"])
            let store = work + "/store"
            try Harness.layoutfs(["import", layout, "--name", "rootfs/large:1"], store: store)
            let mnt = work + "/mnt"
            try Self.mount("rootfs/large:1", at: mnt, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            // 100,000 files, 100 directories, many/, big/ and its two files, and the root.
            #expect(try Harness.runOK(["sh", "-c", "find \(mnt) | wc -l"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "100105")
            #expect(try Harness.runOK(["cat", mnt + "/many/d42/f0999"]).stdout == "42/999\n")
            let zeros = mnt + "/big/zeros"
            #expect(try FileManager.default.attributesOfItem(atPath: zeros)[.size] as? Int == (4 << 30) + 1)
            // The last 4 KiB + 1 of the member, past 4 GiB: zeros, and exactly that many.
            let tail = try Harness.runOK([
                "python3", "-c", "import sys; f = open(sys.argv[1], 'rb'); f.seek(-4097, 2); b = f.read(); print(len(b), sorted(set(b)))", zeros,
            ]).stdout
            #expect(tail == "4097 [0]\n", "\(tail)")
            #expect(try Harness.runOK(["cat", mnt + "/big/after"]).stdout == "after\n")
            try Harness.layoutfs(["unmount", mnt], store: store)
            // The 4 GiB of zeros (a few MB of gzip) have an access point at least every 16 MiB
            // of output, each a deflated decompressor state: still a small index.
            let indexes = store + "/layer-index/sha256"
            let sizes = try FileManager.default.contentsOfDirectory(atPath: indexes).map { file in
                (
                    index: try #require(try FileManager.default.attributesOfItem(atPath: indexes + "/" + file)[.size] as? Int),
                    layer: try #require(try FileManager.default.attributesOfItem(atPath: store + "/content/blobs/sha256/" + file)[.size] as? Int)
                )
            }
            let zerosLayer = try #require(sizes.max { $0.layer < $1.layer })
            #expect(zerosLayer.index * 10 < zerosLayer.layer, "index \(zerosLayer.index) of a \(zerosLayer.layer)-byte layer")
        }
    }

    @Test(
        "a zstd layer is read through an uncompressed copy kept beside its index: the tree equals umoci unpack's of the gzip image with the same diff_ids; remount loads both; prune removes both"
    )
    func zstdLayer() throws {
        try Harness.requireFUSE()
        try Harness.require("zstd", "getfattr")
        try Harness.withWorkDirectory { work in
            // umoci 0.4.7 reads no zstd: the same image with gzip layers (same diff_ids) is the reference.
            let unpacked = try Self.umociUnpack(try Self.makeImage(work + "/gzip"), work: work + "/gzip")
            let layout = try Self.makeImage(work + "/zstd", ["--zstd", "0"])
            let store = work + "/store"
            try Harness.layoutfs(["import", layout, "--name", "rootfs/zstd:1"], store: store)
            let mnt = work + "/mnt"
            try Self.mount("rootfs/zstd:1", at: mnt, store: store)
            let (differences, _) = try Self.compare(unpacked, mnt)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            try Harness.layoutfs(["unmount", mnt], store: store)
            let indexes = store + "/layer-index/sha256"
            let kept = try FileManager.default.contentsOfDirectory(atPath: indexes)
            #expect(kept.filter { $0.hasSuffix(".tar") }.count == 1, "\(kept)")
            try Self.mount("rootfs/zstd:1", at: mnt, store: store)
            #expect(try Self.layers(mnt) == "0 indexed, 3 loaded")
            #expect(try Self.compare(unpacked, mnt).differences.isEmpty)
            try Harness.layoutfs(["unmount", mnt], store: store)
            try Harness.layoutfs(["rm", "rootfs/zstd:1"], store: store)
            try Harness.layoutfs(["prune"], store: store)
            #expect(try FileManager.default.contentsOfDirectory(atPath: indexes).isEmpty)
        }
    }

    @Test(
        "--rootfs of an image read from a --content directory and from containerd (its content directory, and its Read call) equals umoci unpack's; the containerd lease goes with the mount"
    )
    func otherSources() throws {
        try Harness.requireFUSE()
        try Harness.require("containerd", "ctr", "jq")
        try Harness.withWorkDirectory { work in
            let layout = try Self.makeImage(work)
            let unpacked = try Self.umociUnpack(layout, work: work)
            let manifest = try Harness.runOK(["jq", "-r", ".manifests[0].digest", layout + "/index.json"]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)
            let store = work + "/store"
            let mnt = work + "/mnt"
            // A content directory (an OCI layout's blobs are one), by digest.
            try Self.mount(manifest, at: mnt, store: store, ["--content", layout])
            #expect(try Self.compare(unpacked, mnt).differences.isEmpty)
            try Harness.layoutfs(["unmount", mnt], store: store)

            let containerd = try ContainerdServer(directory: work + "/containerd")
            let archive = work + "/c"
            try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
            try Harness.runOK([
                "sh", "-c",
                "jq -c '.manifests[0].annotations[\"io.containerd.image.name\"] = \"docker.io/rootfs/c:1\"' \(layout)/index.json > \(archive)/index.json && cp \(layout)/oci-layout \(archive)/ && tar -cf \(archive).tar -C \(archive) oci-layout index.json -C \(layout) blobs",
            ])
            try containerd.ctr(["images", "import", "--no-unpack", archive + ".tar"])
            for environment in [[:], ["LAYOUTFS_CONTAINERD_READ": "api"]] {
                try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
                let mounted = try Harness.run(
                    [Harness.binary, "mount", "--rootfs", "--containerd", containerd.socket, "rootfs/c:1", mnt, "--root", work + "/cstore"],
                    environment: environment)
                #expect(mounted.succeeded, "\(mounted.stderr)")
                #expect(try Self.compare(unpacked, mnt).differences.isEmpty, "\(environment)")
                #expect(try containerd.ctr(["leases", "ls", "-q"]).stdout.contains("layoutfs"))
                try Harness.layoutfs(["unmount", mnt], store: work + "/cstore")
                #expect(!(try containerd.ctr(["leases", "ls", "-q"]).stdout.contains("layoutfs")))
            }
        }
    }

    @Test("the demo image, built by umoci from busybox-static (two layers), mounts as the rootfs umoci unpacks, and runs: chroot MNT /bin/sh")
    func umociBuiltImage() throws {
        try Harness.requireFUSE()
        try Harness.require("umoci", "chroot")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.runOK(["umoci", "unpack", "--image", work + "/src:1.35", work + "/bundle"])
            let mnt = work + "/mnt"
            try Self.mount("demo/busybox:1.35", at: mnt, store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let (differences, summary) = try Self.compare(work + "/bundle/rootfs", mnt)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            #expect(!summary.hasPrefix("compared 0 "), "\(summary)")
            // Executables run from the mount (busybox reads itself through the view).
            #expect(try Harness.runOK(["chroot", mnt, "/bin/sh", "-c", "echo hello from $(basename $(readlink -f /bin/sh))"]).stdout.hasPrefix("hello from"))
        }
    }

}
