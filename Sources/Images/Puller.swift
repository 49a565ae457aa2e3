import ContentStore
import Dispatch
import Logging
import OCISpec
import Registry

/// `layoutfs pull`: every blob of an image's closure (or of one platform) from a registry into
/// the store, through ingests that verify size and digest; blobs already local are skipped;
/// the name is bound only once the closure is complete, so an interrupted pull names nothing
/// and a re-run fetches only what is missing.
public struct Puller: Sendable {
    public struct Options: Sendable {
        /// Re-root an index at this platform's manifest.
        public var platform: Platform?
        /// Blobs downloaded at once.
        public var concurrency: Int
        /// Attempts per blob when a transfer breaks mid-body (each restarts the blob).
        public var blobAttempts: Int
        /// `--lazy`: fetch manifests, indexes and configs only; record layers as lazy blobs
        /// with this registry repository as their source.
        public var lazy: Bool
        /// `--verify-existing`: re-hash the blobs already in the store and fetch again those
        /// that do not match (instead of skipping them).
        public var verifyExisting: Bool

        public init(platform: Platform? = nil, concurrency: Int = 4, blobAttempts: Int = 3, lazy: Bool = false, verifyExisting: Bool = false) {
            self.platform = platform
            self.concurrency = max(1, concurrency)
            self.blobAttempts = max(1, blobAttempts)
            self.lazy = lazy
            self.verifyExisting = verifyExisting
        }
    }

    /// Progress of the blob downloads.
    public struct Progress: Sendable {
        public var bytesDone: Int64
        public var bytesTotal: Int64
        public var blobsDone: Int
        public var blobsTotal: Int
    }

    public struct Result: Sendable {
        public var name: String
        public var target: Descriptor
        public var fetchedBlobs = 0
        public var fetchedBytes: Int64 = 0
        public var skippedBlobs = 0
        /// Blobs in the store that did not match their digest (`verifyExisting`), fetched again.
        public var replacedBlobs = 0
        public var absentForeignLayers: [Descriptor] = []
        /// Layers recorded as lazy (`--lazy`), and their bytes.
        public var lazyBlobs = 0
        public var lazyBytes: Int64 = 0
    }

    private let store: Store
    private let client: RegistryClient
    private let logger: Logger

    public init(store: Store, client: RegistryClient, logger: Logger = Logger(label: "layoutfs.pull")) {
        self.store = store
        self.client = client
        self.logger = logger
    }

    /// Pulls `reference` and binds its normalized name.
    /// - Throws: `RegistryError` (not found, unauthorized, transport), `ImagesError`
    ///   (`.corruptBlob` when bytes do not match, `.noPlatform`, `.noSpace`).
    public func pull(_ reference: ImageReference, options: Options = Options(), progress: @escaping @Sendable (Progress) -> Void = { _ in })
        async throws -> Result
    {
        let repository = ImageReference(domain: reference.domain, path: reference.path, tag: nil, digest: nil)
        store.content.removeStaleIngests()
        var root = try await client.resolve(reference)
        var manifests: [Digest: [UInt8]] = [:]
        var result = Result(name: reference.description, target: root)
        let verify = options.verifyExisting
        if let platform = options.platform, root.mediaType.isIndex {
            root = try await select(platform, in: root, repository: repository, manifests: &manifests, verify: verify, result: &result, depth: 0)
        }
        var leaves: [Descriptor] = []
        var configs: [Digest: Descriptor] = [:]
        var order: [Descriptor] = []
        var seen: Set<Digest> = []
        result.target = root
        try await walk(
            root, repository: repository, manifests: &manifests, leaves: &leaves, configs: &configs, order: &order, seen: &seen, verify: verify,
            result: &result, depth: 0)

        if verify {
            for leaf in leaves where try removeIfCorrupt(leaf.digest) { result.replacedBlobs += 1 }
        }
        var missing = leaves.filter { !store.content.contains($0.digest) }
        if options.lazy {
            let layers = missing.filter { configs[$0.digest] == nil }
            do {
                try store.lazyBlobs.recordLazy(layers, source: BlobSource(domain: reference.domain, repository: reference.path))
            } catch {
                throw ImagesError(error, "cannot record the lazy blobs of \(reference)")
            }
            result.lazyBlobs = layers.count
            result.lazyBytes = layers.reduce(Int64(0)) { $0 + $1.size }
            missing = missing.filter { configs[$0.digest] != nil }
        }
        result.skippedBlobs = leaves.count - missing.count
        let total = missing.reduce(Int64(0)) { $0 + $1.size }
        let counter = ProgressCounter(total: total, blobs: missing.count, report: progress)
        try await forEachConcurrently(missing, limit: options.concurrency) { descriptor in
            try await self.download(descriptor, repository: repository, attempts: options.blobAttempts, counter: counter)
        }
        result.fetchedBlobs = missing.count
        result.fetchedBytes = total
        // Configs are parsed by every reader: refuse one they would read differently from us.
        for config in configs.values {
            guard let bytes = try? store.content.readBlob(config.digest) else { continue }
            try ManifestNode.checkConfiguration(config, bytes: bytes)
        }
        // Parents after children: manifests are committed once everything they reference is local.
        for descriptor in order.reversed() where !store.content.contains(descriptor.digest) {
            guard let bytes = manifests[descriptor.digest] else { continue }
            do {
                try store.content.write(bytes, digest: descriptor.digest, size: descriptor.size)
            } catch {
                throw ImagesError(error, "cannot store manifest \(descriptor.digest)")
            }
        }
        var target = root
        if target.platform == nil, case .manifest(let manifest)? = manifests[root.digest].flatMap({ try? ManifestNode(descriptor: root, bytes: $0) }),
            let configBytes = try? store.content.readBlob(manifest.config.digest)
        {
            target = target.settingPlatform((try? ImageConfiguration(bytes: configBytes))?.platform)
        }
        result.target = target
        do {
            try store.images.bind(reference.description, to: target)
        } catch {
            throw ImagesError(error, "cannot name \(reference)")
        }
        return result
    }

