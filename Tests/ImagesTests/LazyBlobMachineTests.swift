import OCISpec
import Testing

@testable import ImageStore
@testable import LazyBlobs

/// The lazy blob state machine driven by hand: no registry, no FUSE, no threads. Chunks are 4
/// bytes, so "0123456789" has chunks 0123, 4567 and 89.
@Suite("lazy blobs: the state machine")
struct LazyBlobMachineTests {
    static let ten = Array("0123456789".utf8)
    static let forty = Array("0123456789abcdefghijklmnopqrstuvwxyzABCD".utf8)

    static func noPrefetch(_ options: inout LazyReadOptions) { options.prefetch = .none }

    @Test("a read waits for its chunk's arrival and is answered from the cache file; a read of present bytes at once; past the end, empty")
    func arrivalAnswersWaiters() {
        var blob = MachineDriver(content: Self.ten, options: Self.noPrefetch)
        let first = blob.read(0, 6)
        #expect(first.actions.fetchedChunks == [0..<2])
        #expect(blob.answers.isEmpty)
        #expect(blob.machine.stateDescription == "fetching 0/10")
        let arrived = blob.arrive(0)
        #expect(arrived)
        #expect(blob.answers.isEmpty, "chunk 1 is still missing")
        let arrivedToo = blob.arrive(1)
        #expect(arrivedToo)
        #expect(blob.bytes(first.waiter) == Array("012345".utf8))
        #expect(blob.fileAnswers == 1, "all in the cache file: spliceable")
        let again = blob.read(2, 4)
        #expect(again.actions.fetchedChunks.isEmpty)
        #expect(blob.bytes(again.waiter) == Array("2345".utf8))
        let past = blob.read(10, 5)
        #expect(blob.bytes(past.waiter) == [])
        #expect(blob.machine.bytesFetched == 8)
    }

    @Test("adjacent misses of one read are one fetch; a present chunk splits it; no fetch exceeds maximumRangeSize; nothing is planned twice")
    func adjacentMissesMerge() {
        var blob = MachineDriver(content: Self.forty, options: Self.noPrefetch)
        let single = blob.read(12, 4)
        #expect(single.actions.fetchedChunks == [3..<4])
        blob.runFetches()
        let read = blob.read(0, 36)
        #expect(read.actions.fetchedChunks == [0..<3, 4..<8, 8..<9], "4 chunks (16 bytes) at most per range")
        let second = blob.read(0, 36)
        #expect(second.actions.fetchedChunks.isEmpty)
        blob.runFetches()
        #expect(blob.bytes(read.waiter) == Array(Self.forty[0..<36]))
    }

    @Test("two readers of one chunk cause one fetch, and both get the right bytes")
    func twoReadersOneFetch() {
        var blob = MachineDriver(content: Self.ten, options: Self.noPrefetch)
        let one = blob.read(4, 2)
        let two = blob.read(5, 3)
        #expect(one.actions.fetchedChunks == [1..<2])
        #expect(two.actions.fetchedChunks.isEmpty)
        #expect(blob.fetches.count == 1)
        blob.runFetches()
        #expect(blob.bytes(one.waiter) == Array("45".utf8))
        #expect(blob.bytes(two.waiter) == Array("567".utf8))
    }

    @Test("the read that covers the last byte waits for the whole-blob digest; others do not; the background fetches the rest")
    func lastByteWaitsForDigest() {
        var blob = MachineDriver(content: Self.ten)
        let tail = blob.read(8, 2)
        #expect(tail.actions.fetchedChunks == [2..<3])
        #expect(blob.backgroundAdds == 1)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.answers[tail.waiter] == nil, "chunk 2 is present, the digest is not known")
        let head = blob.read(0, 4)
        #expect(head.actions.fetchedChunks == [0..<1])
        blob.runFetches()
        #expect(blob.bytes(head.waiter) == Array("0123".utf8), "not the last byte: no wait for the digest")
        let rest = blob.backgroundTurn()
        #expect(rest == LazyFetchPlan(chunks: 1..<2, generation: 0))
        blob.runFetches()
        blob.runWorker()
        #expect(blob.machine.verified)
        #expect(blob.bytes(tail.waiter) == Array("89".utf8))
        #expect(blob.commits == 1)
        #expect(blob.machine.stateDescription == "local")
        let none = blob.backgroundTurn()
        #expect(none == nil, "nothing left: the blob leaves the scheduler")
    }

    @Test("--verify strict: every read waits for the digest, and asks for the whole blob in the background")
    func strictVerification() {
        var blob = MachineDriver(content: Self.ten) {
            $0.prefetch = .none
            $0.verification = .strict
        }
        let read = blob.read(0, 4)
        #expect(read.actions.fetchedChunks == [0..<1])
        #expect(blob.backgroundAdds == 1, "the digest needs every chunk")
        blob.runFetches()
        blob.runWorker()
        #expect(blob.answers[read.waiter] == nil)
        let rest = blob.backgroundTurn()
        #expect(rest == LazyFetchPlan(chunks: 1..<3, generation: 0))
        blob.runFetches()
        blob.runWorker()
        #expect(blob.bytes(read.waiter) == Array("0123".utf8))
        // Verified: reads are answered at once from now on.
        let later = blob.read(4, 4)
        #expect(blob.bytes(later.waiter) == Array("4567".utf8))
    }

