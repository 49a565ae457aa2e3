import FUSE
import Synchronization
import SystemPackage

/// The reads waiting for the tree (parked), so that shutdown can answer every one of them
/// before the session unmounts.
final class ParkedReads: Sendable {
    private struct Table {
        var next: UInt64 = 0
        var boxes: [UInt64: ParkedRequest] = [:]
    }

    private let table = Mutex(Table())

    /// Registers a parked read; returns the key for ``remove(_:)``.
    func add(_ box: ParkedRequest) -> UInt64 {
        table.withLock { table in
            table.next += 1
            table.boxes[table.next] = box
            return table.next
        }
    }

    func remove(_ key: UInt64) {
        _ = table.withLock { $0.boxes.removeValue(forKey: key) }
    }

    /// Answers every parked read still unanswered with `error`.
    func answerAll(with error: Errno) -> Int {
        let boxes = table.withLock { table in
            defer { table.boxes.removeAll() }
            return Array(table.boxes.values)
        }
        var answered = 0
        for box in boxes {
            if let request = box.take() {
                request.reply(error: error)
                answered += 1
            }
        }
        return answered
    }
}
