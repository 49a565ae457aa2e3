import ImageStore
import LayoutFS
import Logging
import OCISpec
import Synchronization

/// What following names needs from the store (the real one: ``StoreFollowing``; fakes in tests).
package protocol FollowerStore: Sendable {
    /// meta.db's change counter (it moves whenever a name is bound or removed); nil when it
    /// cannot be read.
    func changeCount() -> Int64?
    /// Runs `body` with prune held off (the shared `gc.lock`), so an image resolved in it
    /// cannot be deleted before the lease holds it.
    /// - Throws: when the lock cannot be taken (`body` did not run).
    func withPruneHeldOff(_ body: () -> Void) throws
    /// Resolves a followed name (DESIGN.md IMAGE grammar).
    func resolve(_ specifier: ImageSpecifier) throws -> ResolvedImage
    /// What the tree shows for `images`.
    func layout(of images: [ResolvedImage]) throws -> ShownLayout
    /// The digests of the closure of `root` (manifests, configs, layers); nil when it cannot
    /// be walked.
    func closure(of root: Descriptor) -> Set<Digest>?
    /// Makes the mount's lease hold exactly `roots` and their closures.
    func lease(_ roots: [Descriptor]) throws
}

/// Tells the kernel to forget a directory entry (``MountControl`` in a running mount). Never
/// called from a FUSE request handler (libfuse documents the deadlock).
package protocol EntryInvalidator: Sendable {
    func invalidateEntry(parent: UInt64, name: String) throws
    /// Makes the kernel drop what it cached of `inode`'s content (a directory's listing).
    func invalidateInode(_ inode: UInt64) throws
}

/// Follows image names under a running mount (DESIGN.md "index.json generations"): at each
/// ``poll(now:)``, when meta.db changed and a followed name moved, shows a new `index.json`
/// generation in the tree, tells the kernel to forget the old `index.json` (and
/// `manifest.json`) entry, and keeps the previous generation's blobs reachable and leased for
/// the grace period (``FollowedNames``); then retires what outlived it.
///
/// Thread-safe. ``poll(now:)`` has one caller at a time (the mount service's timer); the store
/// calls (SQLite, blob reads) run there, never on a FUSE request thread.
package final class IndexFollower: Sendable {
    private struct State {
        var names: FollowedNames
        var lastVersion: Int64?
        var kernel: (any EntryInvalidator)?
    }
    private let state: Mutex<State>
    private let store: any FollowerStore
    private let target: any FollowingTarget
    private let prepareBlobs: @Sendable ([Descriptor]) -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - names: what the mount shows at start.
    ///   - changeCount: meta.db's change counter read before the images were resolved, so a
    ///     move while the mount started is seen at the first poll.
    ///   - target: what a move changes (the layout's `index.json`, or a rootfs view's tree).
    ///   - prepareBlobs: called (from ``poll(now:)``) with the blobs of a new generation before
    ///     the tree shows them, so the content behind them is ready before a FUSE thread opens
    ///     one (the lazy provider looks up their sources: ``LazyBlobProvider/prepare(_:)``).
    package init(
        names: FollowedNames, changeCount: Int64?, store: any FollowerStore, target: any FollowingTarget,
        prepareBlobs: @escaping @Sendable ([Descriptor]) -> Void = { _ in }, logger: Logger
    ) {
        state = Mutex(State(names: names, lastVersion: changeCount))
        self.store = store
        self.target = target
        self.prepareBlobs = prepareBlobs
        self.logger = logger
    }

    /// True when some image is named by a name that can move.
    package var followsAnything: Bool { state.withLock { $0.names.followsAnything } }

    /// What the follower knows now (for tests and `status`).
    package var names: FollowedNames { state.withLock { $0.names } }

    /// Sets how the kernel is told about moves (once the mount is live).
    package func attach(_ kernel: any EntryInvalidator) {
        state.withLock { $0.kernel = kernel }
    }

    /// One round: follows moved names, then retires generations whose grace period ended by
    /// `now`. Calls the store (blocking); never call it on a FUSE request thread.
    package func poll(now: ContinuousClock.Instant = .now) {
        followMoves(now: now)
        retireExpired(now: now)
    }

    private func followMoves(now: ContinuousClock.Instant) {
        let (names, lastVersion) = state.withLock { ($0.names, $0.lastVersion) }
        guard let version = store.changeCount(), version != lastVersion else { return }
        var moved: [ResolvedImage]?
        var layout: ShownLayout?
        do {
            try store.withPruneHeldOff {
                var resolved: [Int: ResolvedImage] = [:]
                for i in names.followed {
                    do {
                        resolved[i] = try store.resolve(names.specifiers[i])
                    } catch {
                        // Removed (rm): the mount keeps showing what it showed.
                        logger.debug(
                            "a followed name no longer resolves; keeping its last image", metadata: ["name": "\(names.specifiers[i])", "error": "\(error)"])
                    }
                }
                guard let images = names.moved(to: resolved) else { return }
                moved = images
                do {
                    layout = try store.layout(of: images)
                } catch {
                    logger.error(
                        "a followed name moved, but its new image cannot be shown; the mount keeps showing the previous one", metadata: ["error": "\(error)"])
                    return
                }
                let leased = state.withLock { state in
                    state.names.show(images, convertedRoots: layout!.convertedRoots, now: now)
                    return state.names.leasedRoots
                }
                updateLease(leased)
            }
        } catch {
            logger.error("cannot take gc.lock to follow names", metadata: ["error": "\(error)"])
            return
        }
        let kernel = state.withLock { state in
            state.lastVersion = version
            return state.kernel
        }
        guard let images = moved, let layout else { return }
        prepareBlobs(layout.blobs)
        let shown: (generation: UInt64, entries: [(parent: UInt64, name: String)], inodes: [UInt64])
        do {
            shown = try target.show(layout)
        } catch {
            logger.error("a followed name moved, but its new image cannot be shown; keeping what the mount showed", metadata: ["error": "\(error)"])
            return
        }
        do {
            for (parent, name) in shown.entries { try kernel?.invalidateEntry(parent: parent, name: name) }
            for inode in shown.inodes { try kernel?.invalidateInode(inode) }
        } catch {
            logger.warning("cannot tell the kernel what changed; it sees the new generation within 1 s", metadata: ["error": "\(error)"])
        }
        logger.info(
            "generation \(shown.generation)",
            metadata: ["images": "\(images.map { "\($0.name ?? "-")=\($0.root.digest)" }.joined(separator: " "))"])
    }

    /// Blobs of generations whose grace period is over become unreachable and unleased.
    private func retireExpired(now: ContinuousClock.Instant) {
        let expired = state.withLock { state -> (retained: [Descriptor], leased: [Descriptor], kernel: (any EntryInvalidator)?)? in
            guard state.names.expire(now: now) else { return nil }
            return (state.names.retainedRoots, state.names.leasedRoots, state.kernel)
        }
        guard let expired else { return }
        var keep: Set<Digest> = []
        for root in expired.retained { keep.formUnion(store.closure(of: root) ?? [root.digest]) }
        // Blob names are cached by the kernel for an hour (immutable): make it forget these.
        for (parent, name) in target.retire(keeping: keep) {
            try? expired.kernel?.invalidateEntry(parent: parent, name: name)
        }
        updateLease(expired.leased)
    }

    private func updateLease(_ roots: [Descriptor]) {
        do {
            try store.lease(roots)
        } catch {
            logger.error("cannot update the mount's lease", metadata: ["error": "\(error)"])
        }
    }
}
