import OCISpec

/// Re-rooting at one platform (DESIGN.md: `--platform P` with an index root gives an entry
/// rooted at that platform's manifest, as `skopeo copy` without `--all` does).
public enum PlatformSelection {
    /// The manifest of `root` for `platform`: `root` itself when it is a manifest; else the
    /// first matching entry of the index, searching nested indexes depth-first. Attestation
    /// manifests (`vnd.docker.reference.type`) never match.
    /// An entry without a `platform` (containerd's `ctr images import --index-name` writes
    /// such indexes) is judged by its manifest's config, as containerd does.
    /// - Parameters:
    ///   - readConfig: reads a config blob's bytes, or nil when it is not there.
    ///   - read: reads and parses an index or manifest blob.
    /// - Throws: `.noPlatform` listing the platforms the index offers.
    public static func select(
        _ platform: Platform, from root: Descriptor, readConfig: (Descriptor) -> [UInt8]? = { _ in nil },
        read: (Descriptor) throws(ImagesError) -> ManifestNode
    ) throws(ImagesError) -> Descriptor {
        guard root.mediaType.isIndex else {
            // A manifest root: it must be for that platform, when it says which it is.
            if let offered = root.platform, !platform.matches(offered) {
                throw ImagesError(.noPlatform, "image \(root.digest) is for \(offered), not \(platform)")
            }
            return root
        }
        var offered: [Platform] = []
        if let found = try search(platform, root, readConfig: readConfig, read: read, offered: &offered, depth: 0) { return found }
        let listing = offered.map(\.description)
        throw ImagesError(.noPlatform, "image index \(root.digest) has no manifest for \(platform); it offers: \(listing.isEmpty ? "none" : listing.joined(separator: ", "))")
    }

    /// Every platform `root` offers, each once, in the order `select` tries them (nested
    /// indexes depth-first, attestations left out, entries without a `platform` judged by their
    /// config): what `select` can resolve is what is listed. A manifest root offers the platform
    /// its descriptor declares. Unreadable blobs end the listing early; they never throw.
    public static func offered(
        by root: Descriptor, readConfig: (Descriptor) -> [UInt8]? = { _ in nil }, read: (Descriptor) throws(ImagesError) -> ManifestNode
    ) -> [Platform] {
        guard root.mediaType.isIndex else { return root.platform.map { [$0] } ?? [] }
        var offered: [Platform] = []
        _ = try? search(nil, root, readConfig: readConfig, read: read, offered: &offered, depth: 0)
        var unique: [Platform] = []
        for platform in offered where !unique.contains(platform) { unique.append(platform) }
        return unique
    }

    /// Depth-first through nested indexes: the first entry matching `platform` (nil matches
    /// none, so the whole tree is listed into `offered`).
    private static func search(
        _ platform: Platform?, _ descriptor: Descriptor, readConfig: (Descriptor) -> [UInt8]?,
        read: (Descriptor) throws(ImagesError) -> ManifestNode, offered: inout [Platform], depth: Int
    ) throws(ImagesError) -> Descriptor? {
        guard depth < 16, case .index(let index) = try read(descriptor) else { return nil }
        for entry in index.manifests where entry.annotations[AnnotationKey.dockerReferenceType] == nil {
            if entry.mediaType.isIndex {
                if let found = try search(platform, entry, readConfig: readConfig, read: read, offered: &offered, depth: depth + 1) { return found }
            } else if let candidate = try declaredPlatform(of: entry, readConfig: readConfig, read: read) {
                offered.append(candidate)
                if let platform, platform.matches(candidate) { return entry }
            }
        }
        return nil
    }

    /// The entry's platform, else the one its manifest's config declares (os and architecture).
    private static func declaredPlatform(
        of entry: Descriptor, readConfig: (Descriptor) -> [UInt8]?, read: (Descriptor) throws(ImagesError) -> ManifestNode
    ) throws(ImagesError) -> Platform? {
        if let platform = entry.platform { return platform }
        guard case .manifest(let manifest) = try read(entry), let bytes = readConfig(manifest.config),
            let config = try? ImageConfiguration(bytes: bytes), let os = config.os, let architecture = config.architecture
        else { return nil }
        return Platform(os: os, architecture: architecture, variant: config.variant)
    }
}
