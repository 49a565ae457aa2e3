import OCISpec
import Testing

@testable import ImageStore
@testable import LazyBlobs

/// Bytes that do not match, through the lazy blob state machine: the whole-blob digest, a held
/// chunk fetched again, and the chunks held in memory under their limit.
@Suite("lazy blobs: corruption and held chunks")
struct LazyBlobCorruptionTests {
    static let ten = LazyBlobMachineTests.ten
    static let sixteen = Array("0123456789abcdef".utf8)

    @Test("a digest mismatch: a new generation starts empty, waiters fail, old files fail, stale events are ignored, the next source is named")
    func digestMismatch() {
        var blob = MachineDriver(content: Self.ten, sources: [MachineDriver.source, MachineDriver.mirror])
        blob.registry[5] ^= 0x01
        let read = blob.read(0, 10)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.machine.generation == 1)
        #expect(blob.error(read.waiter)?.code == .corruptBlob)
        #expect(blob.corruptions.map(\.what) == ["blob"])
        #expect(blob.corruptions.first?.source == MachineDriver.source)
        #expect(blob.corruptions.first?.actual == DigestHasher.digest(of: blob.registry))
        #expect(blob.chunksFile == [], "the stored chunks are forgotten")
        #expect(blob.evictions == 1, "the kernel's pages are evicted")
        #expect(blob.commits == 0)
        #expect(blob.machine.stateDescription == "lazy 0/10")

        // Work of generation 0 still under way is ignored.
        let staleArrival = blob.arrive(0, generation: 0)
        #expect(!staleArrival, "the fetch stops")
        #expect(blob.machine.disposition(ofChunkFrom: 0) == .superseded)
        let staleEnd = blob.machine.fetchEnded(unfinished: [1], generation: 0, failure: ImagesError(.io, "late"))
        #expect(staleEnd.isEmpty)
        #expect(blob.machine.failing == nil)
        let staleSync = blob.machine.dataSynced([0], generation: 0, succeeded: true)
        #expect(staleSync.isEmpty)
        let staleStep = LazyHashStep(hasher: DigestHasher(.sha256), chunk: 0, byteRange: 0..<4, held: nil, generation: 0)
        let staleHash = blob.machine.hashStepDone(staleStep, succeeded: true)
        #expect(staleHash.isEmpty)
        #expect(blob.machine.hashedUpTo == 0)
        #expect(blob.machine.stateDescription == "lazy 0/10")

        // A file opened before fails every read; a new open reads the next generation.
        let old = blob.read(0, 4, openedAt: 0)
        #expect(blob.error(old.waiter)?.message.contains("turned out corrupt while this file was open") == true)
        let again = blob.read(0, 10)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.corruptions.map(\.source) == [MachineDriver.source, MachineDriver.mirror], "the next source first")
        #expect(blob.machine.generation == 2)
        #expect(blob.error(again.waiter)?.code == .corruptBlob)

        blob.registry = Self.ten
        let good = blob.read(0, 10)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.bytes(good.waiter) == Self.ten)
        #expect(blob.commits == 1)
        #expect(blob.evictions == 3, "evicted once more when the good bytes are verified")
    }

    @Test("the chunks file of a dropped generation is forgotten before the new generation's chunks are stored in it")
    func forgetBeforeStore() {
        var blob = MachineDriver(content: Self.ten) {
            $0.prefetch = .none
            $0.syncBytes = 4
        }
        blob.deferForgets = true
        blob.registry[0] ^= 0x01
        blob.read(0, 10)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.machine.generation == 1)
        #expect(blob.syncs == 1)
        let stale = blob.chunksFile
        #expect(stale != nil && stale != [], "generation 0's chunks, not forgotten yet")
        blob.registry = Self.ten
        blob.read(0, 4)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.syncs == 1, "nothing is stored over a stale chunks file")
        #expect(blob.chunksFile == stale)
        blob.finishForgets()
        #expect(blob.chunksFile == [])
        #expect(blob.workerPasses == 1, "the held-back batch is synced now")
        blob.runWorker()
        #expect(blob.syncs == 2)
        var first = ChunkBitmap(size: 10, chunkSize: 4)
        first.markPresent(0)
        #expect(blob.chunksFile == first.bytes)
    }

    @Test("held chunks beyond the memory limit are dropped, hashed ones first, and fetched again when read")
    func evictionOfHeldChunks() {
        var blob = MachineDriver(content: Self.sixteen, options: LazyBlobMachineTests.noPrefetch, hasCacheFile: false)
        let head = blob.read(0, 8)
        blob.runFetches()
        #expect(blob.bytes(head.waiter) == Array("01234567".utf8))
        #expect(blob.fileAnswers == 0, "no cache file: bytes")
        blob.runWorker()
        #expect(blob.machine.hashedUpTo == 8)
        blob.read(12, 3)
        blob.runFetches()
        #expect(Set(blob.machine.memory.keys) == [1, 3], "over 8 bytes: chunk 0 (hashed, oldest) dropped")
        blob.read(8, 4)
        blob.runFetches()
        #expect(Set(blob.machine.memory.keys) == [2, 3], "chunk 1 (hashed) dropped before chunk 3 (older, not hashed)")
        let present = blob.read(12, 3)
        #expect(blob.bytes(present.waiter) == Array("cde".utf8))
        let dropped = blob.read(4, 4)
        #expect(dropped.actions.fetchedChunks == [1..<2], "a dropped chunk is fetched again")
        blob.runFetches()
        #expect(blob.bytes(dropped.waiter) == Array("4567".utf8))
        #expect(blob.corruptions.isEmpty, "the same bytes again: no corruption")
    }

    @Test("a held chunk fetched again that differs from its first arrival is corruption")
    func changedHeldChunk() {
        var blob = MachineDriver(content: Self.sixteen, options: LazyBlobMachineTests.noPrefetch, hasCacheFile: false)
        for offset in [Int64(0), 4, 8] {
            blob.read(offset, 4)
            blob.runFetches()
        }
        #expect(blob.machine.memory[0] == nil, "chunk 0 was dropped")
        blob.registry[1] ^= 0xFF
        let reader = blob.read(0, 4)
        blob.runFetches()
        #expect(blob.corruptions.map(\.what) == ["chunk 0 fetched again"])
        #expect(blob.error(reader.waiter)?.code == .corruptBlob)
        #expect(blob.machine.generation == 1)
        #expect(blob.evictions == 1)
    }
}
