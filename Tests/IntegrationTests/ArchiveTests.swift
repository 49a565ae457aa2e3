import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("archives in and out")
struct ArchiveTests {
    /// `skopeo inspect --config` of an image, as JSON.
    static func config(_ reference: String) throws -> [String: Any] {
        let output = try Harness.runOK(["skopeo", "inspect", "--config", reference]).stdout
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    /// The demo image built in `work/src` (tag 1.35) and copied by skopeo to `work/docker.tar`
    /// (a docker-archive naming it demo/busybox:1.35) or `work/image.tar` (an oci-archive).
    static func makeDemoArchive(in work: String, docker: Bool) throws {
        try Harness.makeDemoImage(at: work + "/src")
        let destination = docker ? "docker-archive:\(work)/docker.tar:demo/busybox:1.35" : "oci-archive:\(work)/image.tar:1.35"
        try Harness.runOK(["skopeo", "copy", "oci:\(work)/src:1.35", destination])
    }

    /// An import that must have failed with a message matching `message` (a regular
    /// expression), without crashing, and named nothing.
    static func expectRefused(_ result: RunResult, store: String, message: String, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!result.succeeded, "\(label) was imported", sourceLocation: sourceLocation)
        #expect(result.stderr.range(of: message, options: .regularExpression) != nil, "\(label): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("crashed"), sourceLocation: sourceLocation)
        let listing = try Harness.layoutfs(["images", "--json"], store: store).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(listing == "[]", "\(label) named something: \(listing)", sourceLocation: sourceLocation)
    }

    static func diffIDs(_ reference: String) throws -> [String] {
        let rootfs = try #require(try config(reference)["rootfs"] as? [String: Any])
        return try #require(rootfs["diff_ids"] as? [String])
    }

