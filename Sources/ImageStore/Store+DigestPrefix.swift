import ContentStore
import OCISpec

extension Store {
    /// Resolves a digest prefix (DESIGN.md IMAGE grammar): the one root whose digest starts with
    /// it, among the named images' roots and the manifests and indexes in the store and in the
    /// `--content` directory; else `name` (bare hex is also a valid name, tried second as docker
    /// does for short image IDs).
    /// - Throws: `.ambiguous` listing the matching roots, `.unknownImage` when nothing matches.
    func resolve(_ prefix: DigestPrefix, orName name: ImageReference?) throws(ImagesError) -> ResolvedImage {
        let all = try allImages()
        var matches: [Digest] = []
        for digest in all.map(\.target.digest) + content.walk() + (foreignContent?.walk() ?? [])
        where prefix.matches(digest) && !matches.contains(digest) {
            matches.append(digest)
        }
        // Layers and configs never count: only what can be a root (a manifest or an index).
        let roots = matches.compactMap { try? resolve(.digest($0)) }
        if let root = try Self.uniqueRoot(prefix, among: roots, images: all) { return root }
        if let name {
            do {
                return try resolve(.name(name))
            } catch  where error.code == .unknownImage {
                throw ImagesError(.unknownImage, "no image digest starts with \(prefix.hex), and \(error.message)")
            }
        }
        throw ImagesError(.unknownImage, "no image digest starts with \(prefix.hex)\(availableHere(all))")
    }

    /// The one root `prefix` selects among `roots` (those whose digest starts with it), nil
    /// when there is none.
    /// - Parameter images: the named images, to show names beside the digests of an ambiguous prefix.
    /// - Throws: `.ambiguous` listing every matching root (digest, and its names or its kind).
    package static func uniqueRoot(_ prefix: DigestPrefix, among roots: [ResolvedImage], images: [ImageRecord]) throws(ImagesError) -> ResolvedImage? {
        let roots = roots.filter { prefix.matches($0.root.digest) }
        guard roots.count > 1 else { return roots.first }
        let listing = roots.sorted { $0.root.digest < $1.root.digest }.map { root in
            let names = images.filter { $0.target.digest == root.root.digest }.map(\.name)
            return "\(root.root.digest) (\(names.isEmpty ? (root.root.mediaType.isIndex ? "index" : "manifest") : names.joined(separator: ", ")))"
        }
        throw ImagesError(.ambiguous, "\(prefix) is the start of \(roots.count) image digests: \(listing.joined(separator: "; ")); give more digits")
    }
}
