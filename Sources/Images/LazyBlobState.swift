import ContentStore
import OCISpec

/// A read waiting for chunks (or for the whole-blob digest).
struct LazyReadWaiter: Sendable {
    /// Bytes wanted, half-open, inside the blob.
    var range: Range<Int64>
    /// The read covers the last byte (or `--verify strict`): it waits for the digest.
    var needsVerification: Bool
    var completion: @Sendable (Result<ReadResult, ImagesError>) -> Void
}

/// A lazy blob whose fetches fail (a dead, stopped or refusing registry): reads of its missing
/// bytes are refused at once instead of each waiting a deadline, while a probe retries in the
/// background after `backoff` (1, 2, 4, 8 s) if a read was refused meanwhile.
struct FetchFailure {
    /// What the last fetch, or the read that timed out, said.
    var error: ImagesError
    var backoff: Duration
    /// Tells this episode's probes from a later one's.
    var epoch: UInt64
    /// The last read refused: the next probe fetches its chunks. Nil: nobody asked since the
    /// last probe, and the episode ends at the next one.
    var refusedRange: Range<Int64>?
    var probeScheduled = true

    static let firstBackoff = Duration.seconds(1)
    static let maximumBackoff = Duration.seconds(8)
}

/// Everything a ``LazyBlob`` knows, behind its lock. A value with no I/O except reading back
/// present bytes for a reply.
struct LazyBlobState {
    let size: Int64
    /// Bumped when the cache is dropped; work of an older generation is ignored.
    var generation: UInt64 = 0
    /// Present (servable) chunks and fetches in flight.
    var planner: ChunkFetchPlanner
    /// Chunks whose data is synced and named in the chunks file.
    var durable: ChunkBitmap
    /// Chunks written to the cache file but not synced yet, and when the first of them came.
    var unsynced: [Int64] = []
    var unsyncedSince: ContinuousClock.Instant?
    /// Chunks held in memory (not cached on disk), oldest first in `memoryOrder`.
    var memory: [Int64: [UInt8]] = [:]
    var memoryOrder: [Int64] = []
    /// SHA-256 of each chunk's first arrival while held in memory: a chunk dropped and fetched
    /// again must match it.
    var chunkDigests: [Int64: Digest] = [:]
    /// The prefix hashed so far (bytes) and the hasher (nil while a hashing step holds it).
    var hashedUpTo: Int64 = 0
    var hasher: DigestHasher?
    var verified = false
    var committed = false
    var waiters: [LazyReadWaiter] = []
    var activeFetches = 0
    /// In the background scheduler's queue.
    var prefetching = false
    /// A background fetch failed: no more background fetching until the next read.
    var prefetchBlocked = false
    /// The source tried first.
    var sourceIndex = 0
    /// A worker pass is queued; a timer will sync the pending batch.
    var workScheduled = false
    var syncTimerArmed = false
    /// Chunks go to memory, not to the cache file (no entry, or writing it failed).
    var memoryOnly: Bool
    /// Bytes received from registries for this blob.
    var bytesFetched: Int64 = 0
    /// Set while fetches fail; cleared by any chunk that arrives.
    var failing: FetchFailure?
    var failureEpochs: UInt64 = 0
    /// The last fetch attempt's error, for the read that times out (nil once a chunk arrives).
    var lastFetchError: String?

    init(size: Int64, algorithm: Digest.Algorithm, chunks: ChunkBitmap, maximumRangeSize: Int64, memoryOnly: Bool) {
        self.size = size
        self.memoryOnly = memoryOnly
        planner = ChunkFetchPlanner(bitmap: chunks, maximumRangeSize: maximumRangeSize)
        durable = chunks
        hasher = DigestHasher(algorithm)
    }

    var chunkSize: Int64 { planner.bitmap.chunkSize }

    /// Drops everything fetched (a digest mismatch): a new generation starts empty.
    mutating func reset(algorithm: Digest.Algorithm, sourceCount: Int) -> [LazyReadWaiter] {
        generation += 1
        let empty = ChunkBitmap(size: size, chunkSize: chunkSize)
        planner = ChunkFetchPlanner(bitmap: empty, maximumRangeSize: planner.maximumRangeSize)
        durable = empty
        unsynced = []
        unsyncedSince = nil
        memory = [:]
        memoryOrder = []
        chunkDigests = [:]
        hashedUpTo = 0
        hasher = DigestHasher(algorithm)
        verified = false
        activeFetches = 0
        prefetchBlocked = true
        sourceIndex = (sourceIndex + 1) % max(1, sourceCount)
        defer { waiters = [] }
        return waiters
    }

