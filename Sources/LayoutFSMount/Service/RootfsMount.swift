import BlockingWork
import ContentStore
import Dispatch
import ImageStore
import LayoutFS
import Logging
import OCISpec
import RootfsView

/// The rootfs view of a mount (`mount --rootfs`): the one image manifest the plan shows (for
/// one platform), its config's diff_ids, and the view of its layers (``RootfsAssembly``), with
/// what the user should know announced. A followed name that moves gives the view a new
/// generation (``FollowingTarget``). The indexes it builds are kept in the store on a worker
/// thread (``keep(_:)``: once the mount is ready, at once for later generations); the daemon
/// waits for them before it exits (``waitForKept()``), so `layoutfs unmount`, which waits for
/// the daemon, returns with them kept.
final class RootfsMount: FollowingTarget {
    let view: RootfsView
    private let store: Store
    private let files: LayerIndexFiles
    private let deadline: Duration
    private let logger: Logger
    private let announce: @Sendable (String) -> Void
    private let keeping = DispatchGroup()
    /// What the first generation built, kept once the mount is ready.
    let firstBuilt: RootfsAssembly.Built

    /// Builds the first generation's view.
    /// - Throws: `ImagesError` when the plan shows other than one image manifest or its
    ///   manifest or config cannot be read; `LayoutFSError` when a layer cannot be read as one.
    init(
        layout: ShownLayout, store: Store, provider: any BlobProvider, deadline: Duration, logger: Logger, announce: @escaping @Sendable (String) -> Void
    ) throws {
        self.store = store
        self.files = LayerIndexFiles(location: store.location)
        self.deadline = deadline
        self.logger = logger
        self.announce = announce
        let started = ContinuousClock.now
        let (entry, manifest, diffIDs) = try Self.image(of: layout, store: store)
        let (view, report, built) = try RootfsAssembly.build(
            layers: manifest.layers, diffIDs: diffIDs, provider: provider, files: files, deadline: deadline, log: { logger.warning("\($0)") })
        self.view = view
        firstBuilt = built
        tell(report, of: entry, layers: manifest.layers.count, nodes: view.nodeCount, since: started)
    }

    /// The image manifest the plan shows, and its config's diff_ids.
    private static func image(of layout: ShownLayout, store: Store) throws -> (Descriptor, ImageManifest, [Digest]?) {
        guard layout.entries.count == 1, let entry = layout.entries.first else {
            throw ImagesError(.invalidLayout, "--rootfs shows one image's files: give one image (\(layout.entries.count) given)")
        }
        guard case .manifest(let manifest) = try store.readRoot(entry) else {
            throw ImagesError(.invalidLayout, "--rootfs needs an image manifest, and \(entry.digest) is \(entry.mediaType)")
        }
        do {
            return (entry, manifest, try ImageConfiguration(bytes: try store.readBlob(manifest.config.digest)).diffIDs)
        } catch {
            throw ImagesError(.invalidLayout, "the config \(manifest.config.digest) of \(entry.digest) cannot be read: \(error)")
        }
    }

    private func tell(_ report: RootfsAssembly.Report, of entry: Descriptor, layers: Int, nodes: Int, since started: ContinuousClock.Instant) {
        logger.info(
            "rootfs of \(entry.digest): \(layers) layers (\(report.built) indexed, \(report.loaded) from the store), \(nodes) nodes, in \(ContinuousClock.now - started)"
        )
        for failure in report.failures {
            logger.error("\(failure): its files fail with EIO")
            announce("warning: \(failure): its files fail with EIO")
        }
    }

    /// Keeps built indexes in the store on a worker thread.
    func keep(_ built: RootfsAssembly.Built) {
        guard !built.isEmpty else { return }
        keeping.enter()
        BlockingWork.submit { [self] in
            for line in RootfsAssembly.keep(built, files: files) { logger.warning("\(line)") }
            keeping.leave()
        }
    }

    /// Returns once every index handed to ``keep(_:)`` is kept (or failed).
    func waitForKept() { keeping.wait() }

    // MARK: FollowingTarget

    /// The new image's layers indexed, then shown as the root's entries; the kernel forgets the
    /// root's previous entries and its cached listing.
    func show(_ layout: ShownLayout) throws -> (generation: UInt64, entries: [(parent: UInt64, name: String)], inodes: [UInt64]) {
        let started = ContinuousClock.now
        let (entry, manifest, diffIDs) = try Self.image(of: layout, store: store)
        let shown = try RootfsAssembly.show(
            layers: manifest.layers, diffIDs: diffIDs, in: view, files: files, deadline: deadline, log: { [logger] in logger.warning("\($0)") })
        tell(shown.report, of: entry, layers: manifest.layers.count, nodes: view.nodeCount, since: started)
        keep(shown.built)
        return (shown.generation, shown.previousNames.map { (LayoutTree.rootInode, $0) }, [LayoutTree.rootInode])
    }

    /// Earlier generations' trees go (their entries were forgotten when the next was shown).
    func retire(keeping: Set<Digest>) -> [(parent: UInt64, name: String)] {
        view.retire()
        return []
    }
}
