import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a mount did since it started, answered as `user.layoutfs.*` attributes of the mount
/// root (by name, never listed) and shown by `layoutfs status`.
final class MountCounters: Sendable {
    /// FUSE reads answered.
    let reads = Atomic<Int64>(0)
    /// Bytes those reads returned.
    let bytesServed = Atomic<Int64>(0)
    /// Reads answered at once, without waiting for a registry.
    let cacheHits = Atomic<Int64>(0)
    /// Reads and opens answered with an error.
    let errors = Atomic<Int64>(0)
    /// Opens answered in FUSE passthrough mode (the kernel then reads the blob's file itself).
    let passthroughOpens = Atomic<Int64>(0)

    static func add(_ counter: borrowing Atomic<Int64>, _ value: Int64 = 1) {
        counter.wrappingAdd(value, ordering: .relaxed)
    }

    /// The attribute names and values, given the provider's bytes fetched and the backing files
    /// held now (``BackingFiles/held``).
    func attributes(bytesFetched: Int64, backingFiles: Int) -> [String: Int64] {
        [
            "user.layoutfs.reads": reads.load(ordering: .relaxed),
            "user.layoutfs.bytes_served": bytesServed.load(ordering: .relaxed),
            "user.layoutfs.bytes_fetched": bytesFetched,
            "user.layoutfs.cache_hits": cacheHits.load(ordering: .relaxed),
            "user.layoutfs.errors": errors.load(ordering: .relaxed),
            "user.layoutfs.passthrough_opens": passthroughOpens.load(ordering: .relaxed),
            "user.layoutfs.backing_files": Int64(backingFiles),
            // Who serves the mount, for `layoutfs unmount` of another store's mount.
            "user.layoutfs.pid": Int64(getpid()),
        ]
    }
}
