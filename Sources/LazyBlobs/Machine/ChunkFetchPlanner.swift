import ImageStore

/// Decides which byte ranges to fetch for a read of a lazy blob: only chunks neither present nor
/// already being fetched (one fetch per chunk however many readers wait), adjacent misses merged
/// into one single range (never a multi-range request), each at most `maximumRangeSize` bytes.
/// A plain value with no I/O; its owner records completions and failures.
package struct ChunkFetchPlanner: Sendable {
    package private(set) var bitmap: ChunkBitmap
    /// Chunks with a fetch under way.
    package private(set) var inFlight: Set<Int64> = []
    /// Largest single range in bytes.
    package let maximumRangeSize: Int64

    package init(bitmap: ChunkBitmap, maximumRangeSize: Int64 = 8 << 20) {
        self.bitmap = bitmap
        self.maximumRangeSize = max(bitmap.chunkSize, maximumRangeSize)
    }

    /// The fetches to start for a read of `range` (bytes); the chunks they cover become in flight.
    /// - Returns: chunk ranges, each contiguous and at most `maximumRangeSize` bytes.
    package mutating func plan(read range: Range<Int64>) -> [Range<Int64>] {
        var fetches: [Range<Int64>] = []
        var start: Int64?
        let perFetch = maximumRangeSize / bitmap.chunkSize
        let touched = bitmap.chunks(covering: range)
        for chunk in touched {
            let needed = !bitmap.isPresent(chunk) && !inFlight.contains(chunk)
            if needed {
                if let first = start, chunk - first >= perFetch {
                    fetches.append(first..<chunk)
                    start = chunk
                } else if start == nil {
                    start = chunk
                }
                inFlight.insert(chunk)
            } else if let first = start {
                fetches.append(first..<chunk)
                start = nil
            }
        }
        if let first = start { fetches.append(first..<touched.upperBound) }
        return fetches
    }

    /// The byte range to request for a planned chunk range.
    package func byteRange(of chunks: Range<Int64>) -> Range<Int64> {
        bitmap.byteRange(of: chunks.lowerBound).lowerBound..<bitmap.byteRange(of: chunks.upperBound - 1).upperBound
    }

    /// Records chunks as durable and present.
    package mutating func completed(_ chunks: Range<Int64>) {
        for chunk in chunks {
            inFlight.remove(chunk)
            bitmap.markPresent(chunk)
        }
    }

    /// Records a failed fetch: its chunks may be planned again.
    package mutating func failed(_ chunks: Range<Int64>) {
        for chunk in chunks { inFlight.remove(chunk) }
    }

    /// Records a chunk as no longer present (dropped from memory): it may be planned again.
    package mutating func forget(_ chunk: Int64) {
        bitmap.markAbsent(chunk)
    }

    /// The next fetch for a background pass: the first chunk at or after `chunk` that is
    /// neither present nor in flight, extended over following such chunks up to
    /// `maximumRangeSize`. Its chunks become in flight. Nil when there is none.
    package mutating func planNext(from chunk: Int64) -> Range<Int64>? {
        var first = max(0, chunk)
        while first < bitmap.chunkCount, bitmap.isPresent(first) || inFlight.contains(first) { first += 1 }
        guard first < bitmap.chunkCount else { return nil }
        var end = first
        let perFetch = maximumRangeSize / bitmap.chunkSize
        while end < bitmap.chunkCount, end - first < perFetch, !bitmap.isPresent(end), !inFlight.contains(end) {
            inFlight.insert(end)
            end += 1
        }
        return first..<end
    }

    /// True when some chunk of `range` (bytes) is neither present nor in flight: a reader of it
    /// waits for nothing unless a fetch is planned.
    package func hasUnplannedChunk(in range: Range<Int64>) -> Bool {
        bitmap.chunks(covering: range).contains { !bitmap.isPresent($0) && !inFlight.contains($0) }
    }

    /// True when a read of `range` can be answered from the cache.
    package func isReadable(_ range: Range<Int64>) -> Bool {
        bitmap.chunks(covering: range).allSatisfy(bitmap.isPresent)
    }
}
