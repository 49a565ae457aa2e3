import OCISpec

/// One pass over a layer blob's bytes, plain tar or gzip: its member table, and its diff_id
/// (the SHA-256 of the uncompressed stream, which the image config's `rootfs.diff_ids` must
/// name; OCI image-spec config.md).
package struct LayerScan {
    private var indexer = TarIndexer()
    private var hash = DigestHasher(.sha256)
    private let inflater: GzipInflater?

    /// - Parameters:
    ///   - gzip: whether the blob is gzip (its media type says `+gzip`, or Docker's
    ///     `tar.gzip`), else plain tar.
    ///   - span: with gzip, record an access point about every `span` uncompressed bytes
    ///     (``accessPoints``), for ``GzipRandomAccess``.
    /// - Throws: ``LayerIndexError`` when zlib cannot start.
    package init(gzip: Bool, span: Int64? = nil) throws(LayerIndexError) {
        inflater = gzip ? try GzipInflater(span: span) : nil
    }

    /// The gzip access points recorded so far (none for plain tar or without a span).
    package var accessPoints: [GzipAccessPoint] { inflater?.accessPoints ?? [] }

    /// Consumes the next bytes of the blob.
    /// - Throws: ``LayerIndexError``.
    package mutating func consume(_ bytes: [UInt8]) throws(LayerIndexError) {
        guard let inflater else {
            hash.update(bytes)
            try indexer.consume(bytes)
            return
        }
        try inflater.inflate(bytes) { (piece) throws(LayerIndexError) in
            self.hash.update(piece)
            try self.indexer.consume(piece)
        }
    }

    /// The members and the diff_id once the whole blob was consumed.
    /// - Throws: ``LayerIndexError/Code/truncated``.
    package func finish() throws(LayerIndexError) -> (members: [TarMember], diffID: Digest) {
        try inflater?.finish()
        let members = try indexer.finish()
        return (members, hash.finalize())
    }
}
