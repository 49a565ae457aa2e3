import OCISpec

/// Where a ``LayerScan`` sends the uncompressed stream to be hashed (its diff_id), in order:
/// inline (``InlineHasher``), or on another thread so that hashing overlaps decompression.
package protocol StreamHasher: AnyObject {
    /// Hashes the next piece of the stream.
    func update(_ piece: [UInt8])
    /// The SHA-256 of every piece, once all were given.
    func finalize() -> Digest
}

/// Hashes on the caller's thread.
package final class InlineHasher: StreamHasher {
    private var hasher = DigestHasher(.sha256)

    package init() {}

    package func update(_ piece: [UInt8]) { hasher.update(piece) }

    package func finalize() -> Digest { hasher.finalize() }
}
