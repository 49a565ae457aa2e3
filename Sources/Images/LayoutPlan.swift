import ContentStore
import OCISpec

/// What a layout directory shows for a set of images: the `index.json` entries and the blobs
/// of their closures (children first). Shared by the mount and `export --materialize`, so both
/// show the same thing (DESIGN.md "index.json, as readers expect it").
public struct LayoutPlan: Sendable {
    /// One entry per image name (the same digest under two names gives two entries).
    public var entries: [Descriptor]
    /// The union of the closures, children first, each blob once.
    public var blobs: [Descriptor]
    /// Things the user should know (duplicate ref names, absent non-distributable layers).
    public var warnings: [String]
    /// Blobs of the closure that are not local yet (recorded by `pull --lazy`).
    public var lazyBlobs: [Descriptor]

    /// Builds the plan.
    /// - Parameter platform: re-roots index roots at this platform's manifest.
    /// - Throws: `.missingBlob` naming digest and image, `.corruptBlob`, `.noPlatform`.
    public init(store: Store, images: [ResolvedImage], platform: Platform?) throws(ImagesError) {
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
            let walker = try store.closure(of: root, imageName: label)
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
        self.lazyBlobs = blobs.filter { !store.hasBlob($0.digest) }
    }

    /// The `index.json` entry for an image: its root descriptor with
    /// `io.containerd.image.name` = full name and `org.opencontainers.image.ref.name` = tag.
    public static func entry(for root: Descriptor, name: String?) -> Descriptor {
        var entry = root
        if !root.mediaType.isManifest { entry = entry.settingPlatform(nil) }
        guard let name else { return entry }
        entry = entry.settingAnnotation(AnnotationKey.containerdImageName, to: name)
        if let refName = ImageNaming.refName(for: name) { entry = entry.settingAnnotation(AnnotationKey.refName, to: refName) }
        return entry
    }

    /// A fresh `index.json` listing `entries` (the mount's index).
    public var indexBytes: [UInt8] { ImageIndex(manifests: entries).json.encoded }
}
