/// What a ``FileSystem`` asks of the kernel connection. Read once: capabilities when the session
/// is created (``readdirPlus``) and in libfuse's `init` callback (the rest, into
/// `struct fuse_conn_info`). Capabilities the kernel does not offer are silently left off.
public struct FileSystemConfiguration: Sendable, Hashable {
    /// Ask for `FUSE_CAP_SPLICE_WRITE`, so file-descriptor-backed read replies
    /// (``Request/reply(fileDescriptor:offset:byteCount:)``) are spliced, not copied.
    /// Off by default in libfuse 3.14.
    public var spliceWrite: Bool
    /// Ask for `FUSE_CAP_SPLICE_MOVE` (move pages instead of copying while splicing).
    public var spliceMove: Bool
    /// Maximum kernel readahead in bytes (`max_readahead`); the kernel may grant less.
    public var maxReadahead: Int
    /// Maximum pending background (readahead) requests (`max_background`, < 65536).
    public var maxBackground: Int
    /// Serve `readdirplus` (the kernel then gets attributes with each directory entry). When
    /// false, `FUSE_CAP_READDIRPLUS` is not requested and ``FileSystem/readDirectoryPlus`` is
    /// never called.
    public var readdirPlus: Bool
    /// Serve `opendir` and `releasedir`. When false (directories that never change), the first
    /// `opendir` is answered `ENOSYS`, which a kernel offering `FUSE_CAP_NO_OPENDIR_SUPPORT`
    /// (Linux 5.1) takes as "skip them from now on, and cache listings": a directory read then
    /// costs its `readdir` requests only, once. ``FileSystem/openDirectory`` and
    /// ``FileSystem/releaseDirectory`` are never called (`readdir` gets file handle 0; an older
    /// kernel's `opendir` is answered with handle 0).
    public var openDirectory: Bool
    /// Serve `open` and `release` of files. When false (files whose reads need no open state),
    /// the first `open` is answered `ENOSYS`, which a kernel offering `FUSE_CAP_NO_OPEN_SUPPORT`
    /// takes as "skip them from now on" (it keeps pages as with `FOPEN_KEEP_CACHE`): reading a
    /// small file costs one request. ``FileSystem/open`` is then called only on older kernels,
    /// and reads get file handle 0 (the inode says which file).
    public var openFile: Bool
    /// Negotiate FUSE passthrough (Linux 6.9+): the session then mounts the device itself
    /// (mount(2), root only) and asks for `FUSE_PASSTHROUGH` in its `FUSE_INIT` reply, so that
    /// opens may be answered with a backing file (``Request/reply(open:backingID:)``).
    /// Where it cannot (not root, an older kernel), the session mounts as usual and
    /// ``Session/passthroughUnavailable`` says why.
    public var passthrough: Bool

    public init(
        spliceWrite: Bool = true, spliceMove: Bool = false, maxReadahead: Int = 1 << 20,
        maxBackground: Int = 64, readdirPlus: Bool = false, openDirectory: Bool = true, openFile: Bool = true, passthrough: Bool = false
    ) {
        self.passthrough = passthrough
        self.openDirectory = openDirectory
        self.openFile = openFile
        self.spliceWrite = spliceWrite
        self.spliceMove = spliceMove
        self.maxReadahead = maxReadahead
        self.maxBackground = maxBackground
        self.readdirPlus = readdirPlus
    }
}

/// What the kernel and libfuse agreed on in `init`, for logging and diagnostics.
public struct ConnectionInfo: Sendable, Hashable {
    /// FUSE protocol version, such as 7.38.
    public var protocolMajor: UInt32
    /// FUSE protocol minor version.
    public var protocolMinor: UInt32
    /// Whether read replies from file descriptors are spliced (`FUSE_CAP_SPLICE_WRITE` in `want`).
    public var spliceWrite: Bool
    /// Whether `readdirplus` is in use (`FUSE_CAP_READDIRPLUS` in `want`).
    public var readdirPlus: Bool
    /// Whether the kernel skips `opendir` and `releasedir` (``FileSystemConfiguration/openDirectory``
    /// false, and `FUSE_CAP_NO_OPENDIR_SUPPORT` offered).
    public var skipsOpenDirectory: Bool = false
    /// Whether the kernel skips `open` and `release` of files (``FileSystemConfiguration/openFile``
    /// false, and `FUSE_CAP_NO_OPEN_SUPPORT` offered).
    public var skipsOpenFile: Bool = false
    /// Granted readahead in bytes.
    public var maxReadahead: Int
    /// Granted background request limit.
    public var maxBackground: Int
    /// Largest read request the kernel will send, in bytes (0: no limit set).
    public var maxRead: Int
}
