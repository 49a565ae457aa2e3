import ContentStore
import LayerIndex
import LayoutFS
import OCISpec

/// Gets the index of one layer of a rootfs view: the store's file when it is there and sound
/// (same layer, same size, the diff_id the config names), else one pass over the blob that
/// builds it (``LayerScan``), to be kept in the store once its diff_id matched (``keep(_:)``).
package struct LayerIndexing: Sendable {
    /// How a layer's index was had.
    package enum Outcome: Sendable, Equatable {
        /// Read from the store's index file.
        case loaded
        /// Built by a pass over the blob (to be kept in the store: ``keep(_:)``).
        case built
        /// Built, and its diff_id is not the one the config names: the layer's files fail.
        case mismatch(String)
    }

    /// Bytes read from the blob at a time during the pass.
    static let piece = 1 << 20
    /// Compressed bytes between gzip access points: 1 MiB keeps them about 3% of the layer
    /// (deflated ISA-L states), and a read of a small file decompresses at most that much.
    package static let span: Int64 = 1 << 20

    let files: LayerIndexFiles

    package init(files: LayerIndexFiles) {
        self.files = files
    }

    /// The index of `layer` (number `number` in the manifest), whose uncompressed stream the
    /// config says is `diffID`, reading the blob through `content`.
    /// - Returns: the record, how it was had, and for a layer read from an uncompressed copy
    ///   (zstd) that copy, open (a new one is named when the index is kept).
    /// - Throws: `LayoutFSError` `.io` naming the layer when it is not a tar stream (plain,
    ///   gzip, or what libarchive decompresses: zstd, xz, bzip2), is truncated or corrupt, has an
    ///   unsafe path, or its bytes do not come.
    package func index(
        layer: Descriptor, number: Int, diffID: Digest?, content: any FileContent, deadline: Duration, log: (String) -> Void = { _ in }
    ) throws(LayoutFSError) -> (record: LayerIndexRecord, outcome: Outcome, copy: BlobFile?) {
        let label = "layer \(number) (\(layer.digest))"
        let copies = CopyIndexing(files: files)
        if let bytes = files.load(layer.digest) {
            do {
                let record = try LayerIndexRecord(decoding: bytes)
                // Without a diff_id to compare, no stored index is trusted: the pass below says
                // the layer cannot be verified, as on a first mount.
                if record.layer == layer.digest, record.compressedSize == layer.size, let diffID, record.diffID == diffID {
                    guard record.format == .uncompressedCopy else { return (record, .loaded, nil) }
                    if let copy = copies.keptCopy(of: layer.digest, size: record.uncompressedSize) { return (record, .loaded, copy) }
                    log("the uncompressed copy of \(label) in the store is missing or damaged; building it again")
                } else {
                    log("the index of \(label) in the store does not match the layer; building it again")
                }
            } catch {
                log("the index of \(label) in the store cannot be read (\(error)); building it again")
            }
        }
        let blob = BlobBytes(content: content, name: layer.digest.description, deadline: deadline)
        var record: LayerIndexRecord
        var copy: BlobFile?
        do {
            let first = try blob.read(0, Self.piece)
            let compression = Self.compression(of: first)
            if compression == .other {
                (record, copy) = try copies.index(layer: layer, blob: blob, label: label)
                return try Self.verified(record, diffID: diffID, label: label, copy: copy)
            }
            var scan = LayerScan(gzip: compression == .gzip, span: Self.span, hasher: BackgroundHasher())
            var offset: Int64 = 0
            var piece = first
            while !piece.isEmpty {
                try scan.consume(piece)
                offset += Int64(piece.count)
                if offset >= layer.size { break }
                piece = try blob.read(offset, Self.piece)
            }
            guard offset == layer.size else {
                throw LayoutFSError(.io, "\(label) has \(offset) bytes, not the \(layer.size) its descriptor says")
            }
            record = try scan.record(of: layer.digest)
        } catch let error as LayerIndexError {
            // A stream that breaks off may be a blob damaged in the store: say how to find out.
            let hint = error.code == .truncated || error.code == .notTar ? " (`layoutfs check` finds blobs damaged in the store)" : ""
            throw LayoutFSError(.io, "\(label) cannot be read as a layer: \(error.message)\(hint)")
        } catch let error as LayoutFSError {
            throw LayoutFSError(error.code, error.message.contains(label) ? error.message : "\(label): \(error.message)")
        } catch {
            throw LayoutFSError(.io, "\(label): \(error)")
        }
        return try Self.verified(record, diffID: diffID, label: label, copy: nil)
    }

    /// `record` built, or its diff_id's mismatch.
    private static func verified(
        _ record: LayerIndexRecord, diffID: Digest?, label: String, copy: BlobFile?
    ) throws(LayoutFSError) -> (record: LayerIndexRecord, outcome: Outcome, copy: BlobFile?) {
        guard let diffID else {
            return (record, .mismatch("\(label) cannot be verified: the image config has no rootfs.diff_ids entry for it"), copy)
        }
        guard record.diffID == diffID else {
            return (record, .mismatch("\(label) is corrupt: its uncompressed stream is \(record.diffID), the config's rootfs.diff_ids says \(diffID)"), copy)
        }
        return (record, .built, copy)
    }

    /// Keeps a built, verified index in the store, after its uncompressed copy when it has one
    /// (encoding and fsyncs: done after the mount is ready, off its critical path).
    /// - Returns: why it could not be kept, or nil.
    package func keep(_ record: LayerIndexRecord, copy: BlobFile?) -> String? {
        do {
            if let copy { try files.commitCopy(copy.fileDescriptor, for: record.layer) }
            try files.store(try record.encoded(), for: record.layer)
            return nil
        } catch {
            return "cannot keep the index of layer \(record.layer) in the store (\(error)); the next mount builds it again"
        }
    }

    /// How a layer blob is compressed, by its first bytes (media types lie: containerd's
    /// applier sniffs too).
    enum Compression { case tar, gzip, other }

    /// gzip (RFC 1952's magic); zstd (RFC 8878), xz or bzip2 (read through an uncompressed
    /// copy); else plain tar.
    static func compression(of head: [UInt8]) -> Compression {
        if head.starts(with: [0x1f, 0x8b]) { return .gzip }
        for magic: [UInt8] in [[0x28, 0xb5, 0x2f, 0xfd], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], [0x42, 0x5a, 0x68]] where head.starts(with: magic) {
            return .other
        }
        return .tar
    }
}
