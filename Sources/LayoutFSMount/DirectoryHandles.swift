import FUSE
import Synchronization

/// Directory listings taken at `opendir` (and again when `readdir` restarts at offset 0), so
/// that the offsets of one open directory always index the same list: `readdir` offsets are
/// positions in it.
final class DirectoryHandles: Sendable {
    struct Listing: Sendable {
        var directory: UInt64
        var entries: [ReaddirEntry]
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

    func listing(_ handle: UInt64) -> Listing? {
        table.withLock { $0.listings[handle] }
    }

    func replace(_ handle: UInt64, with listing: Listing) {
        table.withLock { table in
            if table.listings[handle] != nil { table.listings[handle] = listing }
        }
    }

    func remove(_ handle: UInt64) {
        _ = table.withLock { $0.listings.removeValue(forKey: handle) }
    }
}
