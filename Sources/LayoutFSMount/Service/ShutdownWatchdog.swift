import BlockingWork
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bounds what a daemon does after its session ended (fetches cancelled, containerd's events
/// and lease renewal ended, the lease deleted): each step is named with ``step(_:)``, and when
/// ``finish()`` has not come within the deadline the process logs the step that hung and exits
/// with status 1 (`_exit`: a hung step may hold any lock). What it leaves is what a killed
/// daemon leaves, and is handled as such: the store's lease and mount record are released with
/// the process (their files are locked, not trusted), a containerd lease lapses by itself.
/// The timer runs on ``BlockingWork``'s timer thread, not on Swift's cooperative pool.
final class ShutdownWatchdog: Sendable {
    /// The step under way, shared with the timer.
    private final class Current: Sendable {
        let name = Mutex("")
    }

    private let current = Current()
    private let timer: ScheduledWork?
    private let logger: Logger

    /// - Parameter deadline: nil: no bound (tests of ``MountService`` with a fake session).
    init(deadline: Duration?, logger: Logger) {
        self.logger = logger
        let current = current
        timer = deadline.map { deadline in
            BlockingWork.deadline(deadline) { [current] in
                let step = current.name.withLock { $0 }
                logger.critical("the mount's shutdown did not finish within \(deadline) (\(step) hung): exiting")
                fflush(nil)  // every stdio stream: the log line is out before _exit
                _exit(1)
            }
        }
    }

    /// The step under way from now on (`cancelling the fetches`).
    func step(_ name: String) {
        current.name.withLock { $0 = name }
        logger.debug("shutdown: \(name)")
    }

    /// The shutdown is done: the process is not ended.
    func finish() {
        timer?.cancel()
    }
}
