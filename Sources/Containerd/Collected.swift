import Synchronization

/// Bytes gathered from a stream's chunks (handed over one at a time, in order).
final class Collected: Sendable {
    private let storage = Mutex<[UInt8]>([])

    func append(_ chunk: [UInt8]) { storage.withLock { $0 += chunk } }

    var bytes: [UInt8] { storage.withLock { $0 } }
}

/// A flag set once, by whichever task comes first.
package final class Latch: Sendable {
    private let storage = Mutex(false)

    package init() {}

    /// Sets the flag; true for the call that set it.
    @discardableResult
    package func set() -> Bool {
        storage.withLock { set in
            defer { set = true }
            return !set
        }
    }

    package var isSet: Bool { storage.withLock { $0 } }
}
