#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread running one closure. The FUSE loop and the signal owner each get
/// one: blocking work that must never run on the Swift concurrency pool.
final class PosixThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    /// Starts `body` on a new thread, which inherits the caller's signal mask.
    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                let thread = Unmanaged<PosixThread>.fromOpaque(context!).takeRetainedValue()
                thread.body()
                return nil
            }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
    }

    /// The thread's id, for `pthread_kill`.
    var id: pthread_t { thread }

    /// Waits for the thread to end (`pthread_join`). Call once, and not after ``detach()``.
    func join() {
        pthread_join(thread, nil)
    }

    /// Lets the thread's resources go when it ends, with nobody joining it (`pthread_detach`).
    func detach() {
        pthread_detach(thread)
    }

    /// Runs blocking `work` on a thread of its own, off the Swift concurrency pool, and
    /// returns (or throws) what it did.
    static func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
            PosixThread { continuation.resume(with: Result { try work() }) }.detach()
        }
    }
}
