import ContentStore
import ImageStore
import LayoutFS
import Logging
import OCISpec
import RootfsView

/// The rootfs view of a mount (`mount --rootfs`): the one image manifest the plan shows (for
/// one platform), its config's diff_ids, and the view of its layers (``RootfsAssembly``), with
/// what the user should know announced.
enum RootfsMount {
    /// - Throws: `ImagesError` when the plan shows other than one image manifest or its
    ///   manifest or config cannot be read; `LayoutFSError` when a layer cannot be read as one.
    static func view(
        of layout: ShownLayout, store: Store, provider: any BlobProvider, deadline: Duration, logger: Logger, announce: @escaping @Sendable (String) -> Void
    ) throws -> RootfsView {
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
        let (view, report) = try RootfsAssembly.build(
            layers: manifest.layers, diffIDs: configuration.diffIDs, provider: provider, files: LayerIndexFiles(location: store.location), deadline: deadline,
            log: { logger.warning("\($0)") })
        logger.info(
            "rootfs of \(entry.digest): \(manifest.layers.count) layers (\(report.built) indexed, \(report.loaded) from the store), \(view.nodeCount) nodes")
        for failure in report.failures {
            logger.error("\(failure): its files fail with EIO")
            announce("warning: \(failure): its files fail with EIO")
        }
        return view
    }
}
