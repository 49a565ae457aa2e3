import ContentStore
import ImageStore
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
/// The decisions are ``LazyBlobMachine``'s (no I/O); this driver delivers events to it and
/// performs the actions it returns (``perform(_:)``): reads of the cache file, writes, syncs,
/// hashing, fetches, timers.
///
/// Threads: fetches run in tasks the provider keeps (``ProviderLifetime``: one per planned
/// range, and the background scheduler's) and hand each received chunk's write to the blocking
/// pool (`BlockingWork`); syncing, hashing and committing run there too, one worker pass at a
/// time (the machine's ``LazyBlobMachine/WorkerPass``); probes and sync checks are timers on
/// `BlockingWork`'s event loop that only deliver events. Completions run on those threads or
/// the caller's, never under a lock. Everything ends at ``LazyBlobProvider/shutdown()``.
///
/// Locks, and their order:
/// - `core` (the machine and the completions of waiting reads): held only to deliver one event
///   and take its actions, never during I/O, a completion, or a call into the provider, the
///   logger or the scheduler. Nothing else is taken while holding it.
/// - `cacheWrites` serializes every change of the cache entry (a data write, storing or
///   forgetting the chunks file, the commit) with the check that its generation is still the
///   machine's: a write of a dropped generation never lands in the next one's file. It may take
///   `core` (briefly, for the check) while held; `core` is never held while taking it.
/// - The background scheduler's lock may take `core` (``nextBackgroundFetch()``); the
///   provider's table of blobs is never held while a blob's lock is taken, nor during I/O
///   (a blob is set up outside it; its other openers wait on its ``OpeningSlot`` holding no
///   lock).
/// - The provider's ``ProviderLifetime`` lock is taken last: nothing is taken while holding it.
///
/// Reads of the cache file (answers, hashing) take no lock: bytes of a chunk the machine named
/// present are never rewritten within its generation.
///
/// Thread-safe.
package final class LazyBlob: Sendable {
    package let descriptor: Descriptor
    let sources: [BlobSource]
    let provider: LazyBlobProvider
    /// Nil when another process owns the cache entry (memory only).
    let cache: CacheEntry?
    let core: Mutex<Core>
    let cacheWrites = Mutex(())

    init(descriptor: Descriptor, sources: [BlobSource], provider: LazyBlobProvider, cache: CacheEntry?) {
        self.descriptor = descriptor
        self.sources = sources
        self.provider = provider
        self.cache = cache
        let machine = LazyBlobMachine(
            descriptor: descriptor, sources: sources, options: provider.options, hasCacheFile: cache != nil, storedChunks: cache?.storedChunks() ?? [])
        core = Mutex(Core(machine: machine))
        run { $0.started() }
    }

    /// What the `user.layoutfs.state` attribute says: `local`, `lazy P/N` or `fetching P/N`.
    package var stateDescription: String { core.withLock { $0.machine.stateDescription } }

    /// Bytes received from registries for this blob so far.
    package var bytesFetched: Int64 { core.withLock { $0.machine.bytesFetched } }

    /// The generation a file opened now reads (bumped each time the cache is dropped as
    /// corrupt); pass it to ``read(offset:byteCount:openedAt:completion:)``.
    package var generation: UInt64 { core.withLock { $0.machine.generation } }

    /// True once the whole blob matched its digest: its bytes may stay in the kernel's cache.
    package var isVerified: Bool { core.withLock { $0.machine.verified } }

    /// Reads up to `byteCount` bytes at `offset`; `completion` is called exactly once, at once
    /// when the bytes are present, else when the fetch that brings them ends.
    ///
    /// A file opened at an earlier `generation` may have been given bytes (directly or through
    /// the kernel's cache) of a generation that turned out corrupt: every later read of it fails,
    /// so its reader never reaches EOF on bad data.
    /// - Failure: `.io` when fetching failed, `.corruptBlob` when the blob did not match its
    ///   digest while the file was open.
    package func read(
        offset: Int64, byteCount: Int, openedAt: UInt64, completion: @escaping @Sendable (Result<ReadResult, ImagesError>) -> Void
    ) {
        let pending = core.withLock { core in
            let waiter = core.park(completion)
            let actions = core.machine.readRequested(offset: offset, byteCount: byteCount, openedAt: openedAt, waiter: waiter)
            return core.take(actions)
        }
        perform(pending)
    }

    /// The next background fetch, planned from the first missing chunk after the hashed prefix;
    /// nil when there is nothing left (the blob leaves the scheduler).
    func nextBackgroundFetch() -> (chunks: Range<Int64>, generation: UInt64)? {
        core.withLock { $0.machine.backgroundFetchWanted() }.map { ($0.chunks, $0.generation) }
    }

    // MARK: Fetches

    /// The source a fetch tries first.
    var firstSourceIndex: Int { core.withLock { $0.machine.sourceIndex } }

    /// Stores one complete chunk that a fetch of `generation` received: into the cache file
    /// (under `cacheWrites`, checked against the machine's generation) or in memory. Blocks
    /// (`pwrite`, and the answers it leads to): call it on the blocking pool.
    /// - Throws: ``Superseded`` when the generation was dropped (the fetch stops).
    func store(chunk: Int64, bytes: [UInt8], generation: UInt64) throws(Superseded) {
        let offset = chunk * provider.options.chunkSize
        var writeError: ContentStoreError?
        let written = try cacheWrites.withLock { _ throws(Superseded) -> Bool in
            switch core.withLock({ $0.machine.disposition(ofChunkFrom: generation) }) {
            case .superseded:
                throw Superseded()
            case .holdInMemory:
                return false
            case .writeToCache:
                guard let cache else { return false }
                writeError = bytes.withUnsafeBytes { raw -> ContentStoreError? in
                    do throws(ContentStoreError) {
                        try cache.write(raw, at: offset)
                        return nil
                    } catch {
                        return error
                    }
                }
                guard writeError == nil else {
                    core.withLock { $0.machine.cacheWriteFailed() }
                    return false
                }
                return true
            }
        }
        if let writeError {
            provider.logger.error(
                "cannot cache lazy blob data; serving from memory from now on", metadata: ["digest": "\(descriptor.digest)", "error": "\(writeError)"])
        }
        let storage: LazyChunkStorage = written ? .cached : .held(bytes, DigestHasher.digest(of: bytes))
        var superseded = false
        let pending = core.withLock { core in
            let actions = core.machine.chunkArrived(chunk, byteCount: bytes.count, generation: generation, storage: storage, now: .now)
            superseded = core.machine.generation != generation
            return core.take(actions)
        }
        perform(pending)
        if superseded { throw Superseded() }
    }

    /// A fetch of `generation` ended; `unfinished` are the claimed chunks it did not store.
    /// A fetch that failed puts the blob in the failing state: every waiting read fails now.
    func fetchEnded(unfinished: Set<Int64>, generation: UInt64, failure: ImagesError?) {
        run { $0.fetchEnded(unfinished: unfinished, generation: generation, failure: failure) }
    }

    /// Claims every chunk neither present nor in flight (a `200` delivers the whole blob).
    func claimRemaining(generation: UInt64) -> Set<Int64> {
        core.withLock { $0.machine.claimRemaining(generation: generation) }
    }

    /// Records a failed attempt of a fetch (it may be resumed or retried).
    func noteFetchError(_ error: ImagesError) {
        core.withLock { $0.machine.fetchAttemptFailed(error.message) }
    }

    /// Thrown into a fetch whose generation was dropped.
    struct Superseded: Error {}
}
