import CFUSE

/// The answer to `statfs` (`struct statvfs`). Counts are in units of `fragmentSize` bytes.
public struct FileSystemStatistics: Sendable, Hashable {
    /// Preferred block size in bytes (`f_bsize`).
    public var blockSize: UInt
    /// Fundamental block size in bytes (`f_frsize`); the unit of the block counts.
    public var fragmentSize: UInt
    /// Size of the file system in `fragmentSize` units (`f_blocks`).
    public var blocks: UInt64
    /// Free blocks (`f_bfree`).
    public var freeBlocks: UInt64
    /// Free blocks for unprivileged users (`f_bavail`).
    public var availableBlocks: UInt64
    /// Number of inodes (`f_files`).
    public var files: UInt64
    /// Free inodes (`f_ffree`, also used for `f_favail`).
    public var freeFiles: UInt64
    /// Longest file name in bytes (`f_namemax`).
    public var maximumNameLength: UInt

    public init(
        blockSize: UInt = 4096, fragmentSize: UInt = 4096, blocks: UInt64 = 0, freeBlocks: UInt64 = 0,
        availableBlocks: UInt64 = 0, files: UInt64 = 0, freeFiles: UInt64 = 0, maximumNameLength: UInt = 255
    ) {
        self.blockSize = blockSize
        self.fragmentSize = fragmentSize
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.files = files
        self.freeFiles = freeFiles
        self.maximumNameLength = maximumNameLength
    }

    var statvfs: statvfs {
        var value = CFUSE.statvfs()
        value.f_bsize = blockSize
        value.f_frsize = fragmentSize
        value.f_blocks = fsblkcnt_t(blocks)
        value.f_bfree = fsblkcnt_t(freeBlocks)
        value.f_bavail = fsblkcnt_t(availableBlocks)
        value.f_files = fsfilcnt_t(files)
        value.f_ffree = fsfilcnt_t(freeFiles)
        value.f_favail = fsfilcnt_t(freeFiles)
        value.f_namemax = maximumNameLength
        return value
    }
}
