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

    /// - Throws: ``LayerIndexError/Code/invalidMember`` when zlib cannot start.
    package init() throws(LayerIndexError) {
        // 16 + 15: a gzip header and trailer around a 32 KiB-window deflate stream.
        guard lfs_inflate_init(&stream, 16 + 15) == Z_OK else { throw LayerIndexError(.invalidMember, "zlib cannot start a gzip stream") }
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
            }
            let result: Int32 = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress! + position)
                    stream.avail_in = uInt(source.count - position)
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
            }
            let used = (input.count - position) - Int(stream.avail_in)
            position += used
            consumed += Int64(used)
            let produced = output.count - Int(stream.avail_out)
            if produced > 0 { try emit(Array(output[0..<produced])) }
            switch result {
            case Z_OK, Z_BUF_ERROR:
                if used == 0 && produced == 0 { return }
            case Z_STREAM_END:
                atMemberEnd = true
            default:
                let said = stream.msg.map { String(cString: $0) } ?? "error \(result)"
                throw LayerIndexError(.notTar, "the layer is not valid gzip at compressed byte \(consumed): \(said)")
            }
        }
    }

    /// Whether the compressed stream ended where a member ends.
    /// - Throws: ``LayerIndexError/Code/truncated`` when it ended inside a member.
    package func finish() throws(LayerIndexError) {
        guard atMemberEnd else {
            throw LayerIndexError(.truncated, "the layer's gzip stream ends in the middle (after \(consumed) compressed bytes): the layer is truncated")
        }
    }
}
