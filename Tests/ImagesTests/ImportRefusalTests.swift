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

/// Ways a layout can be broken, each of which import must refuse without naming anything.
enum Damage: String, CaseIterable, Sendable, CustomStringConvertible {
    case indexMissing, indexEmpty, indexEmptyObject, manifestsEmpty, indexNotJSON, ociLayoutMissing
    case manifestNotJSON, manifestTooLarge, manifestLongerThanDescriptor, manifestIsAnIndex
    case manifestAlsoHasManifests, manifestClaimsOtherMediaType, entryIsALayer
    case invalidDigestInIndex, uppercaseDigestInIndex, negativeSize, absurdSize
    case corruptLayer, corruptConfig, corruptManifest, layerWrongSize
    case missingLayer, missingConfig, missingManifest, secondEntryMissingLayer
    case manifestDuplicateLayers, manifestLayersOtherCase, manifestLongS, annotationDuplicate
    case configDuplicateMember, configRootfsOtherCase, indexDuplicateManifests, indexBlobDuplicateManifests

    var description: String { rawValue }
}

private struct Broken {
    var path: String
    var code: ImagesError.Code
    /// Text the error message must contain (the digest at fault, or the file).
    var mentions: String?
    /// Blobs that must not be in the store afterwards.
    var notStored: [OCISpec.Digest] = []
    /// A JSON member the message must name (quoted).
    var member: String?
}

private func json(_ descriptor: Descriptor) -> String { String(decoding: descriptor.json.encoded, as: UTF8.self) }

/// A manifest blob for `image`'s config with `members` (raw JSON text) after it, listed alone in index.json.
private func addManifest(_ layout: ImageBuilder, _ image: BuiltImage, _ members: String) throws -> Descriptor {
    let text = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(json(image.config)),\#(members)}"#
    let manifest = try layout.addBlob(Array(text.utf8), mediaType: .ociManifest)
    try layout.writeIndex([ImageBuilder.entry(manifest, refName: "1.0")])
    return manifest
}

