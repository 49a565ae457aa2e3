import Dispatch
import Foundation
import Images
import LayoutFS
import LayoutFSMount
import Logging
import OCISpec
import ContentStore

/// Follows image names under a running mount (DESIGN.md "index.json generations"): polls
/// meta.db's change counter every 250 ms on a thread of its own (never a FUSE request thread)
/// and, when a followed name moved, shows a new `index.json` generation, tells the kernel to
/// forget the old `index.json` entry, and keeps the previous generation's blobs reachable and
/// leased for the grace period. `NAME@digest` and bare digests are pinned, never followed.
final class IndexFollower: @unchecked Sendable {
    private let store: Store
    private let specifiers: [ImageSpecifier]
    private let shape: LayoutPlan.Shape
    private let tree: LayoutTree
    private let lease: LockedRecord
    private let grace: Duration
    private let logger: Logger
    private let queue = DispatchQueue(label: "layoutfs.index-follower")
    private var timer: (any DispatchSourceTimer)?
    // Touched on `queue` only.
    private var current: [ResolvedImage]
    /// The roots shown: the images' own and their `--oci` conversions.
    private var shown: [Descriptor]
    /// Roots of earlier generations still in their grace period, each once, with its end.
    private var retained: [Digest: (root: Descriptor, until: ContinuousClock.Instant)] = [:]
    private var lastVersion: Int64?
    private var control: MountControl?

    /// - Parameters:
    ///   - images: what the mount shows now, one per specifier.
    ///   - changeCount: meta.db's change counter read before `images` were resolved, so a move
    ///     while the mount starts is seen at the first poll.
    ///   - grace: how long blobs of a previous generation stay reachable and leased.
    init(
        store: Store, specifiers: [ImageSpecifier], images: [ResolvedImage], changeCount: Int64?, shape: LayoutPlan.Shape, convertedRoots: [Descriptor], tree: LayoutTree,
        lease: LockedRecord, grace: Duration, logger: Logger
    ) {
        self.lastVersion = changeCount
        self.store = store
        self.specifiers = specifiers
        self.current = images
        self.shown = images.map(\.root) + convertedRoots
        self.shape = shape
        self.tree = tree
        self.lease = lease
        self.grace = grace
        self.logger = logger
    }

    /// True when some image is named by a name that can move.
    var followsAnything: Bool { specifiers.contains(where: Self.isFollowed) }

    private static func isFollowed(_ specifier: ImageSpecifier) -> Bool {
        if case .name(let reference) = specifier { return reference.digest == nil }
        return false
    }

    /// Starts polling; `control` reaches the kernel.
    func start(control: MountControl) {
        queue.async { self.control = control }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(250), repeating: .milliseconds(250), leeway: .milliseconds(50))
        timer.setEventHandler { [weak self] in self?.poll() }
        timer.resume()
        self.timer = timer
    }

    func stop() {
        timer?.cancel()
        queue.sync {}
    }

    private func poll() {
        defer { retireExpired() }
        guard let version = try? store.images.changeCount(), version != lastVersion else { return }
        // Resolving and leasing under the shared gc.lock: prune cannot delete an image between
        // the moment it is resolved here and the moment the lease holds it.
        let gcLock: GCLock
        do {
            gcLock = try GCLock(root: store.location.root, exclusive: false)
        } catch {
            logger.error("cannot take gc.lock to follow names", metadata: ["error": "\(error)"])
            return
        }
        defer { withExtendedLifetime(gcLock) {} }
        lastVersion = version
        var images = current
        var changed = false
        for (i, specifier) in specifiers.enumerated() where Self.isFollowed(specifier) {
            do {
                let resolved = try store.resolve(specifier)
                if resolved.root != images[i].root {
                    images[i] = resolved
                    changed = true
                }
            } catch {
                // Removed (rm): the mount keeps showing what it showed.
                logger.debug("a followed name no longer resolves; keeping its last image", metadata: ["name": "\(specifier)", "error": "\(error)"])
            }
        }
        guard changed else { return }
        let plan: LayoutPlan
        do {
            plan = try LayoutPlan(store: store, images: images, shape: shape)
        } catch {
            logger.error("a followed name moved, but its new image cannot be shown; keeping the previous index.json", metadata: ["error": "\(error)"])
            return
        }
        let until = ContinuousClock.now + grace
        let nowShown = images.map(\.root) + plan.convertedRoots
        for root in shown where !nowShown.contains(where: { $0.digest == root.digest }) {
            retained[root.digest] = (root, until)
        }
        for root in nowShown { retained.removeValue(forKey: root.digest) }
        current = images
        shown = nowShown
        updateLease()
        let generation = tree.replace(index: plan.indexBytes, dockerManifest: plan.dockerManifestBytes, blobs: plan.blobs)
        do {
            try control?.invalidateEntry(parent: LayoutTree.rootInode, name: ImageLayout.indexFileName)
            if shape.dockerManifest { try control?.invalidateEntry(parent: LayoutTree.rootInode, name: DockerLoadManifest.fileName) }
        } catch {
            logger.warning("cannot tell the kernel index.json changed; it sees the new one within 1 s", metadata: ["error": "\(error)"])
        }
        logger.info(
            "index.json generation \(generation)",
            metadata: ["images": "\(images.map { "\($0.name ?? "-")=\($0.root.digest)" }.joined(separator: " "))"])
    }

    /// Blobs of generations whose grace period is over become unreachable and unleased.
    private func retireExpired() {
        let now = ContinuousClock.now
        guard retained.values.contains(where: { $0.until <= now }) else { return }
        retained = retained.filter { $0.value.until > now }
        var keep: Set<Digest> = []
        for (root, _) in retained.values {
            if let walker = try? store.closure(of: root, imageName: root.digest.description) {
                keep.formUnion(walker.blobs.map(\.digest))
            }
        }
        // Blob names are cached by the kernel for an hour (immutable): make it forget these.
        for (parent, name) in tree.retire(keeping: keep) {
            try? control?.invalidateEntry(parent: parent, name: name)
        }
        updateLease()
    }

    /// The lease holds what is shown and what is retained, each root once.
    private func updateLease() {
        var roots: [Descriptor] = []
        var seen: Set<Digest> = []
        for root in shown + retained.values.map(\.root) where seen.insert(root.digest).inserted { roots.append(root) }
        do {
            try store.updateLease(lease, roots: roots)
        } catch {
            logger.error("cannot update the mount's lease", metadata: ["error": "\(error)"])
        }
    }
}
