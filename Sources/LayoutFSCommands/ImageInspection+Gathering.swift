import ContentStore
import ImageStore
import LazyBlobs
import OCISpec

extension ImageInspection {
    /// Inspects `image` in `store` (its content directory or containerd's content included),
    /// reading only what is here: manifests, indexes and the chosen config, never a layer, and
    /// never fetching (a lazy image's manifests and configs are local after `pull --lazy`).
    /// - Parameter platform: `--platform`: the index's manifest to show (else this machine's).
    /// - Throws: `ImagesError`: `.missingBlob` for a manifest or config that is not here,
    ///   `.corruptBlob` for bytes that do not match their digest, `.invalidLayout` for a blob
    ///   that is not valid JSON of its kind (naming it), `.noPlatform` for a `--platform` the
    ///   image lacks (listing what it offers).
    static func gather(_ image: ResolvedImage, platform: Platform?, in store: Store) throws(ImagesError) -> ImageInspection {
        let label = image.name ?? image.root.digest.description
        _ = try read(image.root, of: label, what: image.root.mediaType.isIndex ? "index" : "manifest", in: store)
        var inspection = ImageInspection(names: try names(of: image, in: store), root: image.root)
        let choice = try chooseManifest(of: image, platform: platform, in: store)
        inspection.platforms = choice.platforms
        if let chosen = choice.chosen {
            inspection.details = try details(of: chosen.manifest, choice: chosen.choice, label: label, in: store)
        }
        return inspection
    }

    /// The manifest `inspect` shows (and `--config` reads the config of): the root when it is a
    /// manifest (checked against `platform` when given), else the index's manifest for
    /// `platform`, else for this machine's platform (nil when the index has none for it).
    /// - Returns: also, for an index, every platform it offers with the manifest each selects.
    /// - Throws: `.noPlatform` for a `platform` the image lacks; what reading the index throws.
    static func chooseManifest(of image: ResolvedImage, platform: Platform?, in store: Store) throws(ImagesError) -> (
        platforms: [PlatformEntry]?, chosen: (manifest: Descriptor, choice: Choice)?
    ) {
        let readConfig = { (descriptor: Descriptor) in try? store.readBlob(descriptor.digest) }
        let read = { (descriptor: Descriptor) throws(ImagesError) in try store.readRoot(descriptor) }
        guard image.root.mediaType.isIndex else {
            if let platform { _ = try PlatformSelection.select(platform, from: image.root, readConfig: readConfig, read: read) }
            return (nil, (image.root, .root))
        }
        var platforms: [PlatformEntry] = []
        for offered in PlatformSelection.offered(by: image.root, readConfig: readConfig, read: read) {
            let manifest = try PlatformSelection.select(offered, from: image.root, readConfig: readConfig, read: read)
            platforms.append(PlatformEntry(platform: offered, manifest: manifest))
        }
        if let platform {
            return (platforms, (try PlatformSelection.select(platform, from: image.root, readConfig: readConfig, read: read), .requested(platform)))
        }
        do {
            let machine = Platform.current
            return (platforms, (try PlatformSelection.select(machine, from: image.root, readConfig: readConfig, read: read), .machine(machine)))
        } catch  where error.code == .noPlatform {
            return (platforms, nil)
        }
    }

    /// The names bound to the image's root: the one it was given by first.
    private static func names(of image: ResolvedImage, in store: Store) throws(ImagesError) -> [String] {
        let bound = try store.allImages().filter { $0.target.digest == image.root.digest }.map(\.name).sorted()
        guard let given = image.name else { return bound }
        return [given] + bound.filter { $0 != given }
    }

