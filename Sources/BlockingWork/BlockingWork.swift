import NIOCore
import NIOPosix

/// The one home for blocking work (DESIGN.md "Modules": pread, fsync, SQLite, waitpid never run
/// on Swift's cooperative pool, whose threads are as many as the cores): NIO's thread pool,
/// shared by the whole process, with deadlines and timers kept on one of NIO's event loops.
///
/// Dedicated threads are left only for what blocks for a mount's whole life (the FUSE loop, the
/// signal owner) or may never return (a probe of a dead FUSE mount): those would hold a pool
/// thread for ever.
package enum BlockingWork {
    /// How many threads the pool has: the work is I/O (fsync, pread, SQLite, waitpid), not
    /// CPU, so more than cores: with NIO's singleton (one per core, 2 here) a long `fdatasync`
    /// or a hashing pass held a thread the chunk writes that answer waiting readers needed.
    static let threadCount = max(8, 2 * System.coreCount)
    /// The process's pool, started once, never shut down.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()
    /// The event loop deadlines and timers are kept on (they only hand work to the pool).
    static let timers: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()

    /// Runs blocking `body` on the pool and returns (or throws) what it did.
    /// - Throws: what `body` throws; `CancellationError`-like NIO errors when the pool stopped.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Runs blocking `body` on the pool, soon; for callers that cannot wait (FUSE threads).
    package static func submit(_ body: @escaping @Sendable () -> Void) {
        pool.submit { state in
            if case .active = state { body() }
        }
    }

    /// Runs `body` on the timer thread itself at `delay` from now, unless cancelled first: for
    /// deadlines, which must not wait behind blocking work. `body` must not block (answering a
    /// FUSE request, taking a short lock and logging are fine).
    package static func deadline(_ delay: Duration, _ body: @escaping @Sendable () -> Void) -> ScheduledWork {
        ScheduledWork(timers.scheduleTask(in: TimeAmount(delay), body))
    }

    /// Runs `body` on the pool after `delay`, unless the returned work is cancelled first.
    package static func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) -> ScheduledWork {
        let task = timers.scheduleTask(in: TimeAmount(delay)) { submit(body) }
        return ScheduledWork(task)
    }

    /// Runs `body` on the pool every `interval` (the first time after one interval), never two at
    /// once (the next interval starts when a run ends), until ``RepeatingWork/cancel()``.
    package static func every(_ interval: Duration, _ body: @escaping @Sendable () -> Void) -> RepeatingWork {
        RepeatingWork(interval: interval, body: body)
    }
}

/// One run scheduled by ``BlockingWork/after(_:_:)``.
package struct ScheduledWork: Sendable {
    private let task: Scheduled<Void>

    init(_ task: Scheduled<Void>) { self.task = task }

    /// Makes the run not happen, if it has not started yet.
    package func cancel() { task.cancel() }
}

extension TimeAmount {
    /// `duration` in nanoseconds (saturating).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? .max : nanoseconds + attoseconds / 1_000_000_000)
    }
}
