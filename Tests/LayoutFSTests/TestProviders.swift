import ContentStore
import LayoutFS
import OCISpec
import TestSupport

/// Local files of a content directory: the simplest ``BlobProvider`` (no cache, no lazy path).
struct StoreFiles: BlobProvider {
    let store: LocalContentStore

    func open(_ descriptor: Descriptor) throws(LayoutFSError) -> any FileContent {
        do {
            return FileRange(file: try store.openBlob(descriptor.digest))
        } catch {
            throw LayoutFSError(.io, "cannot open blob \(descriptor.digest): \(error)")
        }
    }
    func state(of descriptor: Descriptor) -> String { store.contains(descriptor.digest) ? "local" : "missing" }
    func onInvalidate(_ handler: @escaping @Sendable (Digest) -> Void) {}
    var bytesFetched: Int64 { 0 }
    func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? { nil }
}

struct FileRange: FileContent {
    let file: BlobFile
    var keepsPages: Bool { true }
    func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        completion(.success(.file(file, offset: offset, byteCount: Int(min(Int64(byteCount), max(0, file.size - offset))))))
    }
}

/// A provider whose reads complete only when the test says so, like a blob fetched on demand,
/// and whose content can turn bad or be replaced: the tree's side of the seam, without a
/// registry.
final class DeferredProvider: BlobProvider {
    struct PendingRead {
        let digest: Digest
        let offset: Int64
        let byteCount: Int
        let completion: @Sendable (Result<ReadResult, LayoutFSError>) -> Void
    }
    struct State {
        var bytes: [Digest: [UInt8]] = [:]
        var pending: [PendingRead] = []
        var verified: Set<Digest> = []
        var replaced: Set<Digest> = []
        var opens = 0
        var invalidate: (@Sendable (Digest) -> Void)?
        var timedOut: [Digest] = []
    }
    let state = Locked(State())

    init(_ blobs: [Digest: [UInt8]]) { state.withLock { $0.bytes = blobs } }

    func open(_ descriptor: Descriptor) throws(LayoutFSError) -> any FileContent {
        let known = state.withLock { state -> Bool in
            state.opens += 1
            return state.bytes[descriptor.digest] != nil
        }
        guard known else { throw LayoutFSError(.io, "no source for \(descriptor.digest)") }
        return Deferred(digest: descriptor.digest, provider: self, version: 0)
    }
    func state(of descriptor: Descriptor) -> String {
        state.withLock { $0.verified.contains(descriptor.digest) ? "local" : "lazy 0/\(descriptor.size)" }
    }
    func onInvalidate(_ handler: @escaping @Sendable (Digest) -> Void) { state.withLock { $0.invalidate = handler } }
    var bytesFetched: Int64 { 42 }
    func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? {
        state.withLock { $0.timedOut.append(digest) }
        return "the registry said 503"
    }

    /// Completes every waiting read with its bytes (or `error`); returns how many.
    @discardableResult
    func deliver(failing error: LayoutFSError? = nil) -> Int {
        let (pending, bytes) = state.withLock { state in
            defer { state.pending = [] }
            return (state.pending, state.bytes)
        }
        for read in pending {
            if let error {
                read.completion(.failure(error))
                continue
            }
            let blob = bytes[read.digest] ?? []
            let start = Int(min(read.offset, Int64(blob.count)))
            read.completion(.success(.bytes(Array(blob[start..<min(blob.count, start + read.byteCount)]))))
        }
        return pending.count
    }

    struct Deferred: FileContent {
        let digest: Digest
        let provider: DeferredProvider
        let version: Int
        var keepsPages: Bool { provider.state.withLock { $0.verified.contains(digest) } }
        func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
            provider.state.withLock { $0.pending.append(PendingRead(digest: digest, offset: offset, byteCount: byteCount, completion: completion)) }
        }
        func replacement() -> (any FileContent)? {
            guard provider.state.withLock({ $0.replaced.remove(digest) }) != nil else { return nil }
            return Deferred(digest: digest, provider: provider, version: version + 1)
        }
    }
}
