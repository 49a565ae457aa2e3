import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Asks a FUSE mount's daemon whether it is there, with a request that always reaches the
/// connection: `statfs(2)` (through glibc's `statvfs`; the kernel sends `FUSE_STATFS`; it caches no answer, unlike the
/// attributes `stat` returns). A connection whose daemon died answers `ENOTCONN` at once.
enum ConnectionProbe {
    enum Answer: Sendable, Equatable {
        /// The daemon answered (or the kernel answered for it: a mount of another user without
        /// `allow_other`).
        case answers
        /// `ENOTCONN`: the daemon is gone; the mount is stale.
        case gone
        /// No answer within the timeout: a daemon that is alive but stopped or stuck.
        case silent
        /// Another error (the path vanished, ...).
        case failed(Int32)
    }

    private final class Outcome: Sendable {
        let value = Mutex<Int32?>(nil)
        let done = DispatchSemaphore(value: 0)
    }

    /// `statfs` of `mountpoint` on a thread of its own, waited for up to `timeout` (a stopped
    /// daemon would hold a caller forever; the thread is left to finish on its own then).
    static func probe(_ mountpoint: String, timeout: Duration = .seconds(2)) -> Answer {
        let outcome = Outcome()
        _ = PosixThread {
            var info = statvfs()
            let rc = statvfs(mountpoint, &info)
            let error = rc == 0 ? 0 : errno
            outcome.value.withLock { $0 = error }
            outcome.done.signal()
        }
        guard outcome.done.wait(timeout: .now() + timeout.dispatchInterval) == .success else { return .silent }
        switch outcome.value.withLock({ $0 }) ?? 0 {
        case 0: return .answers
        case ENOTCONN: return .gone
        case let error: return .failed(error)
        }
    }
}
