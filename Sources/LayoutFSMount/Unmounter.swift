import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Unmounting layoutfs mounts, live or stale, for `layoutfs unmount` and for `layoutfs mount`
/// finding a dead mount in its way.
package enum Unmounter {
    /// What is at a mount point.
    package enum State: Sendable, Hashable {
        /// Nothing is mounted there.
        case notMounted
        /// A file system of this type (`fuse.layoutfs` for ours) is mounted and answers.
        case mounted(fileSystemType: String)
        /// A FUSE mount whose daemon is gone: its connection answers `statfs` with `ENOTCONN`
        /// ("Transport endpoint is not connected").
        case stale(fileSystemType: String)
    }

    /// What is mounted at `path`, from `/proc/self/mountinfo` and, for FUSE mounts, a `statfs`
    /// that reaches the connection (``ConnectionProbe``; never `stat`, which the kernel may
    /// answer from cached attributes long after the daemon died). A daemon that does not answer
    /// within 2 s (stopped) counts as mounted.
    ///
    /// - Throws: ``MountError/Code/mountTableUnreadable``, ``MountError/Code/invalidPath``.
    package static func state(of path: String) throws(MountError) -> State {
        guard let entry = try MountTable.entry(at: path) else { return .notMounted }
        if entry.fileSystemType.hasPrefix("fuse"), ConnectionProbe.probe(entry.mountPoint) == .gone {
            return .stale(fileSystemType: entry.fileSystemType)
        }
        return .mounted(fileSystemType: entry.fileSystemType)
    }

    /// Detaches a stale layoutfs mount at `path` (`umount2(MNT_DETACH)` as root, else
    /// `fusermount3 -u -z`), lazily so that processes still inside it do not keep it there.
    /// Other mounts, and live layoutfs mounts, are left alone.
    ///
    /// - Returns: whether a stale mount was removed.
    /// - Throws: ``MountError`` when the detach fails.
    @discardableResult
    package static func removeStaleMount(at path: String) throws(MountError) -> Bool {
        guard try state(of: path) == .stale(fileSystemType: MountTable.layoutFSType) else { return false }
        try detach(MountTable.canonicalMountpoint(path), lazy: true)
        return true
    }

    /// The error for a mount point that is taken (by a live mount, or anything not ours).
    package static func alreadyMounted(_ path: String, type: String) -> MountError {
        MountError(
            code: .alreadyMounted,
            message: "\(path) is already a mountpoint (\(type)): unmount it first (layoutfs unmount \(path))")
    }

    /// Unmounts the layoutfs mount at `path`: `umount2` as root (`MNT_DETACH` when `lazy`, or
    /// when the mount is stale), else `fusermount3 -u` (`-z` likewise). The daemon then sees the
    /// unmount and exits.
    ///
    /// - Parameter lazy: detach now even if files are open; the kernel finishes the unmount
    ///   when the last one is closed.
    /// - Throws: ``MountError/Code/notMounted``; ``MountError/Code/notLayoutFS`` for any other
    ///   file system (left alone); ``MountError/Code/busy`` (`EBUSY`) when in use and not `lazy`;
    ///   ``MountError/Code/permissionDenied``; ``MountError/Code/unmountFailed``; ``MountError/Code/busy``
    ///   also when the daemon does not answer within 2 s (stopped or stuck) and not `lazy`.
    /// - Returns: true when the mount was stale (its daemon gone): it is then detached lazily
    ///   even without `lazy`, since nothing can be served from it any more.
    @discardableResult
    package static func unmount(_ path: String, lazy: Bool) throws(MountError) -> Bool {
        guard let entry = try MountTable.entry(at: path) else {
            throw MountError(code: .notMounted, message: "nothing is mounted at \(path)")
        }
        guard entry.fileSystemType == MountTable.layoutFSType else {
            throw MountError(
                code: .notLayoutFS,
                message: "\(path) is not a layoutfs mount (it is \(entry.fileSystemType)); not unmounting it")
        }
        let answer = ConnectionProbe.probe(entry.mountPoint)
        if answer == .silent && !lazy {
            // umount2 would fail with EBUSY (the probe itself still waits inside the mount), and
            // the message for that blames open files.
            throw MountError(
                code: .busy,
                message: "the daemon serving \(path) does not answer (it is stopped or stuck): "
                    + "`layoutfs unmount --lazy \(path)` detaches the mount now", errno: .resourceBusy)
        }
        let stale = answer == .gone
        try detach(entry.mountPoint, lazy: lazy || stale)
        return stale
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
