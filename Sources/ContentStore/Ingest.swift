import CLinuxShims
import OCISpec
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One in-flight write into the content store (containerd's "ingest"): its own directory
/// `content/ingest/<random>/`, `flock`ed for its whole life so stale-ingest cleanup never takes
/// it. Bytes are hashed as they are written; `commit` verifies size and digest, fsyncs, and
/// renames into `blobs/` with `RENAME_NOREPLACE`.
///
/// Not thread-safe: one writer, one thread at a time. An ingest not committed is removed by
/// `abort()` or on deinit.
package final class Ingest {
    private let store: LocalContentStore
    /// The ingest directory.
    package let directory: String
    private let directoryFD: Int32
    private let dataFD: Int32
    private var hashers: [Digest.Algorithm: DigestHasher] = [.sha256: DigestHasher(.sha256)]
    private var finished = false
    /// Bytes written so far.
    package private(set) var byteCount: Int64 = 0

    init(store: LocalContentStore) throws(ContentStoreError) {
        self.store = store
        let root = store.contentRoot + "/ingest"
        // Made under a dot name and locked before it is given its real name, so cleanup (which
        // skips dot names) never sees an unlocked live ingest.
        let id = FileSystemCalls.randomHex()
        let temporary = "\(root)/.\(id)"
        try FileSystemCalls.makeDirectory(temporary)
        let dirFD = open(temporary, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw ContentStoreError(.io, "cannot open \(temporary)", errno: errno) }
        flock(dirFD, LOCK_EX)
        directory = "\(root)/\(id)"
        guard rename(temporary, directory) == 0 else {
            let e = errno
            close(dirFD)
            rmdir(temporary)
            throw ContentStoreError(.io, "cannot create ingest \(directory)", errno: e)
        }
        directoryFD = dirFD
        let fd = open(directory + "/data", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            FileSystemCalls.removeTree(directory)
            close(dirFD)
            throw ContentStoreError(.io, "cannot create \(directory)/data", errno: e)
        }
        dataFD = fd
    }

    deinit {
        if !finished { FileSystemCalls.removeTree(directory) }
        close(dataFD)
        close(directoryFD)
    }

    /// Hash with `algorithm` too (sha256 is always computed). Call before the first write.
    package func alsoHash(_ algorithm: Digest.Algorithm) {
        if hashers[algorithm] == nil { hashers[algorithm] = DigestHasher(algorithm) }
    }

    /// Appends bytes.
    /// - Throws: `.io`, `.noSpace` (the ingest is then aborted).
    package func write(_ bytes: UnsafeRawBufferPointer) throws(ContentStoreError) {
        do throws(ContentStoreError) {
            try FileSystemCalls.writeAll(dataFD, bytes, what: "ingest \(directory)")
        } catch {
            abort()
            throw error
        }
        for key in hashers.keys { hashers[key]!.update(bytes) }
        byteCount += Int64(bytes.count)
    }

    package func write(_ bytes: [UInt8]) throws(ContentStoreError) {
        var failure: ContentStoreError?
        bytes.withUnsafeBytes { raw in
            do throws(ContentStoreError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Streams `byteCount` bytes from `fd` (current offset) into the ingest, in 1 MiB reads.
    /// - Throws: `.sizeMismatch` when `fd` ends early, `.io`, `.noSpace`.
    package func write(from fd: Int32, byteCount expected: Int64, what: String) throws(ContentStoreError) {
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var remaining = expected
        let source = FileDescriptor(rawValue: fd)
        while remaining > 0 {
            let n: Int
            do {
                n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(chunk), remaining))]))
            } catch {
                abort()
                throw ContentStoreError(.io, "cannot read \(what)", errno: Errno(thrownBy: error).rawValue)
            }
            if n == 0 {
                abort()
                throw ContentStoreError(.sizeMismatch, "\(what) is truncated: \(expected - remaining) of \(expected) bytes")
            }
            try write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            remaining -= Int64(n)
        }
    }

    /// Verifies and commits the written bytes as blob `digest`.
    ///
    /// Order: size check, digest check, `fsync` of the data, `fchmod 0444`, `renameat2` with
    /// `RENAME_NOREPLACE` into `blobs/<alg>/` (`EEXIST` means another writer committed the same
    /// blob first: success), `fsync` of the directory, ingest removed.
    /// - Throws: `.sizeMismatch`, `.digestMismatch` (nothing is committed; the ingest is
    ///   removed), `.io`, `.noSpace`.
    package func commit(digest: Digest, size: Int64) throws(ContentStoreError) {
        defer { if !finished { abort() } }
        guard byteCount == size else {
            throw ContentStoreError(.sizeMismatch, "blob \(digest) has \(byteCount) bytes, expected \(size)")
        }
        guard let hasher = hashers[digest.algorithm] else {
            throw ContentStoreError(.digestMismatch, "ingest did not hash with \(digest.algorithm.rawValue)")
        }
        let actual = hasher.finalize()
        guard actual == digest else {
            throw ContentStoreError(.digestMismatch, "content does not match its digest: expected \(digest), got \(actual)")
        }
        try FileSystemCalls.fsyncFile(dataFD, what: "ingest \(directory)")
        fchmod(dataFD, 0o444)
        let target = store.path(of: digest)
        if lfs_rename_noreplace(AT_FDCWD, directory + "/data", AT_FDCWD, target) != 0, errno != EEXIST {
            throw ContentStoreError(.io, "cannot commit blob \(digest)", errno: errno)
        }
        try FileSystemCalls.fsyncDirectory(store.contentRoot + "/blobs/" + digest.algorithm.rawValue)
        finished = true
        FileSystemCalls.removeTree(directory)
    }

    /// The digest of what has been written so far, with `algorithm` (must be hashed).
    package func currentDigest(_ algorithm: Digest.Algorithm = .sha256) -> Digest? { hashers[algorithm]?.finalize() }

    /// Drops the ingest and its directory.
    package func abort() {
        guard !finished else { return }
        finished = true
        FileSystemCalls.removeTree(directory)
    }
}
