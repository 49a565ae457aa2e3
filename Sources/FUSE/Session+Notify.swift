import CFUSE
import Glibc

extension Session {
    /// Makes the kernel forget the cached name `name` in directory `parent`
    /// (`fuse_lowlevel_notify_inval_entry`), so the next access looks it up again.
    ///
    /// Never call this from a request handler: the kernel may wait on the request being handled
    /// (libfuse documents the deadlock). Returns normally when the kernel had nothing cached.
    ///
    /// - Throws: ``FUSEError/Code/notificationFailed`` (not mounted: `ENOTCONN`; kernel too old:
    ///   `ENOSYS`).
    public func notifyInvalidateEntry(parent: UInt64, name: String) throws(FUSEError) {
        try notify("invalidate the kernel's entry \(name) in inode \(parent)") { handle in
            name.withCString { fuse_lowlevel_notify_inval_entry(handle, parent, $0, strlen($0)) }
        }
    }

    /// Makes the kernel drop its cached attributes of `inode` and its cached data in the byte
    /// range `offset ..< offset + length` (`fuse_lowlevel_notify_inval_inode`). `length` 0 means
    /// to the end of the file; a negative `offset` drops attributes only.
    ///
    /// Never call this from a request handler. Returns normally when the kernel had nothing
    /// cached.
    ///
    /// - Throws: ``FUSEError/Code/notificationFailed``.
    public func notifyInvalidateInode(_ inode: UInt64, offset: Int64 = 0, length: Int64 = 0) throws(FUSEError) {
        try notify("invalidate the kernel's cache of inode \(inode)") { handle in
            fuse_lowlevel_notify_inval_inode(handle, inode, off_t(offset), off_t(length))
        }
    }
}
