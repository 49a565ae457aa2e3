import NIOConcurrencyHelpers
import NIOCore

/// Work repeated on the pool by ``BlockingWork/every(_:_:)``; its life ends at ``cancel()``,
/// which returns only once no run is in progress (what a mount starts ends at unmount).
package final class RepeatingWork: Sendable {
    /// Whether a run is in progress; its mutex also guards `cancelled` and `next`.
    private let running = ConditionLock(value: false)
    private let cancelled = NIOLockedValueBox(false)
    private let next = NIOLockedValueBox<Scheduled<Void>?>(nil)
    private let interval: Duration
    private let body: @Sendable () -> Void

    init(interval: Duration, body: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.body = body
        scheduleNext()
    }

    /// Stops the repetition and waits for a run in progress to end. Never call it from the work
    /// itself (it would wait for itself).
    package func cancel() {
        running.lock()
        cancelled.withLockedValue { $0 = true }
        let scheduled = next.withLockedValue { $0 }
        running.unlock()
        scheduled?.cancel()
        running.lock(whenValue: false)
        running.unlock()
    }

    private func scheduleNext() {
        running.lock()
        defer { running.unlock() }
        guard !cancelled.withLockedValue({ $0 }) else { return }
        let task = BlockingWork.timers.scheduleTask(in: TimeAmount(interval)) { [self] in BlockingWork.submit { self.runOnce() } }
        next.withLockedValue { $0 = task }
    }

    private func runOnce() {
        running.lock()
        guard !cancelled.withLockedValue({ $0 }) else {
            running.unlock()
            return
        }
        running.unlock(withValue: true)
        body()
        running.lock()
        running.unlock(withValue: false)
        scheduleNext()
    }
}
