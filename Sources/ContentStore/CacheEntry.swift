import CLinuxShims
import OCISpec
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One lazy blob's cache entry (DESIGN.md "On disk": `cache/<alg>/<hex>`): a sparse data file
/// of the blob's size, `<hex>.chunks` (which chunks are durable, in the owner's format) and
/// `<hex>.lock`, `flock`ed by the one process that owns the entry; the kernel releases it when
/// that process dies.
///
/// Durability is the owner's order: write data, ``syncData()``, then ``storeChunks(_:)``, so
/// the chunks file never names bytes that are not on disk. Thread-safe (positional I/O only).
package final class CacheEntry: Sendable {
    package let digest: Digest
    /// Blob size in bytes.
    package let size: Int64
    /// The data file, open read-write (splice replies read from it).
    package let data: BlobFile
    private let chunksFD: Int32
    private let lockFD: Int32
    private let dataPath: String

    private init(digest: Digest, size: Int64, data: BlobFile, chunksFD: Int32, lockFD: Int32, dataPath: String) {
        self.digest = digest
        self.size = size
        self.data = data
        self.chunksFD = chunksFD
        self.lockFD = lockFD
        self.dataPath = dataPath
    }

    deinit {
        close(chunksFD)
        close(lockFD)
    }

    /// The cache directory of an algorithm: `<cacheRoot>/<alg>`.
    static func directory(cacheRoot: String, _ algorithm: Digest.Algorithm) -> String { "\(cacheRoot)/\(algorithm.rawValue)" }

    /// Opens (creating) the entry of `digest` and takes ownership of it.
    /// - Returns: nil when another process owns it (its lock is held).
    /// - Throws: `.io` when the files cannot be created (`.noSpace` on a full disk).
    package static func open(cacheRoot: String, digest: Digest, size: Int64) throws(ContentStoreError) -> CacheEntry? {
        let directory = directory(cacheRoot: cacheRoot, digest.algorithm)
        try FileSystemCalls.makeDirectories(directory)
        let base = "\(directory)/\(digest.encoded)"
        // A committing owner unlinks the lock file while holding it: lock, then check that the
        // locked file is still the one at the path, else try again.
        var lockFD: Int32 = -1
        for _ in 0..<3 {
            let fd = try FileSystemCalls.openFile(base + ".lock", O_RDWR | O_CREAT | O_NOFOLLOW)
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                close(fd)
                return nil
            }
            var held = stat()
            var named = stat()
            if fstat(fd, &held) == 0, stat(base + ".lock", &named) == 0, held.st_ino == named.st_ino {
                lockFD = fd
                break
            }
            close(fd)
        }
        guard lockFD >= 0 else { throw ContentStoreError(.io, "cannot lock \(base).lock") }
        // Never through a symlink: the daemon writes as root.
        let dataFD = Glibc.open(base, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        let chunksFD = Glibc.open(base + ".chunks", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard dataFD >= 0, chunksFD >= 0, isRegularFile(dataFD), isRegularFile(chunksFD) else {
            let e = dataFD >= 0 && chunksFD >= 0 ? EINVAL : errno
            for fd in [dataFD, chunksFD, lockFD] where fd >= 0 { close(fd) }
            throw ContentStoreError(.io, "cannot use the cache entry \(base) (not regular files?)", errno: e)
        }
        let entry = CacheEntry(
            digest: digest, size: size, data: BlobFile(fileDescriptor: dataFD, size: size), chunksFD: chunksFD, lockFD: lockFD,
            dataPath: base)
        // A data file of another size is from a torn start: begin again.
        if entry.data.currentSize() != size { try entry.reset() }
        return entry
    }

    /// A regular file with one name (a hard link planted there would have the daemon write
    /// into, and commit, someone else's file).
    private static func isRegularFile(_ fd: Int32) -> Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_nlink == 1
    }

    /// The stored chunk bitmap (empty when none was stored).
    package func storedChunks() -> [UInt8] {
        var st = stat()
        guard fstat(chunksFD, &st) == 0, st.st_size > 0, st.st_size < 1 << 24 else { return [] }
        let file = BlobFile(fileDescriptor: dup(chunksFD), size: Int64(st.st_size))
        return (try? file.readAll()) ?? []
    }

    /// What the chunks file of `digest` says, read without taking ownership (for status).
    package static func peekChunks(cacheRoot: String, digest: Digest) -> [UInt8] {
        let fd = Glibc.open("\(directory(cacheRoot: cacheRoot, digest.algorithm))/\(digest.encoded).chunks", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return [] }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0, st.st_size < 1 << 24 else {
            close(fd)
            return []
        }
        return (try? BlobFile(fileDescriptor: fd, size: Int64(st.st_size)).readAll()) ?? []
    }

    /// The digests with an entry (or a leftover part of one) under `cacheRoot`.
    package static func digests(cacheRoot: String) -> [Digest] {
        var digests: Set<Digest> = []
        for algorithm in Digest.Algorithm.allCases {
            for name in FileSystemCalls.listDirectory(directory(cacheRoot: cacheRoot, algorithm)) where !name.hasPrefix(".") {
                let hex = name.split(separator: ".").first.map(String.init) ?? name
                if let digest = try? Digest(algorithm: algorithm, encoded: hex) { digests.insert(digest) }
            }
        }
        return Array(digests)
    }

    /// Removes the entry of `digest` unless a process owns it.
    /// - Returns: the bytes it occupied on disk, or nil when it is owned (left alone).
    package static func remove(cacheRoot: String, digest: Digest) -> Int64? {
        let base = "\(directory(cacheRoot: cacheRoot, digest.algorithm))/\(digest.encoded)"
        let fd = Glibc.open(base + ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
        var freed: Int64 = 0
        for path in [base, base + ".chunks"] {
            var st = stat()
            if lstat(path, &st) == 0 { freed += Int64(st.st_blocks) * 512 }
            unlink(path)
        }
        unlink(base + ".lock")
        return freed
    }

    /// Writes `bytes` at `offset` (bytes) of the data file.
    /// - Throws: `.noSpace` (ENOSPC, EDQUOT), `.io`.
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(ContentStoreError) {
        do {
            // pwrite, short writes repeated, EINTR retried.
            _ = try FileDescriptor(rawValue: data.fileDescriptor).writeAll(toAbsoluteOffset: offset, bytes)
        } catch {
            throw ContentStoreError(.io, "cannot write the cache file \(dataPath)", errno: Errno(thrownBy: error).rawValue)
        }
        // The disk write starts now (without waiting), so the batch's `fdatasync` has little
        // left to wait for and holds a pool thread briefly.
        _ = lfs_start_writeback(data.fileDescriptor, offset, Int64(bytes.count))
    }

    /// Makes the written data durable (`fdatasync`).
    /// - Throws: `.noSpace`, `.io`.
    package func syncData() throws(ContentStoreError) {
        if fdatasync(data.fileDescriptor) != 0 {
            throw ContentStoreError(.io, "cannot sync the cache file \(dataPath)", errno: errno)
        }
    }

    /// Stores the chunk bitmap in place and syncs it. Bits only ever get set between resets and
    /// every set bit names synced data, so a torn write still names only durable chunks.
    /// - Throws: `.noSpace`, `.io`.
    package func storeChunks(_ bytes: [UInt8]) throws(ContentStoreError) {
        let written = bytes.withUnsafeBytes { pwrite(chunksFD, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, fdatasync(chunksFD) == 0 else {
            throw ContentStoreError(.io, "cannot store the chunk bitmap of \(dataPath)", errno: errno)
        }
    }

    /// Forgets every chunk (a digest mismatch): the chunks file becomes empty. The data file
    /// keeps its size and its stale bytes, never read again before new ones overwrite them: a
    /// truncation would make a reply spliced from it meanwhile short, which the kernel takes
    /// for the end of the file.
    /// - Throws: `.io`.
    package func forgetChunks() throws(ContentStoreError) {
        guard ftruncate(chunksFD, 0) == 0, fdatasync(chunksFD) == 0 else {
            throw ContentStoreError(.io, "cannot reset the chunks file of \(dataPath)", errno: errno)
        }
    }

    /// Starts over (a data file of another size: a torn start): a hole of the blob's size, no
    /// chunks. Only before anything reads the entry.
    private func reset() throws(ContentStoreError) {
        try forgetChunks()
        guard ftruncate(data.fileDescriptor, 0) == 0, ftruncate(data.fileDescriptor, off_t(size)) == 0 else {
            throw ContentStoreError(.io, "cannot reset the cache file \(dataPath)", errno: errno)
        }
    }

    /// Commits the complete, verified data file into `store` as the blob: `fdatasync`, `fchmod
    /// 0444`, `renameat2(RENAME_NOREPLACE)` into `blobs/<alg>/` (`EEXIST`: already there,
    /// success), `fsync` of the directory; on another filesystem, copied through a verified
    /// ingest. The chunks and lock files are removed; ``data`` stays readable (same inode).
    /// - Throws: `.io`, `.noSpace`, `.digestMismatch` (copy path only).
    package func commit(into store: LocalContentStore) throws(ContentStoreError) {
        try syncData()
        fchmod(data.fileDescriptor, 0o444)
        let target = store.path(of: digest)
        if lfs_rename_noreplace(AT_FDCWD, dataPath, AT_FDCWD, target) != 0 {
            switch errno {
            case EEXIST:
                unlink(dataPath)
            case EXDEV:
                try copy(into: store)
                unlink(dataPath)
            default:
                throw ContentStoreError(.io, "cannot move \(dataPath) to \(target)", errno: errno)
            }
        }
        try FileSystemCalls.fsyncDirectory(store.contentRoot + "/blobs/" + digest.algorithm.rawValue)
        unlink(dataPath + ".chunks")
        unlink(dataPath + ".lock")
    }

    private func copy(into store: LocalContentStore) throws(ContentStoreError) {
        let ingest = try store.ingest()
        ingest.alsoHash(digest.algorithm)
        var offset: Int64 = 0
        while offset < size {
            let bytes = try data.read(offset: offset, byteCount: Int(min(Int64(4 << 20), size - offset)))
            guard !bytes.isEmpty else { break }
            try ingest.write(bytes)
            offset += Int64(bytes.count)
        }
        try ingest.commit(digest: digest, size: size)
    }
}
