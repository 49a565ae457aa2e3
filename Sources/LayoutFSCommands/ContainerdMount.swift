import Containerd
import ContainerdStore
import Foundation
import ImageStore
import LayoutFSMount
import Logging
import OCISpec

/// What a mount from containerd keeps up (``BlobHolder``): the containerd lease holding every
/// blob shown (``ContainerdLeaseKeeper``, renewed every third of its expiry) and containerd's
/// names, followed through its events (``ContainerdNameFollower``).
struct ContainerdMount: BlobHolder {
    let source: ContainerdSource
    let store: Store
    let keeper: ContainerdLeaseKeeper
    let logger: Logger

    /// The lease expiry: `$LAYOUTFS_CONTAINERD_LEASE_SECONDS` (tests), else 300 s.
    static var expiry: Duration {
        ProcessInfo.processInfo.environment["LAYOUTFS_CONTAINERD_LEASE_SECONDS"].flatMap(Int.init).map { .seconds(max(3, $0)) }
            ?? ContainerdLeaseKeeper.defaultExpiry
    }

    init(source: ContainerdSource, store: Store, mountpoint: String, logger: Logger) {
        self.source = source
        self.store = store
        self.logger = logger
        keeper = ContainerdLeaseKeeper(
            client: source.client, prefix: "layoutfs-mount-\(getpid())", expiry: Self.expiry, labels: ["layoutfs.mountpoint": mountpoint])
    }

    /// Manifests, indexes and configs are held before this returns; layers right after, in the
    /// background (containerd keeps them meanwhile through the `containerd.io/gc.ref.content`
    /// labels its pulls and imports put on manifests): a 10,000-layer image is ready without
    /// waiting for 10,000 AddResource calls.
    func hold(_ blobs: [Descriptor]) async throws {
        let first = Set(blobs.filter { ManifestNode.hasChildren($0.mediaType) || $0.mediaType.isImageConfiguration }.map(\.digest))
        let all = Set(blobs.map(\.digest))
        if await keeper.id == nil {
            try await keeper.start(holding: first)
            let id = await keeper.id ?? "-"
            logger.info("containerd lease \(id) holds \(first.count) manifests and configs; \(all.count - first.count) more blobs follow")
        }
        try await keeper.hold(all, first: first)
    }

    func maintain(held: @escaping @Sendable (String) -> Void) async {
        if let id = await keeper.id { held(id) }
        let (keeper, logger) = (keeper, logger)
        await withTaskGroup(of: Void.self) { group in
            let (source, store) = (source, store)
            group.addTask {
                await ContainerdNameFollower(client: source.client, images: source.images, logger: logger) { target in
                    try await source.prepare(target, in: store)
                }.run()
            }
            group.addTask {
                let period = keeper.expiry / 3
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: period)
                        try await keeper.renew()
                        if let id = await keeper.id { held(id) }
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.warning("cannot renew the containerd lease (it holds the blobs until it expires): \(error)")
                    }
                }
            }
            await group.waitForAll()
        }
    }

    var remoteReader: (any RemoteBlobReader)? { source.access == .api ? ContainerdBlobReader(client: source.client) : nil }

    func release() async {
        await keeper.end()
        await source.client.close()
    }
}

extension ContainerdBlobReader: RemoteBlobReader {}