    @Test("a docker-archive from skopeo imports; its diff_ids survive export --tar and skopeo copy oci-archive:, and it unpacks to the same files")
    func dockerArchiveRoundTrip() throws {
        try Harness.require("skopeo", "umoci", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Self.makeDemoArchive(in: work, docker: true)
            let imported = try Harness.layoutfs(["import", work + "/docker.tar"], store: store)
            #expect(imported.stdout.contains("imported docker.io/demo/busybox:1.35 sha256:"), "\(imported.stdout)")
            #expect(imported.stdout.contains("copied 3 blobs"), "config and two layers: \(imported.stdout)")

            let exported = try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", work + "/out.tar"], store: store)
            #expect(exported.stderr.contains("wrote 4 blobs"), "\(exported.stderr)")
            try Harness.runOK(["skopeo", "copy", "oci-archive:\(work)/out.tar:1.35", "oci:\(work)/back:1.35"])
            let original = try Self.diffIDs("oci:\(work)/src:1.35")
            #expect(original.count == 2)
            #expect(try Self.diffIDs("oci:\(work)/back:1.35") == original)
            // The archive's layers are uncompressed, as the docker-archive had them: each layer's digest is its diff_id.
            let manifest = try Harness.runOK(["skopeo", "inspect", "--raw", "oci-archive:\(work)/out.tar:1.35"]).stdout
            for id in original { #expect(manifest.contains(id)) }
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/back"])
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/back:1.35", work + "/bundle"])
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/src:1.35", work + "/bundle-src"])
            try Harness.runOK(["diff", "-r", "--no-dereference", work + "/bundle/rootfs", work + "/bundle-src/rootfs"])

            // A second import of the same archive copies nothing and gives the same digest.
            let again = try Harness.layoutfs(["import", work + "/docker.tar"], store: store)
            #expect(again.stdout.contains("copied 0 blobs"), "\(again.stdout)")
            #expect(again.stdout.split(separator: "\n").first == imported.stdout.split(separator: "\n").first)
        }
    }

    @Test("an oci-archive imports from standard input with the source's manifest digest, and export --tar - streams one skopeo reads")
    func ociArchiveThroughPipes() throws {
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Self.makeDemoArchive(in: work, docker: false)
            let digest = try Harness.runOK(["skopeo", "inspect", "--format", "{{.Digest}}", "oci:\(work)/src:1.35"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let binary = Harness.binary
            let imported = try Harness.runOK([
                "sh", "-c", "gzip -c \"$1\" | \"$2\" import - --name demo/piped:1 --root \"$3\"", "sh", work + "/image.tar", binary, store,
            ])
            #expect(imported.stdout.contains("imported docker.io/demo/piped:1 \(digest)"), "\(imported.stdout)")

            try Harness.runOK(["sh", "-c", "\"$1\" export demo/piped:1 --tar - --root \"$2\" > \"$3\"", "sh", binary, store, work + "/piped.tar"])
            let inspected = try Harness.runOK(["skopeo", "inspect", "--format", "{{.Digest}}", "oci-archive:\(work)/piped.tar:1"]).stdout
            #expect(inspected.trimmingCharacters(in: .whitespacesAndNewlines) == digest)
            let members = try Harness.runOK(["tar", "tf", work + "/piped.tar"]).stdout.split(separator: "\n")
            #expect(members.prefix(2) == ["oci-layout", "index.json"])
        }
    }

    /// Writes a copy of the tar `base` plus one hostile member (python's tarfile; nothing is
    /// extracted anywhere).
    static let hostileArchive = """
        import hashlib, io, json, sys, tarfile
        base, out, kind = sys.argv[1:4]
        with tarfile.open(base) as src, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
            for m in src.getmembers():
                if kind == "badsize" and m.name == "index.json": continue
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
            def add(name, data=b"x", type=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name); info.type = type; info.linkname = link; info.size = len(data) if type == tarfile.REGTYPE else 0
                dst.addfile(info, io.BytesIO(data) if type == tarfile.REGTYPE else None)
            other = hashlib.sha256(b"something else").hexdigest()
            if kind == "dotdot": add("../escape")
            if kind == "absolute": add("/tmp/layoutfs-absolute-escape")
            if kind == "symlink": add("blobs/sha256/" + other, type=tarfile.SYMTYPE, link="/etc/passwd")
            if kind == "unexpected": add("etc/passwd")
            if kind == "fifo": add("blobs/sha256/" + other, type=tarfile.FIFOTYPE)
            if kind == "wrongblob": add("blobs/sha256/" + other, b"not what the name says")
            if kind == "badname": add("blobs/sha256/../../escape")
            if kind == "duplicate":
                blob = next(m.name for m in src.getmembers() if m.isfile() and m.name.startswith("blobs/"))
                add(blob, b"a second, different copy")
            if kind == "badsize":
                # The manifest claims a wrong size for its first layer; the layer itself is intact.
                index = json.load(src.extractfile("index.json"))
                manifest = json.load(src.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
                manifest["layers"][0]["size"] += 1000
                data = json.dumps(manifest).encode()
                add("blobs/sha256/" + hashlib.sha256(data).hexdigest(), data)
                index["manifests"][0].update(digest="sha256:" + hashlib.sha256(data).hexdigest(), size=len(data))
                add("index.json", json.dumps(index).encode())
        """

    @Test(
        "a hostile or damaged archive is refused with a clear error and names nothing",
        arguments: [
            ("dotdot", "unsafe path"), ("absolute", "unsafe path"), ("symlink", "unexpected member"), ("unexpected", "unexpected member etc/passwd"),
            ("fifo", "unexpected member"), ("wrongblob", "does not match its name"), ("badname", "unsafe path"), ("truncated", "damaged or truncated"),
            ("garbage", "cannot open .* as a tar archive: Unrecognized archive format"), ("duplicate", "twice"),
            ("badsize", "bytes, but its descriptor in .* says"),
        ])
    func hostileArchives(kind: String, message: String) throws {
        try Harness.require("skopeo", "python3")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Self.makeDemoArchive(in: work, docker: false)
            let bad = work + "/bad.tar"
            switch kind {
            case "truncated":
                let bytes = try Data(contentsOf: URL(fileURLWithPath: work + "/image.tar"))
                try bytes.prefix(bytes.count / 2 + 100).write(to: URL(fileURLWithPath: bad))
            case "garbage":
                try Data((0..<100_000).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: bad))
            default:
                try Harness.runOK(["python3", "-c", Self.hostileArchive, work + "/image.tar", bad, kind])
            }
            let result = try Harness.layoutfs(["import", bad, "--name", "demo/bad:1"], store: store, expectSuccess: false)
            try Self.expectRefused(result, store: store, message: message, kind)
            #expect(!FileManager.default.fileExists(atPath: work + "/escape"))
            #expect(!FileManager.default.fileExists(atPath: "/tmp/layoutfs-absolute-escape"))
        }
    }

