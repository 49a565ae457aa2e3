/// A streaming gzip decompressor (ISA-L's inflate; RFC 1952 members one after another, as
/// `gzip -d` reads concatenated members, each one's CRC-32 and length checked): compressed bytes
/// in, uncompressed bytes out to a handler, in pieces of at most 1 MiB.
package final class GzipInflater {
    private var state = InflateState()
    /// Bytes of output asked of ISA-L at a time: each piece is a new array that ISA-L writes
    /// into and the handler then owns (ISA-L keeps its own 32 KiB of history, so the output
    /// need not stay), with no copy between the two.
    static let pieceSize = 1 << 20
    /// Compressed bytes consumed so far.
    package private(set) var consumed: Int64 = 0
    /// Uncompressed bytes produced so far.
    package private(set) var produced: Int64 = 0
    /// Access points recorded so far, about every ``span`` compressed bytes (none when ``span``
    /// is nil), and at the start of each gzip member; the first is the start of the blob.
    package private(set) var accessPoints: [GzipAccessPoint] = []
    /// Compressed bytes between access points, or nil for none.
    package let span: Int64?
    /// Uncompressed bytes between access points at most (where the data compresses so well
    /// that `span` compressed bytes would be a huge span to decompress for one read).
    package let maximumSpan: Int64

    /// - Parameters:
    ///   - span: record an access point about every `span` compressed bytes, and at each gzip
    ///     member's start. Counted in compressed bytes so that the points' size stays a fixed
    ///     share of the blob's, however well it compresses.
    ///   - maximumSpan: and at least every `maximumSpan` uncompressed bytes.
    package init(span: Int64? = nil, maximumSpan: Int64 = 16 << 20) {
        self.span = span
        self.maximumSpan = maximumSpan
        if span != nil { accessPoints.append(GzipAccessPoint(uncompressed: 0, compressed: 0, state: [])) }
    }

    /// Decompresses `input`, giving every uncompressed piece to `emit`.
    /// - Throws: ``LayerIndexError/Code/notTar`` for bytes that are not gzip or are corrupt (a
    ///   bad CRC or length in a member's trailer included); what `emit` throws.
    package func inflate(_ input: [UInt8], _ emit: ([UInt8]) throws(LayerIndexError) -> Void) throws(LayerIndexError) {
        var position = 0
        while true {
            if state.atMemberEnd {
                guard position < input.count else { return }
                // Another member follows.
                state.reset()
                if span != nil { accessPoints.append(GzipAccessPoint(uncompressed: produced, compressed: consumed, state: [])) }
            }
            var code: Int32 = 0
            var used = 0
            // With access points, the call stops where the next one is due, so that they are
            // `span` apart however many bytes of output a call makes.
            let limit = span.map { span in Int(max(1, span - (consumed - (accessPoints.last?.compressed ?? 0)))) } ?? .max
            let piece = input.withUnsafeBytes { source in
                [UInt8](unsafeUninitializedCapacity: Self.pieceSize) { output, count in
                    (code, used, count) = state.step(source, from: position, limit: limit, into: UnsafeMutableRawBufferPointer(output))
                }
            }
            let made = piece.count
            position += used
            consumed += Int64(used)
            produced += Int64(made)
            if made > 0 { try emit(piece) }
            guard code >= 0 else {
                throw LayerIndexError(.notTar, "the layer is not valid gzip at compressed byte \(consumed): \(InflateState.describe(code))")
            }
            if let span, state.inDeflateData, let last = accessPoints.last,
                consumed - last.compressed >= span || produced - last.uncompressed >= maximumSpan
            {
                accessPoints.append(GzipAccessPoint(uncompressed: produced, compressed: consumed, state: state.checkpoint()))
            }
            if used == 0 && made == 0 && !state.atMemberEnd { return }
        }
    }

    /// Whether the compressed stream ended where a member ends.
    /// - Throws: ``LayerIndexError/Code/truncated`` when it ended inside a member.
    package func finish() throws(LayerIndexError) {
        guard state.atMemberEnd else {
            throw LayerIndexError(.truncated, "the layer's gzip stream ends in the middle (after \(consumed) compressed bytes): the layer is truncated")
        }
    }
}
