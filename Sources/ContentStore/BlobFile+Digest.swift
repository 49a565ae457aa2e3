import OCISpec
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension BlobFile {
    /// Hashes the whole file, from offset 0 to end of file, in 1 MiB `pread`s (so a file that
    /// grew or shrank hashes to another digest).
    /// - Parameter progress: called after each read with the bytes of that read.
    /// - Returns: the file's digest with `algorithm`.
    /// - Throws: `.io` with the errno of a failed `pread`.
    package func digest(_ algorithm: Digest.Algorithm, progress: (Int64) -> Void = { _ in }) throws(ContentStoreError) -> Digest {
        var hasher = DigestHasher(algorithm)
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        let descriptor = FileDescriptor(rawValue: fileDescriptor)
        while true {
            let n: Int
            do {
                n = try descriptor.read(fromAbsoluteOffset: offset, into: buffer)
            } catch {
                throw ContentStoreError(.io, "cannot read \(path ?? "a blob file")", errno: Errno(thrownBy: error).rawValue)
            }
            if n == 0 { return hasher.finalize() }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += Int64(n)
            progress(Int64(n))
        }
    }
}

extension LocalContentStore {
    /// Re-hashes a committed blob (`--verify-existing`, `layoutfs check`).
    /// - Returns: true when its bytes hash to `digest`, false when they do not, nil when the
    ///   blob is not local.
    /// - Throws: `.io` when it cannot be read.
    package func verify(_ digest: Digest, progress: (Int64) -> Void = { _ in }) throws(ContentStoreError) -> Bool? {
        let file: BlobFile
        do {
            file = try openBlob(digest)
        } catch  where error.code == .notFound {
            return nil
        }
        return try file.digest(digest.algorithm, progress: progress) == digest
    }

    /// Removes a committed blob whose bytes do not hash to its digest, so the next writer
    /// commits it anew (`--verify-existing`).
    /// - Returns: true when it was there and wrong (now removed); false when sound or absent.
    /// - Throws: `.io` when it cannot be read.
    package func removeIfCorrupt(_ digest: Digest) throws(ContentStoreError) -> Bool {
        guard try verify(digest) == false else { return false }
        delete(digest)
        return true
    }
}
