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
    /// - Throws: `LayoutFSError` `.io` naming the layer when it is not a tar stream (plain or
    ///   gzip), is truncated or corrupt, has an unsafe path, is compressed otherwise (zstd), or
    ///   its bytes do not come.
    package func index(
        layer: Descriptor, number: Int, diffID: Digest?, content: any FileContent, deadline: Duration, log: (String) -> Void = { _ in }
    ) throws(LayoutFSError) -> (record: LayerIndexRecord, outcome: Outcome) {
        let label = "layer \(number) (\(layer.digest))"
        if let bytes = files.load(layer.digest) {
            do {
                let record = try LayerIndexRecord(decoding: bytes)
                if record.layer == layer.digest, record.compressedSize == layer.size, diffID == nil || record.diffID == diffID {
                    return (record, .loaded)
                }
                log("the index of \(label) in the store does not match the layer; building it again")
            } catch {
                log("the index of \(label) in the store cannot be read (\(error)); building it again")
            }
        }
        let blob = BlobBytes(content: content, name: layer.digest.description, deadline: deadline)
        var record: LayerIndexRecord
        do {
            let first = try blob.read(0, Self.piece)
            var scan = LayerScan(gzip: try Self.isGzip(first, label: label), span: Self.span, hasher: BackgroundHasher())
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
            throw LayoutFSError(.io, "\(label) cannot be read as a layer: \(error.message)")
        } catch let error as LayoutFSError {
            throw LayoutFSError(error.code, error.message.contains(label) ? error.message : "\(label): \(error.message)")
        } catch {
            throw LayoutFSError(.io, "\(label): \(error)")
        }
        guard let diffID else {
            return (record, .mismatch("\(label) cannot be verified: the image config has no rootfs.diff_ids entry for it"))
        }
        guard record.diffID == diffID else {
            return (record, .mismatch("\(label) is corrupt: its uncompressed stream is \(record.diffID), the config's rootfs.diff_ids says \(diffID)"))
        }
        return (record, .built)
    }

    /// Keeps a built, verified index in the store (encoding and an fsync: done after the mount
    /// is ready, off its critical path).
    /// - Returns: why it could not be kept, or nil.
    package func keep(_ record: LayerIndexRecord) -> String? {
        do {
            try files.store(try record.encoded(), for: record.layer)
            return nil
        } catch {
            return "cannot keep the index of layer \(record.layer) in the store (\(error)); the next mount builds it again"
        }
    }

    /// Whether the blob starting with `head` is gzip (RFC 1952's magic), else plain tar.
    /// - Throws: `LayerIndexError` `.unsupported` for zstd (RFC 8878's magic).
    static func isGzip(_ head: [UInt8], label: String) throws(LayerIndexError) -> Bool {
        if head.starts(with: [0x1f, 0x8b]) { return true }
        if head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
            throw LayerIndexError(.unsupported, "it is zstd-compressed, which the rootfs view does not read yet (mount it without --rootfs)")
        }
        return false
    }
}
