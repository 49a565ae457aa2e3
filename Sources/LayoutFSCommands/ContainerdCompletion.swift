import Containerd
import ContainerdStore
import ImagePull
import ImageStore
import Logging
import OCISpec
import Registry

/// Content a containerd image names but containerd does not have (a one-platform
/// `ctr images pull` of a multi-platform index leaves the other platforms' manifests and layers
/// out; BuildKit may record layers it never pulled) is fetched lazily, as `pull --lazy` does:
/// manifests, indexes and configs now, layers when read or copied. It goes into layoutfs's
/// store and cache, never into containerd's.
enum ContainerdCompletion {
    /// The label containerd's pull puts on each blob: `containerd.io/distribution.source.<host>`
    /// = `<repository>[,<repository>...]`.
    static let sourceLabelPrefix = "containerd.io/distribution.source."

    /// Completes each of `images` whose closure lacks blobs in `store` (containerd's content plus
    /// layoutfs's own), from the registry the root's distribution-source label names, else the
    /// image name's registry and repository.
    /// - Throws: `RegistryError`, `ImagesError` (as `pull --lazy`); `.missingBlob` when an
    ///   image lacks blobs and names no registry.
    static func complete(
        _ images: [ResolvedImage], source: ContainerdSource, store: Store, registry: RegistryOptions, logger: Logger, say: (String) -> Void
    ) async throws {
        for image in images {
            let label = image.name ?? image.root.digest.description
            let lacking: ImagesError?
            do {
                _ = try store.closure(of: image.root, imageName: label)
                lacking = nil
            } catch {
                guard error.code == .missingBlob else { throw error }
                lacking = error
            }
            guard let lacking else { continue }
            guard let reference = try await origin(of: image, source: source) else { throw lacking }
            var options = Puller.Options(lazy: true)
            options.bindsName = false
            let result: Puller.Result
            do {
                result = try await RegistryClient.with(configuration: registry.configuration(), logger: logger) { client in
                    try await Puller(store: store, client: client, logger: logger).pull(reference, options: options)
                }
            } catch {
                // Why a registry was asked at all: containerd lacks part of the image.
                throw ImagesError(
                    .missingBlob,
                    "containerd lacks part of \(label) (\(lacking.message)), and fetching it from \(reference.domain)/\(reference.path) failed: \(error)",
                    underlying: error)
            }
            say(
                "fetched what containerd lacks of \(label) from \(reference.domain)/\(reference.path) "
                    + "(\(result.fetchedBlobs) blobs; \(ByteFormat.string(result.lazyBytes)) of layers to fetch on read)")
        }
    }

    /// `host/repository@root` from the root's distribution-source label, else from the name.
    /// containerd's label keys leave out the port (a `:` is not allowed there): a name of the
    /// root whose registry is the label's host gives it (the image's own, or another name
    /// containerd has for the same root: a name moved onto a pulled image keeps its own).
    private static func origin(of image: ResolvedImage, source: ContainerdSource) async throws -> ImageReference? {
        let named = image.name.flatMap { try? ImageReference(parsing: $0) }
        let others = ((try? source.images.images()) ?? []).filter { $0.target.digest == image.root.digest }.compactMap { try? ImageReference(parsing: $0.name) }
        let labels = try await source.client.contentInfo(image.root.digest)?.labels ?? [:]
        if let (key, value) = labels.first(where: { $0.key.hasPrefix(sourceLabelPrefix) }), let repository = value.split(separator: ",").first {
            var host = String(key.dropFirst(sourceLabelPrefix.count))
            if let withPort = ([named].compactMap { $0 } + others).first(where: { $0.domain.hasPrefix(host + ":") }) { host = withPort.domain }
            return ImageReference(domain: host, path: String(repository), tag: nil, digest: image.root.digest)
        }
        guard let named else { return nil }
        return ImageReference(domain: named.domain, path: named.path, tag: nil, digest: image.root.digest)
    }
}
