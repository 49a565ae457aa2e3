import Foundation
import Testing

/// `docker://REF` as the IMAGE of export and tag, against the real registry: pulled lazily
/// first (as mount does), then REF.
@Suite("docker://REF in export and tag", .serialized)
struct DockerReferenceTests {
    /// The demo image (manifest, config, two layers) pushed as team/remote:1 to a real registry;
    /// `body` gets the work directory and the reference (without docker://).
    func withPushedDemo(_ body: (_ work: String, _ reference: String) throws -> Void) throws {
        try Harness.require("skopeo", "docker-registry")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/remote:1")
            try body(work, "\(registry.address)/team/remote:1")
        }
    }

    @Test("export docker://REF --materialize pulls lazily, says so as mount does, then fetches what it copies")
    func exportMaterialize() throws {
        try Harness.require("oci-image-tool")
        try withPushedDemo { work, reference in
            let store = work + "/store"
            let export = try Harness.layoutfs(["export", "docker://" + reference, "--materialize", work + "/out"], store: store)
            #expect(export.stdout.contains("pulled \(reference) lazily ("), "\(export.stdout)")
            #expect(!export.stderr.contains("not built yet"), "\(export.stderr)")
            #expect(export.stdout.contains("copied 4 blobs") && export.stdout.contains("fetched 2"), "\(export.stdout)")
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            let blobs = try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256")
            #expect(Set(blobs) == Set(try FileManager.default.contentsOfDirectory(atPath: work + "/src/blobs/sha256")))
            for blob in blobs {
                try Harness.runOK(["cmp", work + "/out/blobs/sha256/" + blob, work + "/src/blobs/sha256/" + blob])
            }
            // REF is named in the store, as after pull --lazy.
            #expect(try Harness.layoutfs(["images"], store: store).stdout.contains(reference))
        }
    }

    @Test("export docker://REF --tar - keeps standard output for the archive: the pulled line goes to stderr")
    func exportTarToStandardOutput() throws {
        try withPushedDemo { work, reference in
            let archive = work + "/image.tar"
            let export = try Harness.run(
                ["sh", "-c", "exec \"$0\" export \"docker://$1\" --tar - --root \"$2\" > \"$3\"", Harness.binary, reference, work + "/store", archive])
            #expect(export.succeeded, "\(export.stderr)")
            #expect(export.stderr.contains("pulled \(reference) lazily ("), "\(export.stderr)")
            try Harness.runOK(["skopeo", "inspect", "oci-archive:\(archive)"])
        }
    }

    @Test("tag docker://REF DST pulls lazily, then names the pulled root DST; a bad DST pulls nothing")
    func tag() throws {
        try withPushedDemo { work, reference in
            let store = work + "/store"
            let refused = try Harness.layoutfs(["tag", "docker://" + reference, "Not/A:Name"], store: store, expectSuccess: false)
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains("layoutfs: error:"), "\(refused.stderr)")
            #expect(!refused.stdout.contains("pulled"), "\(refused.stdout)")

            let tagged = try Harness.layoutfs(["tag", "docker://" + reference, "demo/copy:2"], store: store)
            #expect(tagged.stdout.contains("pulled \(reference) lazily ("), "\(tagged.stdout)")
            #expect(tagged.stdout.contains("tagged docker.io/demo/copy:2 sha256:"), "\(tagged.stdout)")
            let listing = try Harness.layoutfs(["images"], store: store).stdout
            #expect(listing.contains(reference) && listing.contains("docker.io/demo/copy:2"), "\(listing)")
            // The tagged name exports like any other, fetching the lazy layers.
            let export = try Harness.layoutfs(["export", "demo/copy:2", "--materialize", work + "/out"], store: store)
            #expect(export.stdout.contains("fetched 2"), "\(export.stdout)")
        }
    }
}
