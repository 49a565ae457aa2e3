import ContentStore
import ImageStore
import Logging
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// Imports images from an OCI layout directory into the store.
///
/// Every blob of each selected entry's closure is copied through an ingest and verified
/// (size and digest) on the way in; blobs already local are skipped. Names are bound only
/// after every selected closure is committed, so a failed or killed import names nothing.
package struct LayoutImporter {
    /// What `import` was asked to do.
    package struct Options: Sendable {
        /// `--name`: the name for the one selected entry.
        package var name: String?
        /// `--repo`: repository for tag-only ref names (default: the directory's base name), and
        /// for every ref name that names no registry host (``ImageNaming``).
        package var repository: String?
        /// `--ref`: select entries whose ref name (or image name) equals this.
        package var refName: String?
        /// `--platform`: import only this platform of an index (re-rooted at its manifest).
        package var platform: Platform?
        /// `--verify-existing`: re-hash the blobs already in the store and copy again those that
        /// do not match (instead of skipping them).
        package var verifyExisting: Bool

        package init(name: String? = nil, repository: String? = nil, refName: String? = nil, platform: Platform? = nil, verifyExisting: Bool = false) {
            self.name = name
            self.repository = repository
            self.refName = refName
            self.platform = platform
            self.verifyExisting = verifyExisting
        }
    }

    /// One imported entry.
    package struct ImportedImage: Sendable {
        /// The bound name, or nil when the entry had none (kept by digest).
        package var name: String?
        package var target: Descriptor
        /// Why the entry has no name (`ImageNaming.Outcome`), when it has none.
        package var unnamedReason: String?
        /// Without `--repo`: the entry's ref name, when it gave a name outside the source's own
        /// repository (its directory's or archive's base name), which deserves a warning.
        package var outsideRefName: String?
        /// The image the name was bound to before, when the import moved it.
        package var movedFrom: Digest?
    }

    /// What an import did.
    package struct Result: Sendable {
        package var images: [ImportedImage] = []
        package var copiedBlobs = 0
        package var copiedBytes: Int64 = 0
        package var skippedBlobs = 0
        /// Blobs in the store that did not match their digest (`verifyExisting`), copied again.
        package var replacedBlobs = 0
        package var absentForeignLayers: [Descriptor] = []
    }

    private let store: Store
    private let logger: Logger

    package init(store: Store, logger: Logger = Logger(label: "layoutfs.import")) {
        self.store = store
        self.logger = logger
    }

    /// Imports from the layout at `path`.
    /// - Throws: `.invalidLayout` (bad `oci-layout`/`index.json`), `.ambiguous` (`--name` with
    ///   several entries, `--ref` selecting none), `.missingBlob`/`.corruptBlob` naming the
    ///   digest, `.noPlatform`, `.noSpace`, `.io`.
    package func importLayout(at path: String, options: Options) throws(ImagesError) -> Result {
        let source = try SourceLayout(path: path)
        store.content.removeStaleIngests()
        var result = Result()
        try importImages(from: source, defaultRepository: ImageNaming.repository(fromDirectory: path), options: options, result: &result)
        return result
    }

    /// Selects, names and copies the entries of `source`'s index, then binds the names.
    func importImages(from source: some ImportSource, defaultRepository: String?, options: Options, result: inout Result) throws(ImagesError) {
        let path = source.label
        var entries = source.index.manifests
        if let refName = options.refName {
            entries = entries.filter {
                $0.annotations[AnnotationKey.refName] == refName || $0.annotations[AnnotationKey.containerdImageName] == refName
            }
            guard !entries.isEmpty else {
                throw ImagesError(.ambiguous, "no entry of \(source.indexLabel) has ref name \(refName); it has: \(Self.listing(source.index.manifests))")
            }
        }
        var explicitName: String?
        if let name = options.name {
            guard entries.count == 1 else {
                throw ImagesError(
                    .ambiguous, "--name needs exactly one entry, but \(source.indexLabel) has \(entries.count): \(Self.listing(entries)); select one with --ref"
                )
            }
            let reference: ImageReference
            do {
                reference = try ImageReference(parsing: name)
            } catch {
                throw ImagesError(.invalidArgument, error.message)
            }
            if options.platform == nil { try Store.checkName(reference, for: entries[0]) }
            explicitName = reference.description
        }
        if let repository = options.repository {
            let lastComponent = repository.split(separator: "/").last ?? ""
            guard (try? ImageReference(parsing: repository)) != nil, !repository.contains("@"), !lastComponent.contains(":") else {
                throw ImagesError(.invalidArgument, "invalid --repo \"\(repository)\": give a repository without tag or digest, e.g. demo/busybox")
            }
        }
        let repository = options.repository ?? defaultRepository
        for entry in entries where !ManifestNode.hasChildren(entry.mediaType) {
            throw ImagesError(.invalidLayout, "index.json entry \(entry.digest) is a \(entry.mediaType), not an image manifest or index")
        }
        let outcomes = entries.map { entry in
            explicitName.map { ImageNaming.Outcome.named($0) }
                ?? ImageNaming.outcome(for: entry, repository: repository, keepsUnder: options.repository != nil)
        }
        let names = outcomes.map(\.name)
        var firstEntry: [String: Digest] = [:]
        for (name, entry) in zip(names, entries) {
            guard let name else { continue }
            if let pinned = (try? ImageReference(parsing: name))?.digest, pinned != entry.digest {
                throw ImagesError(
                    .invalidLayout, "an entry of \(source.indexLabel) is named \(name), which pins another digest than the entry's \(entry.digest)")
            }
            if let other = firstEntry[name], other != entry.digest {
                throw ImagesError(
                    .ambiguous,
                    "two entries of \(source.indexLabel) would both be named \(name) (\(other.short) and \(entry.digest.short)); select one with --ref")
            }
            firstEntry[name] = entry.digest
        }
        for (outcome, entry) in zip(outcomes, entries) {
            let name = outcome.name
            let label = name ?? entry.digest.description
            var target = entry
            let readNode = { (d: Descriptor) throws(ImagesError) -> ManifestNode in
                guard let bytes = try source.readBlob(d) else { throw ImagesError(.missingBlob, "blob \(d.digest) of image \(label) is missing from \(path)") }
                return try ManifestNode(descriptor: d, bytes: bytes)
            }
            if let platform = options.platform {
                target = try PlatformSelection.select(platform, from: entry, readConfig: { try? source.readBlob($0) }, read: readNode)
            }
            let readBlob: ClosureWalker.ReadBlob = { (d) throws(ImagesError) in try source.readBlob(d) }
            var walker = ClosureWalker(imageName: label, read: readBlob, has: { source.has($0.digest) })
            do {
                try walker.walk(target)
            } catch  where error.code == .missingBlob && target.mediaType.isIndex {
                // A one-platform export of a multi-platform image: say what is there.
                let (complete, incomplete) = PlatformSelection.completeness(
                    of: target, readConfig: { try? source.readBlob($0) }, read: readNode, readBlob: readBlob, has: { source.has($0.digest) })
                guard !complete.isEmpty, !incomplete.isEmpty else { throw error }
                throw ImagesError(
                    .missingBlob,
                    "\(error.message) from \(path): it holds only \(complete.map(\.description).joined(separator: ", ")) of the index's platforms "
                        + "(incomplete: \(incomplete.map(\.description).joined(separator: ", "))), as a one-platform export such as ctr images export --platform "
                        + "writes; import with --platform \(complete[0])", underlying: error)
            }
            try copy(walker.blobs, from: source, verifyExisting: options.verifyExisting, result: &result)
            result.absentForeignLayers += walker.absentForeignLayers
            target = try rootDescriptor(target)
            var reason: String?
            if case .unnamed(let why) = outcome { reason = why }
            var image = ImportedImage(name: name, target: target, unnamedReason: reason)
            if explicitName == nil, options.repository == nil, let name, let refName = entry.annotations[AnnotationKey.refName],
                entry.annotations[AnnotationKey.containerdImageName] == nil, Self.isOutside(name, of: defaultRepository)
            {
                image.outsideRefName = refName
                if let previous = try? store.images.image(named: name), previous.target.digest != target.digest { image.movedFrom = previous.target.digest }
            }
            result.images.append(image)
        }
        let bindings = result.images.compactMap { image in image.name.map { (name: $0, target: image.target) } }
        do {
            try store.images.bind(bindings)
        } catch {
            throw ImagesError(error, "cannot name the imported images")
        }
    }

    /// The descriptor stored for an image: naming annotations removed (they are made anew for
    /// each layout), the platform added from the config when the root is a manifest.
    private func rootDescriptor(_ entry: Descriptor) throws(ImagesError) -> Descriptor {
        var target = entry.settingAnnotation(AnnotationKey.refName, to: nil).settingAnnotation(AnnotationKey.containerdImageName, to: nil)
        if target.platform == nil, case .manifest(let manifest) = try store.readRoot(target) {
            if let bytes = try? store.content.readBlob(manifest.config.digest), let config = try? ImageConfiguration(bytes: bytes) {
                target = target.settingPlatform(config.platform)
            }
        }
        return target
    }

    private func copy(_ blobs: [Descriptor], from source: some ImportSource, verifyExisting: Bool, result: inout Result) throws(ImagesError) {
        for descriptor in blobs {
            if verifyExisting {
                do {
                    if try store.content.removeIfCorrupt(descriptor.digest) { result.replacedBlobs += 1 }
                } catch {
                    throw ImagesError(error, "cannot verify blob \(descriptor.digest) in the store")
                }
            }
            if let size = store.content.size(of: descriptor.digest) {
                // Committed blobs match their digest; the descriptor must still say their size.
                guard size == descriptor.size else {
                    throw ImagesError(
                        .corruptBlob,
                        "\(descriptor.mediaType) \(descriptor.digest) has \(size) bytes, but its descriptor in \(source.label) says \(descriptor.size)")
                }
                result.skippedBlobs += 1
                continue
            }
            try source.copy(descriptor, into: store.content)
            result.copiedBlobs += 1
            result.copiedBytes += descriptor.size
        }
    }

    /// Whether `name` lies outside `repository` (the source's own, normalized; none: every name is).
    static func isOutside(_ name: String, of repository: String?) -> Bool {
        guard let repository, let own = try? ImageReference(parsing: repository) else { return true }
        return (try? ImageReference(parsing: name))?.repository != own.repository
    }

    private static func listing(_ entries: [Descriptor]) -> String {
        entries.map { $0.annotations[AnnotationKey.refName] ?? $0.annotations[AnnotationKey.containerdImageName] ?? $0.digest.short }
            .joined(separator: ", ")
    }
}
