import ContentStore
import OCISpec

extension Store {
    /// The images of the content directory read beside the store (`--content DIR`): every
    /// manifest or index there that no index there refers to, as a resolved image by digest
    /// (containerd keeps names in its own database, not in the content directory).
    /// Blobs larger than a manifest may be or that are not JSON manifests are passed over.
    package func contentDirectoryImages() -> [ResolvedImage] {
        guard let foreignContent else { return [] }
        var candidates: [ResolvedImage] = []
        var children: Set<Digest> = []
        for digest in foreignContent.walk() {
            guard let size = foreignContent.size(of: digest), size <= ImageLayout.maximumManifestSize,
                let first = try? foreignContent.openBlob(digest).read(offset: 0, byteCount: 1), first == [UInt8(ascii: "{")],
                let image = try? resolve(.digest(digest))
            else { continue }
            candidates.append(image)
            if case .index(let index)? = try? readRoot(image.root) {
                for entry in index.manifests { children.insert(entry.digest) }
            }
        }
        return candidates.filter { !children.contains($0.root.digest) }.sorted { $0.root.digest.description < $1.root.digest.description }
    }
}
