import Dispatch
import Foundation

/// Runs `body(0) ... body(count - 1)` on `count` threads of their own, released together
/// once every thread has started (a barrier, so the bodies overlap as much as the machine
/// allows), and returns when all have finished. Use it to race code against itself.
public func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let gate = StartGate(count: count)
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let thread = Thread {
            gate.arriveAndWait()
            body(i)
            group.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    group.wait()
}

/// A one-shot barrier for `count` threads.
private final class StartGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int

    init(count: Int) { waiting = count }

    func arriveAndWait() {
        condition.lock()
        waiting -= 1
        if waiting == 0 {
            condition.broadcast()
        } else {
            while waiting > 0 { condition.wait() }
        }
        condition.unlock()
    }
}

/// A value shared between threads, behind a lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the current value.
    public var current: Value { withLock { $0 } }
}
