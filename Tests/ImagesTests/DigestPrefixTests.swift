import ContentStore
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

private func prefix(_ digest: OCISpec.Digest, _ count: Int = 12) throws -> DigestPrefix {
    try #require(DigestPrefix(hex: String(digest.encoded.prefix(count))))
}

@Suite("IMAGE by digest prefix")
struct DigestPrefixTests {
    @Test("a unique prefix resolves to its root, named or not, pinned like the whole digest; layers never match")
    func unique() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let named = try layout.addImage()
            let unnamed = try layout.addImage()
            try layout.writeIndex([ImageBuilder.entry(named.manifest, refName: "1"), unnamed.manifest])
            try importLayout(store, layout.path, .init(repository: "demo/app"))
            let byPrefix = try store.resolve(.digestPrefix(prefix(named.manifest.digest), orName: nil))
            #expect(byPrefix == (try store.resolve(.digest(named.manifest.digest))))
            #expect(byPrefix.name == nil && byPrefix.pinned)
            let bare = try ImageSpecifier(parsing: String(unnamed.manifest.digest.encoded.prefix(20)))
            #expect(try store.resolve(bare).root.digest == unnamed.manifest.digest)
            let layer = #expect(throws: ImagesError.self) { try store.resolve(.digestPrefix(prefix(named.layers[0].digest), orName: nil)) }
            #expect(layer?.code == .unknownImage)
            #expect(layer?.message.contains("no image digest starts with \(named.layers[0].digest.encoded.prefix(12))") == true, "\(layer?.message ?? "")")
            #expect(layer?.message.contains("docker.io/demo/app:1") == true, "\(layer?.message ?? "")")
        }
    }

    @Test("bare hex no digest starts with is a name, tried second; when neither, the error says both")
    func bareHexName() throws {
        try withStore { store, tmp in
            let (_, image) = try singleImageLayout(tmp)
            let hexName = "abcdefabcdef"
            try importLayout(store, tmp + "/layout", .init(name: hexName))
            let resolved = try store.resolve(try ImageSpecifier(parsing: hexName))
            #expect(resolved.name == "docker.io/library/\(hexName):latest")
            #expect(resolved.root.digest == image.manifest.digest)
            #expect(!resolved.pinned)
            let error = #expect(throws: ImagesError.self) { try store.resolve(try ImageSpecifier(parsing: "012345012345")) }
            #expect(error?.code == .unknownImage)
            #expect(
                error?.message.contains("no image digest starts with 012345012345, and no image named docker.io/library/012345012345:latest") == true,
                "\(error?.message ?? "")")
        }
    }

    @Test("an ambiguous prefix is refused, listing every root it starts with")
    func ambiguous() throws {
        let a = try OCISpec.Digest(parsing: "sha256:" + "a58c0b03f344" + String(repeating: "1", count: 52))
        let b = try OCISpec.Digest(parsing: "sha256:" + "a58c0b03f344" + String(repeating: "2", count: 52))
        let other = try OCISpec.Digest(parsing: "sha256:" + String(repeating: "3", count: 64))
        let roots = [
            ResolvedImage(name: nil, root: Descriptor(mediaType: .ociIndex, digest: b, size: 1), pinned: true),
            ResolvedImage(name: nil, root: Descriptor(mediaType: .ociManifest, digest: a, size: 1), pinned: true),
            ResolvedImage(name: nil, root: Descriptor(mediaType: .ociManifest, digest: other, size: 1), pinned: true),
        ]
        let images = [ImageRecord(name: "docker.io/demo/a:1", target: roots[1].root, created: Date(), updated: Date())]
        let error = #expect(throws: ImagesError.self) { try Store.uniqueRoot(prefix(a), among: roots, images: images) }
        #expect(error?.code == .ambiguous)
        #expect(error?.message == "sha256:a58c0b03f344 is the start of 2 image digests: \(a) (docker.io/demo/a:1); \(b) (index); give more digits")
        #expect(try Store.uniqueRoot(prefix(a, 13), among: roots, images: images)?.root.digest == a)
        #expect(try Store.uniqueRoot(prefix(other), among: roots, images: images)?.root.digest == other)
        #expect(try Store.uniqueRoot(try #require(DigestPrefix(hex: "ffffffffffff")), among: roots, images: images) == nil)
    }
}