    /// The chosen manifest's config and layers.
    private static func details(of manifest: Descriptor, choice: Choice, label: String, in store: Store) throws(ImagesError) -> Details {
        guard case .manifest(let parsed) = try read(manifest, of: label, what: "manifest", in: store) else {
            throw ImagesError(.invalidLayout, "\(manifest.digest) of \(label) is a \(manifest.mediaType), not an image manifest")
        }
        var details = Details(manifest: manifest, choice: choice, config: parsed.config)
        details.layers = parsed.layers.map { Layer(descriptor: $0, state: state(of: $0, in: store)) }
        guard parsed.config.mediaType.isImageConfiguration else { return details }
        let bytes = try configBytes(of: manifest, label: label, in: store)
        let json: JSONValue
        do throws(OCISpecError) {
            json = try JSONParser.parse(bytes)
        } catch {
            throw ImagesError(.invalidLayout, "the config \(parsed.config.digest) of \(label) is not valid JSON: \(error.message)", underlying: error)
        }
        details.created = json["created"]?.stringValue
        details.architecture = json["architecture"]?.stringValue
        details.os = json["os"]?.stringValue
        details.variant = json["variant"]?.stringValue
        let runtime = json["config"]
        details.env = strings(runtime?["Env"])
        details.entrypoint = strings(runtime?["Entrypoint"])
        details.cmd = strings(runtime?["Cmd"])
        details.workingDir = runtime?["WorkingDir"]?.stringValue
        details.user = runtime?["User"]?.stringValue
        details.labels = (runtime?["Labels"]?.objectMembers ?? []).compactMap { member in
            member.value.stringValue.map { Label(key: member.key, value: $0) }
        }
        return details
    }

    /// The exact bytes of `manifest`'s config, verified against its digest and (for an image
    /// config) checked as every reader of the store checks it (no member twice, no field in
    /// another case).
    /// - Throws: `.missingBlob` when the config is not here (it is never fetched),
    ///   `.corruptBlob`, `.invalidLayout` naming the blob.
    static func configBytes(of manifest: Descriptor, label: String, in store: Store) throws(ImagesError) -> [UInt8] {
        guard case .manifest(let parsed) = try read(manifest, of: label, what: "manifest", in: store) else {
            throw ImagesError(.invalidLayout, "\(manifest.digest) of \(label) is a \(manifest.mediaType), not an image manifest")
        }
        let bytes = try bytes(of: parsed.config, of: label, what: "config", in: store)
        try ManifestNode.checkConfiguration(parsed.config, bytes: bytes)
        return bytes
    }

    /// The exact bytes of a manifest, index or config blob, verified against `descriptor`.
    /// - Parameter what: names the blob in errors (`index`, `manifest`, `config`).
    /// - Throws: `.missingBlob` (saying that inspect fetches nothing), `.corruptBlob`, `.io`.
    static func bytes(of descriptor: Descriptor, of label: String, what: String, in store: Store) throws(ImagesError) -> [UInt8] {
        guard store.hasBlob(descriptor.digest), !store.isRemoteOnly(descriptor.digest) else {
            throw ImagesError(
                .missingBlob,
                "the \(what) \(descriptor.digest) of \(label) is not in the store\(store.foreignContent == nil ? "" : " or the content directory"): "
                    + "inspect reads only what is here and fetches nothing (layoutfs pull fetches it, a mount or export of the image too)")
        }
        let bytes: [UInt8]
        do {
            bytes = try store.readBlob(descriptor.digest)
        } catch {
            throw ImagesError(error, "cannot read the \(what) \(descriptor.digest) of \(label)")
        }
        try ManifestNode.verify(descriptor, bytes: bytes)
        return bytes
    }

    /// `bytes(of:...)` parsed as what the descriptor says it is.
    private static func read(_ descriptor: Descriptor, of label: String, what: String, in store: Store) throws(ImagesError) -> ManifestNode {
        try ManifestNode(descriptor: descriptor, bytes: try bytes(of: descriptor, of: label, what: what, in: store))
    }

    /// Where `layer`'s bytes are, asking nothing but the store.
    private static func state(of layer: Descriptor, in store: Store) -> LayerState {
        if store.isRemoteOnly(layer.digest) { return .remote }
        if store.hasBlob(layer.digest) { return .local }
        guard (try? store.lazyBlobs.lazyBlob(layer.digest)) != nil else { return .missing }
        let stored = CacheEntry.peekChunks(cacheRoot: store.location.cacheRoot, digest: layer.digest)
        return .lazy(cachedBytes: ChunkBitmap(size: layer.size, bytes: stored)?.presentBytes ?? 0)
    }

    /// The strings of a JSON array (other elements left out); empty for anything else.
    private static func strings(_ value: JSONValue?) -> [String] {
        value?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}
