import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// A writer-preferring reader-writer lock (`pthread_rwlock_t` with
/// `PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`), for state that many threads read at once
/// and few change: a writer does not wait behind readers that never pause (glibc's default
/// prefers readers). Used by the mount's table of open files (a read looks up its handle), so
/// its calls are inlined into the caller.
package final class ReadWriteLock: @unchecked Sendable {
    @usableFromInline let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    package init() { _ = lfs_rwlock_init_writer_first(lock) }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` holding the shared (read) side.
    @inlinable package func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` holding the exclusive (write) side.
    @inlinable package func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
