import BlockingWork
import Synchronization

/// Everything a ``LazyBlobProvider`` starts, kept so that it ends when the mount does (DESIGN.md
/// "Modules": structured lifetimes): fetches and worker passes as tasks, probes and sync checks
/// as timers on `BlockingWork`'s event loop. ``shutdown()`` refuses new work, cancels the
/// timers and the tasks, and returns once every task has ended.
///
/// Thread-safe. Its lock is taken last: nothing else is taken while it is held.
final class ProviderLifetime: Sendable {
    private struct State {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var timers: [UInt64: ScheduledWork] = [:]
        var nextID: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())

    /// True once ``shutdown()`` began: nothing new starts.
    var isShutDown: Bool { state.withLock { $0.closed } }

    /// Tasks started and not ended yet (for tests).
    var runningTasks: Int { state.withLock { $0.tasks.count } }

    /// Timers scheduled and neither run nor cancelled yet (for tests).
    var pendingTimers: Int { state.withLock { $0.timers.count } }

    /// Runs `body` in a task that is kept until it ends, and cancelled by ``shutdown()``.
    /// - Returns: false after shutdown: nothing was started, the caller answers for the work.
    @discardableResult
    func start(_ body: @escaping @Sendable () async -> Void) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.nextID += 1
            let id = state.nextID
            // Created under the lock, so the task's own removal (which takes it) comes after.
            state.tasks[id] = Task {
                await body()
                self.state.withLock { _ = $0.tasks.removeValue(forKey: id) }
            }
            return true
        }
    }

    /// Runs `body` on `BlockingWork`'s timer thread after `delay` (so it must not block: deliver
    /// an event, start a task), unless ``shutdown()`` comes first.
    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard !state.closed else { return }
            state.nextID += 1
            let id = state.nextID
            state.timers[id] = BlockingWork.deadline(delay) { [self] in
                guard self.state.withLock({ $0.timers.removeValue(forKey: id) }) != nil else { return }
                body()
            }
        }
    }

    /// Refuses new work, cancels the timers not yet run and every task, and waits for the tasks
    /// to end (a cancelled fetch fails its waiting reads and stores no partial chunk; a worker
    /// pass under way finishes).
    func shutdown() async {
        let (tasks, timers) = state.withLock { state in
            state.closed = true
            defer { state.timers = [:] }
            return (Array(state.tasks.values), Array(state.timers.values))
        }
        for timer in timers { timer.cancel() }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
