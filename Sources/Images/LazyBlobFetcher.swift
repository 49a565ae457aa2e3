import ContentStore
import OCISpec
import Registry

/// Fetches lazy blobs (recorded by `pull --lazy`) into the store from their recorded sources,
/// whole and verified, a few at a time. Used by `export --materialize` so a lazily pulled image
/// can be materialized; the chunked on-demand reads of the mount are another piece (issue 4).
public struct LazyBlobFetcher: Sendable {
    private let store: Store
    private let client: RegistryClient

    public init(store: Store, client: RegistryClient) {
        self.store = store
        self.client = client
    }

    /// Fetches every blob of `descriptors` that is not local yet.
    /// - Returns: how many blobs and bytes were fetched.
    /// - Throws: `.missingBlob` for a blob with no recorded source, the last source's error when
    ///   none of them serves it, `.corruptBlob` when the bytes do not match.
    public func fetch(_ descriptors: [Descriptor], concurrency: Int = 4) async throws -> (blobs: Int, bytes: Int64) {
        let missing = descriptors.filter { !store.content.contains($0.digest) }
        let counter = ProgressCounter(total: missing.reduce(0) { $0 + $1.size }, blobs: missing.count) { _ in }
        let puller = Puller(store: store, client: client)
        try await forEachConcurrently(missing, limit: concurrency) { descriptor in
            try await self.fetchOne(descriptor, puller: puller, counter: counter)
        }
        return (missing.count, missing.reduce(0) { $0 + $1.size })
    }

    private func fetchOne(_ descriptor: Descriptor, puller: Puller, counter: ProgressCounter) async throws {
        let sources: [BlobSource]
        do {
            sources = try store.lazyBlobs.lazyBlob(descriptor.digest)?.sources ?? []
        } catch {
            throw ImagesError(error, "cannot look up the sources of \(descriptor.digest)")
        }
        guard !sources.isEmpty else {
            throw ImagesError(.missingBlob, "blob \(descriptor.digest) is neither local nor recorded with a source to fetch it from")
        }
        var lastError: (any Error)?
        for source in sources {
            let repository = ImageReference(domain: source.domain, path: source.repository, tag: nil, digest: nil)
            do {
                try await puller.download(descriptor, repository: repository, attempts: 3, counter: counter)
                return
            } catch let error as ImagesError where error.code == .corruptBlob {
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ImagesError(.missingBlob, "no source served \(descriptor.digest)")
    }
}
