import FUSE
import Synchronization

/// Directory listings taken at `opendir` (and again when `readdir` restarts at offset 0), so
/// that the offsets of one open directory always index the same list: `readdir` offsets are
/// positions in it.
final class DirectoryHandles: Sendable {
    struct Listing: Sendable {
        var directory: UInt64
        var entries: [ReaddirEntry]
        /// Whether a `readdir` has used it: a later `readdir` at offset 0 is a rewind and lists
        /// again.
        var used = false
    }

    private struct Table {
        var next: UInt64 = 1
        var listings: [UInt64: Listing] = [:]
    }

    private let table = Mutex(Table())

    func insert(_ listing: Listing) -> UInt64 {
        table.withLock { table in
            let handle = table.next
            table.next += 1
            table.listings[handle] = listing
            return handle
        }
    }

    /// The listing of `handle` as it was (`used` tells whether it had been used before), now
    /// marked used.
    func use(_ handle: UInt64) -> Listing? {
        table.withLock { table in
            guard let listing = table.listings[handle] else { return nil }
            table.listings[handle]!.used = true
            return listing
        }
    }

    func replace(_ handle: UInt64, with listing: Listing) {
        table.withLock { table in
            if table.listings[handle] != nil {
                table.listings[handle] = listing
                table.listings[handle]!.used = true
            }
        }
    }

    func remove(_ handle: UInt64) {
        _ = table.withLock { $0.listings.removeValue(forKey: handle) }
    }
}
