import ContentStore
import ImageStore
import LazyBlobs
import OCISpec

/// `layoutfs check`: re-hashes committed store blobs (all of them, or the closures of some
/// images) and complete cache entries, and names the images each corrupt one breaks. What
/// `podman system check`, `git fsck` and a ZFS scrub do for their stores.
///
/// ``repair(_:client:)`` (in `StoreChecker+Repair.swift`) removes what is corrupt and fetches
/// it again from its sources. Callers hold `gc.lock` shared, as other writers do.
package struct StoreChecker {
    /// One corrupt blob or cache entry.
    package struct Finding: Sendable {
        /// Where the bad bytes are.
        package enum Location: String, Sendable {
            /// `content/blobs/<alg>/<hex>`: a committed blob.
            case store
            /// `cache/<alg>/<hex>`: a complete, uncommitted lazy blob's cache entry.
            case cache
        }

        /// What became of it.
        package enum Outcome: Sendable, Equatable {
            /// Reported only (no `--repair`).
            case found
            /// Removed and fetched again, verified, from this source.
            case refetched(BlobSource)
            /// Removed, and nothing is damaged: no image needs the blob, or (a cache entry) its
            /// lazy record stays and a read fetches it again.
            case removed
            /// Removed, but no source restored it: each attempt's failure.
            case unrepaired([String])
        }

        package var digest: Digest
        package var location: Location
        /// Bytes of the corrupt file.
        package var size: Int64
        /// What its bytes hash to.
        package var actualDigest: Digest
        /// The images whose closure holds it: names, or root digests for unnamed images.
        package var images: [String]
        /// The blob's descriptor from a closure or lazy record (what a refetch needs), if known.
        package var descriptor: Descriptor?
        /// Where it can be fetched again: the lazy record's sources, then the repositories of
        /// the image names that reach it.
        package var sources: [BlobSource]
        package var outcome: Outcome = .found

        /// True when bad bytes remain, or images stay damaged.
        package var remains: Bool {
            switch outcome {
            case .found: return true
            case .refetched, .removed: return false
            case .unrepaired: return !images.isEmpty
            }
        }

        /// What was done, or what the user should do, in one sentence.
        package var advice: String {
            switch outcome {
            case .found:
                if images.isEmpty && location == .store { return "no image needs it: layoutfs check --repair (or prune) removes it" }
                if let source = sources.first { return "layoutfs check --repair removes it and fetches it again from \(source)" }
                return location == .cache ? "layoutfs check --repair removes it; a read fetches it again" : "no source is known: " + restoring
            case .refetched(let source): return "repaired: removed and fetched again from \(source), verified"
            case .removed:
                return location == .cache ? "removed the cache entry: a read fetches the blob again from its source" : "removed: no image needs it"
            case .unrepaired(let failures):
                let tried = failures.isEmpty ? "no source is known" : "no source restored it (\(failures.joined(separator: "; ")))"
                return images.isEmpty ? "removed; \(tried)" : "removed; \(tried): " + restoring
            }
        }

        /// How to restore the images it breaks.
        private var restoring: String {
            let names = images.filter { !$0.hasPrefix("sha256:") && !$0.hasPrefix("sha512:") }
            var ways: [String] = []
            if let name = names.first { ways.append("layoutfs pull \(name) (from its registry)") }
            ways.append("re-import \(names.isEmpty ? "the image" : "it") from where it came (layoutfs import PATH --verify-existing)")
            if let name = names.first { ways.append("remove it (layoutfs rm \(name))") }
            return "\(images.count == 1 ? "image" : "images") \(images.joined(separator: ", ")) \(images.count == 1 ? "stays" : "stay") damaged; restore with "
                + ways.joined(separator: ", or ")
        }
    }

    /// What a check found (and, after ``repair(_:client:)``, what it did).
    package struct Report: Sendable {
        package var checkedBlobs = 0
        package var checkedBytes: Int64 = 0
        package var checkedCacheEntries = 0
        /// Cache entries not checked: partial ones (verified when complete) and those a
        /// running mount owns (it verifies them itself).
        package var uncheckedCacheEntries = 0
        package var findings: [Finding] = []
        /// Blobs the checked images need that are neither in the store nor recorded as lazy
        /// (nor foreign layers): removed by a repair no source could restore, or by hand. Each
        /// with the images it leaves incomplete.
        package var missing: [(digest: Digest, images: [String])] = []

        /// Findings whose bad bytes remain or whose images stay damaged.
        package var remaining: Int { findings.filter(\.remains).count }

    }

    let store: Store

    package init(store: Store) { self.store = store }

    /// Re-hashes store blobs and complete cache entries.
    /// - Parameters:
    ///   - images: check only these images' closures; nil checks every blob and cache entry.
    ///   - progress: bytes and blobs hashed so far (for a progress line).
    /// - Throws: `.io` when a blob cannot be read, `.unknownImage`; corrupt blobs are findings,
    ///   not errors.
    package func check(_ images: [ResolvedImage]?, progress: @escaping @Sendable (Puller.Progress) -> Void = { _ in }) throws(ImagesError) -> Report {
        let reach = try Reachability(store: store, extraRoots: images ?? [])
        var blobs: [Digest]
        var cacheDigests = CacheEntry.digests(cacheRoot: store.location.cacheRoot).filter { !store.content.contains($0) }
        if let images {
            var selected: Set<Digest> = []
            for image in images { selected.formUnion(reach.closures[Reachability.label(image)] ?? [image.root.digest]) }
            blobs = selected.filter { store.content.contains($0) }
            cacheDigests = cacheDigests.filter { selected.contains($0) }
        } else {
            blobs = store.content.walk()
        }
        blobs.sort { $0.description < $1.description }
        var report = Report()
        var cacheFiles: [(Digest, Descriptor, BlobFile)] = []
        for digest in cacheDigests.sorted(by: { $0.description < $1.description }) {
            guard let descriptor = reach.descriptors[digest] ?? lazyDescriptor(digest),
                !CacheEntry.isOwned(cacheRoot: store.location.cacheRoot, digest: digest),
                ChunkBitmap(size: descriptor.size, bytes: CacheEntry.peekChunks(cacheRoot: store.location.cacheRoot, digest: digest))?.isComplete == true,
                let data = CacheEntry.openData(cacheRoot: store.location.cacheRoot, digest: digest)
            else {
                report.uncheckedCacheEntries += 1
                continue
            }
            cacheFiles.append((digest, descriptor, data))
        }
        let sizes = blobs.map { store.content.size(of: $0) ?? 0 }
        let total = sizes.reduce(0, +) + cacheFiles.reduce(Int64(0)) { $0 + $1.2.size }
        let counter = ProgressCounter(total: total, blobs: blobs.count + cacheFiles.count, report: progress)
        for digest in blobs {
            let file: BlobFile
            do {
                file = try store.content.openBlob(digest)
            } catch  where error.code == .notFound {
                continue  // removed meanwhile (rm + prune cannot run: gc.lock; another check may)
            } catch {
                throw ImagesError(error, "cannot check blob \(digest)")
            }
            let actual: Digest
            do {
                actual = try file.digest(digest.algorithm) { counter.add(bytes: $0) }
            } catch {
                throw ImagesError(error, "cannot check blob \(digest)")
            }
            counter.finishBlob()
            report.checkedBlobs += 1
            report.checkedBytes += file.size
            if actual != digest { report.findings.append(finding(digest, .store, size: file.size, actual: actual, reach: reach)) }
        }
        report.missing = missingBlobs(of: images, reach: reach)
        for (digest, _, data) in cacheFiles {
            let actual: Digest
            do {
                actual = try data.digest(digest.algorithm) { counter.add(bytes: $0) }
            } catch {
                throw ImagesError(error, "cannot check the cache entry of \(digest)")
            }
            counter.finishBlob()
            report.checkedCacheEntries += 1
            if actual != digest { report.findings.append(finding(digest, .cache, size: data.size, actual: actual, reach: reach)) }
        }
        return report
    }

    /// The blobs of `images`' closures (every named image's when nil) that are absent: not in
    /// the store, not lazy, not a foreign layer (which may be absent).
    private func missingBlobs(of images: [ResolvedImage]?, reach: Reachability) -> [(digest: Digest, images: [String])] {
        let labels = images.map { $0.map(Reachability.label) } ?? Array(reach.closures.keys)
        let lazy = Set((try? store.lazyBlobs.lazyDigests()) ?? [])
        var missing: [Digest: [String]] = [:]
        for label in labels.sorted() {
            for digest in reach.closures[label] ?? [] where !store.content.contains(digest) && !lazy.contains(digest) {
                if let descriptor = reach.descriptors[digest], ClosureWalker.mayBeAbsent(descriptor) { continue }
                missing[digest, default: []].append(label)
            }
        }
        return missing.keys.sorted { $0.description < $1.description }.map { ($0, missing[$0]!) }
    }

    private func finding(_ digest: Digest, _ location: Finding.Location, size: Int64, actual: Digest, reach: Reachability) -> Finding {
        let lazy = try? store.lazyBlobs.lazyBlob(digest)
        let images = reach.images[digest] ?? []
        var sources = lazy?.sources ?? []
        for name in images {
            guard let reference = try? ImageReference(parsing: name) else { continue }
            let source = BlobSource(domain: reference.domain, repository: reference.path)
            if !sources.contains(source) { sources.append(source) }
        }
        return Finding(
            digest: digest, location: location, size: size, actualDigest: actual, images: images, descriptor: reach.descriptors[digest] ?? lazy?.descriptor,
            sources: sources)
    }

    private func lazyDescriptor(_ digest: Digest) -> Descriptor? {
        ((try? store.lazyBlobs.lazyBlob(digest)) ?? nil)?.descriptor
    }
}
