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

/// One entry of a `readdirplus` reply (`fuse_add_direntry_plus`): a name and a full lookup
/// answer, so the kernel needs no separate `lookup` for it.
public struct ReaddirPlusEntry: Sendable, Hashable {
    /// The name within its directory.
    public var name: String
    /// What `lookup` of `name` would answer. For `.` and `..` pass an entry whose
    /// `attributes.inode` is the directory's: libfuse sends it, the kernel only uses the type.
    public var entry: EntryReply

    public init(name: String, entry: EntryReply) {
        self.name = name
        self.entry = entry
    }
}
