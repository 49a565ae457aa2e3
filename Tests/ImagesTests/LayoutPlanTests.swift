import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

/// Imports a single-platform image named `name` and a multi-platform one named `multiName`;
/// returns their built blobs.
private func populate(_ store: Store, _ tmp: String) throws -> (single: BuiltImage, multi: BuiltIndex) {
    let layout = try ImageBuilder(path: tmp + "/source")
    let single = try layout.addImage(platform: amd64)
    let multi = try layout.addMultiPlatformImage()
    try layout.writeIndex([
        ImageBuilder.entry(single.manifest, imageName: "docker.io/demo/single:1.0"),
        ImageBuilder.entry(multi.index, imageName: "docker.io/demo/multi:2.0"),
    ])
    try importLayout(store, layout.path)
    return (single, multi)
}

@Suite("LayoutPlan")
struct LayoutPlanTests {
    @Test("entries carry io.containerd.image.name = full name and ref.name = the tag")
    func entryAnnotations() throws {
        try withStore { store, tmp in
            let (single, multi) = try populate(store, tmp)
            let images = try [
                store.resolve(.name(ImageReference(parsing: "demo/single:1.0"))),
                store.resolve(.name(ImageReference(parsing: "demo/multi:2.0"))),
            ]
            let plan = try LayoutPlan(store: store, images: images, platform: nil)
            #expect(plan.entries.count == 2)
            #expect(plan.entries[0].digest == single.manifest.digest)
            #expect(plan.entries[0].annotations[AnnotationKey.containerdImageName] == "docker.io/demo/single:1.0")
            #expect(plan.entries[0].annotations[AnnotationKey.refName] == "1.0")
            #expect(plan.entries[0].platform?.description == "linux/amd64")
            #expect(plan.entries[1].digest == multi.index.digest)
            #expect(plan.entries[1].annotations[AnnotationKey.refName] == "2.0")
            #expect(plan.entries[1].platform == nil)
            #expect(plan.warnings.isEmpty)
            // The union of closures, each blob once, children first.
            let digests = plan.blobs.map(\.digest)
            #expect(Set(digests).count == digests.count)
            #expect(Set(digests) == Set((single.blobs + multi.blobs).map(\.digest)))
            let position = Dictionary(uniqueKeysWithValues: digests.enumerated().map { ($1, $0) })
            for image in [single] + multi.images + multi.attestations {
                for child in [image.config] + image.layers { #expect(position[child.digest]! < position[image.manifest.digest]!) }
            }
            // index.json as the mount shows it.
            let index = try ImageIndex(bytes: plan.indexBytes)
            #expect(index.manifests == plan.entries)
            #expect(index.mediaType == .ociIndex)
            #expect(!plan.indexBytes.contains(UInt8(ascii: "\\")))
        }
    }

    @Test("two names for one digest give two entries")
    func twoNamesOneDigest() throws {
        try withStore { store, tmp in
            let (single, _) = try populate(store, tmp)
            try store.images.bind("docker.io/demo/alias:latest", to: store.images.image(named: "docker.io/demo/single:1.0")!.target)
            let images = try ["demo/single:1.0", "demo/alias"].map { try store.resolve(.name(ImageReference(parsing: $0))) }
            let plan = try LayoutPlan(store: store, images: images, platform: nil)
            #expect(plan.entries.map(\.digest) == [single.manifest.digest, single.manifest.digest])
            #expect(plan.entries.map { $0.annotations[AnnotationKey.refName] } == ["1.0", "latest"])
            #expect(plan.blobs.count == single.blobs.count)
        }
    }

    @Test("a by-digest name has no ref name; an unnamed root has no annotations")
    func byDigestAndUnnamed() throws {
        try withStore { store, tmp in
            let (single, _) = try populate(store, tmp)
            let byDigest = LayoutPlan.entry(for: single.manifest, name: "docker.io/demo/single@\(single.manifest.digest)")
            #expect(byDigest.annotations[AnnotationKey.containerdImageName] == "docker.io/demo/single@\(single.manifest.digest)")
            #expect(byDigest.annotations[AnnotationKey.refName] == nil)
            let unnamed = try store.resolve(.digest(single.manifest.digest))
            let plan = try LayoutPlan(store: store, images: [unnamed], platform: nil)
            #expect(plan.entries.count == 1)
            #expect(plan.entries[0].annotations.isEmpty)
            #expect(plan.entries[0].platform?.description == "linux/amd64")
        }
    }

    @Test("two images with the same tag give a warning (readers take the first)")
    func duplicateRefName() throws {
        try withStore { store, tmp in
            let (_, _) = try populate(store, tmp)
            try store.images.bind("docker.io/other/single:1.0", to: store.images.image(named: "docker.io/demo/single:1.0")!.target)
            let images = try ["demo/single:1.0", "other/single:1.0"].map { try store.resolve(.name(ImageReference(parsing: $0))) }
            let plan = try LayoutPlan(store: store, images: images, platform: nil)
            #expect(plan.entries.count == 2)
            #expect(plan.warnings.count == 1)
            #expect(plan.warnings.first?.contains("\"1.0\"") == true)
            #expect(plan.warnings.first?.contains("docker.io/other/single:1.0") == true)
        }
    }

    @Test("--platform re-roots an index at that platform's manifest")
    func platformRerooting() throws {
        try withStore { store, tmp in
            let (_, multi) = try populate(store, tmp)
            let image = try store.resolve(.name(ImageReference(parsing: "demo/multi:2.0")))
            let plan = try LayoutPlan(store: store, images: [image], platform: arm64)
            #expect(plan.entries.map(\.digest) == [multi.images[1].manifest.digest])
            #expect(plan.entries[0].mediaType == .ociManifest)
            #expect(plan.entries[0].platform?.architecture == "arm64")
            #expect(plan.entries[0].annotations[AnnotationKey.refName] == "2.0")
            #expect(Set(plan.blobs.map(\.digest)) == Set(multi.images[1].blobs.map(\.digest)))
        }
    }

    @Test("a missing blob in the store names digest and image")
    func missingBlob() throws {
        try withStore { store, tmp in
            let (single, _) = try populate(store, tmp)
            store.content.delete(single.layers[0].digest)
            let image = try store.resolve(.name(ImageReference(parsing: "demo/single:1.0")))
            let error = #expect(throws: ImagesError.self) { try LayoutPlan(store: store, images: [image], platform: nil) }
            #expect(error?.code == .missingBlob)
            #expect(error?.message.contains(single.layers[0].digest.description) == true)
            #expect(error?.message.contains("docker.io/demo/single:1.0") == true)
        }
    }
}

@Suite("Store.resolve")
struct ResolveTests {
    @Test("names, pinned names and digests resolve; unknown names list what exists")
    func resolve() throws {
        try withStore { store, tmp in
            let (single, _) = try populate(store, tmp)
            let followed = try store.resolve(ImageSpecifier(parsing: "demo/single:1.0"))
            #expect(followed.name == "docker.io/demo/single:1.0")
            #expect(!followed.pinned)
            let pinned = try store.resolve(ImageSpecifier(parsing: "demo/single:1.0@\(single.manifest.digest)"))
            #expect(pinned.pinned)
            #expect(pinned.root.digest == single.manifest.digest)
            let wrongPin = #expect(throws: ImagesError.self) {
                try store.resolve(ImageSpecifier(parsing: "demo/single:1.0@\(single.config.digest)"))
            }
            #expect(wrongPin?.code == .unknownImage)
            let unknown = #expect(throws: ImagesError.self) { try store.resolve(ImageSpecifier(parsing: "demo/absent")) }
            #expect(unknown?.code == .unknownImage)
            #expect(unknown?.message.contains("docker.io/demo/single:1.0") == true)
            let notManifest = #expect(throws: ImagesError.self) { try store.resolve(.digest(single.layers[0].digest)) }
            #expect(notManifest?.code == .invalidArgument)
            let absent = #expect(throws: ImagesError.self) { try store.resolve(.digest(ImageBuilder.digest(of: [9]))) }
            #expect(absent?.code == .missingBlob)
        }
    }
}
