import LayoutFS
import OCISpec
import Synchronization

/// Decompressed spans of gzip layers (the bytes between two access points), least recently
/// used first out, within a byte budget; a span being decompressed is decompressed once, and
/// the reads that want it meanwhile wait for it.
final class SpanCache: Sendable {
    /// A span: layer digest and access point number (generations share layers).
    struct Key: Hashable, Sendable {
        var layer: Digest
        var point: Int
    }

    private struct State {
        var spans: [Key: (bytes: [UInt8], used: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        /// Spans being decompressed, with who waits for them.
        var pending: [Key: [@Sendable (Result<[UInt8], LayoutFSError>) -> Void]] = [:]
    }

    private let state = Mutex(State())
    let budget: Int

    /// - Parameter budget: bytes of decompressed spans kept.
    init(budget: Int) {
        self.budget = budget
    }

    /// The span's bytes when cached.
    func cached(_ key: Key) -> [UInt8]? {
        state.withLock { state in
            guard let span = state.spans[key] else { return nil }
            state.clock += 1
            state.spans[key]!.used = state.clock
            return span.bytes
        }
    }

    /// Calls `done` with the span: at once when cached, else when `decompress` (run by the
    /// first asker only, on the caller's thread) has made it.
    func span(_ key: Key, decompress: () -> Result<[UInt8], LayoutFSError>, done: @escaping @Sendable (Result<[UInt8], LayoutFSError>) -> Void) {
        enum Role {
            case cached([UInt8])
            case waiting, making
        }
        let role: Role = state.withLock { state in
            if let span = state.spans[key] {
                state.clock += 1
                state.spans[key]!.used = state.clock
                return .cached(span.bytes)
            }
            if state.pending[key] != nil {
                state.pending[key]!.append(done)
                return .waiting
            }
            state.pending[key] = [done]
            return .making
        }
        switch role {
        case .cached(let bytes): done(.success(bytes))
        case .waiting: return
        case .making:
            let result = decompress()
            let waiting = state.withLock { state in
                if case .success(let bytes) = result { insert(bytes, for: key, into: &state) }
                return state.pending.removeValue(forKey: key) ?? []
            }
            for waiter in waiting { waiter(result) }
        }
    }

    private func insert(_ bytes: [UInt8], for key: Key, into state: inout State) {
        state.clock += 1
        state.spans[key] = (bytes, state.clock)
        state.bytes += bytes.count
        while state.bytes > budget, state.spans.count > 1 {
            guard let oldest = state.spans.min(by: { $0.value.used < $1.value.used })?.key, oldest != key else { break }
            state.bytes -= state.spans.removeValue(forKey: oldest)?.bytes.count ?? 0
        }
    }
}
