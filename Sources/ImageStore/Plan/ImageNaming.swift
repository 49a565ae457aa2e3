import OCISpec

/// The naming rule for imported entries (DESIGN.md "Names on import"): `--name` wins (one
/// selected entry only); else `io.containerd.image.name`; else a ref name that parses as a full
/// reference (it has a `/` or `:`); else a tag-only ref name T becomes `REPO:T`. With `--repo`
/// given, a ref name that names no registry host stays under that repository: `release/2.0`
/// becomes `REPO/release/2.0:latest`, `alpine:3` `REPO/alpine:3` (a ref name is an OCI
/// layout's own name for an entry; the user named the repository). Names are normalized. Nil:
/// the entry stays unnamed (kept by digest, reported).
package enum ImageNaming {
    /// What the rule gives an entry: its normalized name, or why it has none (a sentence
    /// fragment for the import report, e.g. `its ref name "v2.0+build.5" is not a valid docker tag`).
    package enum Outcome: Sendable, Equatable {
        case named(String)
        case unnamed(reason: String)

        package var name: String? {
            if case .named(let name) = self { return name }
            return nil
        }
    }

    /// - Parameters:
    ///   - repository: the repository for tag-only ref names (`--repo`, else the directory's base name).
    ///   - keepsUnder: whether `repository` was given (`--repo`): ref names without a registry
    ///     host are then taken relative to it.
    /// - Returns: the normalized name, or nil.
    package static func name(for entry: Descriptor, repository: String?, keepsUnder: Bool = false) -> String? {
        outcome(for: entry, repository: repository, keepsUnder: keepsUnder).name
    }

    /// Whether `refName`'s first `/`-separated component is a registry host, as docker decides
    /// (it has a `.` or `:`, or is `localhost`, and more components follow).
    package static func namesRegistryHost(_ refName: String) -> Bool {
        guard let slash = refName.firstIndex(of: "/") else { return false }
        let first = refName[..<slash]
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    /// The name, or the reason there is none: the source gives none, or what it gives is not a
    /// valid docker name (an annotation or a ref name with `/`, `:` or `@`) or tag (a ref name
    /// without them, `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), or a bare tag has no repository.
    package static func outcome(for entry: Descriptor, repository: String?, keepsUnder: Bool = false) -> Outcome {
        var problems: [String] = []
        if let name = entry.annotations[AnnotationKey.containerdImageName] {
            do {
                return .named(try ImageReference(parsing: name).description)
            } catch {
                problems.append("its \(AnnotationKey.containerdImageName) \"\(name)\" is not a valid docker name (\(reason(error)))")
            }
        }
        guard let refName = entry.annotations[AnnotationKey.refName], !refName.isEmpty else {
            return .unnamed(reason: problems.isEmpty ? "the source gives it none" : problems.joined(separator: "; "))
        }
        if keepsUnder, let repository, !ImageReference.isValidTag(refName), !namesRegistryHost(refName) {
            do {
                return .named(try ImageReference(parsing: "\(repository)/\(refName)").description)
            } catch {
                problems.append("its ref name \"\(refName)\" does not make a valid docker name under --repo \(repository) (\(reason(error)))")
            }
        } else if refName.contains("/") || refName.contains(":") || refName.contains("@") {
            do {
                return .named(try ImageReference(parsing: refName).description)
            } catch {
                problems.append("its ref name \"\(refName)\" is not a valid docker name (\(reason(error)))")
            }
        } else if !ImageReference.isValidTag(refName) {
            problems.append(
                "its ref name \"\(refName)\" is not a valid docker tag (letters, digits, _ . and -, not first, at most \(ImageReference.maximumTagLength) characters)"
            )
        } else if let repository {
            do {
                return .named(try ImageReference(parsing: "\(repository):\(refName)").description)
            } catch {
                problems.append("its ref name \"\(refName)\" does not make a valid docker name with repository \(repository) (\(reason(error)))")
            }
        } else {
            problems.append("its ref name \"\(refName)\" is a bare tag and there is no repository to put it in (give --repo)")
        }
        return .unnamed(reason: problems.joined(separator: "; "))
    }

    /// The part of a reference error after the quoted reference (`repository must be lowercase...`).
    private static func reason(_ error: OCISpecError) -> String {
        guard let quoteEnd = error.message.range(of: "\": ") else { return error.message }
        return String(error.message[quoteEnd.upperBound...])
    }

    /// A repository name made from a directory's base name (lowercased, invalid characters
    /// replaced by `-`), or nil when nothing usable remains.
    package static func repository(fromDirectory path: String) -> String? {
        let base = path.split(separator: "/").last.map(String.init) ?? ""
        var text = String(base.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "-" })
        while let first = text.first, !(first.isLetter || first.isNumber) { text.removeFirst() }
        while let last = text.last, !(last.isLetter || last.isNumber) { text.removeLast() }
        guard !text.isEmpty, (try? ImageReference(parsing: text)) != nil else { return nil }
        return text
    }

    /// The `org.opencontainers.image.ref.name` for a name: its tag (a by-digest name has none).
    package static func refName(for name: String) -> String? {
        (try? ImageReference(parsing: name))?.tag
    }
}
