import OCISpec
import Synchronization

/// The blobs another content store holds that are read through its API, not as files
/// (containerd when its content directory cannot be read here), with their sizes in bytes.
/// Shared by every copy of a ``Store`` value, so a mount's follower can add what arrives later.
package final class RemoteBlobSizes: Sendable {
    private let sizes: Mutex<[Digest: Int64]>

    package init(_ sizes: [Digest: Int64] = [:]) { self.sizes = Mutex(sizes) }

    /// The blob's size, nil when the other store does not have it.
    package func size(of digest: Digest) -> Int64? { sizes.withLock { $0[digest] } }

    /// Replaces every size (a fresh listing).
    package func replaceAll(_ fresh: [Digest: Int64]) { sizes.withLock { $0 = fresh } }
}
