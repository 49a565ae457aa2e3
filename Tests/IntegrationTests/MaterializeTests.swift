import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `import` and `export --materialize` on a real umoci-built image, judged by skopeo, umoci
/// and oci-image-tool, plus the bad-input cases of issue 2.
@Suite("import and materialize, judged by real tools", .serialized)
struct MaterializeTests {
    @Test("a materialized directory validates, inspects and unpacks like the original; a second run copies nothing")
    func materializeRoundTrip() throws {
        try Harness.require("skopeo", "umoci", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            let imported = try Harness.importDemo(work: work, store: store)
            #expect(imported.stdout.contains("imported docker.io/demo/busybox:1.35 sha256:"))
            let listing = try Harness.layoutfs(["images"], store: store)
            #expect(listing.stdout.contains("docker.io/demo/busybox:1.35"))
            #expect(listing.stdout.contains("linux/amd64"))

            let first = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            #expect(first.stdout.contains("copied 4 blobs"), "\(first.stdout)")
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            let inspect = try Harness.runOK(["skopeo", "inspect", "oci:\(work)/out:1.35"])
            #expect(inspect.stdout.contains("\"Architecture\": \"amd64\""))
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/out:1.35", work + "/bundle"])
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/src:1.35", work + "/bundle-src"])
            try Harness.runOK(["diff", "-r", "--no-dereference", work + "/bundle/rootfs", work + "/bundle-src/rootfs"])
            #expect(try String(contentsOfFile: work + "/out/oci-layout", encoding: .utf8) == #"{"imageLayoutVersion":"1.0.0"}"#)

            let index = try String(contentsOfFile: work + "/out/index.json", encoding: .utf8)
            #expect(index.contains(#""io.containerd.image.name":"docker.io/demo/busybox:1.35""#))
            #expect(index.contains(#""org.opencontainers.image.ref.name":"1.35""#))
            #expect(!index.contains("\\/"))

            let second = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            #expect(second.stdout.contains("copied 0 blobs"), "\(second.stdout)")
            #expect(second.stdout.contains("skipped 4"))
            #expect(try String(contentsOfFile: work + "/out/index.json", encoding: .utf8) == index)
            #expect(second.stdout.contains("index.json unchanged"))

            // Another image with the same tag, into the same directory: appended, and warned about.
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/other:1.35"], store: store)
            let third = try Harness.layoutfs(["export", "demo/other:1.35", "--materialize", work + "/out"], store: store)
            #expect(third.stderr.contains("share the ref name \"1.35\""), "\(third.stderr)")
        }
    }

