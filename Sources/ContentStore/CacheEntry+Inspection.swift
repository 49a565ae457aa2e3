import OCISpec

#if canImport(Glibc)
import Glibc
#endif

extension CacheEntry {
    /// True when a process owns the entry of `digest` (holds its `.lock`): a mount daemon
    /// fetching it, which verifies it itself. Asked with `LOCK_SH | LOCK_NB`, released at once.
    package static func isOwned(cacheRoot: String, digest: Digest) -> Bool {
        let path = "\(directory(cacheRoot: cacheRoot, digest.algorithm))/\(digest.encoded).lock"
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// The entry's data file of `digest`, opened read-only without taking ownership (for
    /// `layoutfs check`); nil when there is none, or it is not a regular file.
    package static func openData(cacheRoot: String, digest: Digest) -> BlobFile? {
        let path = "\(directory(cacheRoot: cacheRoot, digest.algorithm))/\(digest.encoded)"
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return nil
        }
        return BlobFile(fileDescriptor: fd, size: Int64(st.st_size), path: path)
    }
}
