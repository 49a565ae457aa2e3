import BlockingWork
import ContentStore
import ImagePull
import ImageStore
import OCISpec
import Registry
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Fetches lazy blobs (recorded by `pull --lazy`) into the store from their recorded sources,
/// whole and verified, a few at a time. Used by `export --materialize` so a lazily pulled image
/// can be materialized (the mount reads them on demand through ``LazyBlobProvider``).
///
/// Threads: async; what blocks (meta.db, `stat`s, writes, hashing a blob already there, the
/// fsync and rename of a new blob) runs on the blocking pool (`BlockingWork`).
package struct LazyBlobFetcher: Sendable {
    private let store: Store
    private let client: RegistryClient

    package init(store: Store, client: RegistryClient) {
        self.store = store
        self.client = client
    }

    /// Fetches every blob of `descriptors` that is not local yet.
    /// - Returns: how many blobs and bytes were fetched.
    /// - Throws: `.missingBlob` for a blob with no recorded source, the last source's error when
    ///   none of them serves it, `.corruptBlob` when the bytes do not match.
    package func fetch(_ descriptors: [Descriptor], concurrency: Int = 4) async throws -> (blobs: Int, bytes: Int64) {
        let store = self.store
        let missing = try await BlockingWork.run { descriptors.filter { !store.hasBlob($0.digest) } }
        let counter = ProgressCounter(total: missing.reduce(0) { $0 + $1.size }, blobs: missing.count) { _ in }
        let puller = Puller(store: store, client: client)
        try await forEachConcurrently(missing, limit: concurrency) { descriptor in
            try await self.fetchOne(descriptor, puller: puller, counter: counter)
        }
        return (missing.count, missing.reduce(0) { $0 + $1.size })
    }

    /// `export --materialize --no-store`: fetches every blob of `descriptors` that is neither
    /// local nor already in the layout at `path` (same size) straight into the layout's
    /// `blobs/<alg>/`, verified while it streams and invisible until complete; the store is not
    /// touched. The materialization that follows then skips them.
    /// - Returns: how many blobs and bytes were fetched.
    /// - Throws: as ``fetch(_:concurrency:)``; `.unsafeDestination`, `.noSpace`.
    /// - Parameter verifyExisting: re-hash a blob already there (right size) and fetch it again
    ///   when wrong (`--verify-existing`: the store cannot repair it, it does not have it).
    package func fetch(_ descriptors: [Descriptor], intoLayout path: String, verifyExisting: Bool = false, concurrency: Int = 4) async throws -> (
        blobs: Int, bytes: Int64
    ) {
        let store = self.store
        let missing = try await BlockingWork.run {
            try Self.missing(descriptors, store: store, intoLayout: path, verifyExisting: verifyExisting)
        }
        try await forEachConcurrently(missing, limit: concurrency) { descriptor, directory in
            try await self.fromSources(of: descriptor) { repository in
                let box = try await BlockingWork.run {
                    FileBox(try NewBlobFile(named: descriptor.digest.encoded, in: directory), algorithm: descriptor.digest.algorithm)
                }
                var batch: [UInt8] = []
                var watch = TransferWatch(descriptor.digest, limit: self.client.readTimeout)
                try await self.client.streamBlob(descriptor, repository: repository, onOutcome: { _ in watch.restart() }) { bytes in
                    try watch.record(bytes.count)
                    bytes.withUnsafeBytes { batch.append(contentsOf: $0) }
                    if batch.count >= Self.writeBatchSize { try await box.write(&batch, what: "\(directory.path)/\(descriptor.digest.encoded)") }
                }
                try await box.write(&batch, what: "\(directory.path)/\(descriptor.digest.encoded)")
                let actual = box.digest()
                guard actual == descriptor.digest else {
                    throw ImagesError(.corruptBlob, "blob \(descriptor.digest) from \(repository.domain)/\(repository.path) hashes to \(actual)")
                }
                try await BlockingWork.run { try box.file.commit(replace: true) }
            }
        }
        return (missing.count, missing.reduce(0) { $0 + $1.0.size })
    }

    /// Bytes of a blob's body gathered before they are hashed and written in one call on the
    /// blocking pool.
    static let writeBatchSize = 1 << 20

    /// The blobs of `descriptors` to fetch into the layout at `path`: neither local nor already
    /// there (same size; with `verifyExisting`, also the right digest), each with its
    /// `blobs/<alg>` directory. Blocks (opens, `fstatat`, hashing).
    private static func missing(
        _ descriptors: [Descriptor], store: Store, intoLayout path: String, verifyExisting: Bool
    ) throws(ImagesError) -> [(Descriptor, DestinationDirectory)] {
        let blobs = try DestinationDirectory.openRoot(path).subdirectory("blobs")
        var directories: [Digest.Algorithm: DestinationDirectory] = [:]
        var missing: [(Descriptor, DestinationDirectory)] = []
        for descriptor in descriptors where !store.hasBlob(descriptor.digest) {
            let algorithm = descriptor.digest.algorithm
            if directories[algorithm] == nil { directories[algorithm] = try blobs.subdirectory(algorithm.rawValue) }
            let directory = directories[algorithm]!
            var st = stat()
            if fstatat(directory.fileDescriptor, descriptor.digest.encoded, &st, AT_SYMLINK_NOFOLLOW) == 0,
                st.st_mode & S_IFMT == S_IFREG, Int64(st.st_size) == descriptor.size
            {
                guard verifyExisting else { continue }
                let fd = directory.openFile(descriptor.digest.encoded, O_RDONLY | O_NOFOLLOW)
                if fd >= 0, case .success(let digest) = BlobCopier.hashFile(BlobFile(fileDescriptor: fd, size: descriptor.size), descriptor: descriptor),
                    digest == descriptor.digest
                {
                    continue
                }
            }
            missing.append((descriptor, directory))
        }
        return missing
    }

    private func fetchOne(_ descriptor: Descriptor, puller: Puller, counter: ProgressCounter) async throws {
        try await fromSources(of: descriptor) { repository in
            try await puller.download(descriptor, repository: repository, attempts: 3, counter: counter)
        }
    }

    /// Runs `body` with each recorded source of `descriptor` in turn until one succeeds; a
    /// corrupt blob is not tried elsewhere.
    private func fromSources(of descriptor: Descriptor, _ body: (ImageReference) async throws -> Void) async throws {
        let store = self.store
        let sources = try await BlockingWork.run {
            do throws(ContentStoreError) {
                return try store.lazyBlobs.lazyBlob(descriptor.digest)?.sources ?? []
            } catch {
                throw ImagesError(error, "cannot look up the sources of \(descriptor.digest)")
            }
        }
        guard !sources.isEmpty else {
            throw ImagesError(.missingBlob, "blob \(descriptor.digest) is neither local nor recorded with a source to fetch it from")
        }
        var lastError: (any Error)?
        for source in sources {
            let repository = ImageReference(domain: source.domain, path: source.repository, tag: nil, digest: nil)
            do {
                try await body(repository)
                return
            } catch let error as ImagesError where error.code == .corruptBlob || error.code == .noSpace {
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ImagesError(.missingBlob, "no source served \(descriptor.digest)")
    }
}

/// A new blob file and the hash of what was written to it, handed between a fetch task and the
/// pool threads that write, sync and name it (one user at a time: each call is awaited before
/// the next).
private final class FileBox: @unchecked Sendable {
    let file: NewBlobFile
    private var hasher: DigestHasher

    init(_ file: NewBlobFile, algorithm: Digest.Algorithm) {
        self.file = file
        hasher = DigestHasher(algorithm)
    }

    /// The digest of everything written.
    func digest() -> Digest { hasher.finalize() }

    /// Hashes and appends the gathered bytes on the blocking pool, and empties `batch`.
    /// - Throws: `.noSpace`, `.io` (naming `what`).
    func write(_ batch: inout [UInt8], what: String) async throws {
        guard !batch.isEmpty else { return }
        let bytes = batch
        batch = []
        batch.reserveCapacity(LazyBlobFetcher.writeBatchSize)
        try await BlockingWork.run { try self.append(bytes, what: what) }
    }

    private func append(_ bytes: [UInt8], what: String) throws(ImagesError) {
        do {
            _ = try bytes.withUnsafeBytes { try FileDescriptor(rawValue: file.fileDescriptor).writeAll($0) }
        } catch {
            throw BlobCopier.failure(Errno(thrownBy: error).rawValue, "cannot write \(what)")
        }
        hasher.update(bytes)
    }
}
