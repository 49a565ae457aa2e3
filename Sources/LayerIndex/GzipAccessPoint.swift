/// A place to start decompressing a gzip layer in the middle, as zlib's zran.c example,
/// indexed_gzip, gztool and SOCI's zTOC keep them: here the whole ISA-L decompressor state at
/// that place (``InflateState``: the current block's Huffman tables, unread bits, the last
/// 32 KiB of output), or nothing at the start of a gzip member, which needs no history.
package struct GzipAccessPoint: Sendable, Equatable {
    /// Offset in the uncompressed stream, in bytes.
    package var uncompressed: Int64
    /// Offset in the compressed blob of the next byte the state has not read, in bytes.
    package var compressed: Int64
    /// The decompressor state (about 21 KiB plus up to 32 KiB of history); empty at the start
    /// of a gzip member.
    package var state: [UInt8]

    package init(uncompressed: Int64, compressed: Int64, state: [UInt8]) {
        self.uncompressed = uncompressed
        self.compressed = compressed
        self.state = state
    }
}
