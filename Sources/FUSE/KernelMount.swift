import CFUSE
import Glibc
import SystemPackage

/// A FUSE mount made here with mount(2) on a /dev/fuse descriptor of the session's own, as
/// libfuse's `fuse_kern_mount` does for root (lib/mount.c), instead of `fuse_session_mount`:
/// a session can then be given the descriptor with `fuse_session_custom_io`, libfuse 3.14's
/// only way to see and amend `FUSE_INIT` (``CustomIO``). Root only (CAP_SYS_ADMIN); unmounted
/// with umount2(2), as libfuse does for root.
struct KernelMount {
    /// The first argument of mount(2): `fsname=`, else "layoutfs".
    var source = "layoutfs"
    /// `fuse.<subtype>`, else `fuse`.
    var type = "fuse"
    /// `MS_NOSUID | MS_NODEV` always (libfuse's defaults), `MS_RDONLY` for `ro`.
    var flags = UInt(MS_NOSUID | MS_NODEV)
    /// The kernel's own options among the session's: `allow_other`, `default_permissions`,
    /// `max_read=N`.
    var kernelOptions: [String] = []

    /// The mount(2) arguments for the session's `-o` items (``Session/init(fileSystem:options:programName:)``).
    /// - Throws: ``FUSEError/Code/mountFailed`` for an item this mount does not know (the
    ///   caller then mounts through libfuse instead).
    init(options: [String]) throws(FUSEError) {
        for option in options {
            switch option {
            case "ro": flags |= UInt(MS_RDONLY)
            case "rw", "debug": break
            case "allow_other", "default_permissions": kernelOptions.append(option)
            case _ where option.hasPrefix("subtype="): type = "fuse." + option.dropFirst("subtype=".count)
            case _ where option.hasPrefix("fsname="): source = String(option.dropFirst("fsname=".count))
            case _ where option.hasPrefix("max_read="): kernelOptions.append(option)
            default:
                throw FUSEError(code: .mountFailed, message: "option \(option) is not one a mount of our own knows")
            }
        }
    }

    /// Opens /dev/fuse and mounts it at `mountpoint` (a directory).
    /// - Returns: the device descriptor, which the kernel's connection lives on.
    /// - Throws: ``FUSEError/Code/mountFailed`` with mount(2)'s or open(2)'s errno.
    func mount(at mountpoint: String) throws(FUSEError) -> Int32 {
        var status = stat()
        guard stat(mountpoint, &status) == 0 else {
            throw FUSEError(code: .mountFailed, message: "cannot stat \(mountpoint)", errno: Errno(rawValue: errno))
        }
        let device = open("/dev/fuse", O_RDWR | O_CLOEXEC)
        guard device >= 0 else {
            throw FUSEError(code: .mountFailed, message: "cannot open /dev/fuse", errno: Errno(rawValue: errno))
        }
        let rootMode = String(status.st_mode & S_IFMT, radix: 8)
        let data = (["fd=\(device)", "rootmode=\(rootMode)", "user_id=\(getuid())", "group_id=\(getgid())"] + kernelOptions).joined(separator: ",")
        guard Glibc.mount(source, mountpoint, type, flags, data) == 0 else {
            let error = Errno(rawValue: errno)
            close(device)
            throw FUSEError(code: .mountFailed, message: "mount(2) of \(type) at \(mountpoint) failed", errno: error)
        }
        return device
    }

    /// Detaches the mount (`umount2(MNT_DETACH)`), then ends its connection: the device
    /// descriptor is replaced by /dev/null (`dup2`), so that libfuse's own close at
    /// `fuse_session_destroy` closes a descriptor that is still ours.
    static func unmount(_ mountpoint: String, device: Int32) {
        _ = umount2(mountpoint, Int32(MNT_DETACH))
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        if null >= 0 {
            _ = dup2(null, device)
            _ = fcntl(device, F_SETFD, FD_CLOEXEC)
            close(null)
        }
    }
}
