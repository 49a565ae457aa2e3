import OCISpec

/// Re-rooting at one platform (DESIGN.md: `--platform P` with an index root gives an entry
/// rooted at that platform's manifest, as `skopeo copy` without `--all` does). The one
/// selector of pull, import, the layout plan (mount, export), `manifest.json` and `images`:
/// each drives the same ``PlatformSearch`` with its own reads.
package enum PlatformSelection {
    /// The manifest of `root` for `platform`: `root` itself when it is a manifest; else the
    /// first matching entry of the index, searching nested indexes depth-first. Attestation
    /// manifests (`vnd.docker.reference.type`) never match.
    /// An entry without a `platform` (containerd's `ctr images import --index-name` writes
    /// such indexes) is judged by its manifest's config, as containerd does.
    /// - Parameters:
    ///   - readConfig: reads a config blob's bytes, or nil when it is not there.
    ///   - read: reads and parses an index or manifest blob.
    /// - Throws: `.noPlatform` listing the platforms the index offers; what `read` throws (a
    ///   nested index that is missing or corrupt is an error, not a platform less);
    ///   `.invalidLayout` for indexes nested more than ``ClosureWalker/maximumDepth`` deep.
    package static func select(
        _ platform: Platform, from root: Descriptor, readConfig: (Descriptor) -> [UInt8]? = { _ in nil },
        read: (Descriptor) throws(ImagesError) -> ManifestNode
    ) throws(ImagesError) -> Descriptor {
        guard root.mediaType.isIndex else { return try checkManifestRoot(root, for: platform) }
        var search = PlatformSearch(for: platform, in: root)
        while true {
            switch search.step {
            case .readNode(let descriptor): try search.received(try read(descriptor))
            case .readConfig(let descriptor): try search.received(config: readConfig(descriptor))
            case .found(let manifest): return manifest
            case .exhausted: throw noPlatform(platform, in: "image index \(root.digest)", offered: search.offered)
            }
        }
    }

    /// As ``select(_:from:readConfig:read:)``, with reads that may suspend (a registry fetch):
    /// `pull --platform`.
    /// - Parameters:
    ///   - label: names the image in the `.noPlatform` message (a reference).
    ///   - readConfig: a config blob's bytes (fetched when not local), or nil when the source
    ///     lacks it.
    ///   - read: an index or manifest blob, parsed and verified.
    /// - Throws: as ``select(_:from:readConfig:read:)``, and whatever the reads throw.
    package static func select(
        _ platform: Platform, from root: Descriptor, named label: String, readConfig: (Descriptor) async throws -> [UInt8]?,
        read: (Descriptor) async throws -> ManifestNode
    ) async throws -> Descriptor {
        guard root.mediaType.isIndex else { return try checkManifestRoot(root, for: platform) }
        var search = PlatformSearch(for: platform, in: root)
        while true {
            switch search.step {
            case .readNode(let descriptor): try search.received(try await read(descriptor))
            case .readConfig(let descriptor): try search.received(config: try await readConfig(descriptor))
            case .found(let manifest): return manifest
            case .exhausted: throw noPlatform(platform, in: label, offered: search.offered)
            }
        }
    }

    /// Every platform `root` offers, each once, in the order `select` tries them (nested
    /// indexes depth-first, attestations left out, entries without a `platform` judged by their
    /// config): what `select` can resolve is what is listed. A manifest root offers the platform
    /// its descriptor declares. Unreadable blobs end the listing early; they never throw.
    package static func offered(
        by root: Descriptor, readConfig: (Descriptor) -> [UInt8]? = { _ in nil }, read: (Descriptor) throws(ImagesError) -> ManifestNode
    ) -> [Platform] {
        guard root.mediaType.isIndex else {
            if let platform = root.platform { return [platform] }
            // A root without its platform (containerd's names, a content directory): its config's.
            guard case .manifest(let manifest)? = try? read(root), let bytes = readConfig(manifest.config),
                let platform = (try? ImageConfiguration(bytes: bytes))?.platform
            else { return [] }
            return [platform]
        }
        var search = PlatformSearch(for: nil, in: root)
        listing: while true {
            switch search.step {
            case .readNode(let descriptor):
                guard let node = try? read(descriptor), (try? search.received(node)) != nil else { break listing }
            case .readConfig(let descriptor):
                guard (try? search.received(config: readConfig(descriptor))) != nil else { break listing }
            case .found, .exhausted:
                break listing
            }
        }
        var unique: [Platform] = []
        for platform in search.offered where !unique.contains(platform) { unique.append(platform) }
        return unique
    }

    /// A manifest root: it must be for `platform`, when it says which it is.
    private static func checkManifestRoot(_ root: Descriptor, for platform: Platform) throws(ImagesError) -> Descriptor {
        if let offered = root.platform, !platform.matches(offered) {
            throw ImagesError(.noPlatform, "image \(root.digest) is for \(offered), not \(platform)")
        }
        return root
    }

    /// `.noPlatform` for `label`, listing each offered platform once.
    private static func noPlatform(_ platform: Platform, in label: String, offered: [Platform]) -> ImagesError {
        var listing: [String] = []
        for candidate in offered.map(\.description) where !listing.contains(candidate) { listing.append(candidate) }
        return ImagesError(.noPlatform, "\(label) has no manifest for \(platform); it offers: \(listing.isEmpty ? "none" : listing.joined(separator: ", "))")
    }
}
