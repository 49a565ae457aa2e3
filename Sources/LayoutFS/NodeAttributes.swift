/// What a node is.
package enum NodeKind: Sendable { case directory, regularFile }

/// The attributes of a node in the layout tree, as `stat` shows them.
package struct NodeAttributes: Sendable, Equatable {
    /// Stable inode number (readdir `d_ino` equals `st_ino`).
    package var inode: UInt64
    package var kind: NodeKind
    /// Size in bytes: exact, from the descriptor, before any byte is read.
    package var size: Int64
    /// Permission bits only: 0o444 for files, 0o555 for directories.
    package var permissions: UInt32
    package var linkCount: UInt32
    /// Seconds since the epoch.
    package var modificationTime: Int64

    package init(inode: UInt64, kind: NodeKind, size: Int64, permissions: UInt32, linkCount: UInt32, modificationTime: Int64) {
        self.inode = inode
        self.kind = kind
        self.size = size
        self.permissions = permissions
        self.linkCount = linkCount
        self.modificationTime = modificationTime
    }
}

/// One entry of a directory listing.
package struct DirectoryEntry: Sendable, Equatable {
    package var name: String
    package var inode: UInt64
    package var kind: NodeKind
}
