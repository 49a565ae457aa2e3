import CFUSE

/// The kind of a file as FUSE reports it: the `S_IFMT` bits of `st_mode`.
public enum FileKind: Sendable, Hashable {
    /// A directory (`S_IFDIR`).
    case directory
    /// A regular file (`S_IFREG`).
    case regularFile
    /// A symbolic link (`S_IFLNK`); its target is answered by `readlink`.
    case symbolicLink
    /// A character device (`S_IFCHR`), with ``FileAttributes/deviceNumber``.
    case characterDevice
    /// A block device (`S_IFBLK`), with ``FileAttributes/deviceNumber``.
    case blockDevice
    /// A FIFO (`S_IFIFO`).
    case fifo

    /// The `S_IFMT` bits for this kind.
    var modeBits: mode_t {
        switch self {
        case .directory: mode_t(S_IFDIR)
        case .regularFile: mode_t(S_IFREG)
        case .symbolicLink: mode_t(S_IFLNK)
        case .characterDevice: mode_t(S_IFCHR)
        case .blockDevice: mode_t(S_IFBLK)
        case .fifo: mode_t(S_IFIFO)
        }
    }
}

/// The attributes of one inode, as `getattr`, `lookup` and `readdirplus` replies carry them
/// (a `struct stat`).
public struct FileAttributes: Sendable, Hashable {
    /// The inode number (`st_ino`); also the node id the kernel uses in later requests.
    public var inode: UInt64
    /// File or directory (`st_mode & S_IFMT`).
    public var kind: FileKind
    /// Permission bits only, such as `0o444` (`st_mode & 07777`).
    public var permissions: UInt32
    /// Hard link count (`st_nlink`): 1 for files, 2 + subdirectories for directories.
    public var linkCount: UInt32
    /// Size in bytes (`st_size`).
    public var size: Int64
    /// Owner (`st_uid`).
    public var userID: UInt32
    /// Group (`st_gid`).
    public var groupID: UInt32
    /// Access, modification and status change time in seconds since the epoch
    /// (`st_atim`, `st_mtim`, `st_ctim`).
    public var modificationTime: Int64
    /// Nanoseconds added to ``modificationTime`` (0 to 999,999,999).
    public var modificationNanoseconds: UInt32
    /// A device's number (`st_rdev`, as `makedev(major, minor)`); 0 for other kinds.
    public var deviceNumber: UInt64
    /// Preferred I/O size in bytes (`st_blksize`).
    public var blockSize: Int32

    /// Creates attributes.
    ///
    /// - Parameters:
    ///   - modificationTime: seconds since the epoch, used for atime, mtime and ctime, plus
    ///     `modificationNanoseconds`.
    public init(
        inode: UInt64, kind: FileKind, permissions: UInt32, linkCount: UInt32, size: Int64,
        userID: UInt32, groupID: UInt32, modificationTime: Int64, modificationNanoseconds: UInt32 = 0, deviceNumber: UInt64 = 0,
        blockSize: Int32 = 4096
    ) {
        self.inode = inode
        self.kind = kind
        self.permissions = permissions
        self.linkCount = linkCount
        self.size = size
        self.userID = userID
        self.groupID = groupID
        self.modificationTime = modificationTime
        self.modificationNanoseconds = modificationNanoseconds
        self.deviceNumber = deviceNumber
        self.blockSize = blockSize
    }

    /// The `struct stat` libfuse sends.
    var stat: stat {
        var st = CFUSE.stat()
        st.st_ino = ino_t(inode)
        st.st_mode = kind.modeBits | mode_t(permissions & 0o7777)
        st.st_nlink = nlink_t(linkCount)
        st.st_size = off_t(size)
        st.st_uid = userID
        st.st_gid = groupID
        st.st_rdev = dev_t(deviceNumber)
        st.st_blksize = blksize_t(blockSize)
        st.st_blocks = blkcnt_t((size + 511) / 512)
        let time = timespec(tv_sec: Int(modificationTime), tv_nsec: Int(modificationNanoseconds))
        st.st_atim = time
        st.st_mtim = time
        st.st_ctim = time
        return st
    }
}
