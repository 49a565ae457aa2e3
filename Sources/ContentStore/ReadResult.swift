/// The answer to a read of a file: a range of an open blob file (the mount splices it) or bytes.
package enum ReadResult: Sendable {
    /// `byteCount` bytes at `offset` (bytes) of `file`, fewer at end of file. Keep `file` alive
    /// until the reply is sent.
    case file(BlobFile, offset: Int64, byteCount: Int)
    /// The bytes themselves (held in memory, or read already).
    case bytes([UInt8])
}
