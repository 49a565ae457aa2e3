import ContentStore
import Images
import OCISpec

/// Where the tree gets blob content from.
public protocol BlobProvider: Sendable {
    /// Opens a blob for reading: a local file, or a lazy blob fetched on demand.
    /// - Throws: when the blob is neither (the tree answers `EIO`).
    func openBlob(_ descriptor: Descriptor) throws -> OpenedBlob
    /// `local`, `lazy P/N` or `fetching P/N` (DESIGN.md: the `user.layoutfs.state` xattr).
    func state(of descriptor: Descriptor) -> String
    /// Sets what runs when a blob's fetched bytes turned out corrupt (its pages must go).
    func onCorruption(_ handler: @escaping @Sendable (Digest) -> Void)
    /// True when the kernel may cache pages of the blob that were served unverified.
    func mayHoldUnverifiedPages(_ digest: Digest) -> Bool
    /// Bytes received from registries so far.
    var bytesFetched: Int64 { get }
    /// A read of the blob waited `deadline` for its bytes and gets `EIO`: the provider fails
    /// the blob's other waiting reads now and answers its re-sends at once for a while.
    /// - Returns: why the bytes did not come (the last fetch error), when known.
    func readTimedOut(_ digest: Digest, after deadline: Duration) -> String?
}

extension LocalContentStore: BlobProvider {
    public func openBlob(_ descriptor: Descriptor) throws -> OpenedBlob { .local(try openBlob(descriptor.digest)) }
    public func state(of descriptor: Descriptor) -> String { contains(descriptor.digest) ? "local" : "missing" }
    public func onCorruption(_ handler: @escaping @Sendable (Digest) -> Void) {}
    public func mayHoldUnverifiedPages(_ digest: Digest) -> Bool { false }
    public var bytesFetched: Int64 { 0 }
    public func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? { nil }
}

extension LazyBlobProvider: BlobProvider {
    public func openBlob(_ descriptor: Descriptor) throws -> OpenedBlob { try open(descriptor) }
}
