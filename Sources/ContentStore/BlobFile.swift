import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// An open, read-only file descriptor for a committed blob, closed when the last reference
/// goes away. Hold a reference for as long as the descriptor is in use (e.g. while splicing).
package final class BlobFile: Sendable {
    /// The file descriptor (`O_RDONLY | O_CLOEXEC`).
    package let fileDescriptor: Int32
    /// Size of the file in bytes, from `fstat` at open.
    package let size: Int64
    /// The path the file was opened at (a committed blob's), or nil when it has none to check.
    package let path: String?

    /// Takes ownership of `fileDescriptor`; `path` is where it was opened (for ``isReplaced()``).
    package init(fileDescriptor: Int32, size: Int64, path: String? = nil) {
        self.fileDescriptor = fileDescriptor
        self.size = size
        self.path = path
    }

    /// The open file's identity (`st_dev`, `st_ino` from `fstat`); nil when `fstat` fails.
    package var identity: FileIdentity? {
        var st = stat()
        guard fstat(fileDescriptor, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// True when ``path`` no longer names this open file: the blob was removed, or replaced by
    /// a new commit (`layoutfs check --repair`). One `stat` and one `fstat`; false without a path.
    package func isReplaced() -> Bool {
        guard let path else { return false }
        var st = stat()
        guard stat(path, &st) == 0 else { return true }
        return identity != FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    deinit { close(fileDescriptor) }

    /// The file's size now (`fstat`), in bytes; nil when `fstat` fails.
    package func currentSize() -> Int64? {
        var st = stat()
        guard fstat(fileDescriptor, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// Reads up to `byteCount` bytes at `offset` (fewer at end of file). The corresponding C
    /// function is `pread` (swift-system's `read(fromAbsoluteOffset:into:)`, which retries
    /// `EINTR`), repeated over short reads.
    /// - Throws: `ContentStoreError.io` with the errno.
    package func read(offset: Int64, byteCount: Int) throws(ContentStoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: byteCount)
        var done = 0
        let descriptor = FileDescriptor(rawValue: fileDescriptor)
        while done < byteCount {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in
                    try descriptor.read(fromAbsoluteOffset: offset + Int64(done), into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]))
                }
            } catch {
                throw ContentStoreError(.io, "read failed", errno: Errno(thrownBy: error).rawValue)
            }
            if n == 0 { break }
            done += n
        }
        buffer.removeLast(byteCount - done)
        return buffer
    }

    /// The whole file.
    package func readAll() throws(ContentStoreError) -> [UInt8] { try read(offset: 0, byteCount: Int(size)) }
}

/// Which file an open descriptor is: device and inode numbers (`stat(2)`'s `st_dev`, `st_ino`).
package struct FileIdentity: Hashable, Sendable {
    package var device: UInt64
    package var inode: UInt64

    package init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}
