import ImagePull
import ImageStore

#if canImport(Glibc)
import Glibc
#endif

/// The `index.json.lock` of a layout directory, held with `flock` while `index.json` is merged.
///
/// Removing the lock file is safe only with this pattern: after `flock`, compare
/// `fstat(fd).st_ino` with the path's inode and retry when they differ (someone unlinked it);
/// unlink while still holding the lock.
final class IndexLock {
    private var fileDescriptor: Int32
    private let directory: DestinationDirectory
    static let name = "index.json.lock"

    init(in directory: DestinationDirectory) throws(ImagesError) {
        while true {
            let fd = directory.openFile(Self.name, O_RDWR | O_CREAT, mode: 0o644)
            guard fd >= 0 else {
                if errno == ELOOP || errno == EXDEV { throw ImagesError(.unsafeDestination, "\(directory.path)/\(Self.name) is a symlink: refusing to use it") }
                throw ImagesError(.io, "cannot open \(directory.path)/\(Self.name): \(String(cString: strerror(errno)))")
            }
            var locked = flock(fd, LOCK_EX)
            while locked != 0 && errno == EINTR { locked = flock(fd, LOCK_EX) }
            guard locked == 0 else {
                let e = errno
                close(fd)
                throw ImagesError(.io, "cannot lock \(directory.path)/\(Self.name): \(String(cString: strerror(e)))")
            }
            var held = stat()
            var current = stat()
            fstat(fd, &held)
            if fstatat(directory.fileDescriptor, Self.name, &current, AT_SYMLINK_NOFOLLOW) == 0, current.st_ino == held.st_ino {
                self.fileDescriptor = fd
                self.directory = directory
                return
            }
            close(fd)
        }
    }

    /// Unlinks the lock file (still holding the lock), then releases it.
    func release() {
        guard fileDescriptor >= 0 else { return }
        unlinkat(directory.fileDescriptor, Self.name, 0)
        close(fileDescriptor)
        fileDescriptor = -1
    }

    /// Released without unlinking when not released explicitly (an error path).
    deinit { if fileDescriptor >= 0 { close(fileDescriptor) } }
}
