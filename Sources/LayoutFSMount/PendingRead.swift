import ContentStore
import FUSE
import LayoutFS
import Synchronization

/// One `read` between the call to `LayoutTree.read` and its completion.
///
/// A completion that arrives before `LayoutTree.read` returns (local blobs) is answered on the
/// calling thread with no parking. Otherwise the request is parked (``ParkedRequest``: a
/// `FUSE_INTERRUPT` answers `EINTR`) and answered from the completion's thread.
final class PendingRead: Sendable {
    private enum State: Sendable {
        /// `LayoutTree.read` has not returned yet.
        case calling
        /// The result came; whoever holds the request answers with it.
        case completed(Result<ReadResult, LayoutFSError>)
        /// The request waits in the box (registered under `key`) for the result.
        case parked(ParkedRequest, key: UInt64)
        /// Answered (or the result was handed over).
        case done
    }

    private let state = Mutex(State.calling)
    private let registry: ParkedReads
    private let inode: UInt64

    init(registry: ParkedReads, inode: UInt64) {
        self.registry = registry
        self.inode = inode
    }

    /// The completion: hands the result over or answers the parked request.
    func complete(
        _ result: Result<ReadResult, LayoutFSError>,
        answer: (consuming Request, Result<ReadResult, LayoutFSError>) -> Void
    ) {
        let parked = state.withLock { state -> (ParkedRequest, UInt64)? in
            switch state {
            case .calling:
                state = .completed(result)
                return nil
            case .parked(let box, let key):
                state = .done
                return (box, key)
            case .completed, .done:
                return nil  // a second completion: ignore it
            }
        }
        guard let (box, key) = parked else { return }
        registry.remove(key)
        if let request = box.take() {
            answer(request, result)
        }
    }

    /// Called once `LayoutTree.read` returned: answers now if the result is there, else parks.
    /// - Returns: true when the request was parked (it waits for its bytes).
    @discardableResult
    func finishCall(
        _ request: consuming Request, answer: (consuming Request, Result<ReadResult, LayoutFSError>) -> Void
    ) -> Bool {
        if let result = takeResult() {
            answer(request, result)
            return false
        }
        let box = ParkedRequest(request, interruptReply: .interrupted)
        let key = registry.add(box, inode: inode)
        let raced = state.withLock { state -> Result<ReadResult, LayoutFSError>? in
            switch state {
            case .calling:
                state = .parked(box, key: key)
                return nil
            case .completed(let result):
                state = .done
                return result
            case .parked, .done:
                return nil
            }
        }
        guard let raced else { return true }
        registry.remove(key)
        if let request = box.take() {
            answer(request, raced)
        }
        return true
    }

    private func takeResult() -> Result<ReadResult, LayoutFSError>? {
        state.withLock { state in
            guard case .completed(let result) = state else { return nil }
            state = .done
            return result
        }
    }
}
