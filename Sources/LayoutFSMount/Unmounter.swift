import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Unmounting layoutfs mounts, live or stale, for `layoutfs unmount` and for `layoutfs mount`
/// finding a dead mount in its way.
public enum Unmounter {
    /// What is at a mount point.
    public enum State: Sendable, Hashable {
        /// Nothing is mounted there.
        case notMounted
        /// A file system of this type (`fuse.layoutfs` for ours) is mounted and answers.
        case mounted(fileSystemType: String)
        /// A FUSE mount whose daemon is gone: `stat` fails with `ENOTCONN` ("Transport endpoint is
        /// not connected").
        case stale(fileSystemType: String)
    }

    /// What is mounted at `path`, from `/proc/self/mountinfo` and, for FUSE mounts, `stat`.
    ///
    /// - Throws: ``MountError/Code/mountTableUnreadable``, ``MountError/Code/invalidPath``.
    public static func state(of path: String) throws(MountError) -> State {
        guard let entry = try MountTable.entry(at: path) else { return .notMounted }
        if entry.fileSystemType.hasPrefix("fuse") {
            var info = stat()
            if stat(entry.mountPoint, &info) != 0, errno == ENOTCONN {
                return .stale(fileSystemType: entry.fileSystemType)
            }
        }
        return .mounted(fileSystemType: entry.fileSystemType)
    }

    /// Whether `path` is a stale layoutfs mount (type `fuse.layoutfs`, `stat` gives `ENOTCONN`).
    public static func isStale(_ path: String) -> Bool {
        (try? state(of: path)) == .stale(fileSystemType: MountTable.layoutFSType)
    }

    /// Detaches a stale layoutfs mount at `path` (`umount2(MNT_DETACH)` as root, else
    /// `fusermount3 -u -z`). Other mounts are left alone.
    ///
    /// - Returns: whether a stale mount was removed.
    /// - Throws: ``MountError`` when the detach fails.
    @discardableResult
    public static func removeStaleMount(at path: String) throws(MountError) -> Bool {
        guard isStale(path) else { return false }
        try detach(MountTable.canonicalMountpoint(path), lazy: true)
        return true
    }

    /// Unmounts the layoutfs mount at `path`: `umount2` as root (`MNT_DETACH` when `lazy`), else
    /// `fusermount3 -u` (`-z` when `lazy`). The daemon then sees the unmount and exits.
    ///
    /// - Parameter lazy: detach now even if files are open; the kernel finishes the unmount
    ///   when the last one is closed.
    /// - Throws: ``MountError/Code/notMounted``; ``MountError/Code/notLayoutFS`` for any other
    ///   file system (left alone); ``MountError/Code/busy`` (`EBUSY`) when in use and not `lazy`;
    ///   ``MountError/Code/permissionDenied``; ``MountError/Code/unmountFailed``.
    public static func unmount(_ path: String, lazy: Bool) throws(MountError) {
        guard let entry = try MountTable.entry(at: path) else {
            throw MountError(code: .notMounted, message: "nothing is mounted at \(path)")
        }
        guard entry.fileSystemType == MountTable.layoutFSType else {
            throw MountError(
                code: .notLayoutFS,
                message: "\(path) is not a layoutfs mount (it is \(entry.fileSystemType)); not unmounting it")
        }
        try detach(entry.mountPoint, lazy: lazy)
    }

    /// Unmounts `mountpoint` (canonical), as root directly, else through `fusermount3`.
    private static func detach(_ mountpoint: String, lazy: Bool) throws(MountError) {
        var flags = Int32(UMOUNT_NOFOLLOW)
        if lazy { flags |= Int32(MNT_DETACH) }
        if umount2(mountpoint, flags) == 0 { return }
        let error = Errno(rawValue: errno)
        switch error {
        case .resourceBusy:
            throw busy(mountpoint)
        case .notPermitted where getuid() != 0:
            try fusermount(mountpoint, lazy: lazy)
        case .notPermitted:
            throw MountError(code: .permissionDenied, message: "not allowed to unmount \(mountpoint)", errno: error)
        default:
            throw MountError(code: .unmountFailed, message: "cannot unmount \(mountpoint)", errno: error)
        }
    }

    private static func busy(_ mountpoint: String) -> MountError {
        MountError(
            code: .busy,
            message: "cannot unmount \(mountpoint): it is busy (a process has a file open there or its working "
                + "directory inside; `fuser -vm \(mountpoint)` lists them). Close them, or run "
                + "`layoutfs unmount --lazy \(mountpoint)` to detach it now and finish when they are done",
            errno: .resourceBusy)
    }

    /// `fusermount3 -u [-z] -- mountpoint`, for users without `CAP_SYS_ADMIN`.
    private static func fusermount(_ mountpoint: String, lazy: Bool) throws(MountError) {
        var arguments = ["fusermount3", "-u"]
        if lazy { arguments.append("-z") }
        arguments += ["--", mountpoint]
        let (status, output) = try HelperProcess.run(arguments)
        if status == 0 { return }
        if output.contains("busy") { throw busy(mountpoint) }
        if output.contains("ermission denied") || output.contains("not permitted") {
            throw MountError(
                code: .permissionDenied,
                message: "not allowed to unmount \(mountpoint): \(output) (only its owner or root may)")
        }
        throw MountError(
            code: .unmountFailed,
            message: "cannot unmount \(mountpoint): fusermount3 exited with status \(status): \(output)")
    }
}
