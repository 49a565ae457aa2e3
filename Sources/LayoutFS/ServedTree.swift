import ContentStore

/// What a mount serves: the OCI layout view (``LayoutTree``) or an image's root filesystem (the
/// RootfsView module). The mount's FUSE adapter calls only this. Every call answers at once
/// (they run on FUSE request threads), except ``read(handle:offset:byteCount:completion:)``,
/// which may complete later.
package protocol ServedTree: AnyObject, Sendable {
    /// Attributes of `inode`.
    /// - Throws: `LayoutFSError` `.notFound` for an unknown inode.
    func attributes(of inode: UInt64) throws(LayoutFSError) -> NodeAttributes
    /// Looks `name` up in directory `parent`.
    /// - Throws: `.notFound`, or `.notDirectory` when `parent` is not a directory.
    func lookup(parent: UInt64, name: String) throws(LayoutFSError) -> NodeAttributes
    /// The entries of directory `inode`, without `.` and `..`, in a stable order.
    /// - Throws: `.notFound`, `.notDirectory`.
    func entries(of inode: UInt64) throws(LayoutFSError) -> [DirectoryEntry]
    /// A symbolic link's target, as written.
    /// - Throws: `.invalidArgument` when `inode` is not a symlink, `.notFound`.
    func linkTarget(of inode: UInt64) throws(LayoutFSError) -> String
    /// Opens a file for reading and returns a handle for `read` and `release`.
    /// - Throws: `.isDirectory`, `.notFound`, `.io` when its content cannot be opened.
    func open(_ inode: UInt64) throws(LayoutFSError) -> UInt64
    /// Reads up to `byteCount` bytes at `offset` of an open handle, or of file `inode` when
    /// `handle` is 0 (a tree that ``opensAreStateless``: the kernel then sends no `open`);
    /// fewer only at the end. `completion` is called exactly once, now or later (`.io` when the
    /// bytes cannot come).
    func read(inode: UInt64, handle: UInt64, offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void)
    /// Closes a handle returned by `open` (once).
    func release(handle: UInt64)
    /// Whether the kernel may cache `inode`'s pages and attributes for long (immutable content).
    func keepsCache(_ inode: UInt64) -> Bool
    /// Whether the kernel may keep pages cached from earlier opens of the file `handle` reads.
    func keepsPages(handle: UInt64) -> Bool
    /// The value of extended attribute `name` of `inode`.
    /// - Throws: `.noAttribute`, `.notFound`.
    func extendedAttribute(of inode: UInt64, name: String) throws(LayoutFSError) -> [UInt8]
    /// The extended attribute names `listxattr` shows (`user.layoutfs.*` are never listed).
    /// - Throws: `.notFound`.
    func extendedAttributeNames(of inode: UInt64) throws(LayoutFSError) -> [String]
    /// True when a directory's entries never change while mounted: readers then need no
    /// snapshot per open directory, and the mount lets the kernel skip `opendir`.
    var directoriesAreImmutable: Bool { get }
    /// True when a file is read by its inode alone (no state per open): the mount lets the
    /// kernel skip `open` and `release`.
    var opensAreStateless: Bool { get }
    /// The node count and the bytes of the files `statfs` reports, when the tree knows them
    /// without a walk; nil to have the mount walk the tree.
    var usage: (nodes: UInt64, bytes: Int64)? { get }
    /// Bytes received from registries so far.
    var bytesFetched: Int64 { get }
    /// A read of `inode` waited `deadline` and is answered `EIO`. Returns what to log.
    func readTimedOut(inode: UInt64, after deadline: Duration) -> String
    /// Calls `handler` with an inode whose cached pages the kernel must drop (on a worker thread).
    func onInvalidate(_ handler: @escaping @Sendable (UInt64) -> Void)
    /// Points open handles at replaced content; returns the inodes whose pages must be dropped.
    /// Called about once a second, never on a request thread.
    func repointReplacedBlobs() -> [UInt64]
    /// The whole local file an open `handle` reads, for FUSE passthrough
    /// (``FileContent/backingFile``); nil when its reads must reach the daemon.
    func backingFile(handle: UInt64) -> BlobFile?
}

extension ServedTree {
    /// None: every read reaches the daemon.
    package func backingFile(handle: UInt64) -> BlobFile? { nil }
}
