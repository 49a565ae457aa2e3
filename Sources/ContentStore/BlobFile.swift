#if canImport(Glibc)
import Glibc
#endif

/// An open, read-only file descriptor for a committed blob, closed when the last reference
/// goes away. Hold a reference for as long as the descriptor is in use (e.g. while splicing).
public final class BlobFile: Sendable {
    /// The file descriptor (`O_RDONLY | O_CLOEXEC`).
    public let fileDescriptor: Int32
    /// Size of the file in bytes, from `fstat` at open.
    public let size: Int64

    /// Takes ownership of `fileDescriptor`.
    public init(fileDescriptor: Int32, size: Int64) {
        self.fileDescriptor = fileDescriptor
        self.size = size
    }

    deinit { close(fileDescriptor) }

    /// The file's size now (`fstat`), in bytes; nil when `fstat` fails.
    public func currentSize() -> Int64? {
        var st = stat()
        guard fstat(fileDescriptor, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// Reads up to `byteCount` bytes at `offset` (fewer at end of file). The corresponding C
    /// function is `pread`, retried on `EINTR` and short reads.
    /// - Throws: `ContentStoreError.io` with the errno.
    public func read(offset: Int64, byteCount: Int) throws(ContentStoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: byteCount)
        var done = 0
        while done < byteCount {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fileDescriptor, raw.baseAddress! + done, byteCount - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ContentStoreError(.io, "read failed", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        buffer.removeLast(byteCount - done)
        return buffer
    }

    /// The whole file.
    public func readAll() throws(ContentStoreError) -> [UInt8] { try read(offset: 0, byteCount: Int(size)) }
}
