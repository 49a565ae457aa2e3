import ContentStore
import OCISpec

/// An IMAGE argument resolved against the store: a root descriptor and, when named, the name.
package struct ResolvedImage: Sendable, Equatable {
    /// Normalized name, or nil for a bare digest.
    package var name: String?
    package var root: Descriptor
    /// True for `NAME@digest` and bare digests: the view never follows the name.
    package var pinned: Bool

    package init(name: String?, root: Descriptor, pinned: Bool) {
        self.name = name
        self.root = root
        self.pinned = pinned
    }
}

extension Store {
    /// Resolves an IMAGE argument (DESIGN.md grammar).
    /// - Throws: `.unknownImage` listing the available names (and suggesting `layoutfs images`;
    ///   with `--content`, saying how images are given there), `.ambiguous` for a digest prefix
    ///   that several roots start with (listing them), `.missingBlob` for a digest not in the
    ///   store, `.invalidArgument` for `docker://REF` (the commands that take it pull it first:
    ///   `DockerReferencePull` in the commands).
    package func resolve(_ specifier: ImageSpecifier) throws(ImagesError) -> ResolvedImage {
        switch specifier {
        case .digestPrefix(let prefix, let name):
            return try resolve(prefix, orName: name)
        case .digest(let digest):
            guard let size = blobSize(digest) else {
                throw ImagesError(.missingBlob, "blob \(digest) is not in the store \(location.root)")
            }
            let bytes: [UInt8]
            do {
                bytes = try readBlob(digest)
            } catch {
                throw ImagesError(error, "\(digest) is not a manifest or index")
            }
            let json: JSONValue
            do throws(OCISpecError) {
                json = try JSONParser.parse(bytes)
            } catch {
                // Duplicate members included: the parser's message names the member.
                throw ImagesError(.invalidArgument, "\(digest) is not a manifest or index: \(error.message)", underlying: error)
            }
            let mediaType: MediaType
            if let declared = json["mediaType"]?.stringValue {
                mediaType = MediaType(declared)
            } else if json["manifests"] != nil {
                mediaType = .ociIndex
            } else if json["config"] != nil {
                mediaType = .ociManifest
            } else {
                throw ImagesError(.invalidArgument, "\(digest) is not a manifest or index")
            }
            guard mediaType.isIndex || mediaType.isManifest else {
                throw ImagesError(.invalidArgument, "\(digest) is a \(mediaType), not a manifest or index")
            }
            var root = Descriptor(mediaType: mediaType, digest: digest, size: size)
            if case .manifest(let manifest) = try readRoot(root), let configBytes = try? readBlob(manifest.config.digest) {
                root = root.settingPlatform((try? ImageConfiguration(bytes: configBytes))?.platform)
            }
            return ResolvedImage(name: nil, root: root, pinned: true)
        case .registry(let reference):
            throw ImagesError(
                .invalidArgument,
                "docker://\(reference) names a registry image, which mount, export and tag pull first; here name an image in the store: run layoutfs pull \(reference), then name \(reference)"
            )
        case .name(let reference):
            if let digest = reference.digest {
                // A by-digest name (from pull or import), else any name of that repository
                // (and tag, when given) that is bound to the digest.
                if let exact = try lookUp(reference.description), exact.target.digest == digest {
                    return ResolvedImage(name: exact.name, root: exact.target, pinned: true)
                }
                let all = try allImages()
                let match = all.first {
                    guard let r = try? ImageReference(parsing: $0.name) else { return false }
                    return r.repository == reference.repository && (reference.tag == nil || r.tag == reference.tag) && $0.target.digest == digest
                }
                guard let match else {
                    throw ImagesError(
                        .unknownImage, "no image \(reference.repository)\(reference.tag.map { ":" + $0 } ?? "") is bound to \(digest)\(availableHere(all))")
                }
                return ResolvedImage(name: match.name, root: match.target, pinned: true)
            }
            guard let match = try lookUp(reference.description) else {
                throw ImagesError(.unknownImage, "no image named \(reference)\(availableHere(try allImages(), near: reference.description))")
            }
            return ResolvedImage(name: match.name, root: match.target, pinned: false)
        }
    }

    private func lookUp(_ name: String) throws(ImagesError) -> ImageRecord? {
        do {
            return try images.image(named: name)
        } catch {
            throw ImagesError(error, "cannot look up \(name)")
        }
    }

    /// Checks that a name may be bound to `target`: a name with a digest must carry the
    /// target's own digest.
    /// - Throws: `.invalidArgument`.
    package static func checkName(_ reference: ImageReference, for target: Descriptor) throws(ImagesError) {
        if let digest = reference.digest, digest != target.digest {
            throw ImagesError(
                .invalidArgument, "\(reference) names digest \(digest), but the image is \(target.digest): drop the @digest or use the image's own")
        }
    }

    /// Every named image.
    package func allImages() throws(ImagesError) -> [ImageRecord] {
        do {
            return try images.images()
        } catch {
            throw ImagesError(error, "cannot list images")
        }
    }

    /// `available(all)`, and with `--content` how the content directory's images are given.
    func availableHere(_ all: [ImageRecord], near wanted: String? = nil) -> String {
        if let namesOrigin {
            guard !all.isEmpty else { return " in \(namesOrigin.place): it has no images" }
            let nearest = NearestNames.rank(all.map(\.name), to: wanted ?? "").prefix(5)
            return " in \(namesOrigin.place); nearest: \(nearest.joined(separator: ", ")) (see \(namesOrigin.listing))"
        }
        guard let foreignContent else { return Self.available(all, near: wanted) }
        let names = all.isEmpty ? "" : Self.available(all, near: wanted)
        return "\(names); images in the content directory \(foreignContent.contentRoot) have no names there (containerd and BuildKit keep "
            + "them in their own database): give one by digest or by its first 12 or more hex digits, as layoutfs images --content "
            + "\(foreignContent.contentRoot) lists them, and name it in the layout with --name"
    }

    /// ` (did you mean NAME?)` when one name is near `wanted` (a typo), then up to 20 names.
    package static func available(_ all: [ImageRecord], near wanted: String? = nil) -> String {
        guard !all.isEmpty else { return "; the store has no images yet (add one with layoutfs import)" }
        let guess = wanted.flatMap { NearestNames.suggestion(for: $0, among: all.map(\.name)) }
        let names = all.prefix(20).map(\.name).joined(separator: ", ")
        return (guess.map { " (did you mean \($0)?)" } ?? "") + "; available: \(names)\(all.count > 20 ? ", ..." : "") (see layoutfs images)"
    }
}
