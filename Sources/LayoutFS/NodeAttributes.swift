/// What a node is.
package enum NodeKind: Sendable, Equatable {
    case directory, regularFile, symbolicLink, characterDevice, blockDevice, fifo
}

/// The attributes of a node in a served tree, as `stat` shows them.
package struct NodeAttributes: Sendable, Equatable {
    /// Stable inode number (readdir `d_ino` equals `st_ino`).
    package var inode: UInt64
    package var kind: NodeKind
    /// Size in bytes: exact, from the descriptor or the tar header, before any byte is read.
    package var size: Int64
    /// Permission bits with setuid, setgid and sticky (`07777`): 0o444 for the layout's files,
    /// 0o555 for its directories; as the layer says in a rootfs view.
    package var permissions: UInt32
    package var linkCount: UInt32
    /// Seconds since the epoch, and nanoseconds.
    package var modificationTime: Int64
    package var modificationNanoseconds: UInt32
    /// Owner and group as the layer says, or nil for the mounting user's (the layout view).
    package var owner: (userID: UInt32, groupID: UInt32)?
    /// A device's major and minor numbers (0 for other kinds).
    package var device: (major: UInt32, minor: UInt32)

    package init(
        inode: UInt64, kind: NodeKind, size: Int64, permissions: UInt32, linkCount: UInt32, modificationTime: Int64,
        modificationNanoseconds: UInt32 = 0, owner: (userID: UInt32, groupID: UInt32)? = nil, device: (major: UInt32, minor: UInt32) = (0, 0)
    ) {
        self.inode = inode
        self.kind = kind
        self.size = size
        self.permissions = permissions
        self.linkCount = linkCount
        self.modificationTime = modificationTime
        self.modificationNanoseconds = modificationNanoseconds
        self.owner = owner
        self.device = device
    }

    package static func == (left: NodeAttributes, right: NodeAttributes) -> Bool {
        left.inode == right.inode && left.kind == right.kind && left.size == right.size && left.permissions == right.permissions
            && left.linkCount == right.linkCount && left.modificationTime == right.modificationTime
            && left.modificationNanoseconds == right.modificationNanoseconds && left.owner?.userID == right.owner?.userID
            && left.owner?.groupID == right.owner?.groupID && left.device == right.device
    }
}

/// One entry of a directory listing.
package struct DirectoryEntry: Sendable, Equatable {
    package var name: String
    package var inode: UInt64
    package var kind: NodeKind

    package init(name: String, inode: UInt64, kind: NodeKind) {
        self.name = name
        self.inode = inode
        self.kind = kind
    }
}
