import ContentStore
import OCISpec

/// `layoutfs prune`: deletes the blobs and cache entries that no image name and no live lease
/// reaches, and the lazy records nothing needs (DESIGN.md "On disk": leases, `gc.lock`).
///
/// Holds `gc.lock` exclusively for the whole run, so an import, pull or export (which hold it
/// shared until their names are bound) never loses its fresh blobs, and a mount starting up
/// has its lease before prune looks. When any closure cannot be walked, nothing is deleted.
package struct Pruner {
    /// What a run freed (or would free, with `dryRun`).
    package struct Report: Sendable, Equatable {
        package init() {}

        package var blobs = 0
        package var blobBytes: Int64 = 0
        package var cacheEntries = 0
        package var cacheBytes: Int64 = 0
        package var lazyRecords = 0
        /// Layer indexes (of rootfs views) whose layer nothing keeps.
        package var layerIndexes = 0
        package var layerIndexBytes: Int64 = 0
        package var ingests = 0
        /// What stays.
        package var keptBlobs = 0
        package var images = 0
        package var leases = 0

    }

    private let store: Store

    package init(store: Store) { self.store = store }

    /// Prunes.
    /// - Parameters:
    ///   - dryRun: report only.
    ///   - waiting: called once when `gc.lock` is busy (an import, pull or export is running).
    /// - Throws: `.missingBlob`/`.corruptBlob` naming the image whose closure cannot be walked,
    ///   `.invalidLayout` for an unreadable lease, `.io`; nothing is deleted then.
    package func prune(dryRun: Bool = false, waiting: () -> Void = {}) throws(ImagesError) -> Report {
        let lock: GCLock
        do {
            lock = try GCLock(root: store.location.root, exclusive: true, waiting: waiting)
        } catch {
            throw ImagesError(error, "cannot take the store's gc.lock")
        }
        defer { withExtendedLifetime(lock) {} }
        var report = Report()
        let records: [ImageRecord]
        do {
            records = try store.images.images()
        } catch {
            throw ImagesError(error, "cannot list the images")
        }
        let leased = try store.leasedRoots(removeStale: !dryRun)
        report.images = records.count
        report.leases = leased.leases
        var keep: Set<Digest> = []
        for record in records {
            let walker: ClosureWalker
            do {
                walker = try store.closure(of: record.target, imageName: record.name)
            } catch {
                throw ImagesError(error.code, "\(error.message); nothing was pruned (remove or re-pull that image first)", underlying: error)
            }
            for blob in walker.blobs { keep.insert(blob.digest) }
            keep.insert(record.target.digest)
        }
        // A mount may show an image some of whose blobs are already gone: keep all that is left.
        for root in leased.roots {
            keep.insert(root.digest)
            do {
                for blob in try store.closure(of: root, imageName: "leased \(root.digest)", skippingMissing: true).blobs { keep.insert(blob.digest) }
            } catch {
                throw ImagesError(error.code, "\(error.message); nothing was pruned", underlying: error)
            }
        }
        for digest in store.content.walk() {
            if keep.contains(digest) {
                report.keptBlobs += 1
                continue
            }
            report.blobs += 1
            report.blobBytes += store.content.size(of: digest) ?? 0
            if !dryRun { store.content.delete(digest) }
        }
        for digest in CacheEntry.digests(cacheRoot: store.location.cacheRoot) where !keep.contains(digest) || store.content.contains(digest) {
            if dryRun {
                report.cacheEntries += 1
            } else if let freed = CacheEntry.remove(cacheRoot: store.location.cacheRoot, digest: digest) {
                report.cacheEntries += 1
                report.cacheBytes += freed
            }
        }
        do {
            let unneeded = try store.lazyBlobs.lazyDigests().filter { !keep.contains($0) || store.content.contains($0) }
            report.lazyRecords = unneeded.count
            if !dryRun { try store.lazyBlobs.forgetLazy(unneeded) }
        } catch {
            throw ImagesError(error, "cannot clear lazy records")
        }
        let indexes = LayerIndexFiles(location: store.location)
        for (digest, bytes) in indexes.walk() where !keep.contains(digest) {
            report.layerIndexes += 1
            report.layerIndexBytes += bytes
            if !dryRun { indexes.remove(digest) }
        }
        if !dryRun {
            indexes.removeLeftovers()
            report.ingests = store.content.removeStaleIngests()
        }
        return report
    }
}
