import ContentStore
import OCISpec

/// Where the tree gets blob content from.
public protocol BlobProvider: Sendable {
    /// Opens a local blob for reading.
    /// - Throws: `ContentStoreError.notFound` when the blob is not local, `.io` otherwise.
    func openBlob(_ digest: Digest) throws(ContentStoreError) -> BlobFile
    /// `local`, `lazy` or `fetching` (DESIGN.md: the `user.layoutfs.state` xattr).
    func state(of digest: Digest) -> String
}

extension LocalContentStore: BlobProvider {
    public func state(of digest: Digest) -> String { contains(digest) ? "local" : "missing" }
}
