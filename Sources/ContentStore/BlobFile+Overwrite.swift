#if canImport(Glibc)
import Glibc
#endif

extension BlobFile {
    /// Rewrites this file with `other`'s bytes, when it is no longer in the store (unlinked:
    /// `layoutfs check --repair` committed the blob anew, and this is the corrupt file it
    /// replaced). Readers that the kernel serves from this file itself (a FUSE passthrough open
    /// made before the repair, whose backing file cannot be swapped) then read the repaired
    /// bytes too. Opens `/proc/self/fd/N` for writing (root), copies in 1 MiB pieces, syncs.
    /// - Returns: false when this file is still linked somewhere (nothing written) or `other`
    ///   is not the same size.
    /// - Throws: `ContentStoreError.io` with the errno of a failed open, read or write.
    package func overwriteUnlinked(withContentsOf other: BlobFile) throws(ContentStoreError) -> Bool {
        var st = stat()
        guard fstat(fileDescriptor, &st) == 0, st.st_nlink == 0, other.size == size else { return false }
        let writable = open("/proc/self/fd/\(fileDescriptor)", O_WRONLY | O_CLOEXEC)
        guard writable >= 0 else { throw ContentStoreError(.io, "cannot reopen the replaced file for writing", errno: errno) }
        defer { close(writable) }
        var offset: Int64 = 0
        while offset < size {
            let piece = try other.read(offset: offset, byteCount: Int(min(1 << 20, size - offset)))
            guard !piece.isEmpty else { break }
            // Sequential from offset 0 on a fresh descriptor: the store's own write loop.
            let failure = piece.withUnsafeBytes { bytes -> ContentStoreError? in
                do throws(ContentStoreError) {
                    try FileSystemCalls.writeAll(writable, bytes, what: "the replaced file")
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
            offset += Int64(piece.count)
        }
        guard fdatasync(writable) == 0 else { throw ContentStoreError(.io, "cannot sync the rewritten file", errno: errno) }
        return true
    }
}