    @Test("--verify-existing finds a wrong blob under a right name and replaces it")
    func verifyExistingReplacesWrongBlob() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            let blobs = try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256")
            let largest = try #require(
                blobs.max { (try? Self.size(work + "/out/blobs/sha256/" + $0)) ?? 0 < (try? Self.size(work + "/out/blobs/sha256/" + $1)) ?? 0 })
            let path = work + "/out/blobs/sha256/" + largest
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0xFF
            chmod(path, 0o644)
            try Data(bytes).write(to: URL(fileURLWithPath: path))

            let plain = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            #expect(plain.stdout.contains("copied 0 blobs"), "same size: skipped without --verify-existing")
            let verified = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out", "--verify-existing"], store: store)
            #expect(verified.stdout.contains("copied 1 blob "), "\(verified.stdout)")
            #expect(verified.stdout.contains("replaced 1 wrong"))
            #expect(try Harness.sha256(ofFile: path) == largest)
        }
    }

    @Test("a destination whose blobs/ is a symlink is refused and nothing is written through it")
    func symlinkedBlobsRefused() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: work + "/elsewhere", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: work + "/out/blobs", withDestinationPath: work + "/elsewhere")
            let result = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", work + "/out"], store: store, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("layoutfs: error:"))
            #expect(result.stderr.contains("symlink"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/elsewhere").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: work + "/out/index.json"))
        }
    }

    @Test("two materializations of different images into one directory at once both land in index.json")
    func concurrentMaterializations() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.makeDemoImage(at: work + "/a", tag: "a")
            try Harness.makeDemoImage(at: work + "/b", tag: "b")
            try Harness.layoutfs(["import", work + "/a", "--name", "demo/one:a"], store: store)
            try Harness.layoutfs(["import", work + "/b", "--name", "demo/two:b"], store: store)
            for _ in 0..<3 {
                try? FileManager.default.removeItem(atPath: work + "/out")
                let group = DispatchGroup()
                let statuses = StatusBox()
                for name in ["demo/one:a", "demo/two:b"] {
                    DispatchQueue.global().async(group: group) {
                        let r = try? Harness.run([Harness.binary, "export", name, "--materialize", work + "/out", "--root", store])
                        statuses.append(r?.status ?? -1)
                    }
                }
                group.wait()
                #expect(statuses.values == [0, 0])
                let index = try String(contentsOfFile: work + "/out/index.json", encoding: .utf8)
                #expect(index.contains("docker.io/demo/one:a") && index.contains("docker.io/demo/two:b"), "\(index)")
                try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            }
        }
    }

    @Test("an import killed with SIGKILL names nothing; a rerun works and cleans the stale ingest")
    func killedImportResumes() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.makeDemoImage(at: work + "/src")
            // A big extra blob makes the import slow enough to be killed mid-way.
            let big = work + "/big"
            try Harness.runOK(["dd", "if=/dev/urandom", "of=\(big)", "bs=1M", "count=256", "status=none"])
            try Self.addLayer(big, toLayoutAt: work + "/src")
            let child = try Harness.spawn([Harness.binary, "import", work + "/src", "--name", "demo/busybox:1.35", "--root", store])
            // Kill it once an ingest is being written (observed state, polled; bounded).
            var sawIngest = false
            for _ in 0..<20_000 {
                let ingests = (try? FileManager.default.contentsOfDirectory(atPath: store + "/content/ingest")) ?? []
                if ingests.contains(where: { !$0.hasPrefix(".") }) {
                    sawIngest = true
                    break
                }
                var status: Int32 = 0
                if waitpid(child.pid, &status, WNOHANG) == child.pid { break }
                usleep(500)
            }
            kill(child.pid, SIGKILL)
            _ = Harness.wait(child.pid)
            #expect(sawIngest, "the import finished before it could be killed")
            let listing = try Harness.layoutfs(["images"], store: store)
            #expect(!listing.stdout.contains("demo/busybox"), "a killed import must not name the image")
            try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store)
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/content/ingest").isEmpty)
            #expect(try Harness.layoutfs(["images"], store: store).stdout.contains("docker.io/demo/busybox:1.35"))
        }
    }

    @Test("a full disk during materialize gives a clear error and leaves index.json untouched")
    func fullDisk() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            let small = work + "/small"
            try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
            try Harness.runOK(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", small])
            defer { _ = try? Harness.run(["umount", small]) }
            let before = #"{"schemaVersion":2,"manifests":[],"x-keep":1}"#
            try before.write(toFile: small + "/index.json", atomically: false, encoding: .utf8)
            let result = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", small], store: store, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("layoutfs: error:"))
            #expect(result.stderr.contains("disk is full"), "\(result.stderr)")
            #expect(try String(contentsOfFile: small + "/index.json", encoding: .utf8) == before)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: small + "/blobs/sha256").filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("names: an invalid --repo is refused; a name's @digest must be the image's own; NAME@digest resolves")
    func namingRules() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.makeDemoImage(at: work + "/src")
            for bad in ["BAD REPO", "foo:bar", "UPPER"] {
                let result = try Harness.layoutfs(["import", work + "/src", "--repo", bad], store: store, expectSuccess: false)
                #expect(result.status != 0 && result.stderr.contains("invalid --repo"), "\(bad): \(result.stderr)")
            }
            let imported = try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store)
            let digest = try #require(imported.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix("sha256:") }).description
            let wrong = "sha256:" + String(repeating: "a", count: 64)
            let refused = try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/pinned@\(wrong)"], store: store, expectSuccess: false)
            #expect(refused.status != 0 && refused.stderr.contains("drop the @digest"), "\(refused.stderr)")
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/pinned@\(digest)"], store: store)
            try Harness.layoutfs(["export", "demo/pinned@\(digest)", "--materialize", work + "/out"], store: store)
            try Harness.layoutfs(["export", "demo/busybox:1.35@\(digest)", "--materialize", work + "/out"], store: store)
            let stale = try Harness.layoutfs(["export", "demo/busybox:1.35@\(wrong)", "--materialize", work + "/out"], store: store, expectSuccess: false)
            #expect(stale.stderr.contains("is bound to"), "\(stale.stderr)")
        }
    }

    @Test("a name over 255 characters or a tag over 128 is refused, saying which limit, and nothing is named")
    func referenceLimits() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.makeDemoImage(at: work + "/src")
            let longName = "demo/" + String(repeating: "a", count: 313)  // 318 characters, as in issue 12
            let name = try Harness.layoutfs(["import", work + "/src", "--name", longName], store: store, expectSuccess: false)
            #expect(name.status != 0 && name.stderr.contains("more than the 255 a name may have"), "\(name.stderr)")
            let tag = try Harness.layoutfs(
                ["import", work + "/src", "--name", "demo/x:" + String(repeating: "t", count: 129)], store: store, expectSuccess: false)
            #expect(tag.status != 0 && tag.stderr.contains("more than the 128 a tag may have"), "\(tag.stderr)")
            #expect(try Harness.layoutfs(["images", "--json"], store: store).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }

    @Test("an entry whose ref name is not a valid docker tag or name is reported with that reason")
    func unusableRefNames() throws {
        try Harness.withWorkDirectory { work in
            let layout = try ImageBuilder(path: work + "/refs")
            let a = try layout.addImage()
            let b = try layout.addImage()
            try layout.writeIndex([ImageBuilder.entry(a.manifest, refName: "v2.0+build.5"), ImageBuilder.entry(b.manifest, refName: "Foo:Latest")])
            let result = try Harness.layoutfs(["import", layout.path], store: work + "/store")
            #expect(
                result.stdout.contains(#"imported \#(a.manifest.digest) without a name: its ref name "v2.0+build.5" is not a valid docker tag"#),
                "\(result.stdout)")
            #expect(
                result.stdout.contains(#"imported \#(b.manifest.digest) without a name: its ref name "Foo:Latest" is not a valid docker name"#),
                "\(result.stdout)")
            #expect(!result.stdout.contains("the source gives it none"), "\(result.stdout)")
        }
    }

    @Test("materializing into an index.json without mediaType, or an empty one, writes the OCI index media type; the empty forms are warned about")
    func indexMediaType() throws {
        try Harness.require("oci-image-tool")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            for (i, existing) in ["", "{}", #"{"schemaVersion":2,"manifests":[]}"#].enumerated() {
                let out = work + "/out\(i)"
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try existing.write(toFile: out + "/index.json", atomically: false, encoding: .utf8)
                let result = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", out], store: store)
                #expect(result.stderr.contains("layoutfs: warning: \(out)/index.json is an empty index"), "\(existing): \(result.stderr)")
                let mediaType = try Harness.runOK(["jq", "-r", ".mediaType", out + "/index.json"]).stdout
                #expect(mediaType == "application/vnd.oci.image.index.v1+json\n", "\(existing): \(mediaType)")
                try Harness.runOK(["oci-image-tool", "validate", "--type", "image", out])
            }
            // Not an index at all: refused and left as it is.
            let out = work + "/garbage"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try "[1]".write(toFile: out + "/index.json", atomically: false, encoding: .utf8)
            let refused = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", out], store: store, expectSuccess: false)
            #expect(refused.status != 0 && refused.stderr.contains("left as it is"), "\(refused.stderr)")
            #expect(try String(contentsOfFile: out + "/index.json", encoding: .utf8) == "[1]")
        }
    }

    static func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// Adds `file` as an extra (uncompressed-typed) layer to the single manifest of a layout,
    /// rewriting manifest and index with real digests (jq keeps the rest as umoci wrote it).
    static func addLayer(_ file: String, toLayoutAt layout: String, mediaType: String = "application/vnd.oci.image.layer.v1.tar") throws {
        let digest = try Harness.sha256(ofFile: file)
        let size = try Self.size(file)
        try Harness.runOK(["cp", file, "\(layout)/blobs/sha256/\(digest)"])
        let index = try Harness.runOK(["jq", "-r", ".manifests[0].digest", layout + "/index.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let manifestPath = "\(layout)/blobs/sha256/\(index.dropFirst(7))"
        let layer = #"{"mediaType":"\#(mediaType)","digest":"sha256:\#(digest)","size":\#(size)}"#
        let manifest = try Harness.runOK(["jq", "-c", ".layers += [\(layer)]", manifestPath]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let newManifest = layout + "/manifest.tmp"
        try manifest.write(toFile: newManifest, atomically: false, encoding: .utf8)
        let manifestDigest = try Harness.sha256(ofFile: newManifest)
        let manifestSize = try Self.size(newManifest)
        try Harness.runOK(["mv", newManifest, "\(layout)/blobs/sha256/\(manifestDigest)"])
        let newIndex = try Harness.runOK([
            "jq", "-c", ".manifests[0].digest = \"sha256:\(manifestDigest)\" | .manifests[0].size = \(manifestSize)", layout + "/index.json",
        ]).stdout
        try newIndex.write(toFile: layout + "/index.json", atomically: true, encoding: .utf8)
    }
}

final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int32] = []
    func append(_ s: Int32) {
        lock.lock()
        statuses.append(s)
        lock.unlock()
    }
    var values: [Int32] {
        lock.lock()
        defer { lock.unlock() }
        return statuses
    }
}
