import BlockingWork
import ContentStore
import ImageStore
import LayoutFS
import LazyBlobs
import Logging
import OCISpec
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// The life of one mount daemon, from a ``MountRequest`` the command decided to the unmount:
/// the lease that holds the images against prune, the mount record `status` lists, the
/// registry client and blob provider (``StoreBlobs``) that serve lazy blobs, the tree, the
/// ``IndexFollower`` of moving names, and the FUSE session with its signals
/// (``MountDaemon/run(tree:mountpoint:options:logger:announce:ready:)``).
///
/// Everything it starts ends before ``run(announce:leased:ready:)`` returns: the follower's
/// timer is cancelled, the session ends, the lazy blobs' fetches are cancelled and waited for
/// (``LazyBlobProvider/shutdown()``), the registry client shuts down, the lease and the record
/// are removed.
package struct MountService: Sendable {
    /// How the daemon serves (the command's options).
    package struct Settings: Sendable {
        package var mount: MountOptions
        package var lazy: LazyReadOptions
        package var registry: RegistryConfiguration
        /// How long the blobs of a previous `index.json` stay readable after a followed name
        /// moved.
        package var grace: Duration
        /// How often meta.db is polled for moved names (SQLite change notification does not
        /// cross processes).
        package var pollInterval: Duration
        /// How long what follows the session's end may take before the process exits naming
        /// the step that hung (``ShutdownWatchdog``); nil: no bound.
        package var shutdownDeadline: Duration?

        package init(
            mount: MountOptions, lazy: LazyReadOptions, registry: RegistryConfiguration, grace: Duration, pollInterval: Duration = .milliseconds(250),
            shutdownDeadline: Duration? = nil
        ) {
            self.mount = mount
            self.lazy = lazy
            self.registry = registry
            self.grace = grace
            self.pollInterval = pollInterval
            self.shutdownDeadline = shutdownDeadline
        }
    }

    /// Plans what a generation shows for the images: the layout and the warnings for the user.
    /// Blocking (reads the store).
    package typealias Planner = @Sendable ([ResolvedImage]) throws -> (layout: ShownLayout, warnings: [String])

    let store: Store
    let request: MountRequest
    let settings: Settings
    let logger: Logger
    let session: any MountSession
    let planner: Planner
    let holder: (any BlobHolder)?

    /// - Parameters:
    ///   - session: the kernel side; tests give a fake.
    ///   - planner: nil plans from the store (``LayoutPlan`` in the request's shape); tests give
    ///     their own.
    ///   - holder: also holds the blobs shown, and keeps names current (containerd).
    package init(
        store: Store, request: MountRequest, settings: Settings, logger: Logger, session: any MountSession = FUSEMountSession(), planner: Planner? = nil,
        holder: (any BlobHolder)? = nil
    ) {
        self.holder = holder
        self.store = store
        self.request = request
        self.settings = settings
        self.logger = logger
        self.session = session
        self.planner =
            planner ?? { [store, request] images in
                let plan = try LayoutPlan(store: store, images: images, shape: request.planShape(for: images))
                return (ShownLayout(plan), plan.warnings)
            }
    }

    /// Mounts and serves until the mount goes away (`layoutfs unmount`, `fusermount3 -u`) or a
    /// termination signal arrives.
    ///
    /// The caller holds prune off (the shared `gc.lock`) from resolving the request's images
    /// until `leased` is called.
    /// Steps: plans the first generation (the plan's warnings go to `warn`), leases the images,
    /// writes the mount record, then serves.
    /// - Parameters:
    ///   - warn: told what the user should know about the layout (entries sharing a ref name).
    ///   - announce: told what was done on the user's behalf (a stale mount removed).
    ///   - leased: called once the mount's lease holds the images.
    ///   - ready: called once when the mount is live.
    /// - Throws: `ImagesError` when the images cannot be planned or the lease cannot be written,
    ///   `ContentStoreError` for the record, ``MountError`` from the session.
    package func run(
        warn: (String) -> Void = { _ in }, announce: @escaping @Sendable (String) -> Void, leased: () -> Void, ready: @escaping @Sendable () -> Void
    ) async throws {
        let (planner, store, request, holder, logger) = (self.planner, self.store, self.request, self.holder, self.logger)
        // What the holder's source lacks is completed here, told to the user (and the log).
        let say = { @Sendable (line: String) in
            logger.notice("\(line)")
            announce(line)
        }
        let (layout, lease, warnings) = try await BlockingWork.run { () throws -> (ShownLayout, LockedRecord, [String]) in
            let images = request.images.map(\.resolved)
            let (layout, warnings) = try holder.planning(images, say: say) { try planner(images) }
            return (layout, try store.lease(images.map(\.root) + layout.convertedRoots), warnings)
        }
        if let holder {
            do {
                try await holder.hold(layout.blobs)
            } catch {
                await holder.release()
                throw error
            }
        }
        leased()
        for warning in warnings { warn(warning) }
        var shown = MountRecord.forThisProcess(
            mountpoint: request.mountpoint, images: request.images.map { $0.resolved.name ?? $0.resolved.root.digest.description })
        shown.containerdLease = await holder?.holding
        shown.containerdNamespace = holder?.holdingNamespace
        let entry = shown
        let record = try await BlockingWork.run { try MountRecord.create(in: store, entry) }
        // Removed before the process exits, not when the last reference goes (maybe too late).
        defer {
            record.remove()
            lease.remove()
        }
        // The holder renews what it holds and follows its names for the mount's whole life,
        // from the moment the mount is live (its calls would slow mount start; names that move
        // meanwhile are caught by the follower's first listing).
        let (live, liveContinuation) = AsyncStream<Void>.makeStream()
        let maintenance = holder.map { holder in
            Task { [logger] in
                for await _ in live { break }
                guard !Task.isCancelled else { return }
                await holder.maintain { held in
                    do {
                        var updated = entry
                        updated.containerdLease = held
                        try record.update(updated.json.encoded)
                    } catch {
                        logger.warning("cannot update the mount record: \(error)")
                    }
                }
            }
        }
        defer { maintenance?.cancel() }
        try await RegistryClient.with(configuration: settings.registry, logger: logger) { client in
            let lazy = LazyBlobProvider(store: store, client: client, options: settings.lazy, logger: logger)
            // The first generation's lazy blobs are known before a FUSE thread opens one.
            let blobs = layout.blobs
            try await BlockingWork.run { lazy.prepare(blobs) }
            let provider = StoreBlobs(store: store, lazy: lazy, remote: holder?.remoteReader)
            var failure: (any Error)?
            do {
                // The FUSE session blocks for the mount's whole life: a thread of its own, never
                // one of the blocking pool's (BlockingWork) or the cooperative pool's.
                try await PosixThread.run {
                    try serve(
                        layout: layout, provider: provider, lazy: lazy, lease: lease, announce: announce,
                        ready: {
                            liveContinuation.finish()
                            ready()
                        })
                }
            } catch {
                failure = error
            }
            let watchdog = ShutdownWatchdog(deadline: settings.shutdownDeadline, logger: logger)
            // A mount that never went live never starts its maintenance.
            maintenance?.cancel()
            liveContinuation.finish()
            // Fetches still under way end before the client they use shuts down.
            watchdog.step("ending the lazy fetches")
            await lazy.shutdown()
            maintenance?.cancel()
            watchdog.step("ending the names' maintenance (following names, renewing the lease)")
            await maintenance?.value
            watchdog.step("releasing the containerd lease and connection")
            await holder?.release()
            watchdog.finish()
            if let failure { throw failure }
            if provider.bytesFetched > 0 { logger.info("fetched \(provider.bytesFetched) bytes of lazy blobs") }
        }
    }

    /// The blocking part, on a thread of its own: the tree, the follower and the session.
    private func serve(
        layout: ShownLayout, provider: StoreBlobs, lazy: LazyBlobProvider, lease: LockedRecord, announce: @escaping @Sendable (String) -> Void,
        ready: @escaping @Sendable () -> Void
    ) throws {
        if request.rootfs {
            let rootfs = try RootfsMount(
                layout: layout, store: store, provider: provider, deadline: settings.mount.readDeadline, logger: logger, announce: announce)
            defer { rootfs.waitForKept() }
            try serve(tree: rootfs.view, target: rootfs, layout: layout, lazy: lazy, lease: lease, announce: announce) {
                ready()
                rootfs.keep(rootfs.firstBuilt)
            }
            return
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let tree = LayoutTree(
            index: layout.indexBytes, dockerManifest: layout.dockerManifestBytes, blobs: layout.blobs, provider: provider, modificationTime: Int64(now.tv_sec))
        try serve(
            tree: tree, target: LayoutFollowing(tree: tree, showsDockerManifest: request.shape.dockerManifest), layout: layout, lazy: lazy, lease: lease,
            announce: announce, ready: ready)
    }

    /// The tree served, with its follower, until the mount goes away.
    private func serve(
        tree: any ServedTree, target: any FollowingTarget, layout: ShownLayout, lazy: LazyBlobProvider, lease: LockedRecord,
        announce: @escaping @Sendable (String) -> Void, ready: @escaping @Sendable () -> Void
    ) throws {
        let names = FollowedNames(
            specifiers: request.images.map(\.specifier), images: request.images.map(\.resolved), convertedRoots: layout.convertedRoots, grace: settings.grace)
        let follower = IndexFollower(
            names: names, changeCount: request.changeCount,
            store: StoreFollowing(store: store, shape: { [request] in request.planShape(for: $0) }, lease: lease, holder: holder, logger: logger),
            target: target,
            prepareBlobs: { lazy.prepare($0) }, logger: logger)
        // Polling starts once the mount is live, and ends (no poll running) before this returns.
        var polls: RepeatingWork?
        defer { polls?.cancel() }
        let logger = logger
        try session.run(
            tree: tree, mountpoint: request.mountpoint, options: settings.mount, logger: logger,
            announce: { notice in
                logger.notice("\(notice)")
                announce(notice)
            }
        ) { control in
            if follower.followsAnything {
                follower.attach(control)
                polls = BlockingWork.every(settings.pollInterval) { follower.poll() }
            }
            ready()
        }
    }
}

/// The kernel side of a mount: mount `tree`, call `ready` once it is live, serve until it goes
/// away. The real one is ``FUSEMountSession``; tests of ``MountService`` give a fake.
package protocol MountSession: Sendable {
    /// Blocks until the mount ends.
    /// - Throws: ``MountError`` when it cannot be mounted or served.
    func run(
        tree: any ServedTree, mountpoint: String, options: MountOptions, logger: Logger, announce: (String) -> Void,
        ready: (any EntryInvalidator) -> Void
    ) throws
}

/// A FUSE session (``MountDaemon``).
package struct FUSEMountSession: MountSession {
    package init() {}

    package func run(
        tree: any ServedTree, mountpoint: String, options: MountOptions, logger: Logger, announce: (String) -> Void,
        ready: (any EntryInvalidator) -> Void
    ) throws {
        try MountDaemon.run(tree: tree, mountpoint: mountpoint, options: options, logger: logger, announce: announce) { control in ready(control) }
    }
}

extension MountControl: EntryInvalidator {}
