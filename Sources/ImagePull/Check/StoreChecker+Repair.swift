import ContentStore
import ImageStore
import LazyBlobs
import OCISpec
import Registry

extension StoreChecker {
    /// Repairs what ``check(_:progress:)`` found (`layoutfs check --repair`): each corrupt
    /// store blob is removed and fetched again from its sources in turn (the lazy record's,
    /// then the repositories of the image names that reach it), through a verified ingest; a
    /// corrupt cache entry is removed (its lazy record stays) and fetched into the store when
    /// a source serves it. A store blob no image needs is only removed. A running mount notices
    /// the new file at its next open of the blob (``BlobFile/isReplaced()``).
    /// - Parameter client: reaches the sources; nil when no finding has one.
    package func repair(_ report: inout Report, client: RegistryClient?) async {
        for i in report.findings.indices {
            let finding = report.findings[i]
            switch finding.location {
            case .cache:
                guard CacheEntry.remove(cacheRoot: store.location.cacheRoot, digest: finding.digest) != nil else {
                    report.findings[i].outcome = .unrepaired(["a running mount took the cache entry meanwhile (it verifies it before use): check again"])
                    continue
                }
                let outcome = await fetch(finding, client: client)
                if case .refetched = outcome { report.findings[i].outcome = outcome } else { report.findings[i].outcome = .removed }
            case .store:
                store.content.delete(finding.digest)
                report.findings[i].outcome = finding.images.isEmpty && finding.sources.isEmpty ? .removed : await fetch(finding, client: client)
            }
        }
    }

    /// Fetches `finding`'s blob into the store from the first source that serves it, verified.
    private func fetch(_ finding: Finding, client: RegistryClient?) async -> Finding.Outcome {
        guard let descriptor = finding.descriptor, let client else { return .unrepaired([]) }
        var failures: [String] = []
        for source in finding.sources {
            let repository = ImageReference(domain: source.domain, path: source.repository, tag: nil, digest: nil)
            do {
                if ManifestNode.hasChildren(descriptor.mediaType) {
                    let reference = ImageReference(domain: source.domain, path: source.repository, tag: nil, digest: descriptor.digest)
                    let bytes = try await client.fetchManifest(reference).1
                    try store.content.write(bytes, digest: descriptor.digest, size: descriptor.size)
                } else {
                    let counter = ProgressCounter(total: descriptor.size, blobs: 1) { _ in }
                    try await Puller(store: store, client: client).download(descriptor, repository: repository, attempts: 1, counter: counter)
                }
                return .refetched(source)
            } catch {
                failures.append("\(source): \(error)")
            }
        }
        return .unrepaired(failures)
    }
}
