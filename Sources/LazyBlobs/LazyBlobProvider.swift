import BlockingWork
import ContentStore
import ImageStore
import Logging
import OCISpec
import Registry
import Synchronization

/// A blob opened for reading: local in the store, or lazy (fetched on demand).
package enum OpenedBlob: Sendable {
    case local(BlobFile)
    case lazy(LazyBlob)
}

/// Blob content for a mount that shows lazy blobs: local blobs from the store, the others
/// through one ``LazyBlob`` each (cache entries under `<root>/cache`, fetched from the sources
/// `pull --lazy` recorded).
///
/// FUSE threads never wait on SQLite or on another blob: the sources of the blobs a mount shows
/// are looked up ahead (``prepare(_:)``, on the blocking pool), and a lazy blob is set up (its
/// cache entry opened) by its first opener outside the provider's lock, other openers of that
/// digest waiting on its slot only.
///
/// What it starts (fetches, worker passes, timers) ends at ``shutdown()``.
package final class LazyBlobProvider: Sendable {
    let store: Store
    let client: RegistryClient
    let options: LazyReadOptions
    let logger: Logger
    let lifetime = ProviderLifetime()
    let scheduler: BackgroundFetches
    private let table = Mutex(Table())
    private let corruptionHandler = Mutex<(@Sendable (Digest) -> Void)?>(nil)

    /// What the provider's lock guards: never held during I/O.
    private struct Table {
        /// The lazy blobs opened so far, one per digest for the provider's life.
        var blobs: [Digest: LazyBlob] = [:]
        /// Blobs being set up by their first opener.
        var opening: [Digest: OpeningSlot] = [:]
        /// Sources looked up ahead by ``prepare(_:)``.
        var sources: [Digest: [BlobSource]] = [:]
        /// Opens that had to look their sources up themselves (the rare path).
        var lookUpsOnOpen = 0
    }

    /// - Parameters:
    ///   - client: used for every fetch; must outlive the provider's use (until ``shutdown()``
    ///     returned).
    ///   - logger: fetch failures, digest mismatches, commits.
    package init(store: Store, client: RegistryClient, options: LazyReadOptions = LazyReadOptions(), logger: Logger) {
        self.store = store
        self.client = client
        self.options = options
        self.logger = logger
        self.scheduler = BackgroundFetches(limit: options.prefetchConcurrency, lifetime: lifetime)
    }

    /// Looks up in meta.db the sources of the blobs of `descriptors` that are recorded as lazy
    /// and not known yet, so that ``open(_:)`` finds them in memory: one query for the recorded
    /// digests, then one per lazy blob of `descriptors` (a mount of local blobs costs one
    /// query). Blocks (SQLite): call it on the blocking pool before a tree shows these blobs
    /// (the mount's first generation, and each one a followed name moves to). What cannot be
    /// looked up is logged and left for ``open(_:)`` to look up.
    package func prepare(_ descriptors: [Descriptor]) {
        let recorded: Set<Digest>
        do throws(ContentStoreError) {
            recorded = Set(try store.lazyBlobs.lazyDigests())
        } catch {
            logger.warning("cannot list the lazy blobs ahead; their first opens will look them up", metadata: ["error": "\(error)"])
            return
        }
        let known = table.withLock { Set($0.sources.keys).union($0.blobs.keys) }
        var found: [Digest: [BlobSource]] = [:]
        for descriptor in descriptors {
            let digest = descriptor.digest
            guard recorded.contains(digest), !known.contains(digest), found[digest] == nil else { continue }
            do throws(ContentStoreError) {
                if let sources = try store.lazyBlobs.lazyBlob(digest)?.sources, !sources.isEmpty { found[digest] = sources }
            } catch {
                logger.warning("cannot look up the sources of a lazy blob ahead; its first open will", metadata: ["digest": "\(digest)", "error": "\(error)"])
            }
        }
        guard !found.isEmpty else { return }
        table.withLock { $0.sources.merge(found) { _, new in new } }
    }

    /// Opens `descriptor`'s blob: the store's file when local, else its lazy blob (one per
    /// digest for the provider's life; it takes ownership of the cache entry, or holds chunks
    /// in memory when another process owns it). Runs on FUSE request threads: it reads meta.db
    /// only for a blob nobody prepared (``prepare(_:)``).
    /// - Throws: `.missingBlob` when it is neither local nor recorded with a source; `.io`.
    package func open(_ descriptor: Descriptor) throws(ImagesError) -> OpenedBlob {
        let digest = descriptor.digest
        if store.hasBlob(digest) {
            do {
                return .local(try store.openBlob(digest))
            } catch  where error.code != .notFound {
                throw ImagesError(error, "cannot open blob \(digest)")
            } catch {}
        }
        return .lazy(try lazyBlob(descriptor))
    }

    /// The lazy blob of `descriptor`: the one opened already, else set up now by this caller
    /// (outside the provider's lock), or by the caller that came first (waited for).
    private func lazyBlob(_ descriptor: Descriptor) throws(ImagesError) -> LazyBlob {
        let digest = descriptor.digest
        enum Turn {
            case opened(LazyBlob)
            case wait(OpeningSlot)
            case setUp(OpeningSlot, prepared: [BlobSource]?)
        }
        let turn = table.withLock { table -> Turn in
            if let blob = table.blobs[digest] { return .opened(blob) }
            if let slot = table.opening[digest] { return .wait(slot) }
            let slot = OpeningSlot()
            table.opening[digest] = slot
            return .setUp(slot, prepared: table.sources[digest])
        }
        switch turn {
        case .opened(let blob):
            return blob
        case .wait(let slot):
            return try slot.wait().get()
        case .setUp(let slot, let prepared):
            let result = Result { () throws(ImagesError) in try setUp(descriptor, prepared: prepared) }
            table.withLock { table in
                table.opening[digest] = nil
                if case .success(let blob) = result { table.blobs[digest] = blob }
            }
            slot.fill(result)
            return try result.get()
        }
    }

    /// Sets a lazy blob up: its sources (`prepared`, else looked up now), its cache entry
    /// (opened, `flock`ed and its chunks file read: local file I/O, no lock of the provider held).
    private func setUp(_ descriptor: Descriptor, prepared: [BlobSource]?) throws(ImagesError) -> LazyBlob {
        let digest = descriptor.digest
        var sources = prepared ?? []
        if prepared == nil {
            // The rare path: a blob nobody prepared (its look-up ahead failed, or a caller that
            // does not prepare): meta.db is read here, on the opener's thread.
            table.withLock { $0.lookUpsOnOpen += 1 }
            do throws(ContentStoreError) {
                sources = try store.lazyBlobs.lazyBlob(digest)?.sources ?? []
            } catch {
                throw ImagesError(error, "cannot look up the sources of \(digest)")
            }
        }
        guard !sources.isEmpty else {
            throw ImagesError(.missingBlob, "blob \(digest) is neither local nor recorded with a source to fetch it from")
        }
        var cache: CacheEntry?
        do {
            cache = try CacheEntry.open(cacheRoot: store.location.cacheRoot, digest: digest, size: descriptor.size)
            if cache == nil {
                logger.notice("another process owns the cache entry; holding chunks in memory", metadata: ["digest": "\(digest)"])
            }
        } catch {
            logger.error("cannot open the cache entry; holding chunks in memory", metadata: ["digest": "\(digest)", "error": "\(error)"])
        }
        return LazyBlob(descriptor: descriptor, sources: sources, provider: self, cache: cache)
    }

    /// Ends what the provider started: no fetch, worker pass or timer starts any more, the
    /// fetches under way are cancelled (their waiting reads fail with `.io`; a chunk not
    /// complete is never written, a blob not verified never committed), and it returns once
    /// they have all ended. Call it when the mount's session ended, before the registry client
    /// shuts down.
    package func shutdown() async {
        await lifetime.shutdown()
        // The batches a cancelled timer would have synced are synced now (blocking I/O: on the
        // blocking pool), so that an unmount right after a read keeps what it fetched.
        let blobs = table.withLock { Array($0.blobs.values) }
        _ = try? await BlockingWork.run {
            for blob in blobs { blob.run { $0.shuttingDown() } }
        }
    }

    /// How many opens had to look their blob's sources up in meta.db themselves (for tests:
    /// none after ``prepare(_:)``).
    var lookUpsOnOpen: Int { table.withLock { $0.lookUpsOnOpen } }

    /// `local`, `lazy P/N` or `fetching P/N` (bytes present of N).
    package func state(of descriptor: Descriptor) -> String {
        if store.hasBlob(descriptor.digest) { return "local" }
        if let blob = table.withLock({ $0.blobs[descriptor.digest] }) { return blob.stateDescription }
        let stored = CacheEntry.peekChunks(cacheRoot: store.location.cacheRoot, digest: descriptor.digest)
        let present = ChunkBitmap(size: descriptor.size, chunkSize: options.chunkSize, bytes: stored)?.presentBytes ?? 0
        return "lazy \(present)/\(descriptor.size)"
    }

    /// True when the kernel may hold pages of `digest` that this mount served unverified (it
    /// was lazy here and never verified here, though it may be local now, committed by someone
    /// else): an open must not keep them.
    package func mayHoldUnverifiedPages(_ digest: Digest) -> Bool {
        guard let blob = table.withLock({ $0.blobs[digest] }) else { return false }
        return !blob.isVerified && blob.bytesFetched > 0
    }

    /// A read of `digest` waited `deadline` and is answered `EIO`: its lazy blob fails its other
    /// waiting reads now and refuses new ones at once while it retries in the background
    /// (``LazyBlob/readTimedOut(after:)``).
    /// - Returns: why the bytes did not come; nil for a blob not opened lazily here.
    package func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? {
        table.withLock { $0.blobs[digest] }?.readTimedOut(after: deadline)
    }

    /// Bytes received from registries for every lazy blob opened so far.
    package var bytesFetched: Int64 { table.withLock { Array($0.blobs.values) }.reduce(0) { $0 + $1.bytesFetched } }

    /// Sets what runs (on a worker thread, never a FUSE request thread) when a blob turned out
    /// corrupt and its cache was dropped: the mount evicts the kernel's pages of it.
    package func onCorruption(_ handler: @escaping @Sendable (Digest) -> Void) {
        corruptionHandler.withLock { $0 = handler }
    }

    func reportCorruption(_ digest: Digest) {
        corruptionHandler.withLock { $0 }?(digest)
    }
}
