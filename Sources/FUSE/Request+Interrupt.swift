import CFUSE

extension Request {
    /// Whether the kernel interrupted this request (`fuse_req_interrupted`): the calling process
    /// got a signal and no longer waits for the answer. Answer it soon, usually with `EINTR`.
    public var isInterrupted: Bool {
        fuse_req_interrupted(raw) != 0
    }

    /// Registers `action` to run once if the kernel interrupts this request (`FUSE_INTERRUPT`,
    /// via `fuse_req_interrupt_func`). A later registration replaces an earlier one.
    ///
    /// `action` runs on a libfuse worker thread while libfuse holds the request's lock. It may
    /// answer the request (take it from where it is parked and reply `EINTR`), but must not block,
    /// and the request must not be answered while holding a lock that `action` takes (answering
    /// waits for a running `action` to return). ``ParkedRequest`` does all this.
    ///
    /// - Returns: false if the request was already interrupted: `action` will not run; answer the
    ///   request now.
    public mutating func onInterrupt(_ action: @escaping @Sendable () -> Void) -> Bool {
        if let previous = interruptHandler {
            InterruptHandler.unregister(previous, from: raw)
            previous.release()
            interruptHandler = nil
        }
        let (handler, armed) = InterruptHandler.register(action, for: raw)
        interruptHandler = handler
        return armed
    }
}
