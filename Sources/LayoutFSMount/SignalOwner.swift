import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The write end of the signal pipe, for the handler (a C function cannot capture). Set once
/// before the handlers are installed.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// The one owner of termination signals in a mount daemon. `SIGINT`, `SIGTERM` and `SIGHUP` are
/// blocked in the threads created after ``blockTerminationSignals()``, and a handler catches
/// them in any thread that still takes them (the async main's main thread runs with an empty
/// mask): it only writes the signal number to a pipe, and the owner thread reads it and runs
/// the handler in normal thread context, where `fuse_session_exit` plus `fuse_session_unmount`
/// are safe.
final class SignalOwner: Sendable {
    /// The signals the daemon ends on.
    static let terminationSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Blocks the termination signals in the calling thread (`pthread_sigmask`) and so in every
    /// thread it creates afterwards. Call it early; idempotent.
    static func blockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in terminationSignals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // The FUSE device never raises SIGPIPE, but a log pipe may: never die of it.
        signal(SIGPIPE, SIG_IGN)
    }

    private let pipe: (read: Int32, write: Int32)
    private let thread: PosixThread

    /// Installs the handlers and starts the owner thread; `handler` runs (on that thread) for
    /// each termination signal received, with the signal number.
    init(handler: @escaping @Sendable (Int32) -> Void) {
        var fds: [Int32] = [-1, -1]
        let made = Glibc.pipe(&fds)
        precondition(made == 0, "pipe failed: \(errno)")
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        pipe = (fds[0], fds[1])
        signalPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        thread = PosixThread {
            let signals = FileDescriptor(rawValue: readEnd)
            while true {
                var number: Int32 = 0
                // EINTR is retried by swift-system; another failure ends the thread.
                let n = (try? withUnsafeMutableBytes(of: &number) { try signals.read(into: $0) }) ?? -1
                guard n == MemoryLayout<Int32>.size, number != 0 else { return }
                handler(number)
            }
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var value = number
            _ = write(signalPipeWriteEnd, &value, MemoryLayout<Int32>.size)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for signal in Self.terminationSignals { sigaction(signal, &action, nil) }
        // Signals already pending on the blocked threads are delivered by unblocking them here,
        // in this thread, now that the handler is in place.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in Self.terminationSignals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Ends the owner thread and waits for it (a 0 on the pipe).
    func stop() {
        var zero: Int32 = 0
        _ = write(pipe.write, &zero, MemoryLayout<Int32>.size)
        thread.join()
    }
}
