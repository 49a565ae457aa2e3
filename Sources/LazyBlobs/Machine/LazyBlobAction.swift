import ContentStore
import ImageStore
import OCISpec

/// Identifies one waiting read of a lazy blob; handed to ``LazyBlobMachine`` by its driver,
/// which keeps the read's completion under the same lock.
package typealias LazyReadWaiterID = UInt64

/// What a ``LazyBlobMachine`` asks its driver (``LazyBlob``) to do, in order, after the lock is
/// released. Actions that do I/O report back as events (named on each case).
package enum LazyBlobAction: Sendable {
    /// Answer the waiting read `waiter` (exactly once).
    case answer(LazyReadWaiterID, LazyReadAnswer)
    /// Fetch `chunks` (chunk indexes, half-open, already claimed in flight) for `generation`:
    /// each chunk as it arrives goes through ``LazyBlobMachine/disposition(ofChunkFrom:)`` and
    /// ``LazyBlobMachine/chunkArrived(_:byteCount:generation:storage:now:)``; the end is
    /// ``LazyBlobMachine/fetchEnded(unfinished:generation:failure:)``.
    case fetch(chunks: Range<Int64>, generation: UInt64)
    /// Queue the blob in the background scheduler (``BackgroundFetches``), which asks
    /// ``LazyBlobMachine/backgroundFetchWanted()`` for each fetch.
    case addToBackgroundFetches
    /// Queue one worker pass off the FUSE and concurrency threads:
    /// ``LazyBlobMachine/workerPassStarted(now:)``, its actions, then
    /// ``LazyBlobMachine/workerPassEnded()`` (the machine never asks for two at once).
    case runWorkerPass
    /// After `after`, deliver ``LazyBlobMachine/syncCheckDue()``.
    case scheduleSyncCheck(after: Duration)
    /// `fdatasync` the cache file, then deliver ``LazyBlobMachine/dataSynced(_:generation:succeeded:)``.
    case syncData(chunks: [Int64], generation: UInt64)
    /// Write `bits` into the chunks file and sync it, if `generation` is still current under
    /// the cache write lock (errors are only logged: the chunks are fetched again after a restart).
    case storeChunkBits([UInt8], generation: UInt64)
    /// Hash one chunk (its held bytes, else its range read from the cache file), then deliver
    /// ``LazyBlobMachine/hashStepDone(_:succeeded:)`` with the advanced hasher.
    case hash(LazyHashStep)
    /// Commit the verified cache file into the store if `generation` is current and caching
    /// under the cache write lock, then deliver ``LazyBlobMachine/committed(generation:)``.
    case commit(generation: UInt64)
    /// The bytes did not match: log it, and (with a cache entry) forget its stored chunks
    /// under the cache write lock, then deliver
    /// ``LazyBlobMachine/storedChunksForgotten(generation:succeeded:)``.
    case dropCache(LazyCorruption)
    /// Have the kernel's pages of the blob evicted (the provider's corruption handler).
    case evictKernelPages
    /// After `after`, deliver ``LazyBlobMachine/probeDue(epoch:)``.
    case scheduleProbe(epoch: UInt64, after: Duration)
}

/// The answer to a read, before the driver reads anything.
package enum LazyReadAnswer: Sendable {
    /// The bytes at this range (half-open, bytes into the blob) of the cache file: a reply may
    /// be spliced from it.
    case file(Range<Int64>)
    /// The reply's bytes in order: held chunks' bytes and ranges of the cache file to read.
    /// Empty: a read at or past the end of the blob.
    case pieces([LazyReadPiece])
    /// The read fails: `.io` (fetching failed, refused while failing), `.corruptBlob` (the
    /// blob did not match, or the file was opened at a dropped generation).
    case failure(ImagesError)
}

/// One part of an assembled reply.
package enum LazyReadPiece: Sendable, Equatable {
    /// Bytes of a chunk held in memory.
    case held(ArraySlice<UInt8>)
    /// A range of the cache file (half-open, bytes into the blob) to read.
    case file(Range<Int64>)
}

/// Where an arrived chunk went.
package enum LazyChunkStorage: Sendable {
    /// Written into the cache file (not synced yet).
    case cached
    /// Kept in memory (no cache entry, or writing it failed), with the SHA-256 of its bytes.
    case held([UInt8], Digest)
}

/// What the driver does with a chunk a fetch received, decided under the cache write lock.
package enum LazyChunkDisposition: Sendable, Equatable {
    /// Write it into the cache file (while still holding the cache write lock).
    case writeToCache
    /// Keep it in memory.
    case holdInMemory
    /// Its generation was dropped: the fetch stops.
    case superseded
}

/// One step of hashing the blob's contiguous prefix: the driver feeds the chunk's bytes to
/// `hasher` off the lock.
package struct LazyHashStep: Sendable {
    /// The prefix's hasher; the machine has none while a step holds it.
    package var hasher: DigestHasher
    /// The chunk's index.
    package let chunk: Int64
    /// The chunk's bytes in the blob, half-open.
    package let byteRange: Range<Int64>
    /// The chunk's bytes when held in memory; nil: read `byteRange` from the cache file.
    package let held: [UInt8]?
    /// The generation the step belongs to (a step of a dropped one is ignored).
    package let generation: UInt64
}

/// A blob (or a chunk fetched again) that did not match: what the log line names.
package struct LazyCorruption: Sendable, Equatable {
    /// `blob`, or `chunk N fetched again`.
    package let what: String
    /// The digest the bytes had.
    package let actual: Digest
    /// The source that sent them.
    package let source: BlobSource
    /// The generation that starts empty.
    package let generation: UInt64
}

/// A background fetch: chunk indexes (half-open, claimed in flight) and their generation.
package struct LazyFetchPlan: Sendable, Equatable {
    /// Chunk indexes, half-open.
    package let chunks: Range<Int64>
    /// The generation the fetch delivers to.
    package let generation: UInt64
}
