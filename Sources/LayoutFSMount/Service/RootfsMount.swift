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
/// what the user should know announced, and the indexes it built kept in the store once the
/// mount is ready (`keep`).
enum RootfsMount {
    /// - Throws: `ImagesError` when the plan shows other than one image manifest or its
    ///   manifest or config cannot be read; `LayoutFSError` when a layer cannot be read as one.
    static func view(
        of layout: ShownLayout, store: Store, provider: any BlobProvider, deadline: Duration, logger: Logger, announce: @escaping @Sendable (String) -> Void
    ) throws -> (view: RootfsView, keeping: Keeping) {
        guard layout.entries.count == 1, let entry = layout.entries.first else {
            throw ImagesError(.invalidLayout, "--rootfs shows one image's files: give one image (\(layout.entries.count) given)")
        }
        guard case .manifest(let manifest) = try store.readRoot(entry) else {
            throw ImagesError(.invalidLayout, "--rootfs needs an image manifest, and \(entry.digest) is \(entry.mediaType)")
        }
        let configuration: ImageConfiguration
        do {
            configuration = try ImageConfiguration(bytes: try store.readBlob(manifest.config.digest))
        } catch {
            throw ImagesError(.invalidLayout, "the config \(manifest.config.digest) of \(entry.digest) cannot be read: \(error)")
        }
        let started = ContinuousClock.now
        let files = LayerIndexFiles(location: store.location)
        let (view, report, built) = try RootfsAssembly.build(
            layers: manifest.layers, diffIDs: configuration.diffIDs, provider: provider, files: files, deadline: deadline,
            log: { logger.warning("\($0)") })
        logger.info(
            "rootfs of \(entry.digest): \(manifest.layers.count) layers (\(report.built) indexed, \(report.loaded) from the store), \(view.nodeCount) nodes, in \(ContinuousClock.now - started)"
        )
        for failure in report.failures {
            logger.error("\(failure): its files fail with EIO")
            announce("warning: \(failure): its files fail with EIO")
        }
        return (view, Keeping(built: built, files: files, logger: logger))
    }

    /// Keeps the indexes a mount built in the store, on a worker thread once the mount is ready
    /// (``start()``); the daemon waits for it before it exits (``wait()``), so `layoutfs
    /// unmount`, which waits for the daemon, returns with them kept.
    final class Keeping: Sendable {
        private let built: RootfsAssembly.Built
        private let files: LayerIndexFiles
        private let logger: Logger
        private let done = DispatchGroup()

        init(built: RootfsAssembly.Built, files: LayerIndexFiles, logger: Logger) {
            self.built = built
            self.files = files
            self.logger = logger
        }

        func start() {
            guard !built.isEmpty else { return }
            done.enter()
            BlockingWork.submit { [self] in
                for line in RootfsAssembly.keep(built, files: files) { logger.warning("\(line)") }
                done.leave()
            }
        }

        func wait() { done.wait() }
    }
}
