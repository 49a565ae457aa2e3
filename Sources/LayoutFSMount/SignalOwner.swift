import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The one owner of termination signals in a mount daemon: `SIGINT`, `SIGTERM` and `SIGHUP` are
/// blocked in every thread (threads inherit the mask of the thread that creates them), and one
/// thread takes them with `sigwait` and runs a handler in normal thread context, where
/// `fuse_session_exit` plus `fuse_session_unmount` are safe (they are not in a signal handler).
final class SignalOwner: Sendable {
    /// The signals the daemon ends on.
    static let terminationSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Blocks the termination signals in the calling thread (`pthread_sigmask`) and so in every
    /// thread it creates afterwards. Call it before any other thread exists; idempotent.
    static func blockTerminationSignals() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // The FUSE device never raises SIGPIPE, but a log pipe may: never die of it.
        signal(SIGPIPE, SIG_IGN)
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in terminationSignals { sigaddset(&set, signal) }
        return set
    }

    private let flag = StopFlag()
    private let thread: PosixThread

    /// Starts the owner thread; `handler` runs (on that thread) for each termination signal
    /// received, with the signal number. Call ``blockTerminationSignals()`` first.
    init(handler: @escaping @Sendable (Int32) -> Void) {
        let flag = self.flag
        thread = PosixThread {
            var set = SignalOwner.signalSet()
            while true {
                var received: Int32 = 0
                guard sigwait(&set, &received) == 0 else { continue }
                if flag.isSet { return }
                handler(received)
            }
        }
    }

    /// Ends the owner thread and waits for it: a `SIGHUP` sent to that thread alone wakes its
    /// `sigwait`, which sees the stop flag.
    func stop() {
        flag.set()
        pthread_kill(thread.id, SIGHUP)
        thread.join()
    }
}

/// A flag set once, read from another thread.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
