import ContentStore
import OCISpec

/// `--format docker`: the top-level `manifest.json` that `docker load` reads (Docker's
/// image/spec "Combined Image JSON + Filesystem Changeset Format", as Docker 25's `docker save`
/// writes it next to an OCI layout): per image `{"Config": "blobs/sha256/<hex>", "RepoTags":
/// [...], "Layers": ["blobs/sha256/<hex>", ...]}`, paths inside the layout.
///
/// An index entry contributes the manifest for the platform asked for (`--platform`), else this
/// machine's. Images shown under several names give one entry with every name as a RepoTag;
/// by-digest names are not tags and are left out.
package enum DockerLoadManifest {
    /// Its name at the top of the layout.
    package static let fileName = ImageLayout.dockerManifestFileName

    /// The members of an entry, as docker and containers/image spell them.
    static let fields = ["Config", "RepoTags", "Layers", "Parent", "LayerSources"]

    /// Refuses an entry of a parsed manifest.json (`items`) with a member that spells a field in
    /// another case (`"repotags"`): docker and skopeo (Go) read it as that field.
    /// - Throws: `.invalidLayout`, the message naming `file` and the entry.
    package static func checkFieldNames(_ items: [JSONValue], in file: String) throws(ImagesError) {
        for (i, item) in items.enumerated() {
            do throws(OCISpecError) {
                try item.checkFieldNames(fields, in: "entry \(i) of \(file)")
            } catch {
                throw ImagesError(.invalidLayout, error.message, underlying: error)
            }
        }
    }

    /// The entries for `roots` (index.json entries, possibly indexes).
    /// - Returns: the entries, and warnings for indexes without a manifest for the platform.
    /// - Throws: `.missingBlob`, `.corruptBlob`.
    package static func entries(for roots: [Descriptor], platform: Platform?, store: Store) throws(ImagesError) -> (entries: [JSONValue], warnings: [String]) {
        var order: [Digest] = []
        var images: [Digest: (manifest: ImageManifest, tags: [String])] = [:]
        var warnings: [String] = []
        for root in roots {
            let name = root.annotations[AnnotationKey.containerdImageName]
            var selected = root
            if root.mediaType.isIndex {
                do {
                    selected = try PlatformSelection.select(platform ?? .current, from: root, readConfig: { try? store.readBlob($0.digest) }) {
                        (d) throws(ImagesError) in try store.readRoot(d)
                    }
                } catch  where error.code == .noPlatform {
                    warnings.append("manifest.json leaves out \(name ?? root.digest.description): \(error.message)")
                    continue
                }
            }
            guard case .manifest(let manifest) = try store.readRoot(selected) else { continue }
            if images[selected.digest] == nil {
                order.append(selected.digest)
                images[selected.digest] = (manifest, [])
            }
            if let name, let reference = try? ImageReference(parsing: name), reference.tag != nil, reference.digest == nil,
                !images[selected.digest]!.tags.contains(name)
            {
                images[selected.digest]!.tags.append(name)
            }
        }
        let entries = order.map { digest -> JSONValue in
            let (manifest, tags) = images[digest]!
            return .object([
                ("Config", .string(manifest.config.digest.blobPath)),
                ("RepoTags", .array(tags.map { .string($0) })),
                ("Layers", .array(manifest.layers.map { .string($0.digest.blobPath) })),
            ])
        }
        return (entries, warnings)
    }

    /// `entries` merged into an existing `manifest.json` (nil or unparsable: replaced), as
    /// `index.json` is merged: an existing entry with the same Config is replaced by the new one,
    /// which keeps its other RepoTags too; a tag a new entry claims leaves the entry that had it,
    /// and an entry left without tags is dropped.
    package static func merge(_ entries: [JSONValue], into existing: [UInt8]?) -> [UInt8] {
        func tags(_ entry: JSONValue) -> [String] { entry["RepoTags"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        let newTags = Set(entries.flatMap(tags))
        var merged = entries
        var kept: [JSONValue] = []
        for old in existing.flatMap({ try? JSONParser.parse($0) })?.arrayValue ?? [] {
            guard let config = old["Config"]?.stringValue else { continue }
            let remaining = tags(old).filter { !newTags.contains($0) }
            if let i = merged.firstIndex(where: { $0["Config"]?.stringValue == config }) {
                merged[i] = merged[i].setting("RepoTags", to: .array((tags(merged[i]) + remaining).map { .string($0) }))
                continue
            }
            if !tags(old).isEmpty && remaining.isEmpty { continue }
            kept.append(old.setting("RepoTags", to: .array(remaining.map { .string($0) })))
        }
        return JSONValue.array(kept + merged).encoded
    }
}
