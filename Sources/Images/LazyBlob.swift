import ContentStore
import Dispatch
import Logging
import OCISpec
import Registry
import Synchronization

/// One lazy blob served on demand (DESIGN.md "The mount", lazy blobs): reads are answered from
/// the cache entry once their chunks are present, and fetched otherwise.
///
/// - Chunks (1 MiB by default) are fetched once however many readers wait; adjacent misses of
///   one read go out as one single `Range`. A `200` to a Range request is used as it streams.
/// - Data is made durable in batches (`fdatasync` per 8 MiB or 100 ms), then the chunks file, so
///   a restart never serves unwritten bytes and never refetches what it has.
/// - The contiguous prefix is hashed as it arrives; the read that covers the last byte (every
///   read with `--verify strict`) waits for the whole-blob digest. A mismatch drops the cache,
///   fails every waiting read, reports the corruption (the mount evicts kernel pages) and logs
///   digest and source. A verified blob is committed into the store.
/// - When the cache cannot be written (disk full) or another process owns the entry, chunks are
///   held in memory (bounded) instead.
///
/// Thread-safe. Completions run on fetch or worker threads, never inside `read`'s caller lock.
public final class LazyBlob: Sendable {
    public let descriptor: Descriptor
    let sources: [BlobSource]
    let provider: LazyBlobProvider
    /// Nil when another process owns the cache entry (memory only).
    let cache: CacheEntry?
    let state: Mutex<LazyBlobState>
    /// Generation and whether writing the cache still works; held across each cache write so
    /// a dropped generation never writes into the new one.
    let writes: Mutex<(generation: UInt64, caching: Bool)>
    /// Syncing and hashing, one pass at a time, off the FUSE and concurrency threads.
    let worker: DispatchQueue

    init(descriptor: Descriptor, sources: [BlobSource], provider: LazyBlobProvider, cache: CacheEntry?) {
        self.descriptor = descriptor
        self.sources = sources
        self.provider = provider
        self.cache = cache
        let chunkSize = provider.options.chunkSize
        var chunks = ChunkBitmap(size: descriptor.size, chunkSize: chunkSize)
        if let cache, let stored = ChunkBitmap(size: descriptor.size, chunkSize: chunkSize, bytes: cache.storedChunks()) {
            chunks = stored
        }
        state = Mutex(
            LazyBlobState(size: descriptor.size, algorithm: descriptor.digest.algorithm, chunks: chunks, maximumRangeSize: provider.options.maximumRangeSize,
                memoryOnly: cache == nil))
        writes = Mutex((0, cache != nil))
        worker = DispatchQueue(label: "layoutfs.lazy.\(descriptor.digest.encoded.prefix(12))")
        // Chunks kept from an earlier run are hashed now, so a complete entry commits.
        if chunks.contiguousPrefix > 0 { kickWorker() }
    }

    /// What the `user.layoutfs.state` attribute says: `local`, `lazy P/N` or `fetching P/N`.
    public var stateDescription: String { state.withLock { $0.stateDescription } }

    /// Bytes received from registries for this blob so far.
    public var bytesFetched: Int64 { state.withLock { $0.bytesFetched } }

    /// The generation a file opened now reads (bumped each time the cache is dropped as
    /// corrupt); pass it to ``read(offset:byteCount:openedAt:completion:)``.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// True once the whole blob matched its digest: its bytes may stay in the kernel's cache.
    public var isVerified: Bool { state.withLock { $0.verified } }

    /// Reads up to `byteCount` bytes at `offset`; `completion` is called exactly once, at once
    /// when the bytes are present, else when the fetch that brings them ends.
    ///
    /// A file opened at an earlier `generation` may have been given bytes (directly or through
    /// the kernel's cache) of a generation that turned out corrupt: every later read of it fails,
    /// so its reader never reaches EOF on bad data.
    /// - Failure: `.io` when fetching failed, `.corruptBlob` when the blob did not match its
    ///   digest while the file was open.
    public func read(
        offset: Int64, byteCount: Int, openedAt: UInt64, completion: @escaping @Sendable (Result<ReadResult, ImagesError>) -> Void
    ) {
        if generation != openedAt {
            completion(.failure(ImagesError(.corruptBlob, "blob \(descriptor.digest) turned out corrupt while this file was open (it is fetched again): open it again")))
            return
        }
        let end = min(descriptor.size, offset + Int64(max(0, byteCount)))
        guard offset < end else {
            completion(.success(.bytes([])))
            return
        }
        let range = offset..<end
        let needsVerification = provider.options.verification == .strict || end == descriptor.size
        var plans: [Range<Int64>] = []
        var startBackground = false
        var generation: UInt64 = 0
        let immediate = state.withLock { state -> Result<ReadResult, ImagesError>? in
            if let result = state.serve(range, needsVerification: needsVerification, cache: cache) { return result }
            if let refusal = state.refuse(range) { return .failure(refusal) }
            state.waiters.append(LazyReadWaiter(range: range, needsVerification: needsVerification, completion: completion))
            plans = state.planner.plan(read: range)
            state.activeFetches += plans.count
            generation = state.generation
            state.prefetchBlocked = false
            let wantsBackground = (provider.options.prefetch == .onTouch && cache != nil) || (needsVerification && !state.verified)
            if wantsBackground, !state.prefetching {
                state.prefetching = true
                startBackground = true
            }
            return nil
        }
        if let immediate {
            completion(immediate)
            return
        }
        let fetchGeneration = generation
        for plan in plans {
            Task { await self.fetch(plan, generation: fetchGeneration) }
        }
        if startBackground { provider.scheduler.add(self) }
        // Everything may be present already and only the digest missing (a restart).
        kickWorker()
    }

