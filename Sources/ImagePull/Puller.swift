import BlockingWork
import ContentStore
import ImageStore
import LazyBlobs
import Logging
import OCISpec
import Registry

/// `layoutfs pull`: every blob of an image's closure (or of one platform) from a registry into
/// the store, through ingests that verify size and digest; blobs already local are skipped;
/// the name is bound only once the closure is complete, so an interrupted pull names nothing
/// and a re-run fetches only what is missing.
///
/// Threads: the pull is async; every call that blocks (ingest writes and commits, fsyncing
/// writes, meta.db, reading and re-hashing store blobs) runs on the blocking pool
/// (`BlockingWork`), never on Swift's cooperative pool.
package struct Puller: Sendable {
    package struct Options: Sendable {
        /// Re-root an index at this platform's manifest.
        package var platform: Platform?
        /// Blobs downloaded at once.
        package var concurrency: Int
        /// Attempts per blob when a transfer breaks mid-body (each restarts the blob).
        package var blobAttempts: Int
        /// `--lazy`: fetch manifests, indexes and configs only; record layers as lazy blobs
        /// with this registry repository as their source.
        package var lazy: Bool
        /// `--verify-existing`: re-hash the blobs already in the store and fetch again those
        /// that do not match (instead of skipping them).
        package var verifyExisting: Bool
        /// Bind the reference's name in the store when done; false to complete an image named
        /// elsewhere (containerd's, whose absent blobs are fetched lazily).
        package var bindsName = true

        package init(platform: Platform? = nil, concurrency: Int = 4, blobAttempts: Int = 3, lazy: Bool = false, verifyExisting: Bool = false) {
            self.platform = platform
            self.concurrency = max(1, concurrency)
            self.blobAttempts = max(1, blobAttempts)
            self.lazy = lazy
            self.verifyExisting = verifyExisting
        }
    }

    /// Progress of the blob downloads.
    package struct Progress: Sendable {
        package var bytesDone: Int64
        package var bytesTotal: Int64
        package var blobsDone: Int
        package var blobsTotal: Int
    }

    package struct Result: Sendable {
        package var name: String
        package var target: Descriptor
        package var fetchedBlobs = 0
        package var fetchedBytes: Int64 = 0
        package var skippedBlobs = 0
        /// Blobs in the store that did not match their digest (`verifyExisting`), fetched again.
        package var replacedBlobs = 0
        package var absentForeignLayers: [Descriptor] = []
        /// Layers recorded as lazy (`--lazy`), and their bytes.
        package var lazyBlobs = 0
        package var lazyBytes: Int64 = 0
    }

    private let store: Store
    private let client: RegistryClient
    private let logger: Logger

    package init(store: Store, client: RegistryClient, logger: Logger = Logger(label: "layoutfs.pull")) {
        self.store = store
        self.client = client
        self.logger = logger
    }

    /// Pulls `reference` and binds its normalized name.
    /// - Throws: `RegistryError` (not found, unauthorized, transport), `ImagesError`
    ///   (`.corruptBlob` when bytes do not match, `.noPlatform`, `.noSpace`).
    package func pull(_ reference: ImageReference, options: Options = Options(), progress: @escaping @Sendable (Progress) -> Void = { _ in })
        async throws -> Result
    {
        let repository = ImageReference(domain: reference.domain, path: reference.path, tag: nil, digest: nil)
        let store = self.store
        _ = try await BlockingWork.run { store.content.removeStaleIngests() }
        var root = try await client.resolve(reference)
        // Manifests, indexes (and configs the platform search read) by digest, read before
        // anything is committed: they are stored from memory once their children are local.
        var documents: [Digest: [UInt8]] = [:]
        var result = Result(name: reference.description, target: root)
        let verify = options.verifyExisting
        if let platform = options.platform, root.mediaType.isIndex {
            root = try await PlatformSelection.select(
                platform, from: root, named: "\(repository)",
                readConfig: { try await self.configuration($0, repository: repository, documents: &documents, verify: verify, result: &result) },
                read: { try await self.node($0, repository: repository, manifests: &documents, verify: verify, result: &result) })
        }
        result.target = root
        let walker = try await closure(of: root, repository: repository, documents: &documents, verify: verify, result: &result)
        result.absentForeignLayers = walker.absentForeignLayers
        let leaves = walker.blobs.filter { !ManifestNode.hasChildren($0.mediaType) }
        let configs = Set(walker.configs.map(\.digest))

        if verify {
            for leaf in leaves {
                if try await removeIfCorrupt(leaf.digest) { result.replacedBlobs += 1 }
            }
        }
        // What the store can read already (its own blobs, or a content directory's) is not fetched.
        var missing = try await BlockingWork.run { leaves.filter { !store.hasBlob($0.digest) } }
        // Configs the platform search fetched are stored from memory, not fetched again.
        let held = missing.filter { documents[$0.digest] != nil }
        missing = missing.filter { documents[$0.digest] == nil }
        if options.lazy {
            let layers = missing.filter { !configs.contains($0.digest) }
            try await BlockingWork.run {
                do throws(ContentStoreError) {
                    try store.lazyBlobs.recordLazy(layers, source: BlobSource(domain: reference.domain, repository: reference.path))
                } catch {
                    throw ImagesError(error, "cannot record the lazy blobs of \(reference)")
                }
            }
            result.lazyBlobs = layers.count
            result.lazyBytes = layers.reduce(Int64(0)) { $0 + $1.size }
            missing = missing.filter { configs.contains($0.digest) }
        }
        result.skippedBlobs = leaves.count - missing.count - held.count
        let total = missing.reduce(Int64(0)) { $0 + $1.size }
        let counter = ProgressCounter(total: total, blobs: missing.count, report: progress)
        try await forEachConcurrently(missing, limit: options.concurrency) { descriptor in
            try await self.download(descriptor, repository: repository, attempts: options.blobAttempts, counter: counter)
        }
        result.fetchedBlobs = missing.count + held.count
        result.fetchedBytes = total + held.reduce(Int64(0)) { $0 + $1.size }
        // Configs are parsed by every reader: refuse one they would read differently from us.
        let configsAtHand = documents
        let walkedConfigs = walker.configs
        try await BlockingWork.run {
            for config in walkedConfigs {
                guard let bytes = configsAtHand[config.digest] ?? (try? store.readBlob(config.digest)) else { continue }
                try ManifestNode.checkConfiguration(config, bytes: bytes)
            }
        }
        // Children first (the walk's order): a manifest is committed once everything it
        // references is local.
        let stored = documents
        let walked = walker.blobs
        try await BlockingWork.run {
            for descriptor in walked where !store.hasBlob(descriptor.digest) {
                guard let bytes = stored[descriptor.digest] else { continue }
                do throws(ContentStoreError) {
                    try store.content.write(bytes, digest: descriptor.digest, size: descriptor.size)
                } catch {
                    throw ImagesError(error, "cannot store \(descriptor.mediaType) \(descriptor.digest)")
                }
            }
        }
        var target = root
        if target.platform == nil, case .manifest(let manifest)? = documents[root.digest].flatMap({ try? ManifestNode(descriptor: root, bytes: $0) }),
            let configBytes = try await BlockingWork.run({ try? store.readBlob(manifest.config.digest) })
        {
            target = target.settingPlatform((try? ImageConfiguration(bytes: configBytes))?.platform)
        }
        result.target = target
        guard options.bindsName else { return result }
        let bound = target
        try await BlockingWork.run {
            do throws(ContentStoreError) {
                try store.images.bind(reference.description, to: bound)
            } catch {
                throw ImagesError(error, "cannot name \(reference)")
            }
        }
        return result
    }

    /// Removes a store blob that does not hash to its digest (on the blocking pool: it reads and
    /// hashes the whole blob); true when it did so.
    /// - Throws: `ImagesError` when the blob cannot be read.
    private func removeIfCorrupt(_ digest: Digest) async throws -> Bool {
        let store = self.store
        return try await BlockingWork.run {
            do throws(ContentStoreError) {
                return try store.content.removeIfCorrupt(digest)
            } catch {
                throw ImagesError(error, "cannot verify blob \(digest) in the store")
            }
        }
    }

    /// The store's bytes of a manifest, index or config (at most 4 MiB), read on the blocking
    /// pool; nil when it is not local or cannot be read.
    private func localDocument(_ digest: Digest) async -> [UInt8]? {
        let store = self.store
        return try? await BlockingWork.run { try? store.readBlob(digest) }
    }

    /// Fetches (or reads from the store) and verifies a manifest or index; with `verify`, a
    /// stored copy that does not match is removed and fetched again.
    private func node(_ descriptor: Descriptor, repository: ImageReference, manifests: inout [Digest: [UInt8]], verify: Bool, result: inout Result)
        async throws -> ManifestNode
    {
        if let bytes = manifests[descriptor.digest] { return try ManifestNode(descriptor: descriptor, bytes: bytes) }
        if verify, try await removeIfCorrupt(descriptor.digest) { result.replacedBlobs += 1 }
        let bytes: [UInt8]
        if let local = await localDocument(descriptor.digest) {
            bytes = local
        } else {
            let reference = ImageReference(domain: repository.domain, path: repository.path, tag: nil, digest: descriptor.digest)
            bytes = try await client.fetchManifest(reference).1
        }
        let node = try ManifestNode(descriptor: descriptor, bytes: bytes)
        manifests[descriptor.digest] = bytes
        return node
    }

    /// The closure of `root` by the one walker (``ClosureWalker``), in rounds: each round walks
    /// what has been read so far and collects the manifests and indexes it reached but does not
    /// have; those are read (``node(_:repository:manifests:verify:result:)``) and the next
    /// round walks again, until one reaches them all. Rounds: one per level of the tree.
    /// The registry is taken to have every blob but non-distributable layers (never fetched).
    /// - Throws: as the walker (`.invalidLayout` for nesting), and what fetching throws.
    private func closure(
        of root: Descriptor, repository: ImageReference, documents: inout [Digest: [UInt8]], verify: Bool, result: inout Result
    ) async throws -> ClosureWalker {
        while true {
            let known = documents
            var unread: [Descriptor] = []
            var walker = ClosureWalker(
                imageName: "\(repository)", skippingMissing: true,
                read: { descriptor in
                    if let bytes = known[descriptor.digest] { return bytes }
                    if ManifestNode.hasChildren(descriptor.mediaType) { unread.append(descriptor) }
                    // Configs not at hand are checked once downloaded.
                    return nil
                },
                has: { !ClosureWalker.mayBeAbsent($0) })
            try walker.walk(root)
            guard !unread.isEmpty else { return walker }
            for descriptor in unread {
                _ = try await node(descriptor, repository: repository, manifests: &documents, verify: verify, result: &result)
            }
        }
    }

    /// A config's bytes for the platform search: the store's, else fetched and verified, and
    /// kept in `documents` so that the pull stores it from memory if it is in the closure. Nil
    /// for a config over 4 MiB (never parsed).
    /// - Throws: `RegistryError`, `.corruptBlob` when the bytes do not match.
    private func configuration(
        _ descriptor: Descriptor, repository: ImageReference, documents: inout [Digest: [UInt8]], verify: Bool, result: inout Result
    ) async throws -> [UInt8]? {
        if let bytes = documents[descriptor.digest] { return bytes }
        if verify, try await removeIfCorrupt(descriptor.digest) { result.replacedBlobs += 1 }
        if let local = await localDocument(descriptor.digest) { return local }
        guard descriptor.size <= ImageLayout.maximumManifestSize else { return nil }
        var bytes: [UInt8] = []
        var watch = TransferWatch(descriptor.digest, limit: client.readTimeout)
        try await client.fetchBlob(descriptor, repository: repository, onOutcome: { _ in watch.restart() }) { chunk in
            bytes.append(contentsOf: chunk)
            try watch.record(chunk.count)
        }
        try ManifestNode.verify(descriptor, bytes: bytes)
        documents[descriptor.digest] = bytes
        return bytes
    }

    /// Bytes of a blob's body gathered before they are written (and hashed) into its ingest in
    /// one call on the blocking pool.
    static let writeBatchSize = 1 << 20

    /// Downloads one blob into an ingest and commits it (verified). A transfer that breaks
    /// mid-body is restarted, up to `attempts` times; a digest mismatch is never retried. The
    /// ingest is created, written (in batches of ``writeBatchSize`` bytes), committed and
    /// aborted on the blocking pool.
    package func download(_ descriptor: Descriptor, repository: ImageReference, attempts: Int, counter: ProgressCounter) async throws {
        let store = self.store
        var attempt = 0
        while true {
            attempt += 1
            let box = try await BlockingWork.run {
                do throws(ContentStoreError) {
                    let ingest = try store.content.ingest()
                    ingest.alsoHash(descriptor.digest.algorithm)
                    return IngestBox(ingest)
                } catch {
                    throw ImagesError(error, "cannot start writing blob \(descriptor.digest)")
                }
            }
            var written: Int64 = 0
            var batch: [UInt8] = []
            var watch = TransferWatch(descriptor.digest, limit: client.readTimeout)
            do {
                try await client.streamBlob(descriptor, repository: repository, onOutcome: { _ in watch.restart() }) { bytes in
                    bytes.withUnsafeBytes { batch.append(contentsOf: $0) }
                    written += Int64(bytes.count)
                    counter.add(bytes: Int64(bytes.count))
                    try watch.record(bytes.count)
                    if batch.count >= Self.writeBatchSize { try await Self.write(&batch, to: box) }
                }
                try await Self.write(&batch, to: box)
                try await BlockingWork.run {
                    do throws(ContentStoreError) {
                        try box.ingest.commit(digest: descriptor.digest, size: descriptor.size)
                    } catch {
                        throw ImagesError(error, "blob \(descriptor.digest) from \(repository.domain)/\(repository.path)")
                    }
                }
                counter.finishBlob()
                return
            } catch let error as RegistryError
                where (error.code == .transport || error.code == .timeout || error.code == .protocolViolation) && attempt < attempts && !Task.isCancelled
            {
                await Self.abort(box)
                counter.add(bytes: -written)
                logger.warning("retrying blob after a broken transfer", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
            } catch {
                await Self.abort(box)
                throw error
            }
        }
    }

    /// Writes (and hashes) the gathered bytes into the ingest on the blocking pool, and empties
    /// `batch`.
    /// - Throws: `ContentStoreError` (`.noSpace`, `.io`: the ingest is then aborted).
    private static func write(_ batch: inout [UInt8], to box: IngestBox) async throws {
        guard !batch.isEmpty else { return }
        let bytes = batch
        batch = []
        batch.reserveCapacity(writeBatchSize)
        try await BlockingWork.run { try box.ingest.write(bytes) }
    }

    /// Removes the ingest's directory, on the blocking pool.
    private static func abort(_ box: IngestBox) async {
        _ = try? await BlockingWork.run { box.ingest.abort() }
    }
}

/// An ingest handed between a download task and the pool threads that write and commit it
/// (one user at a time: each call is awaited before the next).
final class IngestBox: @unchecked Sendable {
    let ingest: Ingest
    init(_ ingest: Ingest) { self.ingest = ingest }
}
