import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

/// A walker over the blobs of `layout`, counting reads per digest.
private func walker(_ layout: ImageBuilder, reads: Locked<[OCISpec.Digest: Int]>) -> ClosureWalker {
    ClosureWalker(
        imageName: "test/image",
        read: { (descriptor) throws(ImagesError) -> [UInt8]? in
            reads.withLock { $0[descriptor.digest, default: 0] += 1 }
            return try? layout.read(descriptor.digest.blobPath)
        },
        has: { pathExists(layout.blobPath($0.digest)) })
}

/// Checks that in `order` every child comes before the parent that lists it.
private func childrenFirst(_ order: [Descriptor], parents: [(parent: OCISpec.Digest, children: [OCISpec.Digest])]) -> Bool {
    let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1.digest, $0) })
    return parents.allSatisfy { entry in
        guard let p = position[entry.parent] else { return false }
        return entry.children.allSatisfy { (position[$0] ?? Int.max) < p }
    }
}

@Suite("ClosureWalker")
struct ClosureWalkerTests {
    @Test("children come before parents, each blob once, shared layers once")
    func order() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let shared = ImageBuilder.tarArchive([("shared", ImageBuilder.randomBytes(100))])
            let a = try layout.addImage(platform: amd64, layers: [shared, ImageBuilder.randomBytes(50)])
            let b = try layout.addImage(platform: arm64, layers: [ImageBuilder.randomBytes(60), shared])
            let attestation = try layout.addAttestation(for: a)
            let index = try layout.addIndex([a.manifest, b.manifest, attestation.manifest])
            let reads = Locked<[OCISpec.Digest: Int]>([:])
            var walk = walker(layout, reads: reads)
            try walk.walk(index)
            try walk.walk(index)  // a second walk of the same root adds nothing

            let digests = walk.blobs.map(\.digest)
            #expect(Set(digests).count == digests.count)
            let expected = Set((a.blobs + b.blobs + attestation.blobs + [index]).map(\.digest))
            #expect(Set(digests) == expected)
            #expect(digests.last == index.digest)
            #expect(
                childrenFirst(
                    walk.blobs,
                    parents: [
                        (index.digest, [a.manifest.digest, b.manifest.digest, attestation.manifest.digest]),
                        (a.manifest.digest, ([a.config] + a.layers).map(\.digest)),
                        (b.manifest.digest, ([b.config] + b.layers).map(\.digest)),
                        (attestation.manifest.digest, ([attestation.config] + attestation.layers).map(\.digest)),
                    ]))
            // Manifests, indexes and image configs are read once each (configs to refuse duplicate
            // members); layers are never read.
            #expect(
                reads.current == [
                    index.digest: 1, a.manifest.digest: 1, b.manifest.digest: 1, attestation.manifest.digest: 1, a.config.digest: 1,
                    b.config.digest: 1, attestation.config.digest: 1,
                ])
        }
    }

    @Test("subject is an upward link and is not followed")
    func subjectNotFollowed() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let subject = try layout.addImage()
            let referrer = try layout.addImage(subject: subject.manifest)
            try layout.removeBlob(subject.manifest.digest)  // would be "missing" if followed
            let reads = Locked<[OCISpec.Digest: Int]>([:])
            var walk = walker(layout, reads: reads)
            try walk.walk(referrer.manifest)
            #expect(walk.blobs.map(\.digest) == referrer.blobs.map(\.digest))
            #expect(!walk.blobs.contains { $0.digest == subject.manifest.digest })
        }
    }

    @Test("a missing blob is an error naming its digest and the image")
    func missing() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let image = try layout.addImage()
            try layout.removeBlob(image.layers[1].digest)
            var walk = walker(layout, reads: Locked([:]))
            let error = #expect(throws: ImagesError.self) { try walk.walk(image.manifest) }
            #expect(error?.code == .missingBlob)
            #expect(error?.message.contains(image.layers[1].digest.description) == true)
            #expect(error?.message.contains("test/image") == true)
        }
    }

    @Test("a manifest whose bytes do not match its descriptor is corrupt")
    func corruptManifest() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let image = try layout.addImage()
            try layout.corruptBlob(image.manifest.digest)
            var walk = walker(layout, reads: Locked([:]))
            #expect((#expect(throws: ImagesError.self) { try walk.walk(image.manifest) })?.code == .corruptBlob)
        }
    }

    @Test("indexes nested more than 16 deep are refused")
    func nesting() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            var root = try layout.addImage().manifest
            for _ in 0..<20 { root = try layout.addIndex([root]) }
            var walk = walker(layout, reads: Locked([:]))
            #expect((#expect(throws: ImagesError.self) { try walk.walk(root) })?.code == .invalidLayout)
        }
    }

    @Test("the store's closure of an imported image is the same set, children first")
    func storeClosure() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage()
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1")])
            try importLayout(store, layout.path, .init(repository: "demo/x"))
            let walk = try store.closure(of: built.index, imageName: "demo/x")
            #expect(Set(walk.blobs.map(\.digest)) == Set(built.blobs.map(\.digest)))
            #expect(walk.blobs.last?.digest == built.index.digest)
            store.content.delete(built.images[0].layers[0].digest)
            let error = #expect(throws: ImagesError.self) { try store.closure(of: built.index, imageName: "demo/x") }
            #expect(error?.code == .missingBlob)
            #expect(error?.message.contains(built.images[0].layers[0].digest.description) == true)
        }
    }
}
