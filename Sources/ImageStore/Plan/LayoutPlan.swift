import ContentStore
import OCISpec

/// What a layout directory shows for a set of images: the `index.json` entries and the blobs
/// of their closures (children first). Shared by the mount and `export --materialize`, so both
/// show the same thing (DESIGN.md "index.json, as readers expect it").
package struct LayoutPlan: Sendable {
    /// One entry per image name (the same digest under two names gives two entries).
    package var entries: [Descriptor]
    /// The union of the closures, children first, each blob once.
    package var blobs: [Descriptor]
    /// Things the user should know (duplicate ref names, absent non-distributable layers).
    package var warnings: [String]
    /// Blobs of the closure that are not local yet (recorded by `pull --lazy`).
    package var lazyBlobs: [Descriptor]
    /// The roots shown when they differ from the images' own (`--oci` conversions): a lease
    /// must hold them too.
    package var convertedRoots: [Descriptor] = []
    /// The entries of the `manifest.json` that `docker load` reads (`--format docker`), else nil.
    package var dockerManifestEntries: [JSONValue]?

    /// How the layout shows images.
    package struct Shape: Sendable, Equatable {
        /// `--platform`: re-roots index roots at this platform's manifest.
        package var platform: Platform?
        /// `--oci`: Docker-typed manifests and lists are shown converted to OCI media types.
        package var oci: Bool
        /// `--format docker`: add `manifest.json` for `docker load`.
        package var dockerManifest: Bool
        /// Whether the layout's readers see the manifests (the warning that skopeo, umoci and
        /// oci-image-tool read only OCI-typed ones is given); false for a rootfs view, whose
        /// readers see files.
        package var manifestsShown: Bool

        package init(platform: Platform? = nil, oci: Bool = false, dockerManifest: Bool = false, manifestsShown: Bool = true) {
            self.platform = platform
            self.oci = oci
            self.dockerManifest = dockerManifest
            self.manifestsShown = manifestsShown
        }
    }

    /// Builds the plan.
    /// - Parameter platform: re-roots index roots at this platform's manifest.
    /// - Throws: `.missingBlob` naming digest and image, `.corruptBlob`, `.noPlatform`.
    package init(store: Store, images: [ResolvedImage], platform: Platform?) throws(ImagesError) {
        try self.init(store: store, images: images, shape: Shape(platform: platform))
    }

    /// Builds the plan for a `shape`.
    /// - Throws: `.missingBlob` naming digest and image, `.corruptBlob`, `.noPlatform`; with
    ///   `oci`, `.noSpace`/`.io` when a converted manifest cannot be stored.
    package init(store: Store, images: [ResolvedImage], shape: Shape) throws(ImagesError) {
        let platform = shape.platform
        var convertedRoots: [Descriptor] = []
        var entries: [Descriptor] = []
        var blobs: [Descriptor] = []
        var seen: Set<Digest> = []
        var warnings: [String] = []
        var refNames: [String: String] = [:]
        var planned: [ResolvedImage] = []
        for image in images where !planned.contains(image) { planned.append(image) }
        for image in planned {
            let label = image.name ?? image.root.digest.description
            var root = image.root
            if let platform {
                root = try PlatformSelection.select(platform, from: root, readConfig: { try? store.readBlob($0.digest) }) { (d) throws(ImagesError) in
                    try store.readRoot(d)
                }
            }
            if shape.oci {
                let converted = try OCIConversion(store: store).convert(root)
                if converted != root { convertedRoots.append(converted) }
                root = converted
            }
            let walker = try store.closure(of: root, imageName: label)
            if !shape.oci, shape.manifestsShown, OCIConversion.isDockerTyped(walker.blobs) {
                warnings.append(
                    "\(label) is Docker-typed (\(root.mediaType)): skopeo, umoci and oci-image-tool read only OCI-typed images from a layout; add --oci to show it converted (new manifest digests, same layers)"
                )
            }
            for blob in walker.blobs where seen.insert(blob.digest).inserted { blobs.append(blob) }
            for layer in walker.absentForeignLayers {
                warnings.append("non-distributable layer \(layer.digest) of \(label) is not in the store and is left out")
            }
            let entry = Self.entry(for: root, name: image.name)
            if let refName = entry.annotations[AnnotationKey.refName], let name = image.name {
                if let other = refNames[refName], other != name {
                    warnings.append("\(other) and \(name) share the ref name \"\(refName)\": readers such as skopeo take the first")
                } else {
                    refNames[refName] = name
                }
            }
            entries.append(entry)
        }
        self.entries = entries
        self.blobs = blobs
        self.warnings = warnings
        // Only recorded lazy blobs can be missing (the walk found every blob): one query
        // rather than a path lookup per blob.
        let recorded = Set((try? store.lazyBlobs.lazyDigests()) ?? [])
        self.lazyBlobs = recorded.isEmpty ? [] : blobs.filter { recorded.contains($0.digest) && !store.hasBlob($0.digest) }
        self.convertedRoots = convertedRoots
        if shape.dockerManifest {
            let (entries, more) = try DockerLoadManifest.entries(for: entries, platform: platform, store: store)
            dockerManifestEntries = entries
            self.warnings += more
        }
    }

    /// A fresh `manifest.json` (`--format docker`), else nil.
    package var dockerManifestBytes: [UInt8]? { dockerManifestEntries.map { JSONValue.array($0).encoded } }

    /// The `index.json` entry for an image: its root descriptor with
    /// `io.containerd.image.name` = full name and `org.opencontainers.image.ref.name` = tag.
    package static func entry(for root: Descriptor, name: String?) -> Descriptor {
        var entry = root
        if !root.mediaType.isManifest { entry = entry.settingPlatform(nil) }
        guard let name else { return entry }
        entry = entry.settingAnnotation(AnnotationKey.containerdImageName, to: name)
        if let refName = ImageNaming.refName(for: name) { entry = entry.settingAnnotation(AnnotationKey.refName, to: refName) }
        return entry
    }

    /// A fresh `index.json` listing `entries` (the mount's index).
    package var indexBytes: [UInt8] { ImageIndex(manifests: entries).json.encoded }
}
