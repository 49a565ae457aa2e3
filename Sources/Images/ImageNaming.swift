import OCISpec

/// The naming rule for imported entries (DESIGN.md "Names on import"): `--name` wins (one
/// selected entry only); else `io.containerd.image.name`; else a ref name that parses as a full
/// reference (it has a `/` or `:`); else a tag-only ref name T becomes `REPO:T`. Names are
/// normalized. Nil: the entry stays unnamed (kept by digest, reported).
public enum ImageNaming {
    /// - Parameters:
    ///   - repository: the repository for tag-only ref names (`--repo`, else the directory's base name).
    /// - Returns: the normalized name, or nil.
    public static func name(for entry: Descriptor, repository: String?) -> String? {
        if let name = entry.annotations[AnnotationKey.containerdImageName], let reference = try? ImageReference(parsing: name) {
            return reference.description
        }
        guard let refName = entry.annotations[AnnotationKey.refName], !refName.isEmpty else { return nil }
        if refName.contains("/") || refName.contains(":") || refName.contains("@") {
            return (try? ImageReference(parsing: refName))?.description
        }
        guard ImageReference.isValidTag(refName), let repository,
            let reference = try? ImageReference(parsing: "\(repository):\(refName)")
        else { return nil }
        return reference.description
    }

    /// A repository name made from a directory's base name (lowercased, invalid characters
    /// replaced by `-`), or nil when nothing usable remains.
    public static func repository(fromDirectory path: String) -> String? {
        let base = path.split(separator: "/").last.map(String.init) ?? ""
        var text = String(base.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "-" })
        while let first = text.first, !(first.isLetter || first.isNumber) { text.removeFirst() }
        while let last = text.last, !(last.isLetter || last.isNumber) { text.removeLast() }
        guard !text.isEmpty, (try? ImageReference(parsing: text)) != nil else { return nil }
        return text
    }

    /// The `org.opencontainers.image.ref.name` for a name: its tag (a by-digest name has none).
    public static func refName(for name: String) -> String? {
        (try? ImageReference(parsing: name))?.tag
    }
}
