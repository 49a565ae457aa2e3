import Synchronization

extension ContainerdClient {
    /// Runs a stream's `body`, failing it with `.timeout` when `limit` passes with no message
    /// (`body` calls `heard` for each): a stopped containerd (SIGSTOP, a hung disk) keeps the
    /// connection open and sends nothing, and a stream has no deadline of its own, so a Read or
    /// a List would otherwise wait forever. A long stream that keeps moving is never cut.
    static func failingWhenSilent<R: Sendable>(
        for limit: Duration, _ what: String, socket: String, _ body: @escaping @Sendable (_ heard: @escaping @Sendable () -> Void) async throws -> R
    ) async throws -> R {
        let lastHeard = LastHeard()
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await body { lastHeard.now() } }
            group.addTask {
                while true {
                    let deadline = lastHeard.time + limit
                    if ContinuousClock.now >= deadline {
                        throw ContainerdError(.timeout, "\(what): containerd at \(socket) sent nothing for \(limit)")
                    }
                    try await Task.sleep(until: deadline)
                }
            }
            // The first to end: the stream (its result or its error), or the watch (silence).
            defer { group.cancelAll() }
            guard let result = try await group.next(), let value = result else {
                throw ContainerdError(.failed, "\(what) ended without a result")
            }
            return value
        }
    }
}

/// When a stream last heard from containerd.
private final class LastHeard: Sendable {
    private let storage = Mutex(ContinuousClock.now)

    func now() { storage.withLock { $0 = .now } }

    var time: ContinuousClock.Instant { storage.withLock { $0 } }
}
