import CFUSE
import SystemPackage

/// One request from the kernel (a `fuse_req_t`), which must be answered exactly once.
///
/// Every reply method is `consuming`: after it the request is gone, so it cannot be answered
/// twice. A request that is dropped unanswered (a handler that throws or returns early, a
/// ``ParkedRequest`` released with the request inside) is answered `EIO` by `deinit`, so the
/// kernel never waits forever. A request may be moved to and answered from any thread.
///
/// The reply methods follow libfuse's `fuse_reply_*` functions; a reply the kernel no longer
/// wants (the request was interrupted, the file system unmounted) is discarded by libfuse.
public struct Request: ~Copyable, @unchecked Sendable {
    let raw: fuse_req_t
    /// The interrupt handler registered with `fuse_req_interrupt_func`, retained once.
    var interruptHandler: Unmanaged<InterruptHandler>?

    init(_ raw: fuse_req_t) {
        self.raw = raw
        self.interruptHandler = nil
    }

    deinit {
        InterruptHandler.unregister(interruptHandler, from: raw)
        fuse_reply_err(raw, Errno.ioError.rawValue)
        interruptHandler?.release()
    }

    /// Sends one reply with `send` and ends the request without running `deinit`.
    consuming func finish(_ send: (fuse_req_t) -> Void) {
        let raw = self.raw
        let handler = self.interruptHandler
        discard self
        InterruptHandler.unregister(handler, from: raw)
        send(raw)
        handler?.release()
    }

    /// The process that caused this request (`fuse_req_ctx`); ids may be 0 when the caller is in
    /// another PID or user namespace.
    public var caller: (userID: UInt32, groupID: UInt32, processID: Int32) {
        guard let context = fuse_req_ctx(raw) else { return (0, 0, 0) }
        return (context.pointee.uid, context.pointee.gid, context.pointee.pid)
    }

    /// Answers with an error (`fuse_reply_err`). Valid for every operation but `forget`.
    public consuming func reply(error: Errno) {
        finish { fuse_reply_err($0, error.rawValue) }
    }

    /// Answers success without data (`fuse_reply_err(req, 0)`): for `release`, `releasedir`,
    /// `access`, `flush`.
    public consuming func replySuccess() {
        finish { fuse_reply_err($0, 0) }
    }

    /// Ends a `forget` request, which has no answer (`fuse_reply_none`).
    consuming func replyNone() {
        finish { fuse_reply_none($0) }
    }

    /// Answers `lookup` with an entry (`fuse_reply_entry`). The kernel's lookup count of
    /// `entry.attributes.inode` goes up by one.
    public consuming func reply(entry: EntryReply) {
        var parameters = entry.entryParameters
        finish { fuse_reply_entry($0, &parameters) }
    }

    /// Answers `getattr` (`fuse_reply_attr`).
    ///
    /// - Parameter timeout: how long the kernel may cache the attributes.
    public consuming func reply(attributes: FileAttributes, timeout: Duration) {
        var stat = attributes.stat
        finish { fuse_reply_attr($0, &stat, timeout.fuseSeconds) }
    }

    /// Answers `readlink` with a symbolic link's target (`fuse_reply_readlink`), as written:
    /// never resolved.
    public consuming func reply(link target: String) {
        finish { request in target.withCString { _ = fuse_reply_readlink(request, $0) } }
    }

    /// Answers `open` (`fuse_reply_open`).
    ///
    /// - Parameters:
    ///   - fileHandle: a value handed back in this file's `read` and `release` requests.
    ///   - keepCache: keep the kernel's page cache of this file from earlier opens
    ///     (`keep_cache`): only for content that never changes.
    ///   - directIO: bypass the page cache for this open file (`direct_io`).
    public consuming func reply(open fileHandle: UInt64, keepCache: Bool, directIO: Bool = false) {
        var info = fuse_file_info()
        info.fh = fileHandle
        info.keep_cache = keepCache ? 1 : 0
        info.direct_io = directIO ? 1 : 0
        finish { fuse_reply_open($0, &info) }
    }

    /// Answers `open` in passthrough mode: the kernel reads and maps the file from the backing
    /// file `backingID` (``Session/openBacking(_:)``) and never sends this open's reads. No other
    /// open flag goes with it (the kernel fails the open with `EIO` for `FOPEN_KEEP_CACHE`:
    /// fs/fuse/iomode.c, `FOPEN_PASSTHROUGH_MASK`); the page cache is the backing file's.
    /// - Parameter fileHandle: handed back in this file's `release`.
    public consuming func reply(open fileHandle: UInt64, backingID: Int32) {
        finish { lfs_reply_open_passthrough($0, fileHandle, 0, backingID) }
    }

    /// Answers `opendir` (`fuse_reply_open`).
    ///
    /// - Parameters:
    ///   - fileHandle: a value handed back in this directory's `readdir` and `releasedir`.
    ///   - cacheEntries: let the kernel cache the listing (`cache_readdir`).
    public consuming func reply(openDirectory fileHandle: UInt64, cacheEntries: Bool = false) {
        var info = fuse_file_info()
        info.fh = fileHandle
        info.cache_readdir = cacheEntries ? 1 : 0
        finish { fuse_reply_open($0, &info) }
    }

    /// Answers `statfs` (`fuse_reply_statfs`).
    public consuming func reply(statistics: FileSystemStatistics) {
        var value = statistics.statvfs
        finish { fuse_reply_statfs($0, &value) }
    }
}
