import ContentStore
import ImageStore
import Logging
import OCISpec
import TarArchive

/// Imports images from a tar archive, streamed and never extracted: an oci-archive (an OCI
/// layout in a tar, image-spec image-layout.md), or a docker-archive (`docker save`: the
/// legacy `manifest.json` + layer tars, or the newer form that holds an OCI layout).
///
/// Members are streamed into ingests as they come, each verified: `blobs/<alg>/<hex>`
/// against its name, legacy layer and config files hashed to get their digests. Only the
/// expected members are accepted (``ArchiveMembers``); paths that leave the archive, devices and
/// links under `blobs/` are refused. Names are bound only after every selected image is
/// complete, so a failed import names nothing (its blobs are left for `prune`).
package struct ArchiveImporter {
    private let store: Store
    private let logger: Logger

    package init(store: Store, logger: Logger = Logger(label: "layoutfs.import")) {
        self.store = store
        self.logger = logger
    }

    /// Imports from the archive at `path` ("-" reads standard input).
    /// - Throws: `.invalidLayout` (not a tar, an unexpected or unsafe member, neither
    ///   `index.json` nor `manifest.json`), `.corruptBlob` (a blob that does not match its
    ///   name, a layer that does not match its diff_id), `.missingBlob`, `.ambiguous`,
    ///   `.noPlatform`, `.noSpace`, `.io`.
    package func importArchive(at path: String, options: LayoutImporter.Options) throws(ImagesError) -> LayoutImporter.Result {
        store.content.removeStaleIngests()
        var result = LayoutImporter.Result()
        let members = try ArchiveMembers.read(path, into: store.content, verifyExisting: options.verifyExisting, result: &result)
        let index: ImageIndex
        let indexLabel: String
        if let indexBytes = members.metadata["index.json"] {
            index = try members.ociIndex(indexBytes)
            indexLabel = "index.json in \(members.source)"
        } else if let manifestBytes = members.metadata["manifest.json"] {
            index = try DockerArchive(members: members, store: store).index(manifestBytes)
            indexLabel = "manifest.json in \(members.source)"
        } else {
            throw ImagesError(.invalidLayout, "\(members.source) holds neither index.json (an oci-archive) nor manifest.json (a docker-archive)")
        }
        let source = StoredArchive(label: members.source, indexLabel: indexLabel, index: index, content: store.content)
        let copied = (result.copiedBlobs, result.copiedBytes, result.skippedBlobs)
        // Stored blobs were verified as the archive streamed past (they cannot be copied again now).
        var options = options
        options.verifyExisting = false
        try LayoutImporter(store: store, logger: logger).importImages(
            from: source, defaultRepository: path == "-" ? nil : ImageNaming.repository(fromDirectory: Self.stem(path)), options: options, result: &result)
        // Every blob was counted while streaming; the closure pass found them all stored.
        (result.copiedBlobs, result.copiedBytes, result.skippedBlobs) = copied
        return result
    }

    /// `dir/name.tar.gz` -> `dir/name`.
    private static func stem(_ path: String) -> String {
        for suffix in [".tar.gz", ".tar.zst", ".tar.xz", ".tar.bz2", ".tgz", ".tzst", ".txz", ".tbz2", ".tar"] where path.hasSuffix(suffix) {
            return String(path.dropLast(suffix.count))
        }
        return path
    }
}

/// An archive whose blobs are already in the store.
struct StoredArchive: ImportSource {
    let label: String
    let indexLabel: String
    let index: ImageIndex
    let content: LocalContentStore

    func readBlob(_ descriptor: Descriptor) throws(ImagesError) -> [UInt8]? {
        guard content.contains(descriptor.digest) else { return nil }
        do {
            return try content.readBlob(descriptor.digest)
        } catch {
            throw ImagesError(error, "cannot read \(descriptor.digest)")
        }
    }

    func has(_ digest: Digest) -> Bool { content.contains(digest) }

    func copy(_ descriptor: Descriptor, into content: LocalContentStore) throws(ImagesError) {
        throw ImagesError(.missingBlob, "blob \(descriptor.digest) is not in \(label)")
    }
}
