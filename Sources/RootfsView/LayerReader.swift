import BlockingWork
import ContentStore
import Dispatch
import LayerIndex
import LayoutFS

/// Reads ranges of one layer's uncompressed stream, where a rootfs view's files are: a plain
/// tar layer straight from its blob (spliced like the layout's blobs), a gzip layer from the
/// nearest access point, a span at a time (``SpanCache``). Spans not cached are decompressed on
/// a worker thread (``BlockingWork``), never a FUSE request thread.
final class LayerReader: Sendable {
    /// The layer's number in the manifest (0 first).
    let number: Int
    let record: LayerIndexRecord
    private let blob: BlobBytes
    private let access: GzipRandomAccess
    private let cache: SpanCache
    /// Why the layer's files fail (its diff_id does not match), or nil.
    let failure: String?

    init(number: Int, record: LayerIndexRecord, blob: BlobBytes, cache: SpanCache, failure: String?) {
        self.number = number
        self.record = record
        self.blob = blob
        self.access = GzipRandomAccess(points: record.accessPoints)
        self.cache = cache
        self.failure = failure
    }

    /// Reads up to `count` bytes at `offset` of the uncompressed stream (fewer only at its
    /// end); `completion` is called once, now when the bytes are at hand, else later.
    func read(offset: Int64, count: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        if let failure { return completion(.failure(LayoutFSError(.io, failure))) }
        let end = min(offset + Int64(count), record.uncompressedSize)
        guard offset < end else { return completion(.success(.bytes([]))) }
        if record.format != .gzip {
            // Plain tar, or the uncompressed copy: a range of the file, spliced.
            return blob.content.read(offset: offset, byteCount: Int(end - offset), completion: completion)
        }
        guard let first = access.point(before: offset), let last = access.point(before: end - 1) else {
            return completion(.failure(LayoutFSError(.io, "layer \(number): no access point before \(offset)")))
        }
        // At once when every span is cached (the hot path of sequential reads).
        var pieces: [[UInt8]] = []
        for point in first...last {
            guard let span = cache.cached(SpanCache.Key(layer: record.layer, point: point)) else { break }
            pieces.append(span)
        }
        if pieces.count == last - first + 1 {
            return completion(.success(.bytes(assemble(pieces, from: first, offset: offset, end: end))))
        }
        BlockingWork.submit { [self] in
            var pieces: [[UInt8]] = []
            for point in first...last {
                let key = SpanCache.Key(layer: record.layer, point: point)
                let got = Box()
                cache.span(key, decompress: { decompress(point) }, done: { got.result = $0 })
                // A span another read is decompressing: wait for it here (a worker thread).
                guard let result = got.wait() else { return completion(.failure(LayoutFSError(.io, "layer \(number): span \(point) was not made"))) }
                switch result {
                case .success(let bytes): pieces.append(bytes)
                case .failure(let error): return completion(.failure(error))
                }
            }
            completion(.success(.bytes(assemble(pieces, from: first, offset: offset, end: end))))
        }
    }

    /// The uncompressed bytes from access point `point` to the next one (or the end).
    private func decompress(_ point: Int) -> Result<[UInt8], LayoutFSError> {
        let start = record.accessPoints[point].uncompressed
        let end = point + 1 < record.accessPoints.count ? record.accessPoints[point + 1].uncompressed : record.uncompressedSize
        let blob = self.blob
        do throws(LayerIndexError) {
            let bytes = try access.read(at: start, count: Int(end - start)) { (offset, count) throws(LayerIndexError) in
                do throws(LayoutFSError) {
                    return try blob.read(offset, count)
                } catch {
                    throw LayerIndexError(.truncated, error.message)
                }
            }
            guard bytes.count == Int(end - start) else {
                return .failure(LayoutFSError(.io, "layer \(number) (\(record.layer)) ends early: the blob changed since it was indexed"))
            }
            return .success(bytes)
        } catch {
            return .failure(LayoutFSError(.io, "layer \(number) (\(record.layer)) does not decompress at \(start): \(error.message)"))
        }
    }

    /// `[offset, end)` out of consecutive spans starting at access point `first`.
    private func assemble(_ pieces: [[UInt8]], from first: Int, offset: Int64, end: Int64) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(Int(end - offset))
        var spanStart = record.accessPoints[first].uncompressed
        for piece in pieces {
            let from = max(offset, spanStart)
            let to = min(end, spanStart + Int64(piece.count))
            if from < to { result += piece[Int(from - spanStart)..<Int(to - spanStart)] }
            spanStart += Int64(piece.count)
        }
        return result
    }
}

/// A span's result handed from the cache's completion to the waiting worker.
private final class Box: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    // Written once before the signal.
    var result: Result<[UInt8], LayoutFSError>? {
        didSet { semaphore.signal() }
    }

    func wait() -> Result<[UInt8], LayoutFSError>? {
        semaphore.wait()
        return result
    }
}
