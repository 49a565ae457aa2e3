import Synchronization
import SystemPackage

/// A box that holds a ``Request`` until someone answers it, from any thread: a read waiting for
/// data that has not arrived, for example.
///
/// Whoever calls ``take()`` first gets the request; everyone else gets `nil`. With an
/// `interruptReply`, a `FUSE_INTERRUPT` for the request takes it and answers that error. A box
/// released with the request still inside answers it `EIO` (the request's `deinit`).
public final class ParkedRequest: Sendable {
    private struct State: ~Copyable {
        enum Phase { case parking, parked, interruptedWhileParking, closed }
        var phase = Phase.parking
        var request: Request? = nil
    }

    private let state = Mutex(State())

    /// Parks `request`.
    ///
    /// - Parameter interruptReply: the error to answer with when the kernel interrupts the
    ///   request (default `EINTR`); `nil` ignores interrupts (no `fuse_req_interrupt_func` call).
    ///   If the request is already interrupted, it is answered at once and the box stays empty.
    public init(_ request: consuming Request, interruptReply: Errno? = .interrupted) {
        var request = request
        if let interruptReply {
            let armed = request.onInterrupt { [weak self] in self?.interrupt(with: interruptReply) }
            if !armed {
                request.reply(error: interruptReply)
                state.withLock { $0.phase = .closed }
                return
            }
        }
        var pending: Request? = consume request
        let interruptedEarly = state.withLock { state -> Bool in
            if state.phase == .interruptedWhileParking {
                state.phase = .closed
                return true
            }
            state.request = pending.take()
            state.phase = .parked
            return false
        }
        if interruptedEarly, let request = pending.take(), let interruptReply {
            request.reply(error: interruptReply)
        }
    }

    /// Takes the request out to answer it; `nil` if it was taken before (or answered on
    /// interrupt). Answer it after this returns, never while holding a lock the interrupt path
    /// needs.
    public func take() -> Request? {
        state.withLock { state -> Request? in
            guard state.phase == .parked else { return nil }
            state.phase = .closed
            return state.request.take()
        }
    }

    private func interrupt(with error: Errno) {
        let request = state.withLock { state -> Request? in
            switch state.phase {
            case .parking:
                state.phase = .interruptedWhileParking
                return nil
            case .parked:
                state.phase = .closed
                return state.request.take()
            case .interruptedWhileParking, .closed:
                return nil
            }
        }
        request?.reply(error: error)
    }
}
