import CZlib

/// A streaming gzip decompressor (zlib's inflate, RFC 1952 members one after another, as
/// `gzip -d` reads concatenated members): compressed bytes in, uncompressed bytes out to a
/// handler, in pieces of at most 256 KiB.
package final class GzipInflater {
    private var stream = z_stream()
    private var output = [UInt8](repeating: 0, count: 256 << 10)
    /// True once a gzip member ended and nothing has followed it yet.
    package private(set) var atMemberEnd = false
    /// Compressed bytes consumed so far.
    package private(set) var consumed: Int64 = 0
    /// Uncompressed bytes produced so far.
    package private(set) var produced: Int64 = 0
    /// Access points recorded so far, about every ``span`` uncompressed bytes (none when
    /// ``span`` is nil); the first is the start of the blob.
    package private(set) var accessPoints: [GzipAccessPoint] = []
    /// Uncompressed bytes between access points, or nil for none.
    package let span: Int64?

    /// - Parameter span: record an access point about every `span` uncompressed bytes (at the
    ///   first deflate block boundary after it), and at each gzip member's start.
    /// - Throws: ``LayerIndexError/Code/invalidMember`` when zlib cannot start.
    package init(span: Int64? = nil) throws(LayerIndexError) {
        self.span = span
        // 16 + 15: a gzip header and trailer around a 32 KiB-window deflate stream.
        guard lfs_inflate_init(&stream, 16 + 15) == Z_OK else { throw LayerIndexError(.invalidMember, "zlib cannot start a gzip stream") }
        if span != nil { accessPoints.append(GzipAccessPoint(uncompressed: 0, compressed: 0, bits: 0, window: [], memberStart: true)) }
    }

    deinit { inflateEnd(&stream) }

    /// Decompresses `input`, giving every uncompressed piece to `emit`.
    /// - Throws: ``LayerIndexError/Code/notTar`` for bytes that are not gzip or are corrupt (a
    ///   bad CRC or length in a member's trailer included); what `emit` throws.
    package func inflate(_ input: [UInt8], _ emit: ([UInt8]) throws(LayerIndexError) -> Void) throws(LayerIndexError) {
        guard !input.isEmpty else { return }
        var position = 0
        while position < input.count {
            if atMemberEnd {
                // Another member follows (or padding): a fresh inflate state.
                inflateReset(&stream)
                atMemberEnd = false
                if span != nil {
                    accessPoints.append(GzipAccessPoint(uncompressed: produced, compressed: consumed, bits: 0, window: [], memberStart: true))
                }
            }
            // Z_BLOCK stops at each deflate block's end, where an access point can be.
            let (result, used, made) = stream.inflateStep(input, from: position, into: &output, flush: span == nil ? Z_NO_FLUSH : Z_BLOCK)
            position += used
            consumed += Int64(used)
            self.produced += Int64(made)
            if made > 0 { try emit(Array(output[0..<made])) }
            if let span, result == Z_OK, atBlockStart, produced - (accessPoints.last?.uncompressed ?? 0) >= span {
                accessPoints.append(
                    GzipAccessPoint(
                        uncompressed: produced, compressed: consumed, bits: UInt8(lfs_inflate_data_type(&stream) & 7), window: window(), memberStart: false))
            }
            switch result {
            case Z_OK, Z_BUF_ERROR:
                if used == 0 && made == 0 { return }
            case Z_STREAM_END:
                atMemberEnd = true
            default:
                let said = stream.msg.map { String(cString: $0) } ?? "error \(result)"
                throw LayerIndexError(.notTar, "the layer is not valid gzip at compressed byte \(consumed): \(said)")
            }
        }
    }

    /// True right after a deflate block ended that was not the member's last (zlib.h: Z_BLOCK
    /// and `data_type`).
    private var atBlockStart: Bool {
        let type = lfs_inflate_data_type(&stream)
        return type & 128 != 0 && type & 64 == 0
    }

    /// The last 32 KiB (or fewer) of uncompressed data: the history a block may refer to.
    private func window() -> [UInt8] {
        var window = [UInt8](repeating: 0, count: 32 << 10)
        var length: uInt = 0
        let result = window.withUnsafeMutableBufferPointer { inflateGetDictionary(&stream, $0.baseAddress, &length) }
        return result == Z_OK ? Array(window[0..<Int(length)]) : []
    }

    /// Whether the compressed stream ended where a member ends.
    /// - Throws: ``LayerIndexError/Code/truncated`` when it ended inside a member.
    package func finish() throws(LayerIndexError) {
        guard atMemberEnd else {
            throw LayerIndexError(.truncated, "the layer's gzip stream ends in the middle (after \(consumed) compressed bytes): the layer is truncated")
        }
    }
}
