import ImagePull
import ImageStore
import OCISpec

/// Merging new entries into an existing `index.json` (DESIGN.md): an existing entry is replaced
/// when both its ref name and its image name equal the new entry's; otherwise the new entry is
/// appended. Every other entry and every unknown member is kept exactly; `mediaType` is made the
/// OCI image index's (image-spec image-layout.md: index.json is an image index).
package enum IndexMerge {
    /// - Returns: the merged index, its `mediaType` `application/vnd.oci.image.index.v1+json`
    ///   (added after `schemaVersion` when absent, replaced in place when another).
    package static func merge(_ new: [Descriptor], into existing: ImageIndex?) -> ImageIndex {
        guard let existing else { return ImageIndex(manifests: new) }
        var manifests = existing.manifests
        for entry in new {
            let refName = entry.annotations[AnnotationKey.refName]
            let imageName = entry.annotations[AnnotationKey.containerdImageName]
            if let i = manifests.firstIndex(where: {
                $0.annotations[AnnotationKey.refName] == refName && $0.annotations[AnnotationKey.containerdImageName] == imageName
                    && (refName != nil || imageName != nil || $0.digest == entry.digest)
            }) {
                manifests[i] = entry
            } else {
                manifests.append(entry)
            }
        }
        return withIndexMediaType(existing.settingManifests(manifests))
    }

    /// Reads a destination's `index.json` for merging. The empty forms some tools leave behind
    /// (0 bytes or only white space, `{}`, and an index whose `manifests` list is empty) are an
    /// index with no entries, with a warning; a `mediaType` other than the OCI index's is
    /// warned about (`merge` replaces it).
    /// - Parameters:
    ///   - bytes: the file's content (at most 4 MiB, checked by the caller).
    ///   - path: the file's path, for the warnings.
    /// - Returns: the index to merge into, and the warnings to show.
    /// - Throws: `OCISpecError` (`.invalidJSON`, `.invalidIndex`, ...) for any other content that
    ///   is not a valid index: the caller leaves such a file as it is.
    package static func existingIndex(_ bytes: [UInt8], path: String) throws(OCISpecError) -> (index: ImageIndex, warnings: [String]) {
        let empty = "\(path) is an empty index"
        let rewrite = "it is written as an OCI image index with the new entries"
        if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            return (ImageIndex(manifests: []), ["\(empty) (\(bytes.isEmpty ? "0 bytes" : "only white space")): \(rewrite)"])
        }
        let json = try JSONParser.parse(bytes)
        if json.objectMembers?.isEmpty == true {
            return (ImageIndex(manifests: []), ["\(empty) ({}): \(rewrite)"])
        }
        let index = try ImageIndex(json: json)
        var warnings: [String] = []
        if index.manifests.isEmpty { warnings.append("\(empty) (no manifests): \(rewrite)") }
        if let declared = json["mediaType"], declared.stringValue != MediaType.ociIndex.rawValue {
            let shown = declared.stringValue ?? String(decoding: declared.encoded, as: UTF8.self)
            warnings.append("\(path) has mediaType \(shown), which is not an OCI image index: it is written as \(MediaType.ociIndex)")
        }
        return (index, warnings)
    }

    /// `index` with `mediaType` set to the OCI image index's, every other member kept in place.
    private static func withIndexMediaType(_ index: ImageIndex) -> ImageIndex {
        guard index.mediaType != .ociIndex, var members = index.json.objectMembers else { return index }
        let value = JSONValue.string(MediaType.ociIndex.rawValue)
        if let i = members.firstIndex(where: { $0.key == "mediaType" }) {
            members[i].value = value
        } else {
            let afterVersion = members.firstIndex(where: { $0.key == "schemaVersion" }).map { $0 + 1 } ?? 0
            members.insert((key: "mediaType", value: value), at: afterVersion)
        }
        return (try? ImageIndex(json: .object(members))) ?? index
    }
}
