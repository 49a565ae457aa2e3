import OCISpec

/// Where a lazy blob can be fetched from: a repository of a registry.
package struct BlobSource: Hashable, Sendable, CustomStringConvertible {
    /// Registry host with optional port, e.g. `127.0.0.1:5000`, `docker.io`.
    package var domain: String
    /// Repository path, e.g. `team/app`.
    package var repository: String

    package init(domain: String, repository: String) {
        self.domain = domain
        self.repository = repository
    }

    package var description: String { "\(domain)/\(repository)" }
}

/// Blobs known by descriptor whose content is not local yet (DESIGN.md "lazy blob"), with the
/// sources they can be fetched from. Kept in meta.db beside the image names.
package protocol LazyBlobIndex: Sendable {
    /// Records `descriptors` as fetchable from `source` (adding the source when already known).
    /// - Throws: `ContentStoreError.database`.
    func recordLazy(_ descriptors: [Descriptor], source: BlobSource) throws(ContentStoreError)
    /// The descriptor and sources of a lazy blob, or nil when it is not recorded.
    func lazyBlob(_ digest: Digest) throws(ContentStoreError) -> (descriptor: Descriptor, sources: [BlobSource])?
    /// Every recorded lazy blob's digest.
    func lazyDigests() throws(ContentStoreError) -> [Digest]
    /// Forgets the records (and sources) of `digests`.
    func forgetLazy(_ digests: [Digest]) throws(ContentStoreError)
}
