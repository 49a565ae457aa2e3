import ImageStore

/// How the mount reads lazy blobs (DESIGN.md "The mount", lazy blobs).
package struct LazyReadOptions: Sendable {
    /// What happens after the first read of a lazy blob.
    package enum Prefetch: String, Sendable, CaseIterable {
        /// The rest of the blob is fetched in the background (the default).
        case onTouch = "on-touch"
        /// Only what readers ask for is fetched.
        case none
    }

    /// Which reads wait for the whole-blob digest.
    package enum Verification: String, Sendable, CaseIterable {
        /// Only the read that covers the last byte (so sequential readers never reach EOF on bad
        /// data; random readers may see bytes before verification). The default.
        case eof
        /// Every read: the whole blob is fetched and verified before any byte is served.
        case strict
    }

    package var prefetch: Prefetch
    package var verification: Verification
    /// Chunk size in bytes (the unit of fetching, caching and the bitmap).
    package var chunkSize: Int64
    /// Largest single `Range` request in bytes.
    package var maximumRangeSize: Int64
    /// Background (prefetch) fetches at once, over all blobs.
    package var prefetchConcurrency: Int
    /// Fetched data is made durable after this many bytes or `syncInterval`, whichever first.
    package var syncBytes: Int64
    package var syncInterval: Duration
    /// Bytes of chunks held in memory when they cannot be cached on disk (disk full, or another
    /// process owns the cache entry).
    package var memoryLimit: Int64
    /// A transfer that moves less than 1 MiB in this long is abandoned (a registry that trickles
    /// bytes never trips a read timeout); its readers get an error, the next read tries again.
    package var stallTimeout: Duration

    package init(
        prefetch: Prefetch = .onTouch, verification: Verification = .eof, chunkSize: Int64 = ChunkBitmap.defaultChunkSize,
        maximumRangeSize: Int64 = 8 << 20, prefetchConcurrency: Int = 4, syncBytes: Int64 = 8 << 20,
        syncInterval: Duration = .milliseconds(100), memoryLimit: Int64 = 64 << 20, stallTimeout: Duration = .seconds(30)
    ) {
        self.stallTimeout = stallTimeout
        self.prefetch = prefetch
        self.verification = verification
        self.chunkSize = chunkSize
        self.maximumRangeSize = maximumRangeSize
        self.prefetchConcurrency = prefetchConcurrency
        self.syncBytes = syncBytes
        self.syncInterval = syncInterval
        self.memoryLimit = memoryLimit
    }
}
