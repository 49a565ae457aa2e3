import Dispatch

/// A task executor on a concurrent dispatch queue: threads outside Swift's cooperative pool,
/// for async work in a test process whose cooperative threads block (Harness's waits).
final class ThreadTaskExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "layoutfs.tests.executor", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
