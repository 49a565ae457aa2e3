import OCISpec

/// One pass over a layer blob's bytes, plain tar or gzip: its member table, and its diff_id
/// (the SHA-256 of the uncompressed stream, which the image config's `rootfs.diff_ids` must
/// name; OCI image-spec config.md).
package struct LayerScan {
    private var indexer = TarIndexer()
    private let hash: any StreamHasher
    private let inflater: GzipInflater?
    private var consumed: Int64 = 0

    /// - Parameters:
    ///   - gzip: whether the blob is gzip (its media type says `+gzip`, or Docker's
    ///     `tar.gzip`), else plain tar.
    ///   - span: with gzip, record an access point about every `span` compressed bytes
    ///     (``accessPoints``), for ``GzipRandomAccess``.
    ///   - maximumSpan: and at least every `maximumSpan` uncompressed bytes.
    ///   - hasher: hashes the uncompressed stream (default: on this thread).
    package init(gzip: Bool, span: Int64? = nil, maximumSpan: Int64 = 16 << 20, hasher: any StreamHasher = InlineHasher()) {
        inflater = gzip ? GzipInflater(span: span, maximumSpan: maximumSpan) : nil
        hash = hasher
    }

    /// The gzip access points recorded so far (none for plain tar or without a span).
    package var accessPoints: [GzipAccessPoint] { inflater?.accessPoints ?? [] }

    /// Consumes the next bytes of the blob.
    /// - Throws: ``LayerIndexError``.
    package mutating func consume(_ bytes: [UInt8]) throws(LayerIndexError) {
        consumed += Int64(bytes.count)
        guard let inflater else {
            hash.update(bytes)
            try indexer.consume(bytes)
            return
        }
        let hash = self.hash
        try inflater.inflate(bytes) { (piece) throws(LayerIndexError) in
            hash.update(piece)
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

    /// The index record of blob `layer` once the whole blob was consumed (its diff_id not yet
    /// compared with the config's: the caller does that).
    /// - Throws: ``LayerIndexError/Code/truncated``.
    package func record(of layer: Digest) throws(LayerIndexError) -> LayerIndexRecord {
        let (members, diffID) = try finish()
        return LayerIndexRecord(
            layer: layer, diffID: diffID, format: inflater == nil ? .tar : .gzip, compressedSize: consumed,
            uncompressedSize: inflater?.produced ?? consumed, members: members, accessPoints: accessPoints)
    }
}
