import ContentStore
import OCISpec

/// Which images reach which blobs: the closure of every named image (and of some unnamed
/// roots), walked past corrupt and missing manifests, so a damaged image still names the blobs
/// it does reach. For `layoutfs check`: "blob X breaks images Y, Z".
package struct Reachability {
    /// Image labels (names, or root digests for unnamed roots) by blob digest, in name order.
    package private(set) var images: [Digest: [String]] = [:]
    /// Each blob's descriptor, from the first closure that reaches it.
    package private(set) var descriptors: [Digest: Descriptor] = [:]
    /// Each label's closure (the root included).
    package private(set) var closures: [String: Set<Digest>] = [:]

    /// The label of an image: its name, else its root digest.
    package static func label(_ image: ResolvedImage) -> String { image.name ?? image.root.digest.description }

    /// Walks every named image, and `extraRoots` not among them.
    /// - Throws: `.io` when the names cannot be listed.
    package init(store: Store, extraRoots: [ResolvedImage]) throws(ImagesError) {
        var roots = try store.allImages().map { ResolvedImage(name: $0.name, root: $0.target, pinned: false) }
        for image in extraRoots where !roots.contains(where: { Self.label($0) == Self.label(image) }) { roots.append(image) }
        for image in roots {
            let label = Self.label(image)
            let visited = VisitedBlobs()
            var walker = ClosureWalker(
                imageName: label, skippingMissing: true,
                read: { descriptor in
                    visited.add(descriptor)
                    // A corrupt or unreadable manifest is a dead end here, not an error.
                    guard let bytes = try? store.readBlob(descriptor.digest), Int64(bytes.count) == descriptor.size,
                        DigestHasher.digest(of: bytes, algorithm: descriptor.digest.algorithm) == descriptor.digest
                    else { return nil }
                    return bytes
                },
                has: { descriptor in
                    visited.add(descriptor)
                    return true
                })
            // An invalid manifest ends its walk; what it reached so far still counts.
            try? walker.walk(image.root)
            closures[label] = Set(visited.descriptors.map(\.digest))
            for descriptor in visited.descriptors {
                if descriptors[descriptor.digest] == nil { descriptors[descriptor.digest] = descriptor }
                if images[descriptor.digest]?.contains(label) != true { images[descriptor.digest, default: []].append(label) }
            }
        }
    }
}

/// The descriptors a closure walk visited, in order (the walker's closures add to it).
private final class VisitedBlobs {
    package private(set) var descriptors: [Descriptor] = []
    private var seen: Set<Digest> = []

    func add(_ descriptor: Descriptor) {
        if seen.insert(descriptor.digest).inserted { descriptors.append(descriptor) }
    }
}
