import ContentStore
import Dispatch
import LayoutFS

/// Reads a layer blob's compressed bytes through the content seam (``FileContent``: a store
/// file, a lazy blob fetched on demand, containerd's), waiting for them: for the indexing pass
/// and for decompressing a span, on worker threads only, never a FUSE request thread.
struct BlobBytes: Sendable {
    let content: any FileContent
    /// The layer's digest, for messages.
    let name: String
    /// Longest wait for one piece (the mount's read deadline).
    let deadline: Duration

    /// The blob's local file, when the content reads from one (a store or content directory
    /// blob); nil for lazy or remote content.
    func localFile() -> BlobFile? {
        let answer = Answer()
        content.read(offset: 0, byteCount: 1) { answer.set($0) }
        guard case .success(.file(let file, _, _))? = answer.wait(deadline) else { return nil }
        return file
    }

    /// Up to `count` bytes at `offset`; fewer only at the blob's end.
    /// - Throws: `LayoutFSError` `.io` when they do not come (a failed or stalled fetch, a
    ///   store file that cannot be read), `.timedOut` after ``deadline``.
    func read(_ offset: Int64, _ count: Int) throws(LayoutFSError) -> [UInt8] {
        let answer = Answer()
        content.read(offset: offset, byteCount: count) { answer.set($0) }
        guard let result = answer.wait(deadline) else {
            throw LayoutFSError(.timedOut, "layer \(name): its bytes at \(offset) did not come within \(deadline.components.seconds) s")
        }
        switch result {
        case .failure(let error): throw error
        case .success(.bytes(let bytes)): return bytes
        case .success(.file(let file, let start, let byteCount)):
            do {
                return try file.read(offset: start, byteCount: byteCount)
            } catch {
                throw LayoutFSError(.io, "layer \(name): cannot read its file at \(start): \(error)")
            }
        }
    }
}

/// One completion's result, waited for with a deadline.
private final class Answer: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    // Written once before `semaphore` is signalled, read after the wait.
    private var result: Result<ReadResult, LayoutFSError>?

    func set(_ value: Result<ReadResult, LayoutFSError>) {
        result = value
        semaphore.signal()
    }

    func wait(_ deadline: Duration) -> Result<ReadResult, LayoutFSError>? {
        let (seconds, attoseconds) = deadline.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        guard semaphore.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        return result
    }
}
