import ImageStore
import ContentStore
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
package final class LazyBlobProvider: Sendable {
    let store: Store
    let client: RegistryClient
    let options: LazyReadOptions
    let logger: Logger
    let scheduler: BackgroundFetches
    private let blobs = Mutex<[Digest: LazyBlob]>([:])
    private let corruptionHandler = Mutex<(@Sendable (Digest) -> Void)?>(nil)

    /// - Parameters:
    ///   - client: used for every fetch; must outlive the provider's use.
    ///   - logger: fetch failures, digest mismatches, commits.
    package init(store: Store, client: RegistryClient, options: LazyReadOptions = LazyReadOptions(), logger: Logger) {
        self.store = store
        self.client = client
        self.options = options
        self.logger = logger
        self.scheduler = BackgroundFetches(limit: options.prefetchConcurrency)
    }

    /// Opens `descriptor`'s blob: the store's file when local, else its lazy blob (one per
    /// digest for the provider's life; it takes ownership of the cache entry, or holds chunks
    /// in memory when another process owns it).
    /// - Throws: `.missingBlob` when it is neither local nor recorded with a source; `.io`.
    package func open(_ descriptor: Descriptor) throws(ImagesError) -> OpenedBlob {
        let digest = descriptor.digest
        if store.hasBlob(digest) {
            do {
                return .local(try store.openBlob(digest))
            } catch where error.code != .notFound {
                throw ImagesError(error, "cannot open blob \(digest)")
            } catch {}
        }
        return .lazy(try blobs.withLock { blobs throws(ImagesError) -> LazyBlob in
            if let blob = blobs[digest] { return blob }
            let sources: [BlobSource]
            do throws(ContentStoreError) {
                sources = try store.lazyBlobs.lazyBlob(digest)?.sources ?? []
            } catch {
                throw ImagesError(error, "cannot look up the sources of \(digest)")
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
            let blob = LazyBlob(descriptor: descriptor, sources: sources, provider: self, cache: cache)
            blobs[digest] = blob
            return blob
        })
    }

    /// `local`, `lazy P/N` or `fetching P/N` (bytes present of N).
    package func state(of descriptor: Descriptor) -> String {
        if store.hasBlob(descriptor.digest) { return "local" }
        if let blob = blobs.withLock({ $0[descriptor.digest] }) { return blob.stateDescription }
        let stored = CacheEntry.peekChunks(cacheRoot: store.location.cacheRoot, digest: descriptor.digest)
        let present = ChunkBitmap(size: descriptor.size, chunkSize: options.chunkSize, bytes: stored)?.presentBytes ?? 0
        return "lazy \(present)/\(descriptor.size)"
    }

    /// True when the kernel may hold pages of `digest` that this mount served unverified (it
    /// was lazy here and never verified here, though it may be local now, committed by someone
    /// else): an open must not keep them.
    package func mayHoldUnverifiedPages(_ digest: Digest) -> Bool {
        guard let blob = blobs.withLock({ $0[digest] }) else { return false }
        return !blob.isVerified && blob.bytesFetched > 0
    }

    /// A read of `digest` waited `deadline` and is answered `EIO`: its lazy blob fails its other
    /// waiting reads now and refuses new ones at once while it retries in the background
    /// (``LazyBlob/readTimedOut(after:)``).
    /// - Returns: why the bytes did not come; nil for a blob not opened lazily here.
    package func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? {
        blobs.withLock { $0[digest] }?.readTimedOut(after: deadline)
    }

    /// Bytes received from registries for every lazy blob opened so far.
    package var bytesFetched: Int64 { blobs.withLock { Array($0.values) }.reduce(0) { $0 + $1.bytesFetched } }

    /// Sets what runs (on a worker thread, never a FUSE request thread) when a blob turned out
    /// corrupt and its cache was dropped: the mount evicts the kernel's pages of it.
    package func onCorruption(_ handler: @escaping @Sendable (Digest) -> Void) {
        corruptionHandler.withLock { $0 = handler }
    }

    func reportCorruption(_ digest: Digest) {
        corruptionHandler.withLock { $0 }?(digest)
    }
}
