import BlockingWork
import ImageStore
import OCISpec

/// Something outside the store that must also hold a mount's blobs while they are shown, and
/// may keep names current meanwhile: containerd with `--containerd` (its lease and its image
/// events; the commands' `ContainerdMount`). The store's own lease is kept as always.
package protocol BlobHolder: Sendable {
    /// Holds exactly `blobs` from now on (every generation still shown). Called before the
    /// mount is ready, and from the follower when generations come and go. A holder may return
    /// once the manifests, indexes and configs are held and hold the layers soon after.
    /// - Throws: when they cannot be held (the mount does not start; a follower logs it).
    func hold(_ blobs: [Descriptor]) async throws
    /// What the mount record shows of the hold (the lease id), once ``hold(_:)`` returned.
    var holding: String? { get async }
    /// Where the hold lives, for the mount record (containerd's namespace).
    var holdingNamespace: String? { get }
    /// Keeps the hold renewed and names current until the task is cancelled; `held` is told
    /// what the mount record should show (the lease id) each time it changes.
    func maintain(held: @escaping @Sendable (String) -> Void) async
    /// Ends the hold (unmount).
    func release() async
    /// Reads the store's remote blobs (``Store/remoteBlobs``), when it has any.
    var remoteReader: (any RemoteBlobReader)? { get }
    /// Completes `images` when a plan found one of their blobs missing: fetches what the
    /// holder's source lacks from elsewhere (containerd: the registry its labels name), saying
    /// what it did through `say`. The plan is then made once more.
    /// - Throws: when the images cannot be completed (the plan's error is the one shown then).
    func complete(_ images: [ResolvedImage], say: @escaping @Sendable (String) -> Void) async throws
}

extension Optional where Wrapped == any BlobHolder {
    /// `plan()`, made once more after the holder completed `images` when it found a blob
    /// missing (`ImagesError.missingBlob`). Blocking: call it on a blocking thread.
    /// - Throws: what `plan()` throws; the holder's error when it cannot complete.
    package func planning<T>(_ images: [ResolvedImage], say: @escaping @Sendable (String) -> Void, _ plan: () throws -> T) throws -> T {
        do {
            return try plan()
        } catch let error as ImagesError {
            let lacksBlobs = error.code == .missingBlob
            guard let holder = self, lacksBlobs else { throw error }
            try BlockingWork.wait { try await holder.complete(images, say: say) }
        }
        return try plan()
    }
}
