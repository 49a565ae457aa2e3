import OCISpec

/// The search for one platform's manifest in an image index tree, as a value that does no I/O:
/// ``step`` says which blob it needs next, and the caller gives it (``received(_:)`` for an
/// index or manifest, ``received(config:)`` for a config). So the store, a source layout and a
/// registry (asynchronously, fetching) drive the same rules; ``PlatformSelection`` holds the
/// drivers.
///
/// The rules (containerd's `platforms` matching, `skopeo copy` without `--all`):
/// - entries are tried in order, nested indexes depth-first; the first match wins;
/// - attestation manifests (`vnd.docker.reference.type`) never match and are not offered;
/// - an entry without a `platform` (`ctr images import --index-name` writes such indexes) is
///   judged by its manifest's config (os, architecture, variant); an entry whose config the
///   source lacks or that does not parse offers nothing;
/// - an entry at depth ``ClosureWalker/maximumDepth`` (the root index's is 0) is refused, as
///   in the closure walk.
package struct PlatformSearch: Sendable {
    /// What the search needs next.
    package enum Step: Sendable, Equatable {
        /// The parsed index or manifest of this descriptor: give it with ``received(_:)``.
        case readNode(Descriptor)
        /// This config's bytes (nil when the source lacks it): give them with ``received(config:)``.
        case readConfig(Descriptor)
        /// The first manifest whose platform matches.
        case found(Descriptor)
        /// The whole tree was searched without a match (``offered`` lists what it offers).
        case exhausted
    }

    /// The platform looked for; nil matches none, so the whole tree is listed into ``offered``.
    package let platform: Platform?
    /// The step the search is at.
    package private(set) var step: Step
    /// The platforms met so far, in search order (repeats included).
    package private(set) var offered: [Platform] = []

    /// An index being scanned: its entries, the next one to try, its depth (the root's is 0).
    private struct Frame: Sendable {
        var entries: [Descriptor]
        var next = 0
        var depth: Int
    }

    /// What the blob asked for in ``step`` is for.
    private enum Pending: Sendable {
        case index(depth: Int)
        case manifest(entry: Descriptor)
        case config(entry: Descriptor)
        case nothing
    }

    private var frames: [Frame] = []
    private var pending: Pending

    /// Starts a search of `root`, an image index.
    package init(for platform: Platform?, in root: Descriptor) {
        self.platform = platform
        step = .readNode(root)
        pending = .index(depth: 0)
    }

    /// Gives the index or manifest that ``step`` (`.readNode`) asked for.
    /// - Throws: `.invalidLayout` for an entry nested ``ClosureWalker/maximumDepth`` deep.
    package mutating func received(_ node: ManifestNode) throws(ImagesError) {
        switch (pending, node) {
        case (.index(let depth), .index(let index)):
            frames.append(Frame(entries: index.manifests, depth: depth))
        case (.manifest(let entry), .manifest(let manifest)):
            step = .readConfig(manifest.config)
            pending = .config(entry: entry)
            return
        default:
            break
        }
        try advance()
    }

    /// Gives the config bytes that ``step`` (`.readConfig`) asked for; nil when the source
    /// lacks them (the entry then offers nothing).
    /// - Throws: `.invalidLayout` as ``received(_:)``.
    package mutating func received(config bytes: [UInt8]?) throws(ImagesError) {
        if case .config(let entry) = pending, let bytes, let config = try? ImageConfiguration(bytes: bytes), let os = config.os,
            let architecture = config.architecture
        {
            if consider(Platform(os: os, architecture: architecture, variant: config.variant), entry) { return }
        }
        try advance()
    }

    /// Offers `candidate` for `entry`; true (and `.found`) when it matches.
    private mutating func consider(_ candidate: Platform, _ entry: Descriptor) -> Bool {
        offered.append(candidate)
        guard let platform, platform.matches(candidate) else { return false }
        step = .found(entry)
        pending = .nothing
        frames = []
        return true
    }

    /// Tries entries until one needs a blob read or matches, or the tree is done.
    private mutating func advance() throws(ImagesError) {
        pending = .nothing
        while let last = frames.indices.last {
            let frame = frames[last]
            guard frame.next < frame.entries.count else {
                frames.removeLast()
                continue
            }
            let entry = frame.entries[frame.next]
            frames[last].next += 1
            if entry.annotations[AnnotationKey.dockerReferenceType] != nil { continue }
            guard frame.depth + 1 < ClosureWalker.maximumDepth else {
                throw ImagesError(.invalidLayout, "\(entry.mediaType) \(entry.digest) is nested in indexes more than \(ClosureWalker.maximumDepth) deep")
            }
            if entry.mediaType.isIndex {
                step = .readNode(entry)
                pending = .index(depth: frame.depth + 1)
                return
            }
            if let candidate = entry.platform {
                if consider(candidate, entry) { return }
                continue
            }
            // Only a manifest has a config to learn the platform from.
            guard entry.mediaType.isManifest else { continue }
            step = .readNode(entry)
            pending = .manifest(entry: entry)
            return
        }
        step = .exhausted
    }
}
