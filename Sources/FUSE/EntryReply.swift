import CFUSE

/// The answer to `lookup` (and each entry of `readdirplus`): a `struct fuse_entry_param`.
public struct EntryReply: Sendable, Hashable {
    /// The inode's attributes; `attributes.inode` is the node id the kernel will use.
    public var attributes: FileAttributes
    /// How long the kernel may cache the name -> inode binding.
    public var entryTimeout: Duration
    /// How long the kernel may cache `attributes`.
    public var attributeTimeout: Duration
    /// Inode generation; the (inode, generation) pair must be unique over the mount's life.
    public var generation: UInt64

    public init(
        attributes: FileAttributes, entryTimeout: Duration, attributeTimeout: Duration,
        generation: UInt64 = 0
    ) {
        self.attributes = attributes
        self.entryTimeout = entryTimeout
        self.attributeTimeout = attributeTimeout
        self.generation = generation
    }

    /// The C struct libfuse sends.
    var entryParameters: fuse_entry_param {
        var parameters = fuse_entry_param()
        parameters.ino = attributes.inode
        parameters.generation = generation
        parameters.attr = attributes.stat
        parameters.attr_timeout = attributeTimeout.fuseSeconds
        parameters.entry_timeout = entryTimeout.fuseSeconds
        return parameters
    }
}

extension Duration {
    /// Seconds as the `double` libfuse takes for timeouts; negative durations become 0.
    var fuseSeconds: Double {
        let (seconds, attoseconds) = components
        return max(0, Double(seconds) + Double(attoseconds) / 1e18)
    }
}
