import Dispatch

extension Duration {
    /// The duration for semaphore waits (``ConnectionProbe``), in whole nanoseconds.
    var dispatchInterval: DispatchTimeInterval {
        .nanoseconds(Int(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000))
    }
}
