import CZlib

/// Reads a range of a gzip layer's uncompressed stream from the nearest access point before it
/// (``GzipAccessPoint``), decompressing at most the span between points plus the range.
package struct GzipRandomAccess: Sendable {
    /// The blob's access points, in order; the first is its start.
    package let points: [GzipAccessPoint]

    package init(points: [GzipAccessPoint]) {
        self.points = points
    }

    /// Up to `count` bytes at `offset` of the uncompressed stream (fewer at its end), reading
    /// the compressed blob through `read(offset, count)` (which returns fewer bytes only at the
    /// blob's end).
    /// - Throws: ``LayerIndexError/Code/notTar`` for data that does not decompress;
    ///   `.invalidMember` when there is no access point or zlib cannot start; what `read` throws.
    package func read(
        at offset: Int64, count: Int, compressed read: (_ offset: Int64, _ count: Int) throws(LayerIndexError) -> [UInt8]
    ) throws(LayerIndexError) -> [UInt8] {
        guard let point = points.last(where: { $0.uncompressed <= offset }) else {
            throw LayerIndexError(.invalidMember, "the gzip index has no access point before offset \(offset)")
        }
        var stream = z_stream()
        var raw = !point.memberStart
        guard lfs_inflate_init(&stream, raw ? -15 : 31) == Z_OK else { throw LayerIndexError(.invalidMember, "zlib cannot start a gzip stream") }
        defer { inflateEnd(&stream) }
        if raw {
            if point.bits > 0 {
                let previous = try read(point.compressed - 1, 1)
                guard let byte = previous.first else { throw LayerIndexError(.truncated, "the gzip layer ends before its access point") }
                inflatePrime(&stream, Int32(point.bits), Int32(byte >> (8 - point.bits)))
            }
            let set = point.window.withUnsafeBufferPointer { inflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
            guard set == Z_OK else { throw LayerIndexError(.invalidMember, "zlib refused the access point's window") }
        }
        var position = point.compressed
        var uncompressed = point.uncompressed
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var output = [UInt8](repeating: 0, count: 64 << 10)
        var input: [UInt8] = []
        var inputUsed = 0
        while result.count < count {
            if inputUsed == input.count {
                input = try read(position, 64 << 10)
                inputUsed = 0
                if input.isEmpty { break }
            }
            let (code, used, made) = stream.inflateStep(input, from: inputUsed, into: &output, flush: Z_NO_FLUSH)
            inputUsed += used
            position += Int64(used)
            // Keep what lies in [offset, offset + count).
            let start = max(0, offset - uncompressed)
            if start < Int64(made) {
                let end = min(Int64(made), start + Int64(count - result.count))
                result += output[Int(start)..<Int(end)]
            }
            uncompressed += Int64(made)
            switch code {
            case Z_OK, Z_BUF_ERROR:
                if used == 0 && made == 0 { return result }
            case Z_STREAM_END:
                // The member ended: its trailer (8 bytes) follows a raw stream; the next member
                // starts after it.
                if raw {
                    position += 8
                    inputUsed = input.count
                    inflateEnd(&stream)
                    raw = false
                    guard lfs_inflate_init(&stream, 31) == Z_OK else { throw LayerIndexError(.invalidMember, "zlib cannot start a gzip stream") }
                } else {
                    inflateReset(&stream)
                }
            default:
                throw LayerIndexError(.notTar, "the gzip layer does not decompress from its access point at \(point.compressed)")
            }
        }
        return result
    }
}
