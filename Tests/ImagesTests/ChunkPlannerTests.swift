import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import Testing

@Suite("lazy chunks: bitmap and fetch planning")
struct ChunkPlannerTests {
    let mib: Int64 = 1 << 20

    @Test("chunk arithmetic: count, last short chunk, covering chunks, prefix")
    func bitmapArithmetic() {
        var bitmap = ChunkBitmap(size: 5 * mib + 10)
        #expect(bitmap.chunkCount == 6)
        #expect(bitmap.byteRange(of: 5) == 5 * mib..<5 * mib + 10)
        #expect(bitmap.chunks(covering: mib - 1..<mib + 1) == 0..<2)
        #expect(bitmap.chunks(covering: 10 * mib..<11 * mib) == 0..<0)
        #expect(bitmap.contiguousPrefix == 0)
        bitmap.markPresent(0)
        bitmap.markPresent(2)
        #expect(bitmap.contiguousPrefix == mib)
        for chunk in Int64(0)..<6 { bitmap.markPresent(chunk) }
        #expect(bitmap.isComplete)
        #expect(bitmap.contiguousPrefix == 5 * mib + 10)
        #expect(ChunkBitmap(size: 0).isComplete)
    }

    @Test("a persisted bitmap restores; torn or foreign bytes are refused")
    func persistence() {
        var bitmap = ChunkBitmap(size: 10 * mib)
        bitmap.markPresent(3)
        bitmap.markPresent(9)
        #expect(ChunkBitmap(size: 10 * mib, bytes: bitmap.bytes) == bitmap)
        #expect(ChunkBitmap(size: 10 * mib, bytes: [0xFF]) == nil, "wrong length")
        #expect(ChunkBitmap(size: 10 * mib, bytes: [0, 0xFF]) == nil, "bits past the last chunk")
    }

    @Test("adjacent misses merge into one range; present and in-flight chunks split it; no chunk is planned twice")
    func planning() {
        var bitmap = ChunkBitmap(size: 20 * mib)
        bitmap.markPresent(3)
        var planner = ChunkFetchPlanner(bitmap: bitmap, maximumRangeSize: 8 * mib)
        #expect(planner.plan(read: 0..<6 * mib) == [0..<3, 4..<6])
        // Sixteen readers of the same window start nothing more.
        for _ in 0..<16 { #expect(planner.plan(read: 0..<6 * mib).isEmpty) }
        #expect(planner.plan(read: 5 * mib..<20 * mib) == [6..<14, 14..<20], "split at 8 MiB")
        #expect(planner.byteRange(of: 4..<6) == 4 * mib..<6 * mib)
        planner.completed(0..<3)
        #expect(planner.isReadable(0..<3 * mib))
        #expect(!planner.isReadable(0..<5 * mib))
        planner.failed(4..<6)
        #expect(planner.plan(read: 4 * mib..<5 * mib) == [4..<5], "a failed chunk is planned again")
    }
}
