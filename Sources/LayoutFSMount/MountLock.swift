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

    /// Runs `body` holding the lock, waiting at most `timeout` for it: a holder that is stopped
    /// or stuck (a debugger, a hung file system under its path) must not block every mount of
    /// the machine for ever.
    /// - Throws: ``MountError/Code/mountFailed`` when the lock file cannot be created or locked,
    ///   or another process holds it for longer than `timeout` (the message names it and the
    ///   holder's pid); what `body` throws.
    package static func withLock<Result>(
        at path: String = Self.path, timeout: Duration = .seconds(10), _ body: () throws(MountError) -> Result
    ) throws(MountError) -> Result {
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
        // flock has no timeout: poll without blocking (the lock is held for a fraction of a second).
        let deadline = ContinuousClock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = Errno(rawValue: errno)
            if error == .interrupted { continue }
            guard error == .wouldBlock, ContinuousClock.now < deadline else {
                let holder = error == .wouldBlock ? Self.holder(of: fd) : nil
                close(fd)
                if error == .wouldBlock {
                    throw MountError(
                        code: .mountFailed,
                        message: "another mount has held the mount lock \(path) for over \(timeout.components.seconds) s"
                            + (holder.map { " (pid \($0))" } ?? "") + ": it may be stopped or stuck; try again, or end that process")
                }
                throw MountError(code: .mountFailed, message: "cannot lock \(path)", errno: error)
            }
            usleep(20_000)
        }
        defer { close(fd) }
        return try body()
    }

    /// The pid holding the flock on `fd`'s file, from /proc/locks (nil when unknown).
    private static func holder(of fd: Int32) -> pid_t? {
        var info = stat()
        guard fstat(fd, &info) == 0, let text = try? ProcFile.text("/proc/locks") else { return nil }
        let suffix = ":\(info.st_ino)"
        for line in text.split(separator: "\n") where !line.contains("->") {
            let fields = line.split(separator: " ")
            // "1: FLOCK  ADVISORY  WRITE 5427 fe:00:1008699 0 EOF"
            guard fields.count >= 6, fields[1] == "FLOCK", fields[5].hasSuffix(suffix) else { continue }
            return pid_t(fields[4])
        }
        return nil
    }
}
