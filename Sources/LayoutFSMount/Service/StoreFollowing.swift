import BlockingWork
import ContentStore
import ImageStore
import Logging
import OCISpec

/// The store as the ``IndexFollower`` of a mount sees it: meta.db's change counter, name
/// resolution and layout plans of the mount's shape, closures, and the mount's lease.
package struct StoreFollowing: FollowerStore {
    let store: Store
    /// The shape a plan of some images uses (``MountRequest/planShape(for:)``).
    let shape: @Sendable ([ResolvedImage]) -> LayoutPlan.Shape
    let leaseRecord: LockedRecord
    let holder: (any BlobHolder)?
    let logger: Logger?

    /// - Parameter logger: told what the holder completed for a new generation.
    package init(
        store: Store, shape: @escaping @Sendable ([ResolvedImage]) -> LayoutPlan.Shape, lease: LockedRecord, holder: (any BlobHolder)? = nil,
        logger: Logger? = nil
    ) {
        self.store = store
        self.logger = logger
        self.shape = shape
        self.leaseRecord = lease
        self.holder = holder
    }

    package func changeCount() -> Int64? { try? store.images.changeCount() }

    package func withPruneHeldOff(_ body: () -> Void) throws {
        let lock = try GCLock(root: store.location.root, exclusive: false)
        body()
        withExtendedLifetime(lock) {}
    }

    package func resolve(_ specifier: ImageSpecifier) throws -> ResolvedImage { try store.resolve(specifier) }

    /// The plan of a new generation; what the holder's source lacks is completed first when
    /// the plan finds a blob missing (a name moved onto an image containerd has one platform of).
    package func layout(of images: [ResolvedImage]) throws -> ShownLayout {
        let (store, shape, logger) = (store, shape, logger)
        return try holder.planning(images, say: { logger?.notice("\($0)") }) { ShownLayout(try LayoutPlan(store: store, images: images, shape: shape(images))) }
    }

    package func closure(of root: Descriptor) -> Set<Digest>? {
        (try? store.closure(of: root, imageName: root.digest.description)).map { Set($0.blobs.map(\.digest)) }
    }

    /// The store's lease, then the holder's (every blob of the roots' closures): called on the
    /// follower's blocking thread, which waits for the holder.
    package func lease(_ roots: [Descriptor]) throws {
        try store.updateLease(leaseRecord, roots: roots)
        guard let holder else { return }
        var blobs: [Digest: Descriptor] = [:]
        for root in roots {
            for blob in (try? store.closure(of: root, imageName: root.digest.description))?.blobs ?? [root] { blobs[blob.digest] = blob }
        }
        let held = Array(blobs.values)
        try BlockingWork.wait { try await holder.hold(held) }
    }
}
