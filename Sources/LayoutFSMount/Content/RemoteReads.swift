import ContentStore
import LayoutFS
import OCISpec
import Synchronization

/// The reads of remote blobs under way (``RemoteBlobContent``), per blob, so that a stalled
/// content store costs one deadline per blob, as a stalled registry does for lazy blobs: when a
/// read of a blob waits out the mount's deadline, the blob's other waiting reads fail now, and
/// new reads of it (the kernel re-sends a failed read) fail at once until one of its calls
/// ends (answered, or failed: containerd's client gives up after its own deadline).
final class RemoteReads: Sendable {
    typealias Completion = @Sendable (Result<ReadResult, LayoutFSError>) -> Void

    private struct State {
        var waiting: [Digest: [UInt64: Completion]] = [:]
        /// Blobs whose reads fail at once, with why.
        var stalled: [Digest: String] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Registers a read of `digest`: its id, or why it fails at once.
    func begin(_ digest: Digest, _ completion: @escaping Completion) -> Result<UInt64, LayoutFSError> {
        state.withLock { state in
            if let why = state.stalled[digest] { return .failure(LayoutFSError(.io, "cannot read blob \(digest): \(why)")) }
            state.nextID += 1
            state.waiting[digest, default: [:]][state.nextID] = completion
            return .success(state.nextID)
        }
    }

    /// Read `id` of `digest` ended with `result`: answers it unless it was failed already, and
    /// ends the blob's stall (its store answered).
    func end(_ digest: Digest, _ id: UInt64, _ result: Result<ReadResult, LayoutFSError>) {
        let completion = state.withLock { state -> Completion? in
            state.stalled[digest] = nil
            let completion = state.waiting[digest]?.removeValue(forKey: id)
            if state.waiting[digest]?.isEmpty == true { state.waiting[digest] = nil }
            return completion
        }
        completion?(result)
    }

    /// A read of `digest` waited `deadline` and is answered `EIO` by the mount: every read of it
    /// under way fails now, and new ones at once until one of its calls ends.
    /// - Returns: why, for the mount's log line; nil when no read of `digest` is under way.
    func timedOut(_ digest: Digest, after deadline: Duration) -> String? {
        let why = "its content store (containerd's Read) has not answered within \(deadline.components.seconds) s"
        let failed = state.withLock { state -> [Completion]? in
            guard let waiting = state.waiting.removeValue(forKey: digest) else { return nil }
            state.stalled[digest] = why
            return Array(waiting.values)
        }
        guard let failed else { return nil }
        for completion in failed { completion(.failure(LayoutFSError(.io, "cannot read blob \(digest): \(why)"))) }
        return why
    }
}
