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
        let others = ((try? source.images.images()) ?? []).filter { $0.target.digest == image.root.digest }.map(\.name)
        return origin(
            labels: try await source.client.contentInfo(image.root.digest)?.labels ?? [:], name: image.name, root: image.root.digest, otherNames: others)
    }

    /// `host/repository@root` from a distribution-source label among `labels`, else from `name`.
    /// containerd's label keys leave out the port (a `:` is not allowed there): `name`'s
    /// registry, or one of `otherNames`' (containerd's other names of the root), gives it when
    /// its host is the label's. The labels are containerd's to hold but anyone's to write
    /// (`ctr content label`): a host or repository that is not a valid reference's (`../../x`,
    /// `evil/x`) is passed over; with several, the name's host comes first, then the keys in
    /// order, so every run asks the same registry.
    static func origin(labels: [String: String], name: String?, root: Digest, otherNames: [String] = []) -> ImageReference? {
        let named = name.flatMap { try? ImageReference(parsing: $0) }
        let withPorts = ([named].compactMap { $0 } + otherNames.compactMap { try? ImageReference(parsing: $0) }).filter { $0.domain.contains(":") }
        let namedKey = named.map { sourceLabelPrefix + $0.domain.prefix { $0 != ":" } }
        let keys = labels.keys.filter { $0.hasPrefix(sourceLabelPrefix) }.sorted { ($0 == namedKey ? 0 : 1, $0) < ($1 == namedKey ? 0 : 1, $1) }
        for key in keys {
            var host = String(key.dropFirst(sourceLabelPrefix.count))
            if let withPort = withPorts.first(where: { $0.domain.hasPrefix(host + ":") }) { host = withPort.domain }
            for repository in labels[key, default: ""].split(separator: ",") {
                // Parsed as a reference: a host without a dot or port is read as the first
                // component of a docker.io repository, which checks it as strictly.
                guard let parsed = try? ImageReference(parsing: "\(host)/\(repository)@\(root)") else { continue }
                if parsed.domain == host { return parsed }
                if parsed.domain == ImageReference.defaultDomain, parsed.path == "\(host)/\(repository)" {
                    return ImageReference(domain: host, path: String(repository), tag: nil, digest: root)
                }
            }
        }
        guard let named else { return nil }
        return ImageReference(domain: named.domain, path: named.path, tag: nil, digest: root)
    }
}
