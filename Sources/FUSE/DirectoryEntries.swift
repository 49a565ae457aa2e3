/// One entry of a `readdir` reply (`fuse_add_direntry`): only the name, inode and kind are sent.
public struct ReaddirEntry: Sendable, Hashable {
    /// The name within its directory (no `/`, not empty).
    public var name: String
    /// The entry's inode number (`d_ino`); should equal its `st_ino`.
    public var inode: UInt64
    /// The entry's kind (`d_type`).
    public var kind: FileKind

    public init(name: String, inode: UInt64, kind: FileKind) {
        self.name = name
        self.inode = inode
        self.kind = kind
    }
}

/// One entry of a `readdirplus` reply (`fuse_add_direntry_plus`): a name and, usually, a full
/// lookup answer, so the kernel needs no separate `lookup` for it.
public struct ReaddirPlusEntry: Sendable, Hashable {
    /// The name within its directory.
    public var name: String
    /// The entry's inode number (`d_ino`).
    public var inode: UInt64
    /// The entry's kind (`d_type`).
    public var kind: FileKind
    /// What `lookup` of `name` would answer, or `nil` to send the name only (node id 0: the
    /// kernel caches nothing and takes no reference). Never sent for `.` and `..`.
    public var entry: EntryReply?

    public init(name: String, inode: UInt64, kind: FileKind, entry: EntryReply?) {
        self.name = name
        self.inode = inode
        self.kind = kind
        self.entry = entry
    }
}