    /// The answer to a read of `range` if it can be given now.
    func serve(_ range: Range<Int64>, needsVerification: Bool, cache: CacheEntry?) -> Result<ReadResult, ImagesError>? {
        guard planner.isReadable(range), !needsVerification || verified else { return nil }
        let chunks = planner.bitmap.chunks(covering: range)
        if let cache, !chunks.contains(where: { memory[$0] != nil }) {
            return .success(.file(cache.data, offset: range.lowerBound, byteCount: Int(range.count)))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(range.count))
        for chunk in chunks {
            let chunkRange = planner.bitmap.byteRange(of: chunk)
            let lower = max(range.lowerBound, chunkRange.lowerBound)
            let upper = min(range.upperBound, chunkRange.upperBound)
            if let held = memory[chunk] {
                bytes += held[Int(lower - chunkRange.lowerBound)..<Int(upper - chunkRange.lowerBound)]
            } else if let cache {
                do {
                    bytes += try cache.data.read(offset: lower, byteCount: Int(upper - lower))
                } catch {
                    return .failure(ImagesError(error, "cannot read the cache of \(cache.digest)"))
                }
            } else {
                return nil
            }
        }
        return .success(.bytes(bytes))
    }

    /// Enters (or stays in) the failing state with `error`: returns every waiter, to be failed
    /// now, and the probe to schedule (epoch, delay) unless one is scheduled already.
    mutating func enterFailing(_ error: ImagesError) -> (waiters: [LazyReadWaiter], probe: (epoch: UInt64, delay: Duration)?) {
        var probe: (UInt64, Duration)?
        if var failure = failing {
            failure.error = error
            if !failure.probeScheduled {
                failure.backoff = min(failure.backoff * 2, FetchFailure.maximumBackoff)
                failure.probeScheduled = true
                probe = (failure.epoch, failure.backoff)
            }
            failing = failure
        } else {
            failureEpochs += 1
            failing = FetchFailure(error: error, backoff: FetchFailure.firstBackoff, epoch: failureEpochs)
            probe = (failureEpochs, FetchFailure.firstBackoff)
        }
        defer { waiters = [] }
        return (waiters, probe)
    }

    /// The refusal of a read of missing bytes while failing (remembered for the next probe);
    /// nil when not failing.
    mutating func refuse(_ range: Range<Int64>) -> ImagesError? {
        guard var failure = failing else { return nil }
        failure.refusedRange = range
        failing = failure
        return ImagesError(.io, "\(failure.error.message) (reads of the bytes not fetched yet fail at once; retrying in the background)", underlying: failure.error)
    }

    /// A chunk arrived: fetching works again.
    mutating func clearFailure() {
        failing = nil
        lastFetchError = nil
    }

    /// Removes and returns the waiters that can be answered now, with their answers.
    mutating func takeSatisfiedWaiters(cache: CacheEntry?) -> [(LazyReadWaiter, Result<ReadResult, ImagesError>)] {
        var answered: [(LazyReadWaiter, Result<ReadResult, ImagesError>)] = []
        var waiting: [LazyReadWaiter] = []
        for waiter in waiters {
            if let result = serve(waiter.range, needsVerification: waiter.needsVerification, cache: cache) {
                answered.append((waiter, result))
            } else {
                waiting.append(waiter)
            }
        }
        waiters = waiting
        return answered
    }

    /// Removes and returns the waiters nothing under way will satisfy (after a failed fetch).
    mutating func takeStrandedWaiters() -> [LazyReadWaiter] {
        let verificationStuck = !verified && (!prefetching || prefetchBlocked) && planner.hasUnplannedChunk(in: hashedUpTo..<size)
        let planner = self.planner
        let stranded = waiters.filter { waiter in
            planner.hasUnplannedChunk(in: waiter.range) || (waiter.needsVerification && verificationStuck)
        }
        waiters.removeAll { waiter in
            planner.hasUnplannedChunk(in: waiter.range) || (waiter.needsVerification && verificationStuck)
        }
        return stranded
    }

    /// Keeps a chunk in memory, dropping the oldest chunks beyond `limit` bytes (hashed ones
    /// first): dropped chunks are fetched again if read.
    mutating func hold(_ chunk: Int64, _ bytes: [UInt8], limit: Int64) {
        if memory.updateValue(bytes, forKey: chunk) == nil { memoryOrder.append(chunk) }
        var held = Int64(memory.count) * chunkSize
        let hashedChunks = hashedUpTo / chunkSize
        while held > max(limit, chunkSize) {
            let victim = memoryOrder.firstIndex { $0 < hashedChunks && $0 != chunk } ?? memoryOrder.firstIndex { $0 != chunk }
            guard let victim else { break }
            let dropped = memoryOrder.remove(at: victim)
            memory.removeValue(forKey: dropped)
            planner.forget(dropped)
            held -= chunkSize
        }
    }

    /// `local`, `fetching P/N` or `lazy P/N` (bytes present of the blob's size).
    var stateDescription: String {
        if committed { return "local" }
        return "\(activeFetches > 0 ? "fetching" : "lazy") \(planner.bitmap.presentBytes)/\(size)"
    }
}
