/// How a layoutfs mount is made and served.
package struct MountOptions: Sendable, Hashable {
    /// Let other users see the mount (`allow_other`, which then also sets
    /// `default_permissions` so the kernel checks the 0444/0555 modes). Non-root users need
    /// `user_allow_other` in `/etc/fuse.conf`.
    package var allowOther: Bool
    /// The source shown in `/proc/self/mountinfo` and `df` (`fsname`).
    package var fileSystemName: String
    /// libfuse's request trace on stderr (`debug`).
    package var debug: Bool
    /// Most libfuse worker threads serving requests at once.
    package var maxThreads: Int
    /// How long the kernel caches names and attributes.
    package var timeouts: CacheTimeouts
    /// Longest wait of a read for its bytes (a lazy fetch); then it gets `EIO`.
    package var readDeadline: Duration
    /// Negotiate FUSE passthrough (`--passthrough auto`): the mount is then made with mount(2)
    /// here (root), and falls back to libfuse's own mount, saying why once, where it cannot.
    package var passthrough: Bool
    /// Most blobs with a passthrough backing file at once (each holds a file open in the kernel,
    /// outside the daemon's descriptor table); opens beyond it read through the daemon.
    package var backingFileLimit: Int

    package init(
        allowOther: Bool = false, fileSystemName: String = "layoutfs", debug: Bool = false, maxThreads: Int = 16,
        timeouts: CacheTimeouts = CacheTimeouts(), readDeadline: Duration = .seconds(30), passthrough: Bool = false,
        backingFileLimit: Int = 4096
    ) {
        self.passthrough = passthrough
        self.backingFileLimit = max(1, backingFileLimit)
        self.readDeadline = readDeadline
        self.allowOther = allowOther
        self.fileSystemName = fileSystemName
        self.debug = debug
        self.maxThreads = maxThreads
        self.timeouts = timeouts
    }

    /// The `-o` options for `fuse_session_new`: always `ro,subtype=layoutfs,fsname=...`, so
    /// `/proc/self/mountinfo` shows type `fuse.layoutfs` and the kernel answers writes `EROFS`.
    var fuseOptions: [String] {
        var options = ["ro", "subtype=layoutfs", "fsname=\(fileSystemName)"]
        if allowOther { options += ["allow_other", "default_permissions"] }
        if debug { options.append("debug") }
        return options
    }
}
