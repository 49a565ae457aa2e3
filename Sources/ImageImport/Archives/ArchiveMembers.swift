import ContentStore
import ImageStore
import OCISpec
import TarArchive

/// What one pass over an archive found: its small metadata files, and every data member
/// stored as a blob under its digest.
///
/// Accepted members (paths normalized: `./` and empty components dropped):
/// - `oci-layout`, `index.json`, `manifest.json`, `repositories`: read into memory, 4 MiB each at most;
/// - `blobs/<alg>/<hex>`: regular files only, verified against their name;
/// - the legacy docker-archive's `<name>.tar` and `<name>.json` at the top, `<dir>/layer.tar`
///   (hashed to get their digests), `<dir>/json` and `<dir>/VERSION` (skipped); a link among
///   these is an alias for another member, resolved inside the archive (`docker save` and
///   skopeo write `<dir>/layer.tar` as a symbolic link to `../<hex>.tar`);
/// - directories (they carry nothing: nothing is extracted).
/// Anything else, a path with `..` that leaves the archive, or an absolute path is refused.
struct ArchiveMembers {
    /// A stored data member.
    struct StoredFile {
        var digest: Digest
        var size: Int64
    }

    static let metadataNames: Set<String> = ["oci-layout", "index.json", "manifest.json", "repositories"]

    /// The archive, for messages.
    let source: String
    private(set) var metadata: [String: [UInt8]] = [:]
    private(set) var files: [String: StoredFile] = [:]
    private(set) var links: [String: String] = [:]
    private var seen: Set<String> = []
    /// `--verify-existing`: a member whose blob is already stored is compared, not skipped.
    private var verifyExisting = false

    private init(source: String) { self.source = source }

    /// Streams the archive at `path` ("-": standard input) into `content`, counting copied and
    /// skipped blobs in `result`; with `verifyExisting`, a stored blob that does not hash to its
    /// digest is replaced by the member's bytes.
    /// - Throws: `.invalidLayout` (not a tar, a refused member), `.corruptBlob`, `.noSpace`, `.io`.
    static func read(_ path: String, into content: LocalContentStore, verifyExisting: Bool = false, result: inout LayoutImporter.Result) throws(ImagesError)
        -> ArchiveMembers
    {
        let reader: TarReader
        do {
            reader = try TarReader(path: path)
        } catch {
            throw ImagesError(.invalidLayout, error.message)
        }
        var members = ArchiveMembers(source: reader.source)
        members.verifyExisting = verifyExisting
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        do {
            while let entry = try reader.next() {
                try members.take(entry, from: reader, buffer: buffer, content: content, result: &result)
            }
        } catch let error as TarArchiveError {
            throw ImagesError(.invalidLayout, "\(reader.source) is damaged or truncated: \(error.message)")
        } catch let error as ImagesError {
            throw error
        } catch {
            throw ImagesError(.io, "cannot read \(reader.source): \(error)")
        }
        return members
    }

    /// The OCI index of an archive holding a layout (`oci-layout` must say 1.x).
    /// - Throws: `.invalidLayout`.
    func ociIndex(_ bytes: [UInt8]) throws(ImagesError) -> ImageIndex {
        guard let layout = metadata["oci-layout"], let version = (try? JSONParser.parse(layout))?["imageLayoutVersion"]?.stringValue, version.hasPrefix("1.")
        else {
            throw ImagesError(.invalidLayout, "\(source) has index.json but no oci-layout saying imageLayoutVersion 1.x")
        }
        let index: ImageIndex
        do {
            index = try ImageIndex(bytes: bytes)
        } catch {
            throw ImagesError(.invalidLayout, "index.json in \(source) is not a valid image index: \(error.message)", underlying: error)
        }
        guard !index.manifests.isEmpty else { throw ImagesError(.invalidLayout, "index.json in \(source) lists no images") }
        return index
    }

    /// The stored member at `path`, following aliases (8 at most).
    func file(at path: String) -> StoredFile? {
        guard var current = Self.normalized(path) else { return nil }
        for _ in 0..<8 {
            if let file = files[current] { return file }
            guard let next = links[current] else { return nil }
            current = next
        }
        return nil
    }

