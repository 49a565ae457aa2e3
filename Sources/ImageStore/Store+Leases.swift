import ContentStore
import OCISpec

extension Store {
    /// Holds `roots` and their closures against `prune` for as long as the returned record
    /// lives (a running mount's lease, DESIGN.md "On disk": `leases/<id>`); the kernel frees it
    /// if the holder dies. Update it with ``updateLease(_:roots:)``.
    /// - Throws: `.io`, `.noSpace`.
    package func lease(_ roots: [Descriptor]) throws(ImagesError) -> LockedRecord {
        do {
            return try LockedRecord(in: location.leasesDirectory, contents: ImageIndex(manifests: roots).json.encoded)
        } catch {
            throw ImagesError(error, "cannot create a lease in \(location.leasesDirectory)")
        }
    }

    /// Replaces what a lease holds.
    package func updateLease(_ lease: LockedRecord, roots: [Descriptor]) throws(ImagesError) {
        do {
            try lease.update(ImageIndex(manifests: roots).json.encoded)
        } catch {
            throw ImagesError(error, "cannot update the lease \(lease.id)")
        }
    }

    /// The roots held by live leases (stale leases are removed on the way), and how many
    /// leases there are.
    /// - Throws: `.invalidLayout` for a live lease that cannot be read (prune must then stop).
    package func leasedRoots(removeStale: Bool = true) throws(ImagesError) -> (roots: [Descriptor], leases: Int) {
        let records = LockedRecord.live(in: location.leasesDirectory, removeStale: removeStale)
        var roots: [Descriptor] = []
        for record in records {
            do {
                guard let contents = record.contents else { throw ImagesError(.io, "it is unreadable or too large") }
                roots += try ImageIndex(bytes: contents, maximumSize: 64 << 20).manifests
            } catch {
                throw ImagesError(.invalidLayout, "the live lease \(location.leasesDirectory)/\(record.id).json cannot be read: \(error)")
            }
        }
        return (roots, records.count)
    }
}
