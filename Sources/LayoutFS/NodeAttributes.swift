/// What a node is.
public enum NodeKind: Sendable { case directory, regularFile }

/// The attributes of a node in the layout tree, as `stat` shows them.
public struct NodeAttributes: Sendable, Equatable {
    /// Stable inode number (readdir `d_ino` equals `st_ino`).
    public var inode: UInt64
    public var kind: NodeKind
    /// Size in bytes: exact, from the descriptor, before any byte is read.
    public var size: Int64
    /// Permission bits only: 0o444 for files, 0o555 for directories.
    public var permissions: UInt32
    public var linkCount: UInt32
    /// Seconds since the epoch.
    public var modificationTime: Int64

    public init(inode: UInt64, kind: NodeKind, size: Int64, permissions: UInt32, linkCount: UInt32, modificationTime: Int64) {
        self.inode = inode
        self.kind = kind
        self.size = size
        self.permissions = permissions
        self.linkCount = linkCount
        self.modificationTime = modificationTime
    }
}

/// One entry of a directory listing.
public struct DirectoryEntry: Sendable, Equatable {
    public var name: String
    public var inode: UInt64
    public var kind: NodeKind
}