    private mutating func take(
        _ entry: TarReader.Entry, from reader: TarReader, buffer: UnsafeMutableRawBufferPointer, content: LocalContentStore, result: inout LayoutImporter.Result
    ) throws {
        guard !entry.path.split(separator: "/").contains(".."), let path = Self.normalized(entry.path) else {
            throw ImagesError(.invalidLayout, "\(source) has a member with an unsafe path \"\(entry.path)\" (absolute or with ..); nothing was extracted")
        }
        if entry.kind == .directory || path.isEmpty { return }
        // tar lets a later member replace an earlier one; we take neither.
        guard seen.insert(path).inserted else {
            throw ImagesError(.invalidLayout, "\(source) has the member \(path) twice; an archive with duplicate members is refused")
        }
        let components = path.split(separator: "/")
        let isBlob = components.count == 3 && components[0] == "blobs"
        let isLegacy =
            components.count == 1
            ? (path.hasSuffix(".tar") || path.hasSuffix(".json")) && !Self.metadataNames.contains(path)
            : components.count == 2 && ["layer.tar", "json", "VERSION"].contains(components[1])
        switch entry.kind {
        case .regular where Self.metadataNames.contains(path):
            guard entry.size <= ImageLayout.maximumManifestSize else {
                throw ImagesError(.invalidLayout, "\(path) in \(source) is \(entry.size) bytes, more than the 4 MiB limit")
            }
            metadata[path] = try Self.readAll(reader, size: entry.size, buffer: buffer)
        case .regular where isBlob:
            let digest: Digest
            do {
                digest = try Digest(parsing: "\(components[1]):\(components[2])")
            } catch {
                throw ImagesError(.invalidLayout, "\(source) has a member \(path) whose name is not a digest: \(error.message)")
            }
            files[path] = StoredFile(digest: digest, size: entry.size)
            try store(entry, expecting: digest, from: reader, buffer: buffer, content: content, result: &result)
        case .regular where isLegacy:
            if components.count == 2 && components[1] != "layer.tar" { return }
            files[path] = try store(entry, expecting: nil, from: reader, buffer: buffer, content: content, result: &result)
        case .symbolicLink where isLegacy, .hardLink where isLegacy:
            let target = entry.linkTarget ?? ""
            let joined = entry.kind == .hardLink ? target : (components.dropLast().map { "\($0)/" }.joined() + target)
            guard !target.hasPrefix("/"), let resolved = Self.normalized(joined), !resolved.isEmpty else {
                throw ImagesError(.invalidLayout, "\(source) has a link \(path) -> \(target) that leaves the archive")
            }
            links[path] = resolved
        default:
            throw ImagesError(
                .invalidLayout,
                "\(source) has an unexpected member \(path) (\(entry.kind)): an oci-archive holds only oci-layout, index.json and blobs/<alg>/<hex>, a docker-archive manifest.json, repositories, configs and layer tars"
            )
        }
    }

    /// Streams the member into an ingest and commits it, verified against `expected` (or under
    /// its own sha256 when nil); a blob already stored is skipped unread.
    @discardableResult
    private func store(
        _ entry: TarReader.Entry, expecting expected: Digest?, from reader: TarReader, buffer: UnsafeMutableRawBufferPointer, content: LocalContentStore,
        result: inout LayoutImporter.Result
    ) throws -> StoredFile {
        if let expected, content.contains(expected) {
            if try replaceIfCorrupt(expected, content: content, result: &result) {
                // Streamed in below, over the removed copy.
            } else {
                result.skippedBlobs += 1
                return StoredFile(digest: expected, size: entry.size)
            }
        }
        let ingest: Ingest
        do {
            ingest = try content.ingest()
            if let expected { ingest.alsoHash(expected.algorithm) }
            while true {
                let n = try reader.read(into: buffer)
                if n == 0 { break }
                try ingest.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        } catch let error as ContentStoreError {
            throw ImagesError(error, "cannot store \(entry.path) of \(source)")
        }
        let digest = expected ?? ingest.currentDigest()!
        if expected == nil, content.contains(digest), try !replaceIfCorrupt(digest, content: content, result: &result) {
            ingest.abort()
            result.skippedBlobs += 1
            return StoredFile(digest: digest, size: ingest.byteCount)
        }
        do {
            try ingest.commit(digest: digest, size: entry.size)
        } catch  where error.code == .digestMismatch || error.code == .sizeMismatch {
            throw ImagesError(.corruptBlob, "\(entry.path) in \(source) does not match its name: \(error.message)")
        } catch {
            throw ImagesError(error, "cannot store \(entry.path) of \(source)")
        }
        result.copiedBlobs += 1
        result.copiedBytes += entry.size
        return StoredFile(digest: digest, size: entry.size)
    }

    /// With `verifyExisting`: removes a stored blob that does not hash to `digest` (counted in
    /// `result`), so the member's bytes are committed in its place; true when it did.
    private func replaceIfCorrupt(_ digest: Digest, content: LocalContentStore, result: inout LayoutImporter.Result) throws(ImagesError) -> Bool {
        guard verifyExisting else { return false }
        do {
            guard try content.removeIfCorrupt(digest) else { return false }
        } catch {
            throw ImagesError(error, "cannot verify blob \(digest) in the store")
        }
        result.replacedBlobs += 1
        return true
    }

    private static func readAll(_ reader: TarReader, size: Int64, buffer: UnsafeMutableRawBufferPointer) throws(TarArchiveError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(size))
        while true {
            let n = try reader.read(into: buffer)
            if n == 0 { return bytes }
            bytes += UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        }
    }

    /// `path` with `.` and empty components dropped and `..` applied, or nil when absolute or
    /// when `..` climbs out of the archive.
    static func normalized(_ path: String) -> String? {
        guard !path.hasPrefix("/") else { return nil }
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(component)
            }
        }
        return parts.joined(separator: "/")
    }
}
