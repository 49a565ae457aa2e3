import ContentStore
import OCISpec
import Synchronization

/// The filesystem model of one OCI image layout (image-spec image-layout.md): `oci-layout`,
/// `index.json`, `ingest/` (empty, for containerd 1.x readers) and `blobs/<alg>/<hex>` for the
/// blobs of the closure. FUSE-free: the mount adapts it, tests call it directly.
///
/// Thread-safe; every call answers at once except `read`, which may complete later.
package final class LayoutTree: ServedTree {
    package static let rootInode: UInt64 = 1
    static let layoutFileInode: UInt64 = 2
    static let indexInode: UInt64 = 3
    static let blobsInode: UInt64 = 4
    static let ingestInode: UInt64 = 5
    static let algorithmInodes: [Digest.Algorithm: UInt64] = [.sha256: 6, .sha512: 7]
    static let dockerManifestInode: UInt64 = 8

    private let contents: Mutex<TreeContents>
    private let provider: any BlobProvider
    private let modificationTime: Int64
    private let handles = OpenHandles()

    /// - Parameters:
    ///   - index: the exact bytes of `index.json`.
    ///   - dockerManifest: the bytes of a top-level `manifest.json`, or nil for none.
    ///   - blobs: every blob the layout shows (the closure); duplicates are ignored.
    ///   - provider: where blob bytes come from.
    ///   - modificationTime: seconds since the epoch shown as every node's mtime.
    package init(index: [UInt8], dockerManifest: [UInt8]? = nil, blobs: [Descriptor], provider: any BlobProvider, modificationTime: Int64) {
        var contents = TreeContents(indexBytes: index, dockerManifest: dockerManifest)
        contents.show(blobs)
        self.contents = Mutex(contents)
        self.provider = provider
        self.modificationTime = modificationTime
    }

    /// The current generation of `index.json` (0 at mount, +1 per ``replace(index:blobs:)``).
    package var generation: UInt64 { contents.withLock { $0.generation } }

    /// Shows a new generation (DESIGN.md "index.json generations"): `index.json` (and
    /// `manifest.json`, when given) get new bytes and new inodes (a handle keeps reading the
    /// generation it opened), `blobs/<alg>` lists `blobs`. Blobs of earlier generations stay
    /// reachable by name (not listed) until ``retire(keeping:)``.
    /// - Returns: the new generation.
    package func replace(index: [UInt8], dockerManifest: [UInt8]? = nil, blobs: [Descriptor]) -> UInt64 {
        contents.withLock { contents in
            contents.generation += 1
            contents.indexInode = 1 << 62 | contents.generation
            contents.remember(index, inode: contents.indexInode)
            contents.dockerManifestInode = dockerManifest.map { _ in 1 << 62 | 1 << 61 | contents.generation }
            if let dockerManifest, let inode = contents.dockerManifestInode { contents.remember(dockerManifest, inode: inode) }
            contents.show(blobs)
            return contents.generation
        }
    }

    /// Makes blobs of earlier generations unreachable, except those of `keeping` (the current
    /// generation's always stay).
    /// - Returns: the entries removed, (directory inode, name), for the kernel to forget.
    @discardableResult
    package func retire(keeping: Set<Digest>) -> [(parent: UInt64, name: String)] {
        contents.withLock { contents in
            var removed: [(parent: UInt64, name: String)] = []
            for (digest, inode) in contents.blobInodes where !contents.current.contains(digest) && !keeping.contains(digest) {
                contents.blobInodes.removeValue(forKey: digest)
                contents.blobs.removeValue(forKey: inode)
                if let parent = Self.algorithmInodes[digest.algorithm] { removed.append((parent, digest.encoded)) }
            }
            return removed
        }
    }

    /// Blob inodes come from the digest (stable across mounts) with the top bit set so they
    /// never meet the fixed inodes; a collision moves to the next free number.
    static func preferredInode(_ digest: Digest) -> UInt64 {
        var value: UInt64 = 0
        for byte in digest.encoded.utf8.prefix(16) {
            value = value << 4 | UInt64(byte <= 0x39 ? byte - 0x30 : byte - 0x61 + 10)
        }
        return value | 1 << 63
    }

    /// Nil: the mount walks the layout (its blobs change with the generations).
    package var usage: (nodes: UInt64, bytes: Int64)? { nil }

    /// False: `index.json` moves with its names, `blobs/sha256` lists each generation's blobs.
    package var directoriesAreImmutable: Bool { false }

    /// False: a handle reads the `index.json` generation it opened, and a blob's content
    /// (replaced by a repair) is decided at open.
    package var opensAreStateless: Bool { false }

    /// Bytes the provider received from registries (lazy blobs).
    package var bytesFetched: Int64 { provider.bytesFetched }

    /// The digest of a blob file's inode, if it is one.
    package func digest(ofInode inode: UInt64) -> Digest? { contents.withLock { $0.blobs[inode]?.digest } }

    /// The inode of a blob file, if the layout shows it.
    package func inode(of digest: Digest) -> UInt64? { contents.withLock { $0.blobInodes[digest] } }

    /// Attributes of `inode`.
    /// - Throws: `LayoutFSError.notFound` for an unknown inode.
    package func attributes(of inode: UInt64) throws(LayoutFSError) -> NodeAttributes {
        switch inode {
        case Self.rootInode, Self.blobsInode, Self.ingestInode:
            return directory(inode)
        case Self.layoutFileInode: return file(inode, size: Int64(ImageLayout.layoutFileContents.count))
        default:
            if let algorithm = Self.algorithmInodes.first(where: { $0.value == inode })?.key, algorithmShown(algorithm) {
                return directory(inode)
            }
            let size = contents.withLock { $0.topFileSizes[inode] ?? $0.blobs[inode]?.size }
            guard let size else { throw LayoutFSError(.notFound, "no inode \(inode)") }
            return file(inode, size: size)
        }
    }

    /// Looks `name` up in directory `parent`.
    /// - Throws: `.notFound`, or `.notDirectory` when `parent` is a file.
    package func lookup(parent: UInt64, name: String) throws(LayoutFSError) -> NodeAttributes {
        // In blobs/<alg>: every reachable blob, also those of earlier generations (not listed).
        if let algorithm = Self.algorithmInodes.first(where: { $0.value == parent })?.key, algorithmShown(algorithm) {
            guard let digest = try? Digest(algorithm: algorithm, encoded: name), let inode = inode(of: digest) else {
                throw LayoutFSError(.notFound, "\(name) not found")
            }
            return try attributes(of: inode)
        }
        guard let entry = try entries(of: parent).first(where: { $0.name == name }) else {
            throw LayoutFSError(.notFound, "\(name) not found")
        }
        return try attributes(of: entry.inode)
    }

    /// The entries of directory `inode`, without `.` and `..`, in a stable order.
    /// - Throws: `.notFound`, `.notDirectory`.
    package func entries(of inode: UInt64) throws(LayoutFSError) -> [DirectoryEntry] {
        switch inode {
        case Self.rootInode:
            let (indexInode, dockerManifestInode) = contents.withLock { ($0.indexInode, $0.dockerManifestInode) }
            var entries = [
                DirectoryEntry(name: "blobs", inode: Self.blobsInode, kind: .directory),
                DirectoryEntry(name: ImageLayout.indexFileName, inode: indexInode, kind: .regularFile),
                DirectoryEntry(name: "ingest", inode: Self.ingestInode, kind: .directory),
            ]
            if let dockerManifestInode {
                entries.append(DirectoryEntry(name: ImageLayout.dockerManifestFileName, inode: dockerManifestInode, kind: .regularFile))
            }
            entries.append(DirectoryEntry(name: ImageLayout.layoutFileName, inode: Self.layoutFileInode, kind: .regularFile))
            return entries
        case Self.blobsInode:
            return Digest.Algorithm.allCases.filter(algorithmShown).map {
                DirectoryEntry(name: $0.rawValue, inode: Self.algorithmInodes[$0]!, kind: .directory)
            }
        case Self.ingestInode: return []
        default:
            if let algorithm = Self.algorithmInodes.first(where: { $0.value == inode })?.key, algorithmShown(algorithm) {
                return contents.withLock { $0.listings[algorithm] ?? [] }
            }
            if contents.withLock({ $0.blobs[inode] != nil || $0.topFileSizes[inode] != nil }) || inode == Self.layoutFileInode {
                throw LayoutFSError(.notDirectory, "inode \(inode) is not a directory")
            }
            throw LayoutFSError(.notFound, "no inode \(inode)")
        }
    }

    /// Opens a file for reading and returns a handle for `read` and `release`.
    /// - Throws: `.isDirectory`, `.notFound`, `.io` when the blob cannot be opened (the
    ///   provider's error: the store lost it, the process is out of file descriptors).
    package func open(_ inode: UInt64) throws(LayoutFSError) -> UInt64 {
        let content: OpenContent
        switch inode {
        case Self.layoutFileInode: content = .bytes(ImageLayout.layoutFileContents)
        default:
            // index.json, manifest.json: the generation of that inode (only the current one can be looked up).
            if let bytes = contents.withLock({ $0.topFileBytes[inode]?.bytes }) {
                content = .bytes(bytes)
                break
            }
            if Self.isIndexInode(inode) { throw LayoutFSError(.notFound, "generation \(inode) of index.json or manifest.json is gone: open it again") }
            guard let descriptor = contents.withLock({ $0.blobs[inode] }) else {
                _ = try attributes(of: inode)
                throw LayoutFSError(.isDirectory, "inode \(inode) is a directory")
            }
            content = .blob(try provider.open(descriptor), descriptor.digest)
        }
        return handles.insert(content)
    }

    /// Points the open handles of every blob whose content was replaced since it was opened
    /// (``FileContent/replacement()``: `layoutfs check --repair` committed it anew, the old
    /// file's bytes are bad) at the replacement. One question per blob with open handles; the
    /// mount calls it about once a second, never on a request thread.
    /// The replaced file itself is rewritten with the repaired bytes
    /// (``BlobFile/overwriteUnlinked(withContentsOf:)``): a FUSE passthrough open reads it in
    /// the kernel, whose backing file cannot be swapped.
    /// - Returns: the inodes of those blobs: the kernel must drop their cached pages.
    package func repointReplacedBlobs() -> [UInt64] {
        var inodes: [UInt64] = []
        for (digest, file) in handles.openBlobs() {
            guard let fresh = file.replacement() else { continue }
            if let stale = file.backingFile, let repaired = fresh.backingFile {
                _ = try? stale.overwriteUnlinked(withContentsOf: repaired)
            }
            handles.replaceContent(of: digest, with: fresh)
            if let inode = inode(of: digest) { inodes.append(inode) }
        }
        return inodes
    }

    /// Reads up to `byteCount` bytes at `offset` (bytes) of an open handle. Completes at once for local content and present
    /// lazy chunks, later when they must be fetched; `completion` is called exactly once (a
    /// failed fetch or a corrupt blob: `.io`).
    package func read(inode: UInt64, handle: UInt64, offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void)
    {
        guard let content = handles.content(of: handle) else {
            completion(.failure(LayoutFSError(.badHandle, "no open file handle \(handle)")))
            return
        }
        guard offset >= 0, byteCount >= 0 else {
            completion(.failure(LayoutFSError(.io, "negative offset or count")))
            return
        }
        switch content {
        case .bytes(let bytes):
            let start = Int(min(offset, Int64(bytes.count)))
            let end = start + min(byteCount, bytes.count - start)
            completion(.success(.bytes(Array(bytes[start..<end]))))
        case .blob(let file, _):
            file.read(offset: offset, byteCount: byteCount, completion: completion)
        }
    }

    /// A read of `inode` waited `deadline` for its bytes and is being answered `EIO` (the
    /// mount's deadline): tells the provider (``BlobProvider/readTimedOut(_:after:)``).
    /// - Returns: what to log: the blob and why its bytes did not come.
    package func readTimedOut(inode: UInt64, after deadline: Duration) -> String {
        guard let digest = digest(ofInode: inode) else { return "inode \(inode)" }
        guard let reason = provider.readTimedOut(digest, after: deadline) else { return "blob \(digest)" }
        return "blob \(digest): \(reason)"
    }

    /// Closes a handle returned by `open` (once).
    package func release(handle: UInt64) {
        handles.remove(handle)
    }

    /// The layout has no symlinks.
    /// - Throws: `.invalidArgument`, or `.notFound` for an unknown inode.
    package func linkTarget(of inode: UInt64) throws(LayoutFSError) -> String {
        _ = try attributes(of: inode)
        throw LayoutFSError(.invalidArgument, "inode \(inode) is not a symlink")
    }

    /// None: `user.layoutfs.*` attributes are answered by name only, so `cp -a`, `rsync -X` and
    /// `tar --xattrs` never copy them.
    /// - Throws: `.notFound` for an unknown inode.
    package func extendedAttributeNames(of inode: UInt64) throws(LayoutFSError) -> [String] {
        _ = try attributes(of: inode)
        return []
    }

    /// The value of extended attribute `name`; `user.layoutfs.*` names are answered, never listed.
    /// - Throws: `.noAttribute` when `inode` has no such attribute, `.notFound` for an unknown inode.
    package func extendedAttribute(of inode: UInt64, name: String) throws(LayoutFSError) -> [UInt8] {
        _ = try attributes(of: inode)
        if name == "user.layoutfs.state", let descriptor = contents.withLock({ $0.blobs[inode] }) {
            return Array(provider.state(of: descriptor).utf8)
        }
        throw LayoutFSError(.noAttribute, "no attribute \(name)")
    }

    /// Calls `handler` with a blob's inode when its fetched bytes turned out corrupt and its
    /// cache was dropped (on a worker thread): the mount has the kernel forget its pages.
    package func onInvalidate(_ handler: @escaping @Sendable (UInt64) -> Void) {
        provider.onInvalidate { [weak self] digest in
            if let inode = self?.inode(of: digest) { handler(inode) }
        }
    }

    /// Whether the kernel may keep pages cached from earlier opens of the file `handle` reads
    /// (``FileContent/keepsPages``; always for the layout's own small files).
    package func keepsPages(handle: UInt64) -> Bool {
        guard case .blob(let file, _)? = handles.content(of: handle) else { return true }
        return file.keepsPages
    }

    /// The store file of a local blob open as `handle` (``FileContent/backingFile``).
    package func backingFile(handle: UInt64) -> BlobFile? {
        guard case .blob(let file, _)? = handles.content(of: handle) else { return nil }
        return file.backingFile
    }

    /// True for blobs (immutable: the kernel may keep their pages), false for index.json and manifest.json.
    package func keepsCache(_ inode: UInt64) -> Bool { !Self.isIndexInode(inode) }

    /// Generation 0's index.json is inode 3 and manifest.json 8; later ones
    /// `1 << 62 | generation` and `1 << 62 | 1 << 61 | generation` (blob inodes have the top bit
    /// set, so the ranges never meet).
    static func isIndexInode(_ inode: UInt64) -> Bool { inode == indexInode || inode == dockerManifestInode || inode >> 62 == 1 }

    private func algorithmShown(_ algorithm: Digest.Algorithm) -> Bool {
        algorithm == .sha256 || contents.withLock { $0.listings[algorithm] != nil }
    }

    private func directory(_ inode: UInt64) -> NodeAttributes {
        NodeAttributes(inode: inode, kind: .directory, size: 4096, permissions: 0o555, linkCount: 2, modificationTime: modificationTime)
    }

    private func file(_ inode: UInt64, size: Int64) -> NodeAttributes {
        NodeAttributes(inode: inode, kind: .regularFile, size: size, permissions: 0o444, linkCount: 1, modificationTime: modificationTime)
    }
}