    /// Rewrites skopeo's docker-archive `base` into `out`: "diffid" changes the config's first
    /// diff_id, "missing" names an absent layer, "escape" points the layer at a link leaving the
    /// archive, "gzip" stores the layers gzip-compressed (a valid archive).
    static let dockerArchiveVariant = """
        import gzip, hashlib, io, json, sys, tarfile
        base, out, kind = sys.argv[1:4]
        with tarfile.open(base) as src:
            files = {m.name: src.extractfile(m).read() for m in src.getmembers() if m.isfile()}
        manifest = json.loads(files["manifest.json"])
        entry = manifest[0]
        extra = []
        if kind in ("diffid", "gzipdiff"):
            config = json.loads(files[entry["Config"]])
            config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
            data = json.dumps(config).encode()
            name = hashlib.sha256(data).hexdigest() + ".json"
            files[name] = data
            entry["Config"] = name
        if kind == "missing":
            entry["Layers"][0] = "absent.tar"
        if kind == "escape":
            extra.append(("evil/layer.tar", "../../../etc/passwd"))
            entry["Layers"][0] = "evil/layer.tar"
        if kind == "configarray":
            files[entry["Config"]] = b"[]"
        if kind == "digesttag":
            entry["RepoTags"] = ["foo/bar@sha256:" + "a" * 64]
        if kind == "repotagscase":
            entry["repotags"] = ["docker.io/demo/evil:1"]
        if kind in ("gzip", "gzipdiff"):
            layers = []
            for layer in entry["Layers"]:
                data = gzip.compress(files[layer], mtime=0)
                name = hashlib.sha256(data).hexdigest() + ".tar"
                files[name] = data
                layers.append(name)
            entry["Layers"] = layers
        files["manifest.json"] = json.dumps(manifest).encode()
        with tarfile.open(out, "w") as dst:
            for name, data in files.items():
                if "/" in name: continue
                info = tarfile.TarInfo(name); info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
            for name, target in extra:
                info = tarfile.TarInfo(name); info.type = tarfile.SYMTYPE; info.linkname = target
                dst.addfile(info)
        """

