import ContentStore
import OCISpec

/// Walks the closure of a root descriptor (index -> manifests, recursively -> config + layers),
/// children before parents, each blob once. `subject` is not followed. Layers with `urls`
/// (non-distributable) may be absent: they are reported in `absentForeignLayers`, not fetched.
public struct ClosureWalker {
    /// Reads a manifest, index or image config blob's bytes, or nil when the source lacks it.
    public typealias ReadBlob = (Descriptor) throws(ImagesError) -> [UInt8]?
    /// Whether a blob without children is available (a layer or config).
    public typealias HasBlob = (Descriptor) -> Bool

    /// Blobs of the closure, children first.
    public private(set) var blobs: [Descriptor] = []
    /// Non-distributable layers that the source lacks.
    public private(set) var absentForeignLayers: [Descriptor] = []
    private var seen: Set<Digest> = []
    private let read: ReadBlob
    private let has: HasBlob
    private let imageName: String
    private let skippingMissing: Bool

    /// - Parameters:
    ///   - imageName: used in error messages ("blob X of image Y is missing").
    ///   - skippingMissing: walk past missing blobs instead of failing (what is left of an image).
    public init(imageName: String, skippingMissing: Bool = false, read: @escaping ReadBlob, has: @escaping HasBlob) {
        self.imageName = imageName
        self.skippingMissing = skippingMissing
        self.read = read
        self.has = has
    }

    /// Adds the closure of `root`.
    /// - Throws: `.missingBlob` naming the digest and image, `.corruptBlob`, `.invalidLayout`.
    public mutating func walk(_ root: Descriptor) throws(ImagesError) {
        try visit(root, depth: 0)
    }

    private mutating func visit(_ descriptor: Descriptor, depth: Int) throws(ImagesError) {
        guard !seen.contains(descriptor.digest) else { return }
        guard depth < 16 else { throw ImagesError(.invalidLayout, "image \(imageName) nests indexes more than 16 deep") }
        seen.insert(descriptor.digest)
        if ManifestNode.hasChildren(descriptor.mediaType) {
            guard let bytes = try read(descriptor) else {
                if skippingMissing { return }
                throw missing(descriptor)
            }
            let node = try ManifestNode(descriptor: descriptor, bytes: bytes)
            for child in node.children { try visit(child, depth: depth + 1) }
        } else if !has(descriptor) {
            if !descriptor.urls.isEmpty {
                absentForeignLayers.append(descriptor)
                return
            }
            if skippingMissing { return }
            throw missing(descriptor)
        } else if descriptor.mediaType.isImageConfiguration, descriptor.size <= ImageLayout.maximumManifestSize, let bytes = try read(descriptor)
        {
            try ManifestNode.checkConfiguration(descriptor, bytes: bytes)
        }
        blobs.append(descriptor)
    }

    private func missing(_ descriptor: Descriptor) -> ImagesError {
        ImagesError(.missingBlob, "blob \(descriptor.digest) (\(descriptor.mediaType)) of image \(imageName) is missing")
    }
}

extension Store {
    /// The closure of `root` in this store, children first.
    /// - Throws: `.missingBlob` naming the digest and `imageName`, `.corruptBlob`.
    public func closure(of root: Descriptor, imageName: String, skippingMissing: Bool = false) throws(ImagesError) -> ClosureWalker {
        let store = self
        let lazyBlobs = self.lazyBlobs
        var walker = ClosureWalker(
            imageName: imageName, skippingMissing: skippingMissing,
            read: { (descriptor) throws(ImagesError) -> [UInt8]? in
                do throws(ContentStoreError) {
                    return try store.readBlob(descriptor.digest)
                } catch where error.code == .notFound {
                    return nil
                } catch {
                    throw ImagesError(error, "cannot read \(descriptor.digest)")
                }
            },
            // A lazy blob (recorded by pull --lazy) belongs to the closure though not local yet.
            has: { store.hasBlob($0.digest) || ((try? lazyBlobs.lazyBlob($0.digest)) ?? nil) != nil })
        try walker.walk(root)
        return walker
    }
}
