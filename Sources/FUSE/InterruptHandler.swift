import CFUSE
import Glibc
import Synchronization

/// The action registered for one request with `fuse_req_interrupt_func`.
///
/// libfuse calls the C callback on the worker thread that received `FUSE_INTERRUPT`, while it
/// holds the request's lock, and possibly after the request was answered (it reads the callback
/// under one lock and calls it under another). So: the action runs at most once; answering the
/// request unregisters the callback first (`fuse_req_interrupt_func(req, NULL, NULL)`, which waits
/// for a running callback) unless the answer comes from inside the callback on the same thread
/// (that would self-deadlock, and libfuse clears the callback when the request is freed); and
/// the handler object stays retained until then.
final class InterruptHandler: Sendable {
    private enum State: Sendable {
        /// `fuse_req_interrupt_func` has not returned yet.
        case registering
        /// Registered; the action has not run.
        case armed
        /// The interrupt came before registration finished: the action will not run.
        case interruptedWhileRegistering
        /// The action is running on this thread.
        case running(pthread_t)
        /// The action ran.
        case done
    }

    private let action: @Sendable () -> Void
    private let state = Mutex(State.registering)

    private init(action: @escaping @Sendable () -> Void) {
        self.action = action
    }

    /// The C callback; `data` is a retained `InterruptHandler`.
    private static let callback: fuse_interrupt_func_t = { _, data in
        guard let data else { return }
        // Our own reference: a reply on this thread inside the action releases the request's one.
        let handler = Unmanaged<InterruptHandler>.fromOpaque(data).retain().takeRetainedValue()
        handler.fire()
    }

    private func fire() {
        let shouldRun = state.withLock { state -> Bool in
            switch state {
            case .registering:
                state = .interruptedWhileRegistering
                return false
            case .armed:
                state = .running(pthread_self())
                return true
            case .interruptedWhileRegistering, .running, .done:
                return false
            }
        }
        guard shouldRun else { return }
        action()
        state.withLock { $0 = .done }
    }

    /// Registers `action` for `raw`. Returns the retained handler to store in the request, and
    /// whether it is armed (false: the request was already interrupted; the action never runs).
    static func register(
        _ action: @escaping @Sendable () -> Void, for raw: fuse_req_t
    ) -> (handler: Unmanaged<InterruptHandler>, armed: Bool) {
        let handler = Unmanaged.passRetained(InterruptHandler(action: action))
        fuse_req_interrupt_func(raw, callback, handler.toOpaque())
        let armed = handler.takeUnretainedValue().state.withLock { state -> Bool in
            if case .registering = state {
                state = .armed
                return true
            }
            state = .done
            return false
        }
        return (handler, armed)
    }

    /// Unregisters the callback of `raw` before it is answered, unless the answer comes from
    /// inside that callback on this thread.
    static func unregister(_ handler: Unmanaged<InterruptHandler>?, from raw: fuse_req_t) {
        guard let handler else { return }
        let insideCallback = handler.takeUnretainedValue().state.withLock { state -> Bool in
            if case .running(let thread) = state { return pthread_equal(thread, pthread_self()) != 0 }
            return false
        }
        if !insideCallback {
            fuse_req_interrupt_func(raw, nil, nil)
        }
    }
}
