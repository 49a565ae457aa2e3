import ContentStore
import OCISpec

/// Where a ``LayoutTree`` gets the content of its blobs: the seam between the filesystem model
/// and the places bytes come from (the store, a content directory, a registry fetched on
/// demand). The tree knows nothing of those; the mount wires an implementation in.
///
/// Every call answers at once (no network, no waiting on another blob's lock): they run on
/// FUSE request threads.
package protocol BlobProvider: Sendable {
    /// Opens the blob `descriptor` names, for reading by one file handle.
    /// - Throws: `LayoutFSError` `.io` (or `.notFound`) when it cannot be read: gone from the
    ///   store, changed size, no source to fetch it from, out of file descriptors.
    func open(_ descriptor: Descriptor) throws(LayoutFSError) -> any FileContent
    /// What the `user.layoutfs.state` attribute of the blob says: `local`, `lazy P/N` or
    /// `fetching P/N` (bytes present of N) (DESIGN.md "The mount").
    func state(of descriptor: Descriptor) -> String
    /// Sets what runs (on a worker thread, never a FUSE request thread) when the kernel must
    /// forget its pages of a blob: its fetched bytes turned out corrupt.
    func onInvalidate(_ handler: @escaping @Sendable (Digest) -> Void)
    /// Bytes received from elsewhere (registries) so far; 0 for content that is all local.
    var bytesFetched: Int64 { get }
    /// A read of the blob waited `deadline` for its bytes and gets `EIO`: the provider may
    /// fail the blob's other waiting reads now and answer its re-sends at once for a while.
    /// - Returns: why the bytes did not come (the last fetch error), when known.
    func readTimedOut(_ digest: Digest, after deadline: Duration) -> String?
}

/// The content of one open file: what the tree reads for a file handle, whatever the bytes
/// come from (a local blob file, a blob fetched on demand, a file inside a layer).
package protocol FileContent: Sendable {
    /// Whether the kernel may keep the pages it cached from earlier opens of this file
    /// (`FOPEN_KEEP_CACHE`): false when those pages may hold bytes that turned out bad (served
    /// before verification, or from a file since replaced). Asked once, right after the open.
    var keepsPages: Bool { get }
    /// Reads up to `byteCount` bytes at `offset` (bytes, both ≥ 0); fewer only at the end of
    /// the file. `completion` is called exactly once: before `read` returns when the bytes are
    /// at hand, else from another thread when they arrive (or fail: `.io`).
    func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void)
    /// The content that stands for this one now that its backing file was replaced (a blob
    /// committed anew by `layoutfs check --repair`: the old file's bytes are bad); nil while
    /// this one is current. The tree asks about once a second for each open blob.
    func replacement() -> (any FileContent)?
    /// The whole, verified local file this content reads, which the kernel may read itself
    /// (FUSE passthrough); nil for content that is not one (lazy, remote, made in memory).
    var backingFile: BlobFile? { get }
}

extension FileContent {
    package func replacement() -> (any FileContent)? { nil }
    package var backingFile: BlobFile? { nil }
}
