import OCISpec

/// Re-rooting at one platform (DESIGN.md: `--platform P` with an index root gives an entry
/// rooted at that platform's manifest, as `skopeo copy` without `--all` does).
public enum PlatformSelection {
    /// The manifest of `root` for `platform`: `root` itself when it is a manifest; else the
    /// first matching entry of the index, searching nested indexes depth-first. Attestation
    /// manifests (`vnd.docker.reference.type`) never match.
    /// - Parameter read: reads and parses an index or manifest blob.
    /// - Throws: `.noPlatform` listing the platforms the index offers.
    public static func select(
        _ platform: Platform, from root: Descriptor, read: (Descriptor) throws(ImagesError) -> ManifestNode
    ) throws(ImagesError) -> Descriptor {
        guard root.mediaType.isIndex else {
            // A manifest root: it must be for that platform, when it says which it is.
            if let offered = root.platform, !platform.matches(offered) {
                throw ImagesError(.noPlatform, "image \(root.digest) is for \(offered), not \(platform)")
            }
            return root
        }
        var offered: [String] = []
        if let found = try search(platform, root, read: read, offered: &offered, depth: 0) { return found }
        throw ImagesError(
            .noPlatform,
            "image index \(root.digest) has no manifest for \(platform); it offers: \(offered.isEmpty ? "none" : offered.joined(separator: ", "))")
    }

    private static func search(
        _ platform: Platform, _ descriptor: Descriptor, read: (Descriptor) throws(ImagesError) -> ManifestNode,
        offered: inout [String], depth: Int
    ) throws(ImagesError) -> Descriptor? {
        guard depth < 16, case .index(let index) = try read(descriptor) else { return nil }
        for entry in index.manifests where entry.annotations[AnnotationKey.dockerReferenceType] == nil {
            if entry.mediaType.isIndex {
                if let found = try search(platform, entry, read: read, offered: &offered, depth: depth + 1) { return found }
            } else if let candidate = entry.platform {
                offered.append(candidate.description)
                if platform.matches(candidate) { return entry }
            }
        }
        return nil
    }
}
