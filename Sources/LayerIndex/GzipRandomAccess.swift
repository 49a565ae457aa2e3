/// Reads a range of a gzip layer's uncompressed stream from the nearest access point before it
/// (``GzipAccessPoint``), decompressing at most the span between points plus the range.
package struct GzipRandomAccess: Sendable {
    /// The blob's access points, in order; the first is its start.
    package let points: [GzipAccessPoint]

    package init(points: [GzipAccessPoint]) {
        self.points = points
    }

    /// The index of the last point at or before uncompressed `offset`, or nil for none.
    package func point(before offset: Int64) -> Int? {
        var low = 0
        var high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle].uncompressed <= offset { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// Up to `count` bytes at `offset` of the uncompressed stream (fewer at its end), reading
    /// the compressed blob through `read(offset, count)` (which returns fewer bytes only at the
    /// blob's end).
    /// - Throws: ``LayerIndexError/Code/notTar`` for data that does not decompress;
    ///   `.invalidMember` when there is no access point or it is not a decompressor state; what
    ///   `read` throws.
    package func read(
        at offset: Int64, count: Int, compressed read: (_ offset: Int64, _ count: Int) throws(LayerIndexError) -> [UInt8]
    ) throws(LayerIndexError) -> [UInt8] {
        guard let index = point(before: offset) else {
            throw LayerIndexError(.invalidMember, "the gzip index has no access point before offset \(offset)")
        }
        let point = points[index]
        let state = try InflateState(restoring: point.state)
        var position = point.compressed
        var uncompressed = point.uncompressed
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var output = [UInt8](repeating: 0, count: 256 << 10)
        var input: [UInt8] = []
        var inputUsed = 0
        while result.count < count {
            if state.atMemberEnd {
                // The next member starts right after this one's trailer.
                state.reset()
            }
            if inputUsed == input.count {
                input = try read(position, 256 << 10)
                inputUsed = 0
                if input.isEmpty { break }
            }
            let (code, used, made) = input.withUnsafeBytes { source in
                output.withUnsafeMutableBytes { state.step(source, from: inputUsed, into: $0) }
            }
            inputUsed += used
            position += Int64(used)
            // Keep what lies in [offset, offset + count).
            let start = max(0, offset - uncompressed)
            if start < Int64(made) {
                let end = min(Int64(made), start + Int64(count - result.count))
                result += output[Int(start)..<Int(end)]
            }
            uncompressed += Int64(made)
            guard code >= 0 else {
                throw LayerIndexError(
                    .notTar, "the gzip layer does not decompress from its access point at \(point.compressed): \(InflateState.describe(code))")
            }
            if used == 0 && made == 0 && !state.atMemberEnd { break }
        }
        return result
    }
}
