import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("containerd's content directory", .serialized)
struct ContainerdTests {
    @Test("an image imported into containerd with ctr mounts from its content directory, read-only, and passes skopeo, umoci and oci-image-tool")
    func mountFromContainerd() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "umoci", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            try Harness.makeDemoImage(at: work + "/src")
            try Harness.runOK(["skopeo", "copy", "oci:\(work)/src:1.35", "oci-archive:\(work)/image.tar:1.35"])
            try containerd.importArchive(work + "/image.tar", name: "demo/busybox:1.35")
            let content = containerd.contentDirectory
            let before = try FileManager.default.contentsOfDirectory(atPath: content + "/blobs/sha256").sorted()
            let store = work + "/store"

            let listing = try Harness.layoutfs(["images", "--content", content], store: store).stdout
            let digest = try #require(listing.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init), "\(listing)")
            #expect(listing.contains("index"), "\(listing)")

            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "--content", content, digest, mnt, "--name", "demo/busybox:1.35", "--platform", "linux/amd64"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            try Harness.runOK(["skopeo", "inspect", "oci:\(mnt):1.35"])
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", mnt])
            try Harness.runOK(["umoci", "unpack", "--image", "\(mnt):1.35", work + "/bundle"])
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/src:1.35", work + "/bundle-src"])
            try Harness.runOK(["diff", "-r", "--no-dereference", work + "/bundle/rootfs", work + "/bundle-src/rootfs"])
            for blob in try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256") {
                try Harness.runOK(["cmp", mnt + "/blobs/sha256/" + blob, content + "/blobs/sha256/" + blob])
            }
            // Nothing was copied into the store, nothing written into containerd's directory.
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: content + "/blobs/sha256").sorted() == before)

            try Harness.layoutfs(["export", "--content", content, digest, "--name", "demo/busybox:1.35", "--materialize", work + "/out"], store: store)
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            let index = try String(contentsOfFile: work + "/out/index.json", encoding: .utf8)
            #expect(index.contains("docker.io/demo/busybox:1.35"))
        }
    }

    @Test("a BuildKit-shaped content directory (<root>/runc-overlayfs/content) mounts by digest with --name, and exports as an oci-archive skopeo reads")
    func buildKitContentDirectory() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "umoci")
        try Harness.withWorkDirectory { work in
            try Harness.makeDemoImage(at: work + "/src")
            // BuildKit's content store has containerd's shape: blobs/<alg>/<hex> and ingest/.
            let content = work + "/buildkit/runc-overlayfs/content"
            try FileManager.default.createDirectory(atPath: content + "/ingest", withIntermediateDirectories: true)
            try Harness.runOK(["cp", "-r", work + "/src/blobs", content + "/blobs"])
            let digest = try Harness.runOK(["skopeo", "inspect", "--format", "{{.Digest}}", "oci:\(work)/src:1.35"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let store = work + "/store"
            let listing = try Harness.layoutfs(["images", "--content", content, "--json"], store: store).stdout
            #expect(listing.contains(digest), "\(listing)")

            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "--content", content, digest, mnt, "--name", "demo/built:1"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            #expect(try Harness.runOK(["skopeo", "inspect", "--format", "{{.Digest}}", "oci:\(mnt):1"]).stdout.contains(digest))
            try Harness.runOK(["umoci", "unpack", "--image", "\(mnt):1", work + "/bundle"])
            try Harness.layoutfs(["export", "--content", content, digest, "--name", "demo/built:1", "--tar", work + "/built.tar"], store: store)
            #expect(try Harness.runOK(["skopeo", "inspect", "--format", "{{.Digest}}", "oci-archive:\(work)/built.tar:1"]).stdout.contains(digest))
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256").isEmpty)
        }
    }

    @Test("a one-platform ctr images export of a multi-platform image: import says which platforms are there and suggests --platform")
    func onePlatformExport() throws {
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            let layout = try ImageBuilder(path: work + "/multi")
            let built = try layout.addMultiPlatformImage(attestations: false)
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1")])
            try Harness.runOK(["tar", "-C", layout.path, "-cf", work + "/multi.tar", "oci-layout", "index.json", "blobs"])
            try Harness.runOK([
                "ctr", "-a", containerd.socket, "images", "import", "--all-platforms", "--no-unpack", "--index-name", "docker.io/demo/multi:1",
                work + "/multi.tar",
            ])
            try Harness.runOK([
                "ctr", "-a", containerd.socket, "images", "export", "--skip-manifest-json", "--platform", "linux/arm64/v8", work + "/arm64.tar",
                "docker.io/demo/multi:1",
            ])
            // ctr 1.6 (here) still writes every platform's blobs; later ctr versions write the
            // whole index but only the selected platform's blobs: take the amd64 blobs out as they do.
            let amd64 = built.images[0]
            let exported = work + "/exported"
            try FileManager.default.createDirectory(atPath: exported, withIntermediateDirectories: true)
            try Harness.runOK(["tar", "-xf", work + "/arm64.tar", "-C", exported])
            for blob in amd64.blobs { try FileManager.default.removeItem(atPath: "\(exported)/blobs/sha256/\(blob.digest.encoded)") }
            try Harness.runOK(["tar", "-C", exported, "-cf", work + "/arm64.tar", "oci-layout", "index.json", "blobs"])
            let store = work + "/store"
            let refused = try Harness.layoutfs(["import", work + "/arm64.tar"], store: store, expectSuccess: false)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("is missing"), "\(refused.stderr)")
            #expect(refused.stderr.contains("holds only linux/arm64/v8 of the index's platforms (incomplete: linux/amd64)"), "\(refused.stderr)")
            #expect(refused.stderr.contains("import with --platform linux/arm64/v8"), "\(refused.stderr)")
            // As suggested: the platform that is there imports.
            let imported = try Harness.layoutfs(["import", work + "/arm64.tar", "--platform", "linux/arm64/v8", "--name", "demo/multi:arm64"], store: store)
            #expect(imported.stdout.contains("imported docker.io/demo/multi:arm64 \(built.images[1].manifest.digest)"), "\(imported.stdout)")
        }
    }

    @Test("--content that is not a content directory, and --name without one digest image, are clear errors")
    func contentErrors() throws {
        try Harness.withWorkDirectory { work in
            try FileManager.default.createDirectory(atPath: work + "/empty", withIntermediateDirectories: true)
            let wrong = try Harness.layoutfs(["images", "--content", work + "/empty"], store: work + "/store", expectSuccess: false)
            #expect(wrong.status != 0 && wrong.stderr.contains("is not a content directory"), "\(wrong.stderr)")
        }
    }

    @Test("under --content an image is given by its digest prefix, as images --content lists it; a name is answered with how images are given there")
    func contentDigestPrefix() throws {
        try Harness.withWorkDirectory { work in
            try Harness.makeDemoImage(at: work + "/src")
            let content = work + "/buildkit/runc-overlayfs/content"
            try FileManager.default.createDirectory(atPath: content + "/ingest", withIntermediateDirectories: true)
            try Harness.runOK(["cp", "-r", work + "/src/blobs", content + "/blobs"])
            let store = work + "/store"
            let listing = try Harness.layoutfs(["images", "--content", content], store: store).stdout
            let digest = try #require(listing.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init), "\(listing)")
            let short = String(digest.prefix("sha256:".count + 12))
            try Harness.layoutfs(["export", "--content", content, short, "--name", "demo/built:1", "--materialize", work + "/out"], store: store)
            #expect(try String(contentsOfFile: work + "/out/index.json", encoding: .utf8).contains(digest))
            try Harness.layoutfs(
                ["export", "--content", content, String(short.dropFirst("sha256:".count)), "--name", "demo/built:1", "--tar", work + "/built.tar"], store: store
            )
            #expect(FileManager.default.fileExists(atPath: work + "/built.tar"))
            let byName = try Harness.layoutfs(
                ["export", "--content", content, "demo/busybox:1.35", "--materialize", work + "/none"], store: store, expectSuccess: false)
            #expect(byName.status != 0)
            #expect(!byName.stderr.contains("the store has no images yet"), "\(byName.stderr)")
            #expect(byName.stderr.contains("images in the content directory \(content) have no names there"), "\(byName.stderr)")
            #expect(byName.stderr.contains("first 12 or more hex digits") && byName.stderr.contains("--name"), "\(byName.stderr)")
        }
    }
}
