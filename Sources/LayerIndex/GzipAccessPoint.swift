/// A place to start decompressing a gzip layer in the middle (the technique of zlib's zran.c
/// example, as indexed_gzip, gztool and SOCI's zTOC use it): at the start of a deflate block,
/// with the 32 KiB of uncompressed data before it that the block may refer back to; or at the
/// start of a gzip member, which needs no history.
package struct GzipAccessPoint: Sendable, Equatable {
    /// Offset in the uncompressed stream, in bytes.
    package var uncompressed: Int64
    /// Offset in the compressed blob of the first byte that holds bits of the block; with
    /// ``bits`` > 0 the block starts that many bits before the end of the previous byte.
    package var compressed: Int64
    /// Bits of the byte before ``compressed`` that belong to the block (0 to 7).
    package var bits: UInt8
    /// The uncompressed data before the point (up to 32 KiB); empty at a member's start.
    package var window: [UInt8]
    /// True at the start of a gzip member (its header comes first); false inside a member (a
    /// raw deflate block).
    package var memberStart: Bool

    package init(uncompressed: Int64, compressed: Int64, bits: UInt8, window: [UInt8], memberStart: Bool) {
        self.uncompressed = uncompressed
        self.compressed = compressed
        self.bits = bits
        self.window = window
        self.memberStart = memberStart
    }
}
