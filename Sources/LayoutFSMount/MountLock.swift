import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A machine-wide lock that serializes "is anything mounted here? then mount" across every
/// layoutfs process of a user, whatever store (`--root`) it uses: without it, two mounts
/// started at once on one directory both pass the check and the kernel stacks them.
///
/// The lock is `flock(LOCK_EX)` on `/run/layoutfs/mount.lock` for root, else
/// `$XDG_RUNTIME_DIR/layoutfs/mount.lock`, else `/tmp/layoutfs-<uid>/mount.lock` (a user can
/// only mount on directories it owns, so a per-user lock covers its races). The file is never
/// removed; the kernel releases the lock when its holder dies. Held only around the check and
/// `mount(2)`: a fraction of a second.
package enum MountLock {
    /// The lock file's path for the calling user.
    package static var path: String {
        let uid = getuid()
        if uid == 0 { return "/run/layoutfs/mount.lock" }
        if let runtime = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), runtime.hasPrefix("/") {
            return runtime + "/layoutfs/mount.lock"
        }
        return "/tmp/layoutfs-\(uid)/mount.lock"
    }

    /// Runs `body` holding the lock (blocks until it is free).
    /// - Throws: ``MountError/Code/mountFailed`` when the lock file cannot be created or locked
    ///   (the message names it); what `body` throws.
    package static func withLock<Result>(_ body: () throws(MountError) -> Result) throws(MountError) -> Result {
        let path = Self.path
        let directory = String(path[..<path.lastIndex(of: "/")!])
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw MountError(code: .mountFailed, message: "cannot create \(directory) for the mount lock", errno: .init(rawValue: errno))
        }
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid() else {
            throw MountError(code: .mountFailed, message: "\(directory) is not a directory owned by this user: cannot lock mounts there")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw MountError(code: .mountFailed, message: "cannot open the mount lock \(path)", errno: .init(rawValue: errno))
        }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let error = Errno(rawValue: errno)
            close(fd)
            throw MountError(code: .mountFailed, message: "cannot lock \(path)", errno: error)
        }
        defer { close(fd) }
        return try body()
    }
}
