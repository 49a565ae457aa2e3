import ContentStore
import ImageStore
import OCISpec
import TarArchive

/// The legacy docker-archive (`docker save` before Docker 25, `skopeo copy ... docker-archive:`):
/// `manifest.json` lists per image a config file, layer tars and `RepoTags`. Each becomes an OCI
/// image manifest with real digests, as `skopeo copy docker-archive: oci:` makes: the config
/// blob unchanged, layers as stored (uncompressed layers typed `tar` and checked against the
/// config's `rootfs.diff_ids`; gzip and zstd ones typed by their magic bytes).
struct DockerArchive {
    let members: ArchiveMembers
    let store: Store

    /// An index of the converted images, one entry per RepoTag (named with
    /// `io.containerd.image.name` and the tag as ref name), one unnamed entry for an image
    /// without tags. The manifests are written to the store.
    /// - Throws: `.invalidLayout` (manifest.json malformed, a named member absent), `.corruptBlob`
    ///   (a layer that does not match its diff_id), `.noSpace`, `.io`.
    func index(_ manifestBytes: [UInt8]) throws(ImagesError) -> ImageIndex {
        let source = members.source
        let parsed: JSONValue
        do throws(OCISpecError) {
            parsed = try JSONParser.parse(manifestBytes)
        } catch {
            throw ImagesError(.invalidLayout, "manifest.json in \(source) is invalid: \(error.message)", underlying: error)
        }
        guard let items = parsed.arrayValue, !items.isEmpty else {
            throw ImagesError(.invalidLayout, "manifest.json in \(source) is not a non-empty JSON array of images")
        }
        try DockerLoadManifest.checkFieldNames(items, in: "manifest.json in \(source)")
        var entries: [Descriptor] = []
        for (i, item) in items.enumerated() {
            let what = "manifest.json entry \(i) in \(source)"
            guard let configPath = item["Config"]?.stringValue, let layerPaths = item["Layers"]?.arrayValue?.compactMap(\.stringValue),
                layerPaths.count == item["Layers"]?.arrayValue?.count
            else {
                throw ImagesError(.invalidLayout, "\(what) lacks Config or Layers (strings)")
            }
            let root = try convert(configPath: configPath, layerPaths: layerPaths, what: what)
            var tags: [String] = []
            switch item["RepoTags"] {
            case nil, .null?: break
            case .array(let values)? where values.allSatisfy({ $0.stringValue != nil }):
                for tag in values.compactMap(\.stringValue) where !tags.contains(tag) { tags.append(tag) }
            default: throw ImagesError(.invalidLayout, "\(what) has RepoTags that are not an array of strings")
            }
            if tags.isEmpty { entries.append(root) }
            for tag in tags {
                guard let reference = try? ImageReference(parsing: tag), reference.tag != nil, reference.digest == nil else {
                    throw ImagesError(.invalidLayout, "\(what) has RepoTag \"\(tag)\", which is not a name with a tag (and no digest)")
                }
                entries.append(LayoutPlan.entry(for: root, name: reference.description))
            }
        }
        return ImageIndex(manifests: entries)
    }

    private func convert(configPath: String, layerPaths: [String], what: String) throws(ImagesError) -> Descriptor {
        guard let config = members.file(at: configPath) else {
            throw ImagesError(.invalidLayout, "\(what) names config \(configPath), which is not in the archive")
        }
        let configuration: ImageConfiguration
        let configBytes: [UInt8]
        do {
            configBytes = try store.content.readBlob(config.digest)
            configuration = try ImageConfiguration(bytes: configBytes)
        } catch let error as ContentStoreError {
            throw ImagesError(error, "cannot read config \(configPath)")
        } catch {
            throw ImagesError(.invalidLayout, "config \(configPath) of \(what) is not valid JSON: \(error)")
        }
        guard case .object = try? JSONParser.parse(configBytes), let diffIDs = configuration.diffIDs, diffIDs.count == layerPaths.count else {
            throw ImagesError(
                .invalidLayout,
                "config \(configPath) of \(what) is not an image config whose rootfs.diff_ids lists one digest per layer (\(layerPaths.count) in manifest.json)"
            )
        }
        var layers: [Descriptor] = []
        for (j, path) in layerPaths.enumerated() {
            guard let layer = members.file(at: path) else {
                throw ImagesError(.invalidLayout, "\(what) names layer \(path), which is not in the archive")
            }
            let mediaType = try layerType(layer.digest)
            let uncompressed = mediaType == .ociLayer ? layer.digest : try uncompressedDigest(layer.digest, algorithm: diffIDs[j].algorithm)
            guard diffIDs[j] == uncompressed else {
                throw ImagesError(
                    .corruptBlob,
                    "layer \(j) of \(what) (\(path)) has uncompressed digest \(uncompressed), but the config's rootfs.diff_ids[\(j)] is \(diffIDs[j])")
            }
            layers.append(Descriptor(mediaType: mediaType, digest: layer.digest, size: layer.size))
        }
        let manifest = JSONValue.object([
            ("schemaVersion", .number("2")),
            ("mediaType", .string(MediaType.ociManifest.rawValue)),
            ("config", Descriptor(mediaType: .ociConfig, digest: config.digest, size: config.size).json),
            ("layers", .array(layers.map(\.json))),
        ])
        let stored = try store.writeBlob(json: manifest, what: "the manifest made for \(what)")
        return Descriptor(mediaType: .ociManifest, digest: stored.digest, size: stored.size, platform: configuration.platform)
    }

    /// The digest of a compressed layer's decompressed bytes.
    private func uncompressedDigest(_ digest: Digest, algorithm: Digest.Algorithm) throws(ImagesError) -> Digest {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = DigestHasher(algorithm)
        do {
            let file = try store.content.openBlob(digest)
            let stream = try DecompressedStream(fileDescriptor: file.fileDescriptor)
            while true {
                let n = try stream.read(into: buffer)
                if n == 0 { break }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            withExtendedLifetime(file) {}
        } catch let error as TarArchiveError {
            throw ImagesError(.corruptBlob, "layer \(digest) cannot be decompressed: \(error.message)")
        } catch {
            throw ImagesError(.io, "cannot read layer \(digest): \(error)")
        }
        return hasher.finalize()
    }

    /// The layer media type its first bytes tell: gzip, zstd, else an uncompressed tar.
    private func layerType(_ digest: Digest) throws(ImagesError) -> MediaType {
        let head: [UInt8]
        do {
            let file = try store.content.openBlob(digest)
            head = try file.read(offset: 0, byteCount: Int(min(4, file.size)))
        } catch {
            throw ImagesError(error, "cannot read layer \(digest)")
        }
        if head.starts(with: [0x1f, 0x8b]) { return .ociLayerGzip }
        if head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return .ociLayerZstd }
        return .ociLayer
    }
}
