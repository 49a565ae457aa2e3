import SystemPackage

/// A read-only file system served through the libfuse low-level API.
///
/// Each handler receives a ``Request`` it must answer exactly once, now or later from any thread
/// (park it in a ``ParkedRequest``). A request dropped unanswered is answered `EIO`. Handlers run
/// on libfuse worker threads, possibly several at once, and must not block for long: a worker
/// blocked is a worker the kernel's other requests cannot use.
///
/// Inode numbers are the kernel's node ids; `FUSE_ROOT_ID` (1) is the root. The default
/// implementations answer as libfuse does when an operation is not provided.
public protocol FileSystem: AnyObject, Sendable {
    /// The connection parameters this file system wants. Default: ``FileSystemConfiguration/init()``.
    var configuration: FileSystemConfiguration { get }

    /// The connection was initialized (libfuse `init`); called once, before any request.
    func connectionEstablished(_ info: ConnectionInfo)

    /// The session loop has ended (``Session/exit()`` or an unmount) and the device is still
    /// open: answer every parked request now; later answers are lost. Called once, on the thread
    /// that called ``Session/run(maxThreads:)``, before it unmounts.
    func sessionWillEnd()

    /// Looks up `name` in directory `parent` (libfuse `lookup`). Answer with
    /// ``Request/reply(entry:)`` or an error (`ENOENT`). Names that are not valid UTF-8 are
    /// answered `ENOENT` without calling this.
    func lookup(_ request: consuming Request, parent: UInt64, name: String)

    /// The kernel dropped `lookupCount` references to `inode` (libfuse `forget`; no reply).
    func forget(inode: UInt64, lookupCount: UInt64)

    /// Answers `stat` (libfuse `getattr`) with ``Request/reply(attributes:timeout:)``.
    func getAttributes(_ request: consuming Request, inode: UInt64)
    /// Answers `readlink` of a symbolic link with ``Request/reply(link:)``. Default: `ENOSYS`.
    func readLink(_ request: consuming Request, inode: UInt64)

    /// Opens a file (libfuse `open`); `flags` are the `open(2)` flags. Answer with
    /// ``Request/reply(open:keepCache:directIO:)``. Default: success with file handle 0.
    func open(_ request: consuming Request, inode: UInt64, flags: Int32)

    /// Reads up to `byteCount` bytes at `offset` (libfuse `read`). Answer with the bytes (fewer
    /// only at end of file) via ``Request/reply(bytes:)-(UnsafeRawBufferPointer)`` or
    /// ``Request/reply(fileDescriptor:offset:byteCount:)``.
    func read(_ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, byteCount: Int)

    /// The last reference to an open file went away (libfuse `release`). Default: success.
    func release(_ request: consuming Request, inode: UInt64, fileHandle: UInt64)

    /// Opens a directory (libfuse `opendir`). Default: success with file handle 0.
    func openDirectory(_ request: consuming Request, inode: UInt64)

    /// Lists a directory from `offset` (0, or an offset a previous reply gave), at most
    /// `maxSize` bytes of reply (libfuse `readdir`). Answer with
    /// ``Request/reply(directoryEntries:offset:maxSize:)``.
    func readDirectory(_ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, maxSize: Int)

    /// `readdir` with attributes (libfuse `readdirplus`); only called when
    /// ``FileSystemConfiguration/readdirPlus`` is set. Default: `ENOSYS`.
    func readDirectoryPlus(
        _ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, maxSize: Int)

    /// Closes a directory (libfuse `releasedir`). Default: success.
    func releaseDirectory(_ request: consuming Request, inode: UInt64, fileHandle: UInt64)

    /// Reads extended attribute `name` (libfuse `getxattr`). `size` 0 asks for the value's
    /// size only; see ``Request/reply(xattrValue:requestedSize:)``. Default: `ENOSYS` (the
    /// kernel then stops asking).
    func getExtendedAttribute(_ request: consuming Request, inode: UInt64, name: String, size: Int)

    /// Lists extended attribute names (libfuse `listxattr`); see
    /// ``Request/reply(xattrNames:requestedSize:)``. Default: `ENOSYS`.
    func listExtendedAttributes(_ request: consuming Request, inode: UInt64, size: Int)

    /// Answers `statfs` (libfuse `statfs`) with ``Request/reply(statistics:)``. Default: the
    /// values libfuse sends when the operation is missing.
    func statistics(_ request: consuming Request, inode: UInt64)

    /// Checks `access(2)` permissions, `mask` being `R_OK | W_OK | X_OK` or `F_OK` (libfuse
    /// `access`). Not called with `default_permissions`. Default: `ENOSYS` (the kernel then stops
    /// asking and treats every check as allowed).
    func access(_ request: consuming Request, inode: UInt64, mask: Int32)
}

extension FileSystem {
    public var configuration: FileSystemConfiguration { FileSystemConfiguration() }

    public func connectionEstablished(_ info: ConnectionInfo) {}

    public func sessionWillEnd() {}

    public func forget(inode: UInt64, lookupCount: UInt64) {}
    public func readLink(_ request: consuming Request, inode: UInt64) {
        request.reply(error: .noFunction)
    }

    public func open(_ request: consuming Request, inode: UInt64, flags: Int32) {
        request.reply(open: 0, keepCache: false)
    }

    public func release(_ request: consuming Request, inode: UInt64, fileHandle: UInt64) {
        request.replySuccess()
    }

    public func openDirectory(_ request: consuming Request, inode: UInt64) {
        request.reply(openDirectory: 0)
    }

    public func readDirectoryPlus(
        _ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, maxSize: Int
    ) {
        request.reply(error: .noFunction)
    }

    public func releaseDirectory(_ request: consuming Request, inode: UInt64, fileHandle: UInt64) {
        request.replySuccess()
    }

    public func getExtendedAttribute(_ request: consuming Request, inode: UInt64, name: String, size: Int) {
        request.reply(error: .noFunction)
    }

    public func listExtendedAttributes(_ request: consuming Request, inode: UInt64, size: Int) {
        request.reply(error: .noFunction)
    }

    public func statistics(_ request: consuming Request, inode: UInt64) {
        request.reply(statistics: FileSystemStatistics(blockSize: 512, fragmentSize: 512))
    }

    public func access(_ request: consuming Request, inode: UInt64, mask: Int32) {
        request.reply(error: .noFunction)
    }
}
