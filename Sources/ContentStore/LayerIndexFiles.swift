import CLinuxShims
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// The layer indexes a rootfs view builds, kept in the store so that no later mount decompresses
/// a layer again: `<root>/layer-index/<alg>/<hex>`, named by the layer blob's digest, shared by
/// every image and mount that uses the layer. What a file holds is the LayerIndex module's
/// business (it checks its own checksum and version); this type only keeps the bytes.
///
/// Written crash-safely (temp file, fsync, rename, fsync of the directory): a reader sees a
/// whole file or none. Removed by `layoutfs prune` with its layer.
package struct LayerIndexFiles: Sendable {
    /// `<root>/layer-index`.
    package let directory: String

    package init(location: StoreLocation) {
        directory = location.root + "/layer-index"
    }

    /// The index file of layer `digest`, or nil when there is none (or it cannot be read).
    package func load(_ digest: Digest) -> [UInt8]? {
        // O_NONBLOCK: a FIFO left where the file goes must not block the mount (it is then not a
        // regular file, and ignored).
        guard let fd = try? FileSystemCalls.openFile(path(digest), O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { close(fd) }
        var st = stat()
        // Not past what an index can be (its body is under 4 GiB): a sparse file is not read whole.
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size < 1 << 33 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            done += got
        }
        return bytes
    }

    /// Keeps `bytes` as layer `digest`'s index, replacing any earlier one atomically.
    /// - Throws: `.io` (`.noSpace` on a full disk); no partial file is left.
    package func store(_ bytes: [UInt8], for digest: Digest) throws(ContentStoreError) {
        let parent = "\(directory)/\(digest.algorithm.rawValue)"
        try FileSystemCalls.makeDirectories(parent)
        let temporary = "\(parent)/.\(digest.encoded).\(FileSystemCalls.randomHex()).tmp"
        let fd = try FileSystemCalls.openFile(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW)
        let failure: ContentStoreError? = bytes.withUnsafeBytes { raw in
            do throws(ContentStoreError) {
                try FileSystemCalls.writeAll(fd, raw, what: temporary)
                try FileSystemCalls.fsyncFile(fd, what: temporary)
                return nil
            } catch {
                return error
            }
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path(digest)) == 0 else {
            let e = errno
            unlink(temporary)
            throw ContentStoreError(.io, "cannot write \(path(digest))", errno: e)
        }
        try FileSystemCalls.fsyncDirectory(parent)
    }

    /// Removes layer `digest`'s index and its uncompressed copy; nothing happens when there is
    /// none.
    package func remove(_ digest: Digest) {
        unlink(path(digest))
        unlink(copyPath(digest))
    }

    /// The layers that have an index file or an uncompressed copy, and the bytes of both.
    package func walk() -> [(digest: Digest, bytes: Int64)] {
        Digest.Algorithm.allCases.flatMap { algorithm in
            var seen: Set<Digest> = []
            return FileSystemCalls.listDirectory("\(directory)/\(algorithm.rawValue)").compactMap { name -> (Digest, Int64)? in
                let encoded = name.hasSuffix(Self.copySuffix) ? String(name.dropLast(Self.copySuffix.count)) : name
                guard let digest = try? Digest(algorithm: algorithm, encoded: encoded), seen.insert(digest).inserted else { return nil }
                return (digest, (FileSystemCalls.fileSize(path(digest)) ?? 0) + (FileSystemCalls.fileSize(copyPath(digest)) ?? 0))
            }
        }
    }

    // MARK: Uncompressed copies

    /// Layers whose compression allows no access points (zstd) are read from an uncompressed
    /// copy, `<hex>.tar` beside the index.
    static let copySuffix = ".tar"

    /// Where layer `digest`'s uncompressed copy is kept.
    package func copyPath(_ digest: Digest) -> String {
        path(digest) + Self.copySuffix
    }

    /// A new, unnamed file in the copies' directory (`O_TMPFILE`), to be written and then named
    /// by ``commitCopy(_:for:)``; its bytes vanish with the descriptor if it never is.
    /// - Throws: `.io` (`.noSpace` on a full disk).
    package func temporaryCopy(for digest: Digest) throws(ContentStoreError) -> Int32 {
        let parent = "\(directory)/\(digest.algorithm.rawValue)"
        try FileSystemCalls.makeDirectories(parent)
        let directoryFD = try FileSystemCalls.openFile(parent, O_RDONLY | O_DIRECTORY)
        defer { close(directoryFD) }
        let fd = lfs_open_tmpfile(directoryFD, 0o600)
        guard fd >= 0 else { throw ContentStoreError(.io, "cannot create a file in \(parent)", errno: errno) }
        return fd
    }

    /// Syncs the written copy `fd` and names it as layer `digest`'s (replacing an older one).
    /// - Throws: `.io` (`.noSpace`).
    package func commitCopy(_ fd: Int32, for digest: Digest) throws(ContentStoreError) {
        let parent = "\(directory)/\(digest.algorithm.rawValue)"
        try FileSystemCalls.fsyncFile(fd, what: copyPath(digest))
        let directoryFD = try FileSystemCalls.openFile(parent, O_RDONLY | O_DIRECTORY)
        defer { close(directoryFD) }
        let name = ".\(digest.encoded).\(FileSystemCalls.randomHex()).tmp"
        guard lfs_link_tmpfile(fd, directoryFD, name) == 0 else {
            throw ContentStoreError(.io, "cannot name \(copyPath(digest))", errno: errno)
        }
        guard rename("\(parent)/\(name)", copyPath(digest)) == 0 else {
            let e = errno
            unlink("\(parent)/\(name)")
            throw ContentStoreError(.io, "cannot name \(copyPath(digest))", errno: e)
        }
        try FileSystemCalls.fsyncDirectory(parent)
    }

    /// Removes temp files a writer that died left behind (an hour old: a live writer's exists
    /// for milliseconds).
    package func removeLeftovers() {
        let now = Int(time(nil))
        for algorithm in Digest.Algorithm.allCases {
            let parent = "\(directory)/\(algorithm.rawValue)"
            for name in FileSystemCalls.listDirectory(parent) where name.hasPrefix(".") && name.hasSuffix(".tmp") {
                var st = stat()
                if lstat("\(parent)/\(name)", &st) == 0, now - Int(st.st_mtim.tv_sec) > 3600 { unlink("\(parent)/\(name)") }
            }
        }
    }

    private func path(_ digest: Digest) -> String {
        "\(directory)/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }
}
