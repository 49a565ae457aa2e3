import Foundation
import OCISpec
import TestSupport
import Testing

/// A manifest, config or index.json that names a member twice is read differently by Go
/// readers (the last wins) and by a first-wins reader: every way in refuses it, naming the blob
/// and the member, and binds no name.
@Suite("duplicate JSON members, on every way in", .serialized)
struct DuplicateMemberTests {
    /// A layout whose only image has a manifest with two "layers": the first lists layer A, the
    /// last (what skopeo and umoci read) layer B. Both blobs are present.
    private func ambiguousLayout(at path: String) throws -> (layout: ImageBuilder, manifest: Descriptor) {
        let layout = try ImageBuilder(path: path)
        let a = try layout.addLayer()
        let b = try layout.addLayer()
        let config = try layout.addConfig(platform: Platform(os: "linux", architecture: "amd64"), layers: [b])
        func json(_ d: Descriptor) -> String { String(decoding: d.json.encoded, as: UTF8.self) }
        let text =
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(json(config)),"layers":[\#(json(a))],"layers":[\#(json(b))]}"#
        let manifest = try layout.addBlob(Array(text.utf8), mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(manifest, refName: "1", imageName: "docker.io/demo/dup:1")])
        return (layout, manifest)
    }

    private func expectRefused(_ result: RunResult, naming digest: OCISpec.Digest, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!result.succeeded, "\(result.stdout)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(digest.description), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(#""layers" appears twice"#), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test("pull refuses a manifest the registry serves with two \"layers\" members")
    func pull() throws {
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            let (layout, manifest) = try ambiguousLayout(at: work + "/src")
            try registry.pushRaw(layout: layout.path, manifest: manifest, tag: "1", to: "team/dup")
            let store = work + "/store"
            let pulled = try Harness.layoutfs(["pull", "\(registry.address)/team/dup:1"], store: store, expectSuccess: false)
            expectRefused(pulled, naming: manifest.digest)
            #expect(try Harness.layoutfs(["images", "--json"], store: store).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }

    @Test("a layout directory, an oci-archive and a content directory with such a manifest are refused")
    func importAndContent() throws {
        try Harness.withWorkDirectory { work in
            let (layout, manifest) = try ambiguousLayout(at: work + "/src")
            let store = work + "/store"
            expectRefused(try Harness.layoutfs(["import", layout.path], store: store, expectSuccess: false), naming: manifest.digest)
            try Harness.runOK(["tar", "-cf", work + "/dup.tar", "-C", layout.path, "oci-layout", "index.json", "blobs"])
            expectRefused(try Harness.layoutfs(["import", work + "/dup.tar"], store: store, expectSuccess: false), naming: manifest.digest)
            #expect(try Harness.layoutfs(["images", "--json"], store: store).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            let exported = try Harness.layoutfs(
                ["export", "--content", layout.path, manifest.digest.description, "--name", "demo/dup:1", "--materialize", work + "/out"], store: store,
                expectSuccess: false)
            expectRefused(exported, naming: manifest.digest)
            #expect(!FileManager.default.fileExists(atPath: work + "/out/index.json"))
        }
    }

    @Test("a materialize destination whose index.json names \"manifests\" twice is refused and left as it is")
    func destinationIndex() throws {
        try Harness.require("umoci", "busybox")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            let out = work + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let index = Array(#"{"schemaVersion":2,"manifests":[],"manifests":[]}"#.utf8)
            try writeFile(out + "/index.json", index)
            let result = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", out], store: store, expectSuccess: false)
            #expect(!result.succeeded)
            #expect(result.stderr.contains(#""manifests" appears twice"#), "\(result.stderr)")
            #expect(try readFile(out + "/index.json") == index)
        }
    }
}
