import ImageStore
import OCISpec

extension LazyBlobMachine {
    /// What to do with a chunk a fetch of `generation` received. The driver asks under its
    /// cache write lock and writes under it, so a dropped generation never writes into the
    /// cache file of the next one.
    package func disposition(ofChunkFrom generation: UInt64) -> LazyChunkDisposition {
        guard generation == self.generation else { return .superseded }
        return caching ? .writeToCache : .holdInMemory
    }

    /// Writing the cache file failed (disk full): chunks are held in memory from now on.
    package mutating func cacheWriteFailed() {
        caching = false
    }

    /// Chunk `chunk` (`byteCount` bytes) of a fetch of `generation` arrived, written to the cache
    /// file or held in memory (`storage`), at `now`.
    ///
    /// The chunk becomes present, the failing state ends, satisfied waiters are answered and a
    /// worker pass syncs and hashes. A held chunk fetched again whose digest differs from its
    /// first arrival's is corrupt (``dropCorrupt(actual:what:)``). Ignored for a dropped
    /// generation: the driver sees ``generation`` moved and stops the fetch.
    package mutating func chunkArrived(
        _ chunk: Int64, byteCount: Int, generation: UInt64, storage: LazyChunkStorage, now: ContinuousClock.Instant
    ) -> [LazyBlobAction] {
        guard generation == self.generation else { return [] }
        if case .held(_, let actual) = storage {
            // Held in memory, a chunk may be dropped and fetched again: every arrival must equal
            // the first (which readers may have been served, and which the digest may cover).
            if let first = chunkDigests[chunk], first != actual {
                return dropCorrupt(actual: actual, what: "chunk \(chunk) fetched again")
            }
            chunkDigests[chunk] = actual
        }
        bytesFetched += Int64(byteCount)
        clearFailure()
        switch storage {
        case .cached:
            unsynced.append(chunk)
            if unsyncedSince == nil { unsyncedSince = now }
        case .held(let bytes, _):
            hold(chunk, bytes)
        }
        planner.completed(chunk..<chunk + 1)
        return answerSatisfiedWaiters() + queueWorkerPass()
    }

    /// Keeps a chunk in memory, dropping the oldest chunks beyond `memoryLimit` bytes (hashed
    /// ones first): dropped chunks are fetched again if read.
    mutating func hold(_ chunk: Int64, _ bytes: [UInt8]) {
        if memory.updateValue(bytes, forKey: chunk) == nil { memoryOrder.append(chunk) }
        var held = Int64(memory.count) * chunkSize
        let hashedChunks = hashedUpTo / chunkSize
        while held > max(options.memoryLimit, chunkSize) {
            let victim = memoryOrder.firstIndex { $0 < hashedChunks && $0 != chunk } ?? memoryOrder.firstIndex { $0 != chunk }
            guard let victim else { break }
            let dropped = memoryOrder.remove(at: victim)
            memory.removeValue(forKey: dropped)
            planner.forget(dropped)
            held -= chunkSize
        }
    }

    /// A fetch of `generation` ended; `unfinished` are the chunks it claimed and did not
    /// deliver. A fetch that failed (`failure`) puts the blob in the failing state: every
    /// waiting read fails now and a probe is scheduled. One that ended early otherwise fails
    /// the reads nothing under way will satisfy.
    package mutating func fetchEnded(unfinished: Set<Int64>, generation: UInt64, failure: ImagesError?) -> [LazyBlobAction] {
        guard generation == self.generation else { return [] }
        activeFetches -= 1
        for chunk in unfinished { planner.failed(chunk..<chunk + 1) }
        guard !unfinished.isEmpty else { return [] }
        prefetchBlocked = true
        if let failure {
            lastFetchError = failure.message
            return enterFailing(failure)
        }
        let error = ImagesError(.io, "fetching \(digest) ended early")
        return takeStrandedWaiters().map { .answer($0.id, .failure(error)) }
    }

    /// An attempt of a fetch failed with `message` (it may be resumed or retried): what a read
    /// that times out will say.
    package mutating func fetchAttemptFailed(_ message: String) {
        lastFetchError = message
    }

    /// A fetch of `generation` got a `200` (the whole blob) to its Range request: claims every
    /// chunk neither present nor in flight, which it then delivers as they pass.
    package mutating func claimRemaining(generation: UInt64) -> Set<Int64> {
        guard generation == self.generation else { return [] }
        var claimed: Set<Int64> = []
        while let chunks = planner.planNext(from: 0) { claimed.formUnion(chunks) }
        return claimed
    }

    /// The background scheduler may start one fetch of this blob: the first missing chunks
    /// after the hashed prefix (then from the start), claimed in flight. Nil when nothing is
    /// wanted (the blob leaves the scheduler).
    package mutating func backgroundFetchWanted() -> LazyFetchPlan? {
        // In memory, fetching ahead only serves a reader waiting for the digest.
        let wanted = caching || (!verified && waiters.contains { $0.needsVerification })
        guard !prefetchBlocked, wanted,
            let chunks = planner.planNext(from: hashedUpTo / chunkSize) ?? planner.planNext(from: 0)
        else {
            prefetching = false
            return nil
        }
        activeFetches += 1
        return LazyFetchPlan(chunks: chunks, generation: generation)
    }
}