    @Test(
        "a docker-archive whose layer (plain or gzip) is not its diff_id, names an absent layer, links outside, has a bad config or tag is refused; gzip layers import typed tar+gzip",
        arguments: [
            ("diffid", "rootfs.diff_ids\\[0\\]"), ("missing", "names layer absent.tar, which is not in the archive"), ("escape", "leaves the archive"),
            ("gzip", ""),
            ("configarray", "is not an image config whose rootfs.diff_ids"), ("digesttag", "not a name with a tag"),
            ("gzipdiff", "has uncompressed digest .* but the config's rootfs.diff_ids\\[0\\]"),
            ("repotagscase", "member \"repotags\" that Go readers .* take as \"RepoTags\""),
        ])
    func dockerArchiveVariants(kind: String, message: String) throws {
        try Harness.require("skopeo", "python3")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Self.makeDemoArchive(in: work, docker: true)
            try Harness.runOK(["python3", "-c", Self.dockerArchiveVariant, work + "/docker.tar", work + "/variant.tar", kind])
            let result = try Harness.layoutfs(["import", work + "/variant.tar"], store: store, expectSuccess: kind == "gzip")
            guard kind == "gzip" else { return try Self.expectRefused(result, store: store, message: message, kind) }
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            let manifest = try Harness.runOK(["skopeo", "inspect", "--raw", "oci:\(work)/out:1.35"]).stdout
            #expect(manifest.components(separatedBy: "application/vnd.oci.image.layer.v1.tar+gzip").count == 3, "\(manifest)")
            try Harness.runOK(["skopeo", "copy", "oci:\(work)/out:1.35", "oci:\(work)/copy:1"])
            #expect(try Self.diffIDs("oci:\(work)/copy:1") == Self.diffIDs("oci:\(work)/src:1.35"))
        }
    }

    @Test(
        "a docker-archive of the newer form (an OCI layout plus manifest.json, as export --tar --format docker and Docker 25 write it) imports through its index.json"
    )
    func newerDockerArchive() throws {
        try Harness.withWorkDirectory { work in
            let imported = try Harness.importDemo(work: work, store: work + "/store")
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", work + "/docker.tar", "--format", "docker"], store: work + "/store")
            #expect(try Harness.runOK(["tar", "tf", work + "/docker.tar"]).stdout.contains("manifest.json"))
            let again = try Harness.layoutfs(["import", work + "/docker.tar"], store: work + "/other")
            #expect(again.stdout.split(separator: "\n").first == imported.stdout.split(separator: "\n").first, "\(again.stdout)")
        }
    }

    @Test("export --tar of a store blob that no longer matches its digest fails and leaves the existing file as it was")
    func exportTarOfCorruptBlobLeavesFile() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try "previous".write(toFile: work + "/out.tar", atomically: false, encoding: .utf8)
            let blobs = store + "/content/blobs/sha256"
            let largest = try #require(
                try FileManager.default.contentsOfDirectory(atPath: blobs).max {
                    (try Self.size(blobs + "/" + $0)) < (try Self.size(blobs + "/" + $1))
                })
            let fd = open(blobs + "/" + largest, O_WRONLY)
            #expect(fd >= 0)
            #expect(pwrite(fd, "XXXX", 4, 1000) == 4)
            close(fd)
            let result = try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", work + "/out.tar"], store: store, expectSuccess: false)
            #expect(!result.succeeded)
            #expect(result.stderr.contains("no longer matches its digest"), "\(result.stderr)")
            #expect(try String(contentsOfFile: work + "/out.tar", encoding: .utf8) == "previous")
            #expect(try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.hasPrefix(".out.tar") }.isEmpty)
        }
    }

    @Test(
        "export --tar writes into a character device and through a symlink without replacing them, and refuses a path inside the store reached through a symlink and .."
    )
    func exportTarDestinations() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.runOK(["mknod", work + "/null", "c", "1", "3"])
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", work + "/null"], store: store)
            var st = stat()
            #expect(lstat(work + "/null", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "the device node is still one")

            try "old".write(toFile: work + "/target.tar", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: work + "/link.tar", withDestinationPath: "target.tar")
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", work + "/link.tar"], store: store)
            #expect(lstat(work + "/link.tar", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
            #expect(try Harness.runOK(["tar", "tf", work + "/target.tar"]).stdout.hasPrefix("oci-layout\n"))

            let blobs = store + "/content/blobs/sha256"
            let blob = try #require(try FileManager.default.contentsOfDirectory(atPath: blobs).first)
            let before = try Harness.sha256(ofFile: blobs + "/" + blob)
            try FileManager.default.createSymbolicLink(atPath: work + "/lnk", withDestinationPath: blobs)
            let refused = try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", "\(work)/lnk/../sha256/\(blob)"], store: store, expectSuccess: false)
            #expect(!refused.succeeded && refused.stderr.contains("is inside the store"), "\(refused.stderr)")
            #expect(try Harness.sha256(ofFile: blobs + "/" + blob) == before)
        }
    }

    static func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