private func brokenLayout(_ damage: Damage, in tmp: String) throws -> Broken {
    let layout = try ImageBuilder(path: tmp + "/layout")
    let image = try layout.addImage(platform: amd64)
    let entry = ImageBuilder.entry(image.manifest, refName: "1.0", imageName: "docker.io/demo/broken:1.0")
    try layout.writeIndex([entry])
    let path = layout.path
    func rawIndex(_ descriptorText: String) throws {
        try layout.write(Array(#"{"schemaVersion":2,"manifests":[\#(descriptorText)]}"#.utf8), to: "index.json")
    }
    switch damage {
    case .indexMissing:
        try FileManager.default.removeItem(atPath: path + "/index.json")
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .indexEmpty:
        try layout.write([], to: "index.json")
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .indexEmptyObject:
        try layout.write(Array("{}".utf8), to: "index.json")
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .manifestsEmpty:
        try layout.write(Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.utf8), to: "index.json")
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .indexNotJSON:
        try layout.write(Array("schemaVersion: 2".utf8), to: "index.json")
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .ociLayoutMissing:
        try FileManager.default.removeItem(atPath: path + "/oci-layout")
        return Broken(path: path, code: .invalidLayout, mentions: "oci-layout")
    case .manifestNotJSON:
        let bad = try layout.addBlob(Array("this is not JSON".utf8), mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(bad, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: bad.digest.description, notStored: [bad.digest])
    case .manifestTooLarge:
        let padded = image.manifestBytes + [UInt8](repeating: 0x20, count: Int(ImageLayout.maximumManifestSize) + 1 - image.manifestBytes.count)
        let big = try layout.addBlob(padded, mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(big, refName: "1.0")])
        return Broken(path: path, code: .corruptBlob, mentions: big.digest.description, notStored: [big.digest])
    case .manifestLongerThanDescriptor:
        try layout.write(image.manifestBytes + [0x20], to: image.manifest.digest.blobPath)
        return Broken(path: path, code: .corruptBlob, mentions: image.manifest.digest.description, notStored: [image.manifest.digest])
    case .manifestIsAnIndex:
        let index = try layout.addIndex([image.manifest])
        let lying = Descriptor(mediaType: .ociManifest, digest: index.digest, size: index.size)
        try layout.writeIndex([ImageBuilder.entry(lying, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: index.digest.description, notStored: [index.digest])
    case .manifestAlsoHasManifests:
        // CVE-2021-41190: a document that reads as a manifest and as an index.
        let config = image.config
        let text =
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(String(decoding: config.encoded, as: UTF8.self)),"layers":[],"manifests":[]}"#
        let bad = try layout.addBlob(Array(text.utf8), mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(bad, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: "ambiguous", notStored: [bad.digest])
    case .manifestClaimsOtherMediaType:
        let config = image.config
        let text =
            #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":\#(String(decoding: config.encoded, as: UTF8.self)),"layers":[]}"#
        let bad = try layout.addBlob(Array(text.utf8), mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(bad, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: bad.digest.description, notStored: [bad.digest])
    case .entryIsALayer:
        let layer = image.layers[0]
        try layout.writeIndex([ImageBuilder.entry(layer, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: layer.digest.description)
    case .invalidDigestInIndex:
        try rawIndex(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../etc/passwd","size":10}"#)
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .uppercaseDigestInIndex:
        try rawIndex(
            #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(image.manifest.digest.description.uppercased())","size":\#(image.manifest.size)}"#
        )
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .negativeSize:
        try rawIndex(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(image.manifest.digest)","size":-1}"#)
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .absurdSize:
        try rawIndex(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(image.manifest.digest)","size":2199023255552}"#)
        return Broken(path: path, code: .invalidLayout, mentions: "index.json")
    case .corruptLayer:
        try layout.corruptBlob(image.layers[1].digest)
        return Broken(path: path, code: .corruptBlob, mentions: image.layers[1].digest.description, notStored: [image.layers[1].digest])
    case .corruptConfig:
        try layout.corruptBlob(image.config.digest)
        return Broken(path: path, code: .corruptBlob, mentions: image.config.digest.description, notStored: [image.config.digest])
    case .corruptManifest:
        try layout.corruptBlob(image.manifest.digest)
        return Broken(path: path, code: .corruptBlob, mentions: image.manifest.digest.description, notStored: [image.manifest.digest])
    case .layerWrongSize:
        try layout.write(try layout.read(image.layers[0].digest.blobPath).dropLast(1), to: image.layers[0].digest.blobPath)
        return Broken(path: path, code: .corruptBlob, mentions: image.layers[0].digest.description, notStored: [image.layers[0].digest])
    case .missingLayer:
        try layout.removeBlob(image.layers[0].digest)
        return Broken(path: path, code: .missingBlob, mentions: image.layers[0].digest.description, notStored: [image.layers[0].digest])
    case .missingConfig:
        try layout.removeBlob(image.config.digest)
        return Broken(path: path, code: .missingBlob, mentions: image.config.digest.description, notStored: [image.config.digest])
    case .missingManifest:
        try layout.removeBlob(image.manifest.digest)
        return Broken(path: path, code: .missingBlob, mentions: image.manifest.digest.description, notStored: [image.manifest.digest])
    case .manifestDuplicateLayers:
        // Go readers take the last "layers" (a layer this layout lacks), a first-wins reader the first.
        let other = Descriptor(mediaType: .ociLayer, digest: ImageBuilder.digest(of: [9]), size: 1)
        let bad = try addManifest(layout, image, #""layers":[\#(json(image.layers[0]))],"layers":[\#(json(other))]"#)
        return Broken(path: path, code: .invalidLayout, mentions: "\(bad.digest)", notStored: [bad.digest], member: "layers")
    case .manifestLayersOtherCase:
        let bad = try addManifest(layout, image, #""layers":[],"Layers":[\#(json(image.layers[0]))]"#)
        return Broken(path: path, code: .invalidLayout, mentions: "\(bad.digest)", notStored: [bad.digest], member: "Layers")
    case .manifestLongS:
        // U+017F (long s) folds to "s" in Go: "layer\u017F" is "layers" to skopeo and umoci.
        let bad = try addManifest(layout, image, #""layers":[],"layer\u017F":[\#(json(image.layers[0]))]"#)
        return Broken(path: path, code: .invalidLayout, mentions: "\(bad.digest)", notStored: [bad.digest], member: "layer\u{017F}")
    case .annotationDuplicate:
        let bad = try addManifest(layout, image, #""layers":[],"annotations":{"a":"1","b":"2","a":"3"}"#)
        return Broken(path: path, code: .invalidLayout, mentions: "\(bad.digest)", notStored: [bad.digest], member: "annotations.a")
    case .configDuplicateMember:
        let config = try layout.addBlob(
            Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[],"diff_ids":[]}}"#.utf8), mediaType: .ociConfig)
        let manifest = try layout.addBlob(
            Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(json(config)),"layers":[]}"#.utf8),
            mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(manifest, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: "\(config.digest)", member: "rootfs.diff_ids")
    case .configRootfsOtherCase:
        let config = try layout.addBlob(Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","Diff_IDs":[]}}"#.utf8), mediaType: .ociConfig)
        let manifest = try layout.addBlob(
            Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(json(config)),"layers":[]}"#.utf8),
            mediaType: .ociManifest)
        try layout.writeIndex([ImageBuilder.entry(manifest, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: "\(config.digest)", member: "Diff_IDs")
    case .indexDuplicateManifests:
        try layout.write(Array(#"{"schemaVersion":2,"manifests":[],"manifests":[\#(json(entry))]}"#.utf8), to: "index.json")
        return Broken(path: path, code: .invalidLayout, mentions: "index.json", member: "manifests")
    case .indexBlobDuplicateManifests:
        let index = try layout.addBlob(
            Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(json(image.manifest))],"manifests":[]}"#.utf8),
            mediaType: .ociIndex)
        try layout.writeIndex([ImageBuilder.entry(index, refName: "1.0")])
        return Broken(path: path, code: .invalidLayout, mentions: "\(index.digest)", notStored: [index.digest], member: "manifests")
    case .secondEntryMissingLayer:
        let second = try layout.addImage(platform: amd64)
        try layout.removeBlob(second.layers[1].digest)
        try layout.writeIndex([entry, ImageBuilder.entry(second.manifest, refName: "2.0", imageName: "docker.io/demo/broken:2.0")])
        return Broken(path: path, code: .missingBlob, mentions: second.layers[1].digest.description, notStored: [second.layers[1].digest])
    }
}

@Suite("Import: refusing bad layouts")
struct ImportRefusalTests {
    @Test("a broken layout is refused with a clear error, and no name is bound", arguments: Damage.allCases)
    func refused(damage: Damage) throws {
        try withStore { store, tmp in
            let broken = try brokenLayout(damage, in: tmp)
            let error = #expect(throws: ImagesError.self) {
                try importLayout(store, broken.path, .init(repository: "demo/broken"))
            }
            #expect(error?.code == broken.code, "\(error?.message ?? "")")
            if let mentions = broken.mentions {
                #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "") does not mention \(mentions)")
            }
            if let member = broken.member {
                #expect(error?.message.contains("\"\(member)\"") == true, "\(error?.message ?? "") does not name the member \(member)")
            }
            #expect(try boundNames(store).isEmpty)
            for digest in broken.notStored { #expect(!store.content.contains(digest)) }
            #expect(listing(store.location.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("a path that is not a directory is refused")
    func notADirectory() throws {
        try withStore { store, tmp in
            try writeFile(tmp + "/file", [1])
            #expect((#expect(throws: ImagesError.self) { try importLayout(store, tmp + "/file") })?.code == .invalidLayout)
            #expect((#expect(throws: ImagesError.self) { try importLayout(store, tmp + "/absent") })?.code == .invalidLayout)
        }
    }

    @Test("a missing non-distributable layer (with urls) is reported, not an error")
    func foreignLayer() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let foreignDigest = ImageBuilder.digest(of: [1, 2, 3])
            let foreign = try Descriptor(
                json: JSONParser.parse(
                    Array(
                        #"{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"\#(foreignDigest)","size":3,"urls":["https://example.com/l"]}"#
                            .utf8)))
            let layer = try layout.addLayer()
            let config = try layout.addConfig(platform: amd64, layers: [foreign, layer])
            let manifest = try layout.addBlob(
                JSONValue.object([
                    ("schemaVersion", .number("2")), ("mediaType", .string(MediaType.ociManifest.rawValue)), ("config", config.json),
                    ("layers", .array([foreign.json, layer.json])),
                ]).encoded, mediaType: .ociManifest)
            try layout.writeIndex([ImageBuilder.entry(manifest, refName: "1")])
            let result = try importLayout(store, layout.path, .init(repository: "demo/foreign"))
            #expect(result.absentForeignLayers.map(\.digest) == [foreignDigest])
            #expect(try boundNames(store) == ["docker.io/demo/foreign:1"])
            #expect(store.content.contains(layer.digest))
        }
    }
}
