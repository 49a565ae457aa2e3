import ImageStore

/// Which aligned chunks of a lazy blob are present in its cache file (DESIGN.md "Lazy blobs":
/// 1 MiB chunks, a `<hex>.chunks` bitmap written after the data is durable). A plain value:
/// persisted by its owner with `bytes`, restored with `init(size:chunkSize:bytes:)`.
package struct ChunkBitmap: Sendable, Equatable {
    /// Default chunk size in bytes (1 MiB).
    package static let defaultChunkSize: Int64 = 1 << 20

    /// Blob size in bytes.
    package let size: Int64
    /// Chunk size in bytes; the last chunk may be shorter.
    package let chunkSize: Int64
    private var bits: [UInt8]

    /// An empty bitmap for a blob of `size` bytes.
    package init(size: Int64, chunkSize: Int64 = ChunkBitmap.defaultChunkSize) {
        precondition(size >= 0 && chunkSize > 0)
        self.size = size
        self.chunkSize = chunkSize
        bits = [UInt8](repeating: 0, count: Int((Self.chunkCount(size: size, chunkSize: chunkSize) + 7) / 8))
    }

    /// A bitmap restored from `bytes`; nil when they do not fit the blob (a torn or foreign file:
    /// the caller starts over rather than trust it).
    package init?(size: Int64, chunkSize: Int64 = ChunkBitmap.defaultChunkSize, bytes: [UInt8]) {
        self.init(size: size, chunkSize: chunkSize)
        guard bytes.count == bits.count else { return nil }
        let count = chunkCount
        // Bits past the last chunk must be clear.
        if count % 8 != 0, let last = bytes.last, last >> UInt8(count % 8) != 0 { return nil }
        bits = bytes
    }

    static func chunkCount(size: Int64, chunkSize: Int64) -> Int64 { (size + chunkSize - 1) / chunkSize }

    /// Number of chunks.
    package var chunkCount: Int64 { Self.chunkCount(size: size, chunkSize: chunkSize) }

    /// The persisted form.
    package var bytes: [UInt8] { bits }

    package func isPresent(_ chunk: Int64) -> Bool {
        bits[Int(chunk / 8)] & (1 << UInt8(chunk % 8)) != 0
    }

    package mutating func markPresent(_ chunk: Int64) {
        bits[Int(chunk / 8)] |= 1 << UInt8(chunk % 8)
    }

    package mutating func markAbsent(_ chunk: Int64) {
        bits[Int(chunk / 8)] &= ~(1 << UInt8(chunk % 8))
    }

    /// Bytes in present chunks.
    package var presentBytes: Int64 {
        (0..<chunkCount).reduce(Int64(0)) { isPresent($1) ? $0 + Int64(byteRange(of: $1).count) : $0 }
    }

    /// True when every chunk is present.
    package var isComplete: Bool { (0..<chunkCount).allSatisfy(isPresent) }

    /// Byte range of `chunk`, half-open.
    package func byteRange(of chunk: Int64) -> Range<Int64> {
        chunk * chunkSize..<min(size, (chunk + 1) * chunkSize)
    }

    /// The chunks a read of `range` (bytes, half-open, clipped to the blob) touches.
    package func chunks(covering range: Range<Int64>) -> Range<Int64> {
        let lower = max(0, range.lowerBound)
        let upper = min(size, range.upperBound)
        guard lower < upper else { return 0..<0 }
        return lower / chunkSize..<(upper - 1) / chunkSize + 1
    }

    /// Bytes present from the start of the blob without a gap (what the prefix hash has seen).
    package var contiguousPrefix: Int64 {
        var chunk: Int64 = 0
        while chunk < chunkCount, isPresent(chunk) { chunk += 1 }
        return chunk == chunkCount ? size : chunk * chunkSize
    }
}
