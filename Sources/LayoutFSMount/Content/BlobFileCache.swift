import ContentStore
import OCISpec
import Synchronization

/// Recently used blob files, kept open (LRU, `capacity` entries) so that reopening a blob costs
/// no `open` call. An evicted file stays open while an open handle still references it.
///
/// It also remembers which file (device, inode) each blob was last served from, beyond the
/// LRU, so a blob committed anew (`layoutfs check --repair`) is noticed even after its file
/// left the cache.
final class BlobFileCache: Sendable {
    private struct State {
        var files: [Digest: BlobFile] = [:]
        var order: [Digest] = []
        var served: [Digest: FileIdentity] = [:]
    }
    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Forgets `digest` (its file closes once no handle uses it).
    func evict(_ digest: Digest) {
        state.withLock { state in
            state.files.removeValue(forKey: digest)
            state.order.removeAll { $0 == digest }
        }
    }

    /// The cached file of `digest`, marked most recently used.
    func cached(_ digest: Digest) -> BlobFile? {
        state.withLock { state -> BlobFile? in
            guard let file = state.files[digest] else { return nil }
            if let i = state.order.lastIndex(of: digest), i != state.order.count - 1 {
                state.order.remove(at: i)
                state.order.append(digest)
            }
            return file
        }
    }

    /// Keeps `file` as the file of `digest`, closing the least recently used beyond capacity.
    /// - Returns: true when `digest` was served from another file before (it was replaced).
    @discardableResult
    func insert(_ file: BlobFile, for digest: Digest) -> Bool {
        let identity = file.identity
        return state.withLock { state in
            if state.files.updateValue(file, forKey: digest) == nil { state.order.append(digest) }
            while state.order.count > capacity { state.files.removeValue(forKey: state.order.removeFirst()) }
            guard let identity else { return false }
            let previous = state.served.updateValue(identity, forKey: digest)
            return previous != nil && previous != identity
        }
    }
}
