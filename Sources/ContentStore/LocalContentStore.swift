import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// The local content store: `content/blobs/<alg>/<hex>` (containerd's local store layout) and
/// per-writer `content/ingest/<id>/` directories (DESIGN.md "On disk").
///
/// A blob is local if and only if its file exists; committed files are never modified. Safe
/// for any number of processes at once: writers never share an ingest, and commit renames with
/// `RENAME_NOREPLACE`.
package final class LocalContentStore: Sendable {
    /// The directory holding `blobs/` and `ingest/` (`<store root>/content`).
    package let contentRoot: String

    /// Opens (creating when needed, mode 0700) the content store under `contentRoot`.
    /// - Throws: `ContentStoreError.io` when the directories cannot be created.
    package init(contentRoot: String) throws(ContentStoreError) {
        self.contentRoot = contentRoot
        try FileSystemCalls.makeDirectories(contentRoot + "/blobs/sha256")
        try FileSystemCalls.makeDirectory(contentRoot + "/blobs/sha512")
        try FileSystemCalls.makeDirectory(contentRoot + "/ingest")
    }

    private init(existing contentRoot: String) {
        self.contentRoot = contentRoot
    }

    /// Opens another tool's content directory for reading only (containerd's
    /// `<root>/io.containerd.content.v1.content`, BuildKit's `<root>/runc-overlayfs/content`):
    /// nothing is created or written there.
    /// - Throws: `.invalidStore` when `contentRoot` has no `blobs/` directory.
    package static func readOnly(contentRoot: String) throws(ContentStoreError) -> LocalContentStore {
        var st = stat()
        guard stat(contentRoot + "/blobs", &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ContentStoreError(
                .invalidStore,
                "\(contentRoot) is not a content directory (it has no blobs/): give containerd's <root>/io.containerd.content.v1.content or BuildKit's <root>/runc-overlayfs/content"
            )
        }
        return LocalContentStore(existing: contentRoot)
    }

    /// Path of a blob's file (whether or not it exists).
    package func path(of digest: Digest) -> String { "\(contentRoot)/\(digest.blobPath)" }

    /// True when the blob is committed.
    package func contains(_ digest: Digest) -> Bool { access(path(of: digest), F_OK) == 0 }

    /// Size in bytes of a committed blob, or nil when it is not local.
    package func size(of digest: Digest) -> Int64? { FileSystemCalls.fileSize(path(of: digest)) }

    /// Opens a committed blob for random-access reads.
    /// - Throws: `.notFound` when not local; `.io` (e.g. `EMFILE`) otherwise.
    package func openBlob(_ digest: Digest) throws(ContentStoreError) -> BlobFile {
        let fd: Int32
        do {
            fd = try FileSystemCalls.openFile(path(of: digest), O_RDONLY)
        } catch  where error.code == .notFound {
            throw ContentStoreError(.notFound, "blob \(digest) is not in the store")
        }
        var st = stat()
        fstat(fd, &st)
        return BlobFile(fileDescriptor: fd, size: Int64(st.st_size), path: path(of: digest))
    }

    /// Reads a small blob whole (manifests, indexes, configs), refusing one larger than
    /// `maximumSize` bytes before reading it.
    /// - Throws: `.notFound`, `.invalidContent` when too large, `.io`.
    package func readBlob(_ digest: Digest, maximumSize: Int64 = ImageLayout.maximumManifestSize) throws(ContentStoreError) -> [UInt8] {
        let file = try openBlob(digest)
        guard file.size <= maximumSize else {
            throw ContentStoreError(.invalidContent, "blob \(digest) is \(file.size) bytes, more than the \(maximumSize)-byte limit for manifests")
        }
        return try file.readAll()
    }

    /// Starts a new writer in its own ingest directory.
    /// - Throws: `.io` when the directory cannot be made.
    package func ingest() throws(ContentStoreError) -> Ingest {
        try Ingest(store: self)
    }

    /// Writes `bytes` as a blob, verified against `digest` (and `size` when given).
    /// Returns without writing when the blob is already local.
    /// - Throws: `.digestMismatch`, `.sizeMismatch`, `.io`, `.noSpace`.
    package func write(_ bytes: [UInt8], digest: Digest, size: Int64? = nil) throws(ContentStoreError) {
        if contains(digest) { return }
        let writer = try ingest()
        writer.alsoHash(digest.algorithm)
        try writer.write(bytes)
        try writer.commit(digest: digest, size: size ?? Int64(bytes.count))
    }

    /// Every committed blob's digest (files whose names are not valid digests are skipped).
    package func walk() -> [Digest] {
        Digest.Algorithm.allCases.flatMap { algorithm in
            FileSystemCalls.listDirectory("\(contentRoot)/blobs/\(algorithm.rawValue)").compactMap {
                try? Digest(algorithm: algorithm, encoded: $0)
            }
        }
    }

    /// Deletes a committed blob. Nothing happens when it is not local.
    package func delete(_ digest: Digest) {
        unlink(path(of: digest))
    }

    /// Removes ingest directories no writer holds (their writer died): each is `flock`ed with
    /// `LOCK_NB` first, so a live writer's directory is never touched. A dot-named directory (a
    /// writer that died before locking and naming its ingest) is removed once it is an hour old.
    /// Returns how many were removed.
    @discardableResult
    package func removeStaleIngests() -> Int {
        var removed = 0
        let ingestRoot = contentRoot + "/ingest"
        let now = Int(time(nil))
        for name in FileSystemCalls.listDirectory(ingestRoot) {
            let dir = ingestRoot + "/" + name
            if name.hasPrefix(".") {
                var st = stat()
                if lstat(dir, &st) == 0, now - Int(st.st_mtim.tv_sec) > 3600 {
                    FileSystemCalls.removeTree(dir)
                    removed += 1
                }
                continue
            }
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                FileSystemCalls.removeTree(dir)
                removed += 1
            }
            close(fd)
        }
        return removed
    }
}
