import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension BlockingWork {
    /// Runs async `body` in a new task and blocks the calling thread until it is done: for
    /// blocking code (a pool thread, a thread of its own) that must wait for async work. Never
    /// call it on the Swift concurrency pool: it would hold one of its few threads.
    /// - Throws: what `body` throws.
    package static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Outcome<T>()
        Task {
            do {
                outcome.finish(.success(try await body()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        return try outcome.wait().get()
    }
}

/// A result handed from a task to a waiting thread.
private final class Outcome<T: Sendable>: Sendable {
    private let state = Mutex<Result<T, any Error>?>(nil)
    private let done = Semaphore()

    func finish(_ result: Result<T, any Error>) {
        state.withLock { $0 = result }
        done.signal()
    }

    func wait() -> Result<T, any Error> {
        done.wait()
        return state.withLock { $0! }
    }
}

/// A POSIX semaphore, for one waiter.
private final class Semaphore: @unchecked Sendable {
    // sem_t is safe to use from several threads; the pointer never moves.
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() { sem_init(semaphore, 0, 0) }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    func signal() { sem_post(semaphore) }

    func wait() { while sem_wait(semaphore) != 0 && errno == EINTR {} }
}
