import ContentStore
import OCISpec

/// Walks the closure of a root descriptor (index -> manifests, recursively -> config + layers),
/// children before parents, each blob once. `subject` is not followed. Layers with `urls`
/// (non-distributable) may be absent: they are reported in `absentForeignLayers`, not fetched.
///
/// The one closure walk (DESIGN.md "Closure"): the store's closures (mount, export, prune,
/// check), an import's source layout or archive, and a pull's registry (which drives it in
/// rounds, fetching the manifests a round reached) differ only in `read` and `has`.
package struct ClosureWalker {
    /// How deep indexes may nest: a descriptor at this depth (the root's is 0) is refused.
    /// The platform search and the OCI conversion keep to it too.
    package static let maximumDepth = 16

    /// True for a blob that may be absent from a closure without breaking it: a layer (no
    /// children) with `urls`, non-distributable (image-spec descriptor.md), recorded in
    /// `absentForeignLayers` when the source lacks it, never fetched from the registry.
    package static func mayBeAbsent(_ descriptor: Descriptor) -> Bool {
        !descriptor.urls.isEmpty && !ManifestNode.hasChildren(descriptor.mediaType)
    }

    /// Reads a manifest, index or image config blob's bytes, or nil when the source lacks it
    /// (a config not at hand may be nil: it is then not checked).
    package typealias ReadBlob = (Descriptor) throws(ImagesError) -> [UInt8]?
    /// Whether a blob without children is available (a layer or config).
    package typealias HasBlob = (Descriptor) -> Bool

    /// Blobs of the closure, children first.
    package private(set) var blobs: [Descriptor] = []
    /// Non-distributable layers that the source lacks.
    package private(set) var absentForeignLayers: [Descriptor] = []
    /// The config descriptor of each manifest walked (whatever its media type), each once.
    package private(set) var configs: [Descriptor] = []
    private var seen: Set<Digest> = []
    private var configDigests: Set<Digest> = []
    private let read: ReadBlob
    private let has: HasBlob
    private let imageName: String
    private let skippingMissing: Bool
    private let checksConfiguration: HasBlob
    private let checked: (Descriptor) -> Void

    /// - Parameters:
    ///   - imageName: used in error messages ("blob X of image Y is missing").
    ///   - skippingMissing: walk past missing blobs instead of failing (what is left of an image).
    ///   - checksConfiguration: whether an image config at hand is read and checked
    ///     (``ManifestNode/checkConfiguration(_:bytes:)``); false for content already checked
    ///     on its way in.
    ///   - checked: told of each config that passed the check.
    package init(
        imageName: String, skippingMissing: Bool = false, read: @escaping ReadBlob, has: @escaping HasBlob,
        checksConfiguration: @escaping HasBlob = { _ in true }, checked: @escaping (Descriptor) -> Void = { _ in }
    ) {
        self.imageName = imageName
        self.skippingMissing = skippingMissing
        self.read = read
        self.has = has
        self.checksConfiguration = checksConfiguration
        self.checked = checked
    }

    /// Adds the closure of `root`.
    /// - Throws: `.missingBlob` naming the digest and image, `.corruptBlob`, `.invalidLayout`.
    package mutating func walk(_ root: Descriptor) throws(ImagesError) {
        try visit(root, depth: 0)
    }

    private mutating func visit(_ descriptor: Descriptor, depth: Int) throws(ImagesError) {
        guard !seen.contains(descriptor.digest) else { return }
        guard depth < Self.maximumDepth else {
            throw ImagesError(.invalidLayout, "image \(imageName) nests indexes more than \(Self.maximumDepth) deep")
        }
        seen.insert(descriptor.digest)
        if ManifestNode.hasChildren(descriptor.mediaType) {
            guard let bytes = try read(descriptor) else {
                if skippingMissing { return }
                throw missing(descriptor)
            }
            let node = try ManifestNode(descriptor: descriptor, bytes: bytes)
            if case .manifest(let manifest) = node, configDigests.insert(manifest.config.digest).inserted { configs.append(manifest.config) }
            for child in node.children { try visit(child, depth: depth + 1) }
        } else if !has(descriptor) {
            if Self.mayBeAbsent(descriptor) {
                absentForeignLayers.append(descriptor)
                return
            }
            if skippingMissing { return }
            throw missing(descriptor)
        } else if descriptor.mediaType.isImageConfiguration, descriptor.size <= ImageLayout.maximumManifestSize, checksConfiguration(descriptor),
            let bytes = try read(descriptor)
        {
            try ManifestNode.checkConfiguration(descriptor, bytes: bytes)
            checked(descriptor)
        }
        blobs.append(descriptor)
    }

    private func missing(_ descriptor: Descriptor) -> ImagesError {
        ImagesError(.missingBlob, "blob \(descriptor.digest) (\(descriptor.mediaType)) of image \(imageName) is missing")
    }
}

extension Store {
    /// The closure of `root` in this store, children first. Image configs are checked only when
    /// they come from the `--content` directory or containerd, once per store (``CheckMarks``):
    /// the store's own were checked when import or pull took them in (the same digest is the
    /// same bytes), and re-parsing a large config at every mount dominated mount start (a
    /// 750 KB config for 10,000 layers).
    /// - Throws: `.missingBlob` naming the digest and `imageName`, `.corruptBlob`.
    package func closure(of root: Descriptor, imageName: String, skippingMissing: Bool = false) throws(ImagesError) -> ClosureWalker {
        let store = self
        let lazyBlobs = self.lazyBlobs
        var walker = ClosureWalker(
            imageName: imageName, skippingMissing: skippingMissing,
            read: { (descriptor) throws(ImagesError) -> [UInt8]? in
                do throws(ContentStoreError) {
                    return try store.readBlob(descriptor.digest)
                } catch  where error.code == .notFound {
                    return nil
                } catch {
                    throw ImagesError(error, "cannot read \(descriptor.digest)")
                }
            },
            // A lazy blob (recorded by pull --lazy) belongs to the closure though not local yet.
            has: { store.hasBlob($0.digest) || ((try? lazyBlobs.lazyBlob($0.digest)) ?? nil) != nil },
            checksConfiguration: { !store.content.contains($0.digest) && !store.checkMarks.contains($0.digest) },
            checked: { store.checkMarks.mark($0.digest) })
        try walker.walk(root)
        return walker
    }
}