    @Test("restart: stored chunks are not fetched again, the stored prefix is hashed, and the completed blob commits")
    func restartFromStoredChunks() {
        var bitmap = ChunkBitmap(size: 10, chunkSize: 4)
        bitmap.markPresent(0)
        bitmap.markPresent(1)
        var blob = MachineDriver(content: Self.ten, cacheFile: Self.ten, storedChunks: bitmap.bytes)
        blob.start()
        #expect(blob.workerPasses == 1, "the stored prefix is hashed without a read")
        blob.runWorker()
        #expect(blob.hashedChunks == [0, 1])
        #expect(blob.machine.stateDescription == "lazy 8/10")
        let stored = blob.read(0, 8)
        #expect(stored.actions.fetchedChunks.isEmpty)
        #expect(blob.bytes(stored.waiter) == Array("01234567".utf8))
        let whole = blob.read(0, 10)
        #expect(whole.actions.fetchedChunks == [2..<3], "only the missing chunk")
        blob.runFetches()
        blob.runWorker()
        #expect(blob.hashedChunks == [0, 1, 2], "no chunk hashed twice")
        #expect(blob.bytes(whole.waiter) == Self.ten)
        #expect(blob.commits == 1)

        var complete = ChunkBitmap(size: 10, chunkSize: 4)
        for chunk in Int64(0)..<3 { complete.markPresent(chunk) }
        var done = MachineDriver(content: Self.ten, cacheFile: Self.ten, storedChunks: complete.bytes)
        done.start()
        done.runWorker()
        #expect(done.commits == 1, "a complete entry commits with no read and no fetch")
        #expect(done.fetches.isEmpty)

        var torn = MachineDriver(content: Self.ten, cacheFile: Self.ten, storedChunks: [0xFF, 0xFF])
        torn.start()
        #expect(torn.workerPasses == 0)
        let fresh = torn.read(0, 4)
        #expect(fresh.actions.fetchedChunks == [0..<1], "a chunks file that does not fit is not trusted")
    }

    @Test("cached chunks are synced in batches (syncBytes or syncInterval), then named in the chunks file")
    func syncInBatches() {
        var blob = MachineDriver(content: Self.forty, options: Self.noPrefetch)
        let start = blob.now
        blob.read(0, 4)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.syncs == 0 && blob.chunksFile == nil, "one chunk, just now: not due")
        #expect(blob.syncChecks == [.milliseconds(100)])
        blob.perform(blob.machine.syncCheckDue())
        blob.now = start + .milliseconds(100)
        blob.runWorker()
        #expect(blob.syncs == 1)
        var expected = ChunkBitmap(size: 40, chunkSize: 4)
        expected.markPresent(0)
        #expect(blob.chunksFile == expected.bytes)
        blob.read(4, 8)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.syncs == 2, "two chunks are syncBytes: due at once")
        expected.markPresent(1)
        expected.markPresent(2)
        #expect(blob.chunksFile == expected.bytes)
    }

    @Test("at shutdown the batch not yet due is synced and named in the chunks file: a restart keeps it")
    func syncAtShutdown() {
        var blob = MachineDriver(content: Self.forty, options: Self.noPrefetch)
        blob.read(0, 4)
        blob.runFetches()
        blob.runWorker()
        #expect(blob.syncs == 0 && blob.chunksFile == nil, "one chunk, just now: not due")
        blob.perform(blob.machine.shuttingDown())
        #expect(blob.syncs == 1)
        var expected = ChunkBitmap(size: 40, chunkSize: 4)
        expected.markPresent(0)
        #expect(blob.chunksFile == expected.bytes)
        #expect(blob.machine.shuttingDown().isEmpty, "nothing left to sync")
    }

    @Test("a full cache disk: chunks are held in memory, readers get the right bytes, nothing is committed")
    func fullCacheDisk() {
        var blob = MachineDriver(content: Self.ten) { $0.memoryLimit = 1 << 20 }
        blob.cacheFull = true
        let read = blob.read(0, 10)
        blob.runFetches()
        blob.runWorker()
        #expect(!blob.machine.caching)
        #expect(blob.bytes(read.waiter) == Self.ten)
        #expect(blob.fileAnswers == 0)
        #expect(blob.machine.verified && blob.commits == 0)
        #expect(blob.syncs == 0)
    }

    @Test("a fetch that ends early without an error fails the reads nothing under way will satisfy; a 200 claims every chunk left")
    func endedEarlyAndWholeBlob() {
        var blob = MachineDriver(content: Self.ten, options: Self.noPrefetch)
        let read = blob.read(0, 4)
        let fetch = blob.fetches.removeFirst()
        blob.perform(blob.machine.fetchEnded(unfinished: Set(fetch.chunks), generation: 0, failure: nil))
        #expect(blob.error(read.waiter)?.message.contains("ended early") == true)

        let other = blob.read(4, 2)
        #expect(other.actions.fetchedChunks == [1..<2])
        let claimed = blob.machine.claimRemaining(generation: 0)
        #expect(claimed == [0, 2])
        let again = blob.machine.claimRemaining(generation: 0)
        #expect(again.isEmpty)
        let stale = blob.machine.claimRemaining(generation: 7)
        #expect(stale.isEmpty, "a dropped generation claims nothing")
    }
}
