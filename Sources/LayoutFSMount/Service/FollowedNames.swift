import ImageStore
import OCISpec

/// What a mount shows and keeps while it follows image names (DESIGN.md "index.json
/// generations"), with no I/O: the images shown now (one per IMAGE argument), the roots shown
/// (the images' own and their `--oci` conversions), and the roots of earlier generations kept
/// reachable and leased until their grace period ends. ``IndexFollower`` drives it.
///
/// `NAME@digest` and bare digests are pinned; only `NAME[:TAG]` is followed.
package struct FollowedNames: Sendable {
    /// The IMAGE arguments, as resolved at mount time (digest prefixes replaced by what they
    /// named).
    package let specifiers: [ImageSpecifier]
    /// The image each specifier shows now.
    package private(set) var current: [ResolvedImage]
    /// The roots shown now.
    package private(set) var shown: [Descriptor]
    /// Roots of earlier generations still in their grace period, each once, with its end.
    private var retained: [Digest: (root: Descriptor, until: ContinuousClock.Instant)] = [:]
    /// How long a previous generation's blobs stay reachable and leased.
    package let grace: Duration

    /// - Parameters:
    ///   - images: what the mount shows at start, one per specifier.
    ///   - convertedRoots: the `--oci` conversions of their roots, shown too.
    package init(specifiers: [ImageSpecifier], images: [ResolvedImage], convertedRoots: [Descriptor], grace: Duration) {
        precondition(specifiers.count == images.count, "one image per specifier")
        self.specifiers = specifiers
        self.current = images
        self.shown = images.map(\.root) + convertedRoots
        self.grace = grace
    }

    /// The positions of the specifiers that name something that can move.
    package var followed: [Int] {
        specifiers.indices.filter { i in
            if case .name(let reference) = specifiers[i] { return reference.digest == nil }
            return false
        }
    }

    /// True when some image is named by a name that can move.
    package var followsAnything: Bool { !followed.isEmpty }

    /// The images to show given what the followed names resolve to now (`resolved[i]` for
    /// specifier i; a name missing there failed to resolve, e.g. removed, and keeps its last
    /// image); nil when nothing moved.
    package func moved(to resolved: [Int: ResolvedImage]) -> [ResolvedImage]? {
        var images = current
        var changed = false
        for i in followed {
            guard let image = resolved[i], image.root != images[i].root else { continue }
            images[i] = image
            changed = true
        }
        return changed ? images : nil
    }

    /// Shows `images` (and `convertedRoots`) from `now`: roots no longer shown are retained
    /// until `now + grace`; roots shown again leave the retained set.
    package mutating func show(_ images: [ResolvedImage], convertedRoots: [Descriptor], now: ContinuousClock.Instant) {
        let nowShown = images.map(\.root) + convertedRoots
        for root in shown where !nowShown.contains(where: { $0.digest == root.digest }) {
            retained[root.digest] = (root, now + grace)
        }
        for root in nowShown { retained.removeValue(forKey: root.digest) }
        current = images
        shown = nowShown
    }

    /// Forgets retained roots whose grace period ended by `now`.
    /// - Returns: true when some did (the tree retires their blobs, the lease lets them go).
    package mutating func expire(now: ContinuousClock.Instant) -> Bool {
        guard retained.values.contains(where: { $0.until <= now }) else { return false }
        retained = retained.filter { $0.value.until > now }
        return true
    }

    /// The roots of earlier generations still retained, in digest order.
    package var retainedRoots: [Descriptor] {
        retained.values.map(\.root).sorted { $0.digest.description < $1.digest.description }
    }

    /// What the mount's lease holds: every root shown or retained, each once.
    package var leasedRoots: [Descriptor] {
        var roots: [Descriptor] = []
        var seen: Set<Digest> = []
        for root in shown + retainedRoots where seen.insert(root.digest).inserted { roots.append(root) }
        return roots
    }
}
