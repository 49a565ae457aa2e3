import ContentStore
import OCISpec

/// A manifest or index blob read and parsed, with its children for the closure walk.
public enum ManifestNode: Sendable {
    case index(ImageIndex)
    case manifest(ImageManifest)
    /// Anything else: a config, a layer, an unknown media type (no children).
    case leaf

    /// Parses `bytes` as what `descriptor` says it is, after checking size and digest.
    /// A blob of any other media type is a leaf: its content is never parsed.
    /// - Throws: `.corruptBlob` when the bytes do not match the descriptor, `.invalidLayout`
    ///   when a manifest or index is not valid JSON of its kind.
    public init(descriptor: Descriptor, bytes: [UInt8]) throws(ImagesError) {
        guard Int64(bytes.count) == descriptor.size else {
            throw ImagesError(.corruptBlob, "blob \(descriptor.digest) has \(bytes.count) bytes, its descriptor says \(descriptor.size)")
        }
        let actual = DigestHasher.digest(of: bytes, algorithm: descriptor.digest.algorithm)
        guard actual == descriptor.digest else {
            throw ImagesError(.corruptBlob, "blob \(descriptor.digest) is corrupt: its content hashes to \(actual)")
        }
        do {
            if descriptor.mediaType.isIndex {
                self = .index(try ImageIndex(bytes: bytes))
            } else if descriptor.mediaType.isManifest {
                self = .manifest(try ImageManifest(bytes: bytes))
            } else {
                self = .leaf
            }
        } catch {
            throw ImagesError(.invalidLayout, "\(descriptor.mediaType) \(descriptor.digest) is invalid: \(error.message)", underlying: error)
        }
    }

    /// True for media types whose blobs we parse (index, manifest).
    public static func hasChildren(_ mediaType: MediaType) -> Bool { mediaType.isIndex || mediaType.isManifest }

    /// Children in closure order (index: manifests; manifest: config, then layers). `subject`
    /// is an upward link and is not a child.
    public var children: [Descriptor] {
        switch self {
        case .index(let index): return index.manifests
        case .manifest(let manifest): return [manifest.config] + manifest.layers
        case .leaf: return []
        }
    }
}
