import BlockingWork
import FUSE
import Synchronization
import SystemPackage

/// The reads waiting for the tree (parked), so that shutdown can answer every one of them
/// before the session unmounts, and none waits longer than its deadline (then `EIO`).
final class ParkedReads: Sendable {
    private struct Table {
        var next: UInt64 = 0
        var boxes: [UInt64: (box: ParkedRequest, deadline: ScheduledWork?)] = [:]
    }

    private let table = Mutex(Table())
    private let deadline: Duration
    private let expired: @Sendable (UInt64) -> Void

    /// - Parameters:
    ///   - deadline: longest wait of a parked read.
    ///   - expired: called with the read's inode at its deadline, just before it is answered
    ///     `EIO` (so that whatever it changes holds when the kernel re-sends the read).
    init(deadline: Duration = .seconds(30), expired: @escaping @Sendable (UInt64) -> Void = { _ in }) {
        self.deadline = deadline
        self.expired = expired
    }

    /// Registers a parked read of `inode` and arms its deadline; returns the key for
    /// ``remove(_:)``.
    func add(_ box: ParkedRequest, inode: UInt64) -> UInt64 {
        let key = table.withLock { table in
            table.next += 1
            table.boxes[table.next] = (box, nil)
            return table.next
        }
        let timer = BlockingWork.deadline(deadline) { [self] in
            guard let box = table.withLock({ $0.boxes.removeValue(forKey: key)?.box }), let request = box.take() else { return }
            expired(inode)
            request.reply(error: .ioError)
        }
        // Answered already (raced): the deadline is not needed.
        let kept = table.withLock { table -> Bool in
            guard table.boxes[key] != nil else { return false }
            table.boxes[key]?.deadline = timer
            return true
        }
        if !kept { timer.cancel() }
        return key
    }

    /// Forgets a parked read that was answered; its deadline is cancelled.
    func remove(_ key: UInt64) {
        table.withLock { $0.boxes.removeValue(forKey: key) }?.deadline?.cancel()
    }

    /// Answers every parked read still unanswered with `error`.
    func answerAll(with error: Errno) -> Int {
        let parked = table.withLock { table in
            defer { table.boxes.removeAll() }
            return Array(table.boxes.values)
        }
        var answered = 0
        for (box, deadline) in parked {
            deadline?.cancel()
            if let request = box.take() {
                request.reply(error: error)
                answered += 1
            }
        }
        return answered
    }
}
