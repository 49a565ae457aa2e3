import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

/// A manifest in `layout` whose first layer is non-distributable (`urls`), and the layers.
private func imageWithForeignLayer(_ layout: ImageBuilder) throws -> (manifest: Descriptor, config: Descriptor, foreign: Descriptor, plain: Descriptor) {
    let foreign = try Descriptor(
        json: try layout.addLayer(mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar").json
            .setting("urls", to: .array([.string("https://example.com/layer")])))
    let plain = try layout.addLayer()
    let config = try layout.addConfig(platform: amd64, layers: [foreign, plain])
    let bytes = JSONValue.object([
        ("schemaVersion", .number("2")),
        ("mediaType", .string(MediaType.ociManifest.rawValue)),
        ("config", config.json),
        ("layers", .array([foreign.json, plain.json])),
    ]).encoded
    return (try layout.addBlob(bytes, mediaType: .ociManifest), config, foreign, plain)
}

/// A walker over `layout`'s blobs.
private func walker(_ layout: ImageBuilder, skippingMissing: Bool = false) -> ClosureWalker {
    ClosureWalker(
        imageName: "test/image", skippingMissing: skippingMissing,
        read: { (descriptor) throws(ImagesError) -> [UInt8]? in try? layout.read(descriptor.digest.blobPath) },
        has: { pathExists(layout.blobPath($0.digest)) })
}

/// The rules every closure walk shares (store, import source, pull's registry).
@Suite("ClosureWalker rules")
struct ClosureWalkerRulesTests {
    @Test("a non-distributable layer the source lacks is recorded, not missing; one it has is in the closure")
    func foreignLayers() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let image = try imageWithForeignLayer(layout)
            var present = walker(layout)
            try present.walk(image.manifest)
            #expect(present.blobs.map(\.digest) == [image.config, image.foreign, image.plain, image.manifest].map(\.digest))
            #expect(present.absentForeignLayers.isEmpty)

            try layout.removeBlob(image.foreign.digest)
            var absent = walker(layout)
            try absent.walk(image.manifest)
            #expect(absent.blobs.map(\.digest) == [image.config, image.plain, image.manifest].map(\.digest))
            #expect(absent.absentForeignLayers.map(\.digest) == [image.foreign.digest])

            // Only a layer with urls may be absent.
            try layout.removeBlob(image.plain.digest)
            var broken = walker(layout)
            #expect((#expect(throws: ImagesError.self) { try broken.walk(image.manifest) })?.code == .missingBlob)
        }
    }

    @Test("mayBeAbsent: layers with urls only, never a manifest or index")
    func mayBeAbsent() throws {
        let digest = try OCISpec.Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))
        let layer = Descriptor(mediaType: .ociLayer, digest: digest, size: 1)
        let withURLs = try Descriptor(json: layer.json.setting("urls", to: .array([.string("https://example.com/l")])))
        let manifestWithURLs = try Descriptor(json: withURLs.json.setting("mediaType", to: .string(MediaType.ociManifest.rawValue)))
        #expect(!ClosureWalker.mayBeAbsent(layer))
        #expect(ClosureWalker.mayBeAbsent(withURLs))
        #expect(!ClosureWalker.mayBeAbsent(manifestWithURLs))
    }

    @Test("configs lists each walked manifest's config once, in walk order")
    func configs() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: true)
            let twice = try layout.addIndex([built.index, built.images[0].manifest])
            var walk = walker(layout)
            try walk.walk(twice)
            #expect(walk.configs.map(\.digest) == (built.images + built.attestations).map(\.config.digest))
        }
    }

    @Test("skipping missing manifests leaves their children unvisited: what a pull's next round fetches")
    func rounds() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: false)
            let manifests = try built.images.map { try layout.read($0.manifest.digest.blobPath) }
            for image in built.images { try layout.removeBlob(image.manifest.digest) }
            var first = walker(layout, skippingMissing: true)
            try first.walk(built.index)
            #expect(first.blobs.map(\.digest) == [built.index.digest])
            for (image, bytes) in zip(built.images, manifests) { try layout.write(bytes, to: image.manifest.digest.blobPath) }
            var second = walker(layout, skippingMissing: true)
            try second.walk(built.index)
            var whole = walker(layout)
            try whole.walk(built.index)
            #expect(second.blobs.map(\.digest) == whole.blobs.map(\.digest))
            #expect(Set(whole.blobs.map(\.digest)) == Set(built.blobs.map(\.digest)))
        }
    }

    @Test("a store closure checks image configs from a --content directory, not the store's own (checked on the way in)")
    func configsCheckedOnce() throws {
        try withStore { store, tmp in
            // Two "diff_ids" members: Go readers take the last, we the first; refused when read.
            let bytes = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[],"diff_ids":[]}}"#.utf8)
            let layout = try ImageBuilder(path: tmp + "/content")
            let config = try layout.addBlob(bytes, mediaType: .ociConfig)
            let configJSON = String(decoding: config.json.encoded, as: UTF8.self)
            let manifestBytes = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(configJSON),"layers":[]}"#.utf8)
            let manifest = try layout.addBlob(manifestBytes, mediaType: .ociManifest)

            let foreign = try store.readingAlso(contentDirectory: layout.path)
            let refused = #expect(throws: ImagesError.self) { try foreign.closure(of: manifest, imageName: "test/image") }
            #expect(refused?.code == .invalidLayout)
            #expect(refused?.message.contains("\(config.digest)") == true)
            // Refused is not marked: refused again.
            #expect(!store.checkMarks.contains(config.digest))
            #expect(throws: ImagesError.self) { try foreign.closure(of: manifest, imageName: "test/image") }

            try store.content.write(bytes, digest: config.digest)
            try store.content.write(manifestBytes, digest: manifest.digest)
            let walked = try foreign.closure(of: manifest, imageName: "test/image")
            #expect(walked.blobs.map(\.digest) == [config.digest, manifest.digest])
        }
    }
}

extension ClosureWalkerRulesTests {
    @Test("a config from a --content directory or containerd that passed the check is marked in the store and not parsed again")
    func foreignConfigsCheckedOncePerStore() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/content")
            let image = try layout.addImage()
            let foreign = try store.readingAlso(contentDirectory: layout.path)
            #expect(!store.checkMarks.contains(image.config.digest))
            _ = try foreign.closure(of: image.manifest, imageName: "test/image")
            #expect(store.checkMarks.contains(image.config.digest))
            // Marked: the config is not read again (here, replaced by bytes the check refuses).
            let duplicate = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[],"diff_ids":[]}}"#.utf8)
            try layout.write(duplicate, to: image.config.digest.blobPath)
            _ = try foreign.closure(of: image.manifest, imageName: "test/image")
        }
    }
}

@Suite("nearest names")
struct NearestNamesTests {
    @Test("names of the same repository come first, then by edit distance")
    func ranking() {
        let names = ["docker.io/library/alpine:3.20", "docker.io/demo/busybox:1.35", "docker.io/demo/busybox:latest", "docker.io/demo/busyboy:1.34"]
        #expect(
            NearestNames.rank(names, to: "docker.io/demo/busybox:1.34") == [
                "docker.io/demo/busybox:1.35", "docker.io/demo/busybox:latest", "docker.io/demo/busyboy:1.34", "docker.io/library/alpine:3.20",
            ])
        #expect(NearestNames.rank([], to: "x").isEmpty)
    }
}
