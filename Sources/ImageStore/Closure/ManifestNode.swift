import ContentStore
import OCISpec

/// A manifest or index blob read and parsed, with its children for the closure walk.
package enum ManifestNode: Sendable {
    case index(ImageIndex)
    case manifest(ImageManifest)
    /// Anything else: a config, a layer, an unknown media type (no children).
    case leaf

    /// Parses `bytes` as what `descriptor` says it is, after checking size and digest.
    /// A blob of any other media type is a leaf: its content is never parsed.
    /// - Throws: `.corruptBlob` when the bytes do not match the descriptor, `.invalidLayout`
    ///   when a manifest or index is not valid JSON of its kind.
    package init(descriptor: Descriptor, bytes: [UInt8]) throws(ImagesError) {
        try Self.verify(descriptor, bytes: bytes)
        let node: ManifestNode
        do throws(OCISpecError) {
            if descriptor.mediaType.isIndex {
                node = .index(try ImageIndex(bytes: bytes))
            } else if descriptor.mediaType.isManifest {
                node = .manifest(try ImageManifest(bytes: bytes))
            } else {
                node = .leaf
            }
        } catch {
            throw ImagesError(.invalidLayout, "\(descriptor.mediaType) \(descriptor.digest) is invalid: \(error.message)", underlying: error)
        }
        switch node {
        case .index(let index): try Self.checkUnambiguous(index.json, descriptor: descriptor, forbidden: ["config", "layers"])
        case .manifest(let manifest): try Self.checkUnambiguous(manifest.json, descriptor: descriptor, forbidden: ["manifests"])
        case .leaf: break
        }
        self = node
    }

    /// Refuses documents that could be read as another kind (CVE-2021-41190: a manifest that also
    /// has `manifests`, an index that has `config` or `layers`) and a `mediaType` field that
    /// contradicts the descriptor, as containerd does.
    static func checkUnambiguous(_ json: JSONValue, descriptor: Descriptor, forbidden: [String]) throws(ImagesError) {
        for field in forbidden where json[field] != nil {
            throw ImagesError(.invalidLayout, "\(descriptor.mediaType) \(descriptor.digest) is ambiguous: it also has a \"\(field)\" field")
        }
        if let declared = json["mediaType"]?.stringValue, declared != descriptor.mediaType.rawValue {
            throw ImagesError(
                .invalidLayout, "\(descriptor.digest) says it is \(declared), but its descriptor says \(descriptor.mediaType)")
        }
    }

    /// Checks that `bytes` are `descriptor`'s blob.
    /// - Throws: `.corruptBlob` for another size or digest.
    package static func verify(_ descriptor: Descriptor, bytes: [UInt8]) throws(ImagesError) {
        guard Int64(bytes.count) == descriptor.size else {
            throw ImagesError(.corruptBlob, "blob \(descriptor.digest) has \(bytes.count) bytes, its descriptor says \(descriptor.size)")
        }
        let actual = DigestHasher.digest(of: bytes, algorithm: descriptor.digest.algorithm)
        guard actual == descriptor.digest else {
            throw ImagesError(.corruptBlob, "blob \(descriptor.digest) is corrupt: its content hashes to \(actual)")
        }
    }

    /// Refuses an image config (OCI or Docker media type) that readers would take differently
    /// from us: a member named twice, or a config.md field spelled with other case (Go readers
    /// match names case-insensitively). Other media types and configs over 4 MiB pass unread.
    /// - Throws: `.corruptBlob` when `bytes` are not the config's; `.invalidLayout` naming the
    ///   config's digest and the member.
    package static func checkConfiguration(_ descriptor: Descriptor, bytes: [UInt8]) throws(ImagesError) {
        guard descriptor.mediaType.isImageConfiguration, bytes.count <= ImageLayout.maximumManifestSize
        else { return }
        try verify(descriptor, bytes: bytes)
        do throws(OCISpecError) {
            _ = try ImageConfiguration(bytes: bytes)
        } catch {
            throw ImagesError(.invalidLayout, "\(descriptor.mediaType) \(descriptor.digest) is invalid: \(error.message)", underlying: error)
        }
    }

    /// True for media types whose blobs we parse (index, manifest).
    package static func hasChildren(_ mediaType: MediaType) -> Bool { mediaType.isIndex || mediaType.isManifest }

    /// Children in closure order (index: manifests; manifest: config, then layers). `subject`
    /// is an upward link and is not a child.
    package var children: [Descriptor] {
        switch self {
        case .index(let index): return index.manifests
        case .manifest(let manifest): return [manifest.config] + manifest.layers
        case .leaf: return []
        }
    }
}