    /// The next background fetch, planned from the first missing chunk after the hashed prefix;
    /// nil when there is nothing left (the blob leaves the scheduler).
    func nextBackgroundFetch() -> (chunks: Range<Int64>, generation: UInt64)? {
        state.withLock { state in
            // In memory, fetching ahead only serves a reader waiting for the digest.
            let wanted = !state.memoryOnly || (!state.verified && state.waiters.contains { $0.needsVerification })
            guard !state.prefetchBlocked, wanted,
                let chunks = state.planner.planNext(from: state.hashedUpTo / state.chunkSize) ?? state.planner.planNext(from: 0)
            else {
                state.prefetching = false
                return nil
            }
            state.activeFetches += 1
            return (chunks, state.generation)
        }
    }

    // MARK: Arriving chunks

    /// Stores one complete chunk that a fetch of `generation` received.
    /// - Throws: ``Superseded`` when the generation was dropped (the fetch stops).
    func store(chunk: Int64, bytes: [UInt8], generation: UInt64) throws(Superseded) {
        let offset = chunk * provider.options.chunkSize
        // Held in memory, a chunk may be dropped and fetched again: every arrival must equal the
        // first (which readers may have been served, and which the blob's digest may cover).
        if state.withLock({ $0.memoryOnly }) {
            let actual = DigestHasher.digest(of: bytes)
            let expected = state.withLock { state -> Digest? in
                guard state.generation == generation else { return nil }
                if let known = state.chunkDigests[chunk] { return known }
                state.chunkDigests[chunk] = actual
                return nil
            }
            if let expected, expected != actual {
                dropCorrupt(actual: actual, generation: generation, what: "chunk \(chunk) fetched again")
                throw Superseded()
            }
        }
        let cached = try writes.withLock { gate throws(Superseded) -> Bool in
            guard gate.generation == generation else { throw Superseded() }
            guard gate.caching, let cache else { return false }
            let failure = bytes.withUnsafeBytes { raw -> ContentStoreError? in
                do throws(ContentStoreError) {
                    try cache.write(raw, at: offset)
                    return nil
                } catch {
                    return error
                }
            }
            if let error = failure {
                gate.caching = false
                provider.logger.error(
                    "cannot cache lazy blob data; serving from memory from now on",
                    metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
                return false
            }
            return true
        }
        let answered = state.withLock { state -> [(LazyReadWaiter, Result<ReadResult, ImagesError>)] in
            guard state.generation == generation else { return [] }
            if !cached { state.memoryOnly = true }
            state.bytesFetched += Int64(bytes.count)
            state.clearFailure()
            if cached {
                state.unsynced.append(chunk)
                if state.unsyncedSince == nil { state.unsyncedSince = .now }
            } else {
                state.hold(chunk, bytes, limit: provider.options.memoryLimit)
            }
            state.planner.completed(chunk..<chunk + 1)
            return state.takeSatisfiedWaiters(cache: cache)
        }
        for (waiter, result) in answered { waiter.completion(result) }
        kickWorker()
    }

    /// A fetch of `generation` ended; `unfinished` are the claimed chunks it did not store.
    /// A fetch that failed puts the blob in the failing state: every waiting read fails now.
    func fetchEnded(unfinished: Set<Int64>, generation: UInt64, failure: ImagesError?) {
        var probe: (epoch: UInt64, delay: Duration)?
        let stranded = state.withLock { state -> [LazyReadWaiter] in
            guard state.generation == generation else { return [] }
            state.activeFetches -= 1
            for chunk in unfinished { state.planner.failed(chunk..<chunk + 1) }
            guard !unfinished.isEmpty else { return [] }
            state.prefetchBlocked = true
            if let failure {
                state.lastFetchError = failure.message
                let failing = state.enterFailing(failure)
                probe = failing.probe
                return failing.waiters
            }
            return state.takeStrandedWaiters()
        }
        if let probe { scheduleProbe(probe) }
        guard !stranded.isEmpty else { return }
        let error = failure ?? ImagesError(.io, "fetching \(descriptor.digest) ended early")
        for waiter in stranded { waiter.completion(.failure(error)) }
    }

    /// Claims every chunk neither present nor in flight (a `200` delivers the whole blob).
    func claimRemaining(generation: UInt64) -> Set<Int64> {
        state.withLock { state in
            guard state.generation == generation else { return [] }
            var claimed: Set<Int64> = []
            while let chunks = state.planner.planNext(from: 0) { claimed.formUnion(chunks) }
            return claimed
        }
    }

    /// Thrown into a fetch whose generation was dropped.
    struct Superseded: Error {}
}
