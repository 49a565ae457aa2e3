#if canImport(Glibc)
import Glibc
#endif

/// `<root>/gc.lock` (DESIGN.md "On disk"): `prune` holds it exclusively; `import`, `pull`,
/// `export` and a starting mount hold it shared until their blobs are named or leased, so prune
/// never deletes the fresh blobs of a writer that has not bound its names yet. Released when
/// the value goes away (or the process dies).
package final class GCLock: Sendable {
    private let fd: Int32

    /// Takes the lock, waiting for the other side.
    /// - Parameters:
    ///   - exclusive: prune; otherwise shared.
    ///   - waiting: called once before blocking, when the lock is busy (to tell the user).
    /// - Throws: `.io` when the lock file cannot be opened.
    package init(root: String, exclusive: Bool, waiting: () -> Void = {}) throws(ContentStoreError) {
        fd = try FileSystemCalls.openFile(root + "/gc.lock", O_RDWR | O_CREAT | O_NOFOLLOW)
        let operation = exclusive ? LOCK_EX : LOCK_SH
        if flock(fd, operation | LOCK_NB) != 0 {
            waiting()
            while flock(fd, operation) != 0 && errno == EINTR {}
        }
    }

    deinit { close(fd) }

    /// Lets prune run again before the value goes away.
    package func release() { flock(fd, LOCK_UN) }
}