/// What an open file handle reads.
enum OpenContent: Sendable {
    /// The layout's own small files (`oci-layout`, a generation of `index.json`).
    case bytes([UInt8])
    /// A blob's content, from the provider.
    case blob(any FileContent, Digest)
}

/// What the tree shows now, and what it still answers for open handles and earlier generations.
struct TreeContents {
    var generation: UInt64 = 0
    var indexInode = LayoutTree.indexInode
    var dockerManifestInode: UInt64?
    /// Sizes of every generation's index.json and manifest.json inodes (earlier ones answer getattr while open).
    var topFileSizes: [UInt64: Int64] = [:]
    /// Bytes of the last 32 generations' index.json and manifest.json by inode, for late opens
    /// (the kernel may open an inode whose entry it cached before the invalidation).
    var topFileBytes: [UInt64: (generation: UInt64, bytes: [UInt8])] = [:]
    /// Reachable blobs: the current generation's and retained earlier ones.
    var blobs: [UInt64: Descriptor] = [:]
    var blobInodes: [Digest: UInt64] = [:]
    /// The current generation's blobs and their sorted listings of `blobs/<alg>`.
    var current: Set<Digest> = []
    var listings: [Digest.Algorithm: [DirectoryEntry]] = [:]

    init(indexBytes: [UInt8], dockerManifest: [UInt8]?) {
        remember(indexBytes, inode: LayoutTree.indexInode)
        if let dockerManifest {
            dockerManifestInode = LayoutTree.dockerManifestInode
            remember(dockerManifest, inode: LayoutTree.dockerManifestInode)
        }
    }

    mutating func remember(_ bytes: [UInt8], inode: UInt64) {
        topFileSizes[inode] = Int64(bytes.count)
        topFileBytes[inode] = (generation, bytes)
        if generation >= 32 { topFileBytes = topFileBytes.filter { $0.value.generation > generation - 32 } }
    }

    /// Makes `blobs` the listed ones, giving new digests their inodes.
    mutating func show(_ shown: [Descriptor]) {
        current = []
        var listed: [Digest.Algorithm: [DirectoryEntry]] = [:]
        for descriptor in shown where current.insert(descriptor.digest).inserted {
            let inode: UInt64
            if let known = blobInodes[descriptor.digest] {
                inode = known
            } else {
                var candidate = LayoutTree.preferredInode(descriptor.digest)
                while blobs[candidate] != nil { candidate = candidate == UInt64.max ? 1 << 63 : candidate + 1 }
                inode = candidate
                blobs[inode] = descriptor
                blobInodes[descriptor.digest] = inode
            }
            listed[descriptor.digest.algorithm, default: []].append(DirectoryEntry(name: descriptor.digest.encoded, inode: inode, kind: .regularFile))
        }
        for key in listed.keys { listed[key]!.sort { $0.name < $1.name } }
        listings = listed
    }
}
