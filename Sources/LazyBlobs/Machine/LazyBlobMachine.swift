import ContentStore
import ImageStore
import OCISpec

/// A read waiting for chunks (or for the whole-blob digest).
package struct LazyReadWaiter: Sendable, Equatable {
    /// The driver's id of the read (its completion is kept by the driver).
    package let id: LazyReadWaiterID
    /// Bytes wanted, half-open, inside the blob.
    package let range: Range<Int64>
    /// The read covers the last byte (or `--verify strict`): it waits for the digest.
    package let needsVerification: Bool
}

/// Everything one lazy blob knows (DESIGN.md "The mount", lazy blobs), as a value with no I/O:
/// each event (a method named for what happened) changes the state and returns the
/// ``LazyBlobAction``s its driver (``LazyBlob``) performs after releasing its lock; actions
/// that do I/O come back as events. Work of a dropped generation is ignored.
///
/// - Chunks are fetched once however many readers wait; adjacent misses of one read are one
///   fetch (``ChunkFetchPlanner``).
/// - Cached chunks are synced in batches (`syncBytes` or `syncInterval`), then named in the
///   chunks file; the chunks file of a dropped generation is forgotten before a new one is
///   stored.
/// - The contiguous prefix is hashed in steps; the read that covers the last byte (every read
///   with `--verify strict`) waits for the whole-blob digest; a mismatch starts a new, empty
///   generation, fails every waiting read and drops the cache. A verified, fully cached blob is
///   committed.
/// - Chunks held in memory are bounded by `memoryLimit`; a dropped one fetched again must have
///   the digest of its first arrival.
/// - While fetches fail, reads of missing bytes are refused at once and a probe retries
///   (``FetchFailure``).
package struct LazyBlobMachine: Sendable {
    /// Where the blob's worker passes (syncing, hashing, committing) stand: at most one is
    /// queued or running at a time, whatever thread its driver runs it on.
    enum WorkerPass: Sendable, Equatable {
        case idle
        /// ``LazyBlobAction/runWorkerPass`` was returned; ``workerPassStarted(now:)`` is next.
        case queued
        /// A pass runs; `again`: an event asked for one meanwhile (queued when it ends).
        case running(again: Bool)
    }

    /// The blob's digest: what the whole-blob hash must equal.
    package let digest: Digest
    /// Blob size in bytes.
    package let size: Int64
    let sources: [BlobSource]
    let options: LazyReadOptions
    /// The blob has a cache entry (this process owns it); without one every chunk is held.
    let hasCacheFile: Bool
    /// Bumped when the cache is dropped as corrupt; the only generation counter.
    package internal(set) var generation: UInt64 = 0
    /// Present (servable) chunks and fetches in flight.
    var planner: ChunkFetchPlanner
    /// Chunks whose data is synced and named in the chunks file.
    var durable: ChunkBitmap
    /// Chunks written to the cache file but not synced yet, and when the first of them came.
    var unsynced: [Int64] = []
    var unsyncedSince: ContinuousClock.Instant?
    /// The chunks file still names a dropped generation's chunks: nothing is stored into it
    /// until it is forgotten.
    var storedChunksStale = false
    /// Chunks held in memory (not cached on disk), oldest first in `memoryOrder`.
    var memory: [Int64: [UInt8]] = [:]
    var memoryOrder: [Int64] = []
    /// SHA-256 of each held chunk's first arrival: a chunk dropped and fetched again must match.
    var chunkDigests: [Int64: Digest] = [:]
    /// The prefix hashed so far (bytes) and the hasher (nil while a hash step holds it).
    var hashedUpTo: Int64 = 0
    var hasher: DigestHasher?
    package internal(set) var verified = false
    var committed = false
    package internal(set) var waiters: [LazyReadWaiter] = []
    var activeFetches = 0
    /// In the background scheduler's queue.
    var prefetching = false
    /// A background fetch failed: no more background fetching until the next read.
    var prefetchBlocked = false
    /// The source tried first (moves on after a corrupt blob).
    package internal(set) var sourceIndex = 0
    /// The blob's worker passes, one at a time (``WorkerPass``).
    var workerPass = WorkerPass.idle
    /// A sync check is scheduled.
    var syncCheckScheduled = false
    /// Chunks go to the cache file (false: no entry, or writing or resetting it failed).
    package internal(set) var caching: Bool
    /// Bytes received from registries for this blob.
    package internal(set) var bytesFetched: Int64 = 0
    /// Set while fetches fail; cleared by any chunk that arrives.
    var failing: FetchFailure?
    var failureEpochs: UInt64 = 0
    /// The last fetch attempt's error, for the read that times out (nil once a chunk arrives).
    package internal(set) var lastFetchError: String?

    /// - Parameters:
    ///   - descriptor: the blob (digest and size in bytes).
    ///   - sources: where it can be fetched, first tried first; not empty.
    ///   - options: chunk size, range size, verification, prefetch, sync batches, memory limit.
    ///   - hasCacheFile: the blob has a cache entry; false holds every chunk in memory.
    ///   - storedChunks: the entry's chunks file as stored (an earlier run's durable chunks);
    ///     ignored unless it fits the blob (``ChunkBitmap/init(size:chunkSize:bytes:)``).
    package init(descriptor: Descriptor, sources: [BlobSource], options: LazyReadOptions, hasCacheFile: Bool, storedChunks: [UInt8] = []) {
        precondition(!sources.isEmpty, "a lazy blob has a source")
        digest = descriptor.digest
        size = descriptor.size
        self.sources = sources
        self.options = options
        self.hasCacheFile = hasCacheFile
        caching = hasCacheFile
        var chunks = ChunkBitmap(size: descriptor.size, chunkSize: options.chunkSize)
        if hasCacheFile, let stored = ChunkBitmap(size: descriptor.size, chunkSize: options.chunkSize, bytes: storedChunks) {
            chunks = stored
        }
        planner = ChunkFetchPlanner(bitmap: chunks, maximumRangeSize: options.maximumRangeSize)
        durable = chunks
        hasher = DigestHasher(descriptor.digest.algorithm)
    }

    var chunkSize: Int64 { planner.bitmap.chunkSize }

    /// The blob was set up: chunks kept from an earlier run are hashed now, so a complete entry
    /// commits without a read.
    package mutating func started() -> [LazyBlobAction] {
        planner.bitmap.contiguousPrefix > 0 ? queueWorkerPass() : []
    }

    /// `local`, `fetching P/N` or `lazy P/N` (bytes present of the blob's size).
    package var stateDescription: String {
        if committed { return "local" }
        return "\(activeFetches > 0 ? "fetching" : "lazy") \(planner.bitmap.presentBytes)/\(size)"
    }

    /// `.runWorkerPass` unless one is queued already; while one runs, another is queued when
    /// it ends (``workerPassEnded()``), so passes never overlap.
    mutating func queueWorkerPass() -> [LazyBlobAction] {
        switch workerPass {
        case .idle:
            workerPass = .queued
            return [.runWorkerPass]
        case .queued, .running(again: true):
            return []
        case .running(again: false):
            workerPass = .running(again: true)
            return []
        }
    }

    /// Drops everything fetched (a digest mismatch): a new generation starts empty, the next
    /// source first. Returns the waiters, to be failed.
    mutating func reset() -> [LazyReadWaiter] {
        generation += 1
        let empty = ChunkBitmap(size: size, chunkSize: chunkSize)
        planner = ChunkFetchPlanner(bitmap: empty, maximumRangeSize: planner.maximumRangeSize)
        durable = empty
        unsynced = []
        unsyncedSince = nil
        storedChunksStale = hasCacheFile
        memory = [:]
        memoryOrder = []
        chunkDigests = [:]
        hashedUpTo = 0
        hasher = DigestHasher(digest.algorithm)
        verified = false
        activeFetches = 0
        prefetchBlocked = true
        sourceIndex = (sourceIndex + 1) % sources.count
        defer { waiters = [] }
        return waiters
    }

    /// The bytes did not match (the blob's digest, or `what` when a chunk was checked): a new
    /// generation, every waiting read fails, the cache is dropped and the kernel's pages evicted.
    mutating func dropCorrupt(actual: Digest, what: String = "blob") -> [LazyBlobAction] {
        let source = sources[sourceIndex % sources.count]
        let stranded = reset()
        let corruption = LazyCorruption(what: what, actual: actual, source: source, generation: generation)
        let error = ImagesError(
            .corruptBlob, "\(what == "blob" ? "blob" : "\(what) of blob") \(digest) from \(source) does not match its digest (got \(actual))")
        return [.dropCache(corruption)] + stranded.map { .answer($0.id, .failure(error)) } + [.evictKernelPages]
    }
}
