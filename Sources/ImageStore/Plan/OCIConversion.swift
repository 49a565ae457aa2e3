import ContentStore
import OCISpec

/// `--oci`: Docker-typed manifests and manifest lists rewritten with OCI media types, as
/// `skopeo copy --format oci` does. A schema 2 manifest becomes an OCI image manifest (config
/// typed `application/vnd.oci.image.config.v1+json`, layers typed by the table below), a
/// manifest list an OCI image index; other members are kept. Config and layer blobs are not
/// touched (same digests): only the rewritten manifests and indexes are new blobs, written to
/// the store. The same input always gives the same bytes.
package struct OCIConversion {
    /// Docker layer media types and their OCI equivalents.
    static let layerTypes: [MediaType: MediaType] = [
        .dockerLayerGzip: .ociLayerGzip,
        "application/vnd.docker.image.rootfs.diff.tar": .ociLayer,
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar": "application/vnd.oci.image.layer.nondistributable.v1.tar",
    ]

    private let store: Store

    package init(store: Store) { self.store = store }

    /// True when `root` or a manifest or index under it is Docker-typed.
    package static func isDockerTyped(_ blobs: [Descriptor]) -> Bool {
        blobs.contains { $0.mediaType == .dockerManifest || $0.mediaType == .dockerManifestList }
    }

    /// The OCI-typed equivalent of `root` (itself when nothing under it is Docker-typed). A child
    /// manifest the store lacks is kept as it is.
    /// - Throws: `.corruptBlob` (a manifest that does not parse), `.noSpace`, `.io`.
    package func convert(_ root: Descriptor) throws(ImagesError) -> Descriptor {
        try convert(root, depth: 0)
    }

    private func convert(_ descriptor: Descriptor, depth: Int) throws(ImagesError) -> Descriptor {
        guard depth < ClosureWalker.maximumDepth, ManifestNode.hasChildren(descriptor.mediaType) else { return descriptor }
        let bytes: [UInt8]
        do {
            bytes = try store.readBlob(descriptor.digest)
        } catch  where error.code == .notFound {
            return descriptor
        } catch {
            throw ImagesError(error, "cannot read \(descriptor.digest) to convert it")
        }
        let node = try ManifestNode(descriptor: descriptor, bytes: bytes)
        var json: JSONValue
        let mediaType: MediaType
        switch node {
        case .index(let index):
            var changed = descriptor.mediaType == .dockerManifestList
            var children: [JSONValue] = []
            for child in index.manifests {
                let converted = try convert(child, depth: depth + 1)
                changed = changed || converted != child
                children.append(converted.json)
            }
            guard changed else { return descriptor }
            mediaType = .ociIndex
            json = index.json.setting("mediaType", to: .string(mediaType.rawValue)).setting("manifests", to: .array(children))
        case .leaf:
            return descriptor
        case .manifest(let manifest):
            guard descriptor.mediaType == .dockerManifest else { return descriptor }
            mediaType = .ociManifest
            var config = manifest.config.json
            if manifest.config.mediaType == .dockerConfig { config = config.setting("mediaType", to: .string(MediaType.ociConfig.rawValue)) }
            let layers = manifest.layers.map { layer in
                Self.layerTypes[layer.mediaType].map { layer.json.setting("mediaType", to: .string($0.rawValue)) } ?? layer.json
            }
            json = manifest.json.setting("mediaType", to: .string(mediaType.rawValue)).setting("config", to: config).setting("layers", to: .array(layers))
        }
        let stored = try store.writeBlob(json: json, what: "the OCI-typed conversion of \(descriptor.digest)")
        let converted = descriptor.json.setting("mediaType", to: .string(mediaType.rawValue)).setting("digest", to: .string(stored.digest.description))
            .setting("size", to: .number(String(stored.size)))
        return try! Descriptor(json: converted)
    }
}
