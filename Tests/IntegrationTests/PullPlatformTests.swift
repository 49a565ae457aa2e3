import Foundation
import OCISpec
import TestSupport
import Testing

/// `layoutfs pull --platform` of an index whose entries declare no platform, pushed to a real
/// registry exactly as `ctr images import --index-name` writes it: each image's platform is
/// only in its config, so the puller reads configs to select (as import and mount do).
@Suite("pull --platform of an index without entry platforms", .serialized)
struct PullPlatformTests {
    /// The ctr-style index of an amd64 and an arm64/v8 image, pushed as team/ctr:1 with its
    /// exact bytes; `body` gets the work directory, the reference and the two images.
    func withCtrStyleIndex(_ body: (_ work: String, _ reference: String, _ amd64: BuiltImage, _ arm64: BuiltImage) throws -> Void) throws {
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            let layout = try ImageBuilder(path: work + "/src")
            let amd64 = try layout.addImage(platform: Platform(os: "linux", architecture: "amd64"))
            let arm64 = try layout.addImage(platform: Platform(os: "linux", architecture: "arm64", variant: "v8"))
            let entries = [amd64, arm64].map { $0.manifest.settingPlatform(nil) }
            #expect(entries.allSatisfy { $0.json["platform"] == nil })
            let index = try layout.addIndex(entries)
            try registry.pushRaw(layout: layout.path, manifest: index, children: entries, tag: "1", to: "team/ctr")
            try body(work, "\(registry.address)/team/ctr:1", amd64, arm64)
        }
    }

    @Test("pull --platform linux/arm64 selects by the configs and pulls exactly that platform's closure")
    func pullsOnePlatform() throws {
        try withCtrStyleIndex { work, reference, _, arm64 in
            let store = work + "/store"
            let pulled = try Harness.layoutfs(["pull", "--platform", "linux/arm64", reference], store: store)
            #expect(pulled.stdout.contains("pulled \(reference) \(arm64.manifest.digest)"), "\(pulled.stdout)")
            // The config read to select is stored, not fetched again; the manifest is not counted.
            #expect(pulled.stdout.contains("fetched \(arm64.layers.count + 1) blobs"), "\(pulled.stdout)")
            let local = Set(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256"))
            #expect(local == Set(arm64.blobs.map(\.digest.encoded)), "\(local)")
            let listing = try Harness.layoutfs(["images"], store: store).stdout
            let row = try #require(listing.split(separator: "\n").first { $0.hasPrefix(reference) }, "\(listing)")
            #expect(row.hasSuffix("linux/arm64/v8"), "\(listing)")

            let again = try Harness.layoutfs(["pull", "--platform", "linux/arm64", reference], store: store)
            #expect(again.stdout.contains("fetched 0 blobs") && again.stdout.contains("skipped \(arm64.layers.count + 1)"), "\(again.stdout)")
        }
    }

    @Test("pull --platform naming a platform the index lacks fails, listing the platforms its configs declare, and names nothing")
    func missingPlatform() throws {
        try withCtrStyleIndex { work, reference, _, _ in
            let store = work + "/store"
            let refused = try Harness.layoutfs(["pull", "--platform", "linux/s390x", reference], store: store, expectSuccess: false)
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains("has no manifest for linux/s390x; it offers: linux/amd64, linux/arm64/v8"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("Fatal error"), "\(refused.stderr)")
            #expect(!(try Harness.layoutfs(["images"], store: store).stdout.contains(reference)))
        }
    }
}
