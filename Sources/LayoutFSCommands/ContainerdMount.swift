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
    let registry: RegistryOptions
    let logger: Logger

    /// The lease expiry: `$LAYOUTFS_CONTAINERD_LEASE_SECONDS` (tests), else 300 s.
    static var expiry: Duration {
        ProcessInfo.processInfo.environment["LAYOUTFS_CONTAINERD_LEASE_SECONDS"].flatMap(Int.init).map { .seconds(max(3, $0)) }
            ?? ContainerdLeaseKeeper.defaultExpiry
    }

    init(source: ContainerdSource, store: Store, mountpoint: String, registry: RegistryOptions, logger: Logger) {
        self.source = source
        self.store = store
        self.registry = registry
        self.logger = logger
        keeper = ContainerdLeaseKeeper(
            client: source.client, prefix: "layoutfs-mount-\(getpid())", expiry: Self.expiry, labels: ["layoutfs.mountpoint": mountpoint])
    }

    /// Manifests, indexes and configs are held before this returns; the layers they name in
    /// containerd's gc.ref labels through them, and the others right after, in the background
    /// (``ContainerdLeaseKeeper/hold(_:waiting:deferred:counted:)``): a 10,000-layer image is ready
    /// without reading a megabyte of labels or making 10,000 AddResource calls first.
    func hold(_ blobs: [Descriptor]) async throws {
        let (logger, count) = (logger, blobs.count)
        // The first generation's labels are read once the mount is live (maintain).
        let first = await keeper.id == nil
        try await keeper.hold(blobs, deferred: first) { lease, named, throughLabels in
            logger.info("containerd lease \(lease) holds \(count) blobs: \(named) named, \(throughLabels) through containerd's gc.ref labels")
        }
    }

    var holding: String? { get async { await keeper.id } }

    var holdingNamespace: String? { source.client.namespace }

    func maintain(held: @escaping @Sendable (String) -> Void) async {
        await keeper.startDeferredPass()
        let (keeper, logger) = (keeper, logger)
        await withTaskGroup(of: Void.self) { group in
            let (source, store) = (source, store)
            group.addTask {
                // The events have a connection of their own: containerd's server pings once per
                // call it receives, and swift-nio-http2 closes a connection that gets more than
                // 200 pings in 30 s (its flood limit), which would end the subscription whenever
                // reads or lease additions are busy on the shared connection.
                let events = (try? ContainerdClient(socket: source.client.socket, namespace: source.client.namespace)) ?? source.client
                await ContainerdNameFollower(client: events, images: source.images, logger: logger) { target in
                    try await source.prepare(target, in: store)
                }.run()
                if events !== source.client { await events.close() }
            }
            group.addTask { await Self.renew(keeper, logger: logger, held: held) }
            await group.waitForAll()
        }
    }

    /// Renews the lease every third of its expiry until cancelled. A renewal that fails
    /// (containerd down or restarting) is retried 1, 2, 4, then every 5 s, and said once; the
    /// renewal that succeeds again is said too, and a lease that expired meanwhile is said as
    /// an error: containerd may then collect blobs no image of its own holds.
    private static func renew(_ keeper: ContainerdLeaseKeeper, logger: Logger, held: @Sendable (String) -> Void) async {
        let period = keeper.expiry / 3
        var pause = period
        var failing = false
        var saidExpired = false
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: pause)
            } catch {
                return
            }
            do {
                try await keeper.renew()
                let id = await keeper.id ?? "-"
                if failing { logger.notice("renewed the containerd lease again: \(id)") }
                held(id)
                (failing, saidExpired, pause) = (false, false, period)
            } catch {
                let (id, expiresAt) = (await keeper.id ?? "-", await keeper.expiresAt ?? Date())
                let until = ContainerdLeaseKeeper.rfc3339(expiresAt)
                if expiresAt < Date() {
                    if !saidExpired {
                        logger.error(
                            "the containerd lease \(id) expired at \(until) while it could not be renewed: containerd may collect the blobs no image of its own holds, and reads of those then fail (\(error))"
                        )
                        saidExpired = true
                    }
                } else if !failing {
                    logger.warning("cannot renew the containerd lease \(id) (it holds the blobs until \(until)); trying again: \(error)")
                }
                pause = failing ? min(pause * 2, .seconds(5)) : .seconds(1)
                failing = true
            }
        }
    }

    var remoteReader: (any RemoteBlobReader)? { source.access == .api ? ContainerdBlobReader(client: source.client) : nil }

    /// Fetches lazily what containerd lacks of `images` (``ContainerdCompletion``).
    func complete(_ images: [ResolvedImage], say: @escaping @Sendable (String) -> Void) async throws {
        try await ContainerdCompletion.complete(images, source: source, store: store, registry: registry, logger: logger, say: say)
    }

    func release() async {
        await keeper.end()
        await source.client.close()
    }
}

extension ContainerdBlobReader: RemoteBlobReader {}
