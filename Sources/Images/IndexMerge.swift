import OCISpec

/// Merging new entries into an existing `index.json` (DESIGN.md): an existing entry is replaced
/// when both its ref name and its image name equal the new entry's; otherwise the new entry is
/// appended. Every other entry and every unknown member is kept exactly.
public enum IndexMerge {
    /// - Returns: the merged index.
    public static func merge(_ new: [Descriptor], into existing: ImageIndex?) -> ImageIndex {
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
        return existing.settingManifests(manifests)
    }
}
