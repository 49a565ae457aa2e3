import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Docker formats")
struct DockerFormatTests {
    @Test(
        "a Docker-typed image pushed with skopeo --format v2s2 mounts lazily with --oci: skopeo, umoci and oci-image-tool read it, layers unchanged, and prune keeps the converted manifest"
    )
    func dockerTypedImageMountsWithOCI() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo", "umoci", "oci-image-tool", "jq")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/v2:1", format: "v2s2")
            let reference = "\(registry.address)/team/v2:1"
            let raw = try Harness.runOK(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdout
            #expect(raw.contains("application/vnd.docker.distribution.manifest.v2+json"))
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)

            // Without --oci: shown byte-exact, with a warning.
            let plain = try Harness.layoutfs(["mount", "docker://\(reference)", mnt], store: store)
            #expect(plain.stderr.contains("is Docker-typed (application/vnd.docker.distribution.manifest.v2+json)"), "\(plain.stderr)")
            #expect(plain.stderr.contains("add --oci"))
            let plainIndex = try String(contentsOfFile: mnt + "/index.json", encoding: .utf8)
            #expect(plainIndex.contains("application/vnd.docker.distribution.manifest.v2+json"))
            try Harness.runOK([Harness.binary, "unmount", mnt])

            let mounted = try Harness.layoutfs(["mount", reference, mnt, "--oci"], store: store)
            #expect(!mounted.stderr.contains("Docker-typed"), "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let index = try String(contentsOfFile: mnt + "/index.json", encoding: .utf8)
            #expect(index.contains("application/vnd.oci.image.manifest.v1+json") && !index.contains("vnd.docker"), "\(index)")
            // prune while mounted: the converted manifest is leased with the image.
            try Harness.layoutfs(["rm", reference], store: store)
            try Harness.layoutfs(["prune"], store: store)

            let manifest = try Harness.runOK(["skopeo", "inspect", "--raw", "oci:\(mnt):1"]).stdout
            #expect(manifest.contains("application/vnd.oci.image.layer.v1.tar+gzip") && !manifest.contains("vnd.docker"), "\(manifest)")
            // The layers are the registry's (same digests), only their media types changed.
            let layers = { (json: String) throws -> String in
                try Harness.runOK(["sh", "-c", "printf '%s' \"$1\" | jq -c '[.layers[].digest]'", "sh", json]).stdout
            }
            #expect(try layers(manifest) == layers(raw))
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", mnt])
            try Harness.runOK(["umoci", "unpack", "--image", "\(mnt):1", work + "/bundle"])
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/src:1.35", work + "/bundle-src"])
            try Harness.runOK(["diff", "-r", "--no-dereference", work + "/bundle/rootfs", work + "/bundle-src/rootfs"])
            for blob in try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256") {
                #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + blob) == blob)
            }
        }
    }

    @Test(
        "--format docker adds the manifest.json docker load reads: the same on a mount, in a directory and in a tar that skopeo reads as a docker-archive with the source's diff_ids"
    )
    func formatDockerManifest() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/busybox:latest"], store: store)
            try Harness.layoutfs(["export", "demo/busybox:1.35", "demo/busybox:latest", "--tar", work + "/docker.tar", "--format", "docker"], store: store)
            try Harness.runOK(["skopeo", "copy", "docker-archive:\(work)/docker.tar:docker.io/demo/busybox:1.35", "oci:\(work)/back:1"])
            #expect(try ArchiveTests.diffIDs("oci:\(work)/back:1") == ArchiveTests.diffIDs("oci:\(work)/src:1.35"))
            let fromTar = try Harness.runOK(["tar", "xOf", work + "/docker.tar", "manifest.json"]).stdout
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(fromTar.utf8)) as? [[String: Any]])
            #expect(entries.count == 1, "one image under two names is one entry: \(fromTar)")
            #expect(entries.first?["RepoTags"] as? [String] == ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:latest"])
            for path in (entries.first?["Layers"] as? [String] ?? []) + [entries.first?["Config"] as? String ?? "missing"] {
                #expect(path.hasPrefix("blobs/sha256/"))
            }

            try Harness.layoutfs(["export", "demo/busybox:1.35", "demo/busybox:latest", "--materialize", work + "/out", "--format", "docker"], store: store)
            #expect(try String(contentsOfFile: work + "/out/manifest.json", encoding: .utf8) == fromTar)
            // A plain export into that directory says manifest.json was not kept in step.
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/third:3"], store: store)
            let plain = try Harness.layoutfs(["export", "demo/third:3", "--materialize", work + "/out"], store: store)
            #expect(plain.stderr.contains("manifest.json (what docker load reads) was left as it was"), "\(plain.stderr)")
            // With --format docker, the third name joins the same image's entry.
            try Harness.layoutfs(["export", "demo/third:3", "--materialize", work + "/out", "--format", "docker"], store: store)
            let merged = try String(contentsOfFile: work + "/out/manifest.json", encoding: .utf8)
            #expect(merged.contains(#""RepoTags":["docker.io/demo/third:3","docker.io/demo/busybox:1.35","docker.io/demo/busybox:latest"]"#), "\(merged)")
            // A manifest.json that is not a JSON array is refused and left as it is.
            try FileManager.default.createDirectory(atPath: work + "/bad", withIntermediateDirectories: true)
            try "{not json".write(toFile: work + "/bad/manifest.json", atomically: false, encoding: .utf8)
            let refused = try Harness.layoutfs(
                ["export", "demo/busybox:1.35", "--materialize", work + "/bad", "--format", "docker"], store: store, expectSuccess: false)
            #expect(!refused.succeeded && refused.stderr.contains("is not a JSON array of images"), "\(refused.stderr)")
            #expect(try String(contentsOfFile: work + "/bad/manifest.json", encoding: .utf8) == "{not json")
            #expect(!FileManager.default.fileExists(atPath: work + "/bad/index.json"))
            // So is one with a member docker would read as a field of another case.
            let folded = #"[{"Config":"blobs/sha256/x","repotags":["docker.io/demo/evil:1"],"Layers":[]}]"#
            try folded.write(toFile: work + "/bad/manifest.json", atomically: false, encoding: .utf8)
            let foldedRefused = try Harness.layoutfs(
                ["export", "demo/busybox:1.35", "--materialize", work + "/bad", "--format", "docker"], store: store, expectSuccess: false)
            #expect(!foldedRefused.succeeded && foldedRefused.stderr.contains(#"take as "RepoTags""#), "\(foldedRefused.stderr)")
            #expect(try String(contentsOfFile: work + "/bad/manifest.json", encoding: .utf8) == folded)

            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "demo/busybox:1.35", "demo/busybox:latest", mnt, "--format", "docker"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            #expect(try String(contentsOfFile: mnt + "/manifest.json", encoding: .utf8) == fromTar)
            #expect(try FileManager.default.contentsOfDirectory(atPath: mnt).sorted() == ["blobs", "index.json", "ingest", "manifest.json", "oci-layout"])
        }
    }
}
