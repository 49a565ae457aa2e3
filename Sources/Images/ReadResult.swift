import ContentStore

/// The answer to a read: a range of an open blob file (to splice) or bytes.
public enum ReadResult: Sendable {
    /// `byteCount` bytes at `offset` of `file` (fewer at end of file). Keep `file` alive until
    /// the reply is sent.
    case file(BlobFile, offset: Int64, byteCount: Int)
    case bytes([UInt8])
}
