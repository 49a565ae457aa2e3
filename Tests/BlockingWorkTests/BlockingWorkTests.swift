import BlockingWork
import Dispatch
import Synchronization
import Testing

@Suite("the one home for blocking work")
struct BlockingWorkTests {
    struct Failure: Error {}

    @Test("run returns what the work returned, and throws what it threw")
    func run() async throws {
        #expect(try await BlockingWork.run { 6 * 7 } == 42)
        await #expect(throws: Failure.self) { try await BlockingWork.run { throw Failure() } }
    }

    @Test("repeated work runs again and again; cancel waits for the run in progress to end")
    func cancelWaitsForTheRun() {
        let runs = Mutex(0)
        let third = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = Mutex(false)
        let work = BlockingWork.every(.milliseconds(1)) {
            let n = runs.withLock {
                $0 += 1
                return $0
            }
            guard n == 3 else { return }
            third.signal()
            release.wait()
            finished.withLock { $0 = true }
        }
        third.wait()
        let cancelled = DispatchSemaphore(value: 0)
        let finishedWhenCancelReturned = Mutex<Bool?>(nil)
        DispatchQueue(label: "canceller").async {
            work.cancel()
            finishedWhenCancelReturned.withLock { $0 = finished.withLock { $0 } }
            cancelled.signal()
        }
        release.signal()
        cancelled.wait()
        #expect(finishedWhenCancelReturned.withLock { $0 } == true)
        #expect(runs.withLock { $0 } >= 3)
    }

    @Test("a deadline runs its work once, on time or later, unless cancelled")
    func deadline() {
        let fired = DispatchSemaphore(value: 0)
        let count = Mutex(0)
        _ = BlockingWork.deadline(.milliseconds(5)) {
            count.withLock { $0 += 1 }
            fired.signal()
        }
        fired.wait()
        #expect(count.withLock { $0 } == 1)
    }
}