    /// Removes a store blob that does not hash to its digest; true when it did so.
    private func removeIfCorrupt(_ digest: Digest) throws(ImagesError) -> Bool {
        do {
            return try store.content.removeIfCorrupt(digest)
        } catch {
            throw ImagesError(error, "cannot verify blob \(digest) in the store")
        }
    }

    /// Fetches (or reads from the store) and verifies a manifest or index; with `verify`, a
    /// stored copy that does not match is removed and fetched again.
    private func node(_ descriptor: Descriptor, repository: ImageReference, manifests: inout [Digest: [UInt8]], verify: Bool, result: inout Result)
        async throws -> ManifestNode
    {
        if let bytes = manifests[descriptor.digest] { return try ManifestNode(descriptor: descriptor, bytes: bytes) }
        if verify, try removeIfCorrupt(descriptor.digest) { result.replacedBlobs += 1 }
        let bytes: [UInt8]
        if let local = try? store.content.readBlob(descriptor.digest) {
            bytes = local
        } else {
            let reference = ImageReference(domain: repository.domain, path: repository.path, tag: nil, digest: descriptor.digest)
            bytes = try await client.fetchManifest(reference).1
        }
        let node = try ManifestNode(descriptor: descriptor, bytes: bytes)
        manifests[descriptor.digest] = bytes
        return node
    }

    private func walk(
        _ descriptor: Descriptor, repository: ImageReference, manifests: inout [Digest: [UInt8]], leaves: inout [Descriptor],
        configs: inout [Digest: Descriptor], order: inout [Descriptor], seen: inout Set<Digest>, verify: Bool, result: inout Result, depth: Int
    ) async throws {
        guard seen.insert(descriptor.digest).inserted else { return }
        guard depth < 16 else { throw ImagesError(.invalidLayout, "\(repository) nests indexes more than 16 deep") }
        guard ManifestNode.hasChildren(descriptor.mediaType) else {
            if !descriptor.urls.isEmpty {
                result.absentForeignLayers.append(descriptor)
            } else {
                leaves.append(descriptor)
            }
            return
        }
        order.append(descriptor)
        let node = try await node(descriptor, repository: repository, manifests: &manifests, verify: verify, result: &result)
        if case .manifest(let manifest) = node { configs[manifest.config.digest] = manifest.config }
        for child in node.children {
            try await walk(
                child, repository: repository, manifests: &manifests, leaves: &leaves, configs: &configs, order: &order, seen: &seen, verify: verify,
                result: &result, depth: depth + 1)
        }
    }

    private func select(
        _ platform: Platform, in index: Descriptor, repository: ImageReference, manifests: inout [Digest: [UInt8]], verify: Bool, result: inout Result, depth: Int
    ) async throws -> Descriptor {
        guard depth < 16, case .index(let parsed) = try await node(index, repository: repository, manifests: &manifests, verify: verify, result: &result) else {
            throw ImagesError(.noPlatform, "\(repository) has no manifest for \(platform)")
        }
        var offered: [String] = []
        for entry in parsed.manifests where entry.annotations[AnnotationKey.dockerReferenceType] == nil {
            if entry.mediaType.isIndex {
                if let found = try? await select(platform, in: entry, repository: repository, manifests: &manifests, verify: verify, result: &result, depth: depth + 1) {
                    return found
                }
            } else if let candidate = entry.platform {
                offered.append(candidate.description)
                if platform.matches(candidate) { return entry }
            }
        }
        throw ImagesError(.noPlatform, "\(repository) has no manifest for \(platform); it offers: \(offered.isEmpty ? "none" : offered.joined(separator: ", "))")
    }

    /// Downloads one blob into an ingest and commits it (verified). A transfer that breaks
    /// mid-body is restarted, up to `attempts` times; a digest mismatch is never retried.
    func download(_ descriptor: Descriptor, repository: ImageReference, attempts: Int, counter: ProgressCounter) async throws {
        var attempt = 0
        while true {
            attempt += 1
            let ingest: Ingest
            do {
                ingest = try store.content.ingest()
            } catch {
                throw ImagesError(error, "cannot start writing blob \(descriptor.digest)")
            }
            ingest.alsoHash(descriptor.digest.algorithm)
            let box = IngestBox(ingest)
            var written: Int64 = 0
            var watch = TransferWatch(descriptor.digest, limit: client.readTimeout)
            do {
                try await client.fetchBlob(descriptor, repository: repository, onOutcome: { _ in watch.restart() }) { bytes in
                    try box.ingest.write(bytes)
                    written += Int64(bytes.count)
                    counter.add(bytes: Int64(bytes.count))
                    try watch.record(bytes.count)
                }
                try await Self.onBlockingThread {
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
                ingest.abort()
                counter.add(bytes: -written)
                logger.warning("retrying blob after a broken transfer", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
            } catch {
                ingest.abort()
                throw error
            }
        }
    }

    /// Runs blocking work (fsync, rename) on a Dispatch thread, off the Swift concurrency pool.
    static func onBlockingThread(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                do {
                    try work()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// An ingest handed between a download task and the thread that commits it (one user at a time).
final class IngestBox: @unchecked Sendable {
    let ingest: Ingest
    init(_ ingest: Ingest) { self.ingest = ingest }
}
