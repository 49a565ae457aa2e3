import Dispatch
import Synchronization
import Testing

@testable import LazyBlobs

/// What a lazy blob provider starts ends at its shutdown: tasks are cancelled and waited for,
/// timers cancelled, nothing new starts.
@Suite("lazy blobs: the provider's lifetime")
struct ProviderLifetimeTests {
    @Test("shutdown cancels a running task and returns only once it ended")
    func shutdownWaitsForTasks() async {
        let lifetime = ProviderLifetime()
        let started = DispatchSemaphore(value: 0)
        let ended = Mutex(false)
        lifetime.start {
            started.signal()
            try? await Task.sleep(for: .seconds(600))
            ended.withLock { $0 = true }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                started.wait()
                continuation.resume()
            }
        }
        #expect(lifetime.runningTasks == 1)
        await lifetime.shutdown()
        #expect(ended.withLock { $0 }, "the task ended (cancelled) before shutdown returned")
        #expect(lifetime.runningTasks == 0)
    }

    @Test("after shutdown nothing starts: start says so, timers are not kept")
    func nothingStartsAfterShutdown() async {
        let lifetime = ProviderLifetime()
        await lifetime.shutdown()
        let ran = Mutex(false)
        #expect(!lifetime.start { ran.withLock { $0 = true } })
        lifetime.schedule(after: .milliseconds(1)) { ran.withLock { $0 = true } }
        #expect(lifetime.pendingTimers == 0)
        #expect(lifetime.runningTasks == 0)
        #expect(lifetime.isShutDown)
    }

    @Test("shutdown cancels a timer not yet due; a timer that ran is forgotten")
    func timers() async {
        let lifetime = ProviderLifetime()
        let fired = DispatchSemaphore(value: 0)
        lifetime.schedule(after: .milliseconds(1)) { fired.signal() }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                fired.wait()
                continuation.resume()
            }
        }
        #expect(lifetime.pendingTimers == 0, "a timer forgets itself when it runs")
        lifetime.schedule(after: .seconds(600)) {}
        #expect(lifetime.pendingTimers == 1)
        await lifetime.shutdown()
        #expect(lifetime.pendingTimers == 0)
    }
}
