import ContentStore
import Images
import OCISpec
import Synchronization

/// The filesystem model of one OCI image layout (image-spec image-layout.md): `oci-layout`,
/// `index.json`, `ingest/` (empty, for containerd 1.x readers) and `blobs/<alg>/<hex>` for the
/// blobs of the closure. FUSE-free: the mount adapts it, tests call it directly.
///
/// Thread-safe; every call answers at once except `read`, which may complete later.
public final class LayoutTree: Sendable {
    public static let rootInode: UInt64 = 1
    static let layoutFileInode: UInt64 = 2
    static let indexInode: UInt64 = 3
    static let blobsInode: UInt64 = 4
    static let ingestInode: UInt64 = 5
    static let algorithmInodes: [Digest.Algorithm: UInt64] = [.sha256: 6, .sha512: 7]

    private let indexBytes: [UInt8]
    private let blobs: [UInt64: Descriptor]
    private let blobInodes: [Digest: UInt64]
    /// Sorted listings of `blobs/<alg>`.
    private let listings: [Digest.Algorithm: [DirectoryEntry]]
    private let provider: any BlobProvider
    private let modificationTime: Int64
    private let files: BlobFileCache
    private let handles = Mutex(HandleTable())

    /// - Parameters:
    ///   - index: the exact bytes of `index.json`.
    ///   - blobs: every blob the layout shows (the closure); duplicates are ignored.
    ///   - provider: where blob bytes come from.
    ///   - modificationTime: seconds since the epoch shown as every node's mtime.
    ///   - openFileLimit: how many blob files stay open in the LRU cache.
    public init(index: [UInt8], blobs: [Descriptor], provider: any BlobProvider, modificationTime: Int64, openFileLimit: Int = 1024) {
        var byInode: [UInt64: Descriptor] = [:]
        var inodes: [Digest: UInt64] = [:]
        for descriptor in blobs where inodes[descriptor.digest] == nil {
            var inode = Self.preferredInode(descriptor.digest)
            while byInode[inode] != nil { inode = inode == UInt64.max ? 1 << 63 : inode + 1 }
            byInode[inode] = descriptor
            inodes[descriptor.digest] = inode
        }
        var listings: [Digest.Algorithm: [DirectoryEntry]] = [:]
        for (digest, inode) in inodes {
            listings[digest.algorithm, default: []].append(DirectoryEntry(name: digest.encoded, inode: inode, kind: .regularFile))
        }
        for key in listings.keys { listings[key]!.sort { $0.name < $1.name } }
        self.indexBytes = index
        self.blobs = byInode
        self.blobInodes = inodes
        self.listings = listings
        self.provider = provider
        self.modificationTime = modificationTime
        self.files = BlobFileCache(capacity: openFileLimit)
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

    /// The digest of a blob file's inode, if it is one.
    public func digest(ofInode inode: UInt64) -> Digest? { blobs[inode]?.digest }

    /// The inode of a blob file, if the layout shows it.
    public func inode(of digest: Digest) -> UInt64? { blobInodes[digest] }

    /// Attributes of `inode`.
    /// - Throws: `LayoutFSError.notFound` for an unknown inode.
    public func attributes(of inode: UInt64) throws(LayoutFSError) -> NodeAttributes {
        switch inode {
        case Self.rootInode, Self.blobsInode, Self.ingestInode:
            return directory(inode)
        case Self.layoutFileInode: return file(inode, size: Int64(ImageLayout.layoutFileContents.count))
        case Self.indexInode: return file(inode, size: Int64(indexBytes.count))
        default:
            if let algorithm = Self.algorithmInodes.first(where: { $0.value == inode })?.key, algorithmShown(algorithm) {
                return directory(inode)
            }
            guard let descriptor = blobs[inode] else { throw LayoutFSError(.notFound, "no inode \(inode)") }
            return file(inode, size: descriptor.size)
        }
    }

    /// Looks `name` up in directory `parent`.
    /// - Throws: `.notFound`, or `.notDirectory` when `parent` is a file.
    public func lookup(parent: UInt64, name: String) throws(LayoutFSError) -> NodeAttributes {
        guard let entry = try entries(of: parent).first(where: { $0.name == name }) else {
            throw LayoutFSError(.notFound, "\(name) not found")
        }
        return try attributes(of: entry.inode)
    }

    /// The entries of directory `inode`, without `.` and `..`, in a stable order.
    /// - Throws: `.notFound`, `.notDirectory`.
    public func entries(of inode: UInt64) throws(LayoutFSError) -> [DirectoryEntry] {
        switch inode {
        case Self.rootInode:
            return [
                DirectoryEntry(name: "blobs", inode: Self.blobsInode, kind: .directory),
                DirectoryEntry(name: ImageLayout.indexFileName, inode: Self.indexInode, kind: .regularFile),
                DirectoryEntry(name: "ingest", inode: Self.ingestInode, kind: .directory),
                DirectoryEntry(name: ImageLayout.layoutFileName, inode: Self.layoutFileInode, kind: .regularFile),
            ]
        case Self.blobsInode:
            return Digest.Algorithm.allCases.filter(algorithmShown).map {
                DirectoryEntry(name: $0.rawValue, inode: Self.algorithmInodes[$0]!, kind: .directory)
            }
        case Self.ingestInode: return []
        default:
            if let algorithm = Self.algorithmInodes.first(where: { $0.value == inode })?.key, algorithmShown(algorithm) {
                return listings[algorithm] ?? []
            }
            if blobs[inode] != nil || inode == Self.indexInode || inode == Self.layoutFileInode {
                throw LayoutFSError(.notDirectory, "inode \(inode) is not a directory")
            }
            throw LayoutFSError(.notFound, "no inode \(inode)")
        }
    }

    /// Opens a file for reading and returns a handle for `read` and `release`.
    /// - Throws: `.isDirectory`, `.notFound`, `.io` when the blob cannot be opened (the store
    ///   lost it, or the process is out of file descriptors).
    public func open(_ inode: UInt64) throws(LayoutFSError) -> UInt64 {
        let content: OpenContent
        switch inode {
        case Self.layoutFileInode: content = .bytes(ImageLayout.layoutFileContents)
        case Self.indexInode: content = .bytes(indexBytes)
        default:
            guard let descriptor = blobs[inode] else {
                _ = try attributes(of: inode)
                throw LayoutFSError(.isDirectory, "inode \(inode) is a directory")
            }
            if let file = files.cached(descriptor.digest) {
                content = .blob(try checked(file, descriptor))
            } else {
                let opened: OpenedBlob
                do {
                    opened = try provider.openBlob(descriptor)
                } catch {
                    throw LayoutFSError(.io, "cannot open blob \(descriptor.digest): \(error)")
                }
                switch opened {
                case .local(let file):
                    files.insert(file, for: descriptor.digest)
                    content = .blob(try checked(file, descriptor))
                case .lazy(let blob):
                    content = .lazy(blob, generation: blob.generation)
                }
            }
        }
        return handles.withLock { $0.insert(content) }
    }

    /// The store's file must still be the blob: one that changed size under us (truncated,
    /// replaced) would be served short, so it is an I/O error instead.
    private func checked(_ file: BlobFile, _ descriptor: Descriptor) throws(LayoutFSError) -> BlobFile {
        let size = file.currentSize()
        guard size == descriptor.size else {
            files.evict(descriptor.digest)
            throw LayoutFSError(.io, "blob \(descriptor.digest) in the store has \(size.map(String.init) ?? "no") bytes, expected \(descriptor.size): the store was modified")
        }
        return file
    }

    /// Reads up to `byteCount` bytes at `offset` (bytes) of an open handle. Completes at once
    /// for local content and present lazy chunks, later when they must be fetched; `completion`
    /// is called exactly once (a failed fetch or a corrupt blob: `.io`).
    public func read(handle: UInt64, offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        guard let content = handles.withLock({ $0.open[handle] }) else {
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
        case .blob(let file):
            let available = max(0, file.size - offset)
            completion(.success(.file(file, offset: offset, byteCount: Int(min(Int64(byteCount), available)))))
        case .lazy(let blob, let generation):
            blob.read(offset: offset, byteCount: byteCount, openedAt: generation) { result in
                completion(result.mapError { LayoutFSError(.io, $0.message) })
            }
        }
    }

    /// Closes a handle returned by `open`.
    public func release(handle: UInt64) {
        _ = handles.withLock { $0.open.removeValue(forKey: handle) }
    }

    /// The value of extended attribute `name`; `user.layoutfs.*` names are answered, never listed.
    /// - Throws: `.noAttribute` when `inode` has no such attribute, `.notFound` for an unknown inode.
    public func extendedAttribute(of inode: UInt64, name: String) throws(LayoutFSError) -> [UInt8] {
        _ = try attributes(of: inode)
        if name == "user.layoutfs.state", let descriptor = blobs[inode] {
            return Array(provider.state(of: descriptor).utf8)
        }
        throw LayoutFSError(.noAttribute, "no attribute \(name)")
    }

    /// Calls `handler` with a blob's inode when its fetched bytes turned out corrupt and its
    /// cache was dropped (on a worker thread): the mount has the kernel forget its pages.
    public func onInvalidate(_ handler: @escaping @Sendable (UInt64) -> Void) {
        provider.onCorruption { [blobInodes] digest in
            if let inode = blobInodes[digest] { handler(inode) }
        }
    }

    /// False for an open lazy blob not verified yet: the kernel must drop pages from an earlier
    /// open, which may hold bytes of a generation that turned out corrupt.
    public func keepsPages(handle: UInt64) -> Bool {
        guard case .lazy(let blob, _) = handles.withLock({ $0.open[handle] }) else { return true }
        return blob.isVerified
    }

    /// True for blobs (immutable: the kernel may keep their pages), false for index.json.
    public func keepsCache(_ inode: UInt64) -> Bool { inode != Self.indexInode }

    private func algorithmShown(_ algorithm: Digest.Algorithm) -> Bool {
        algorithm == .sha256 || listings[algorithm] != nil
    }

    private func directory(_ inode: UInt64) -> NodeAttributes {
        NodeAttributes(inode: inode, kind: .directory, size: 4096, permissions: 0o555, linkCount: 2, modificationTime: modificationTime)
    }

    private func file(_ inode: UInt64, size: Int64) -> NodeAttributes {
        NodeAttributes(inode: inode, kind: .regularFile, size: size, permissions: 0o444, linkCount: 1, modificationTime: modificationTime)
    }
}

enum OpenContent: Sendable {
    case bytes([UInt8])
    case blob(BlobFile)
    /// A lazy blob and the generation it was opened at.
    case lazy(LazyBlob, generation: UInt64)
}

struct HandleTable: Sendable {
    var next: UInt64 = 1
    var open: [UInt64: OpenContent] = [:]

    mutating func insert(_ content: OpenContent) -> UInt64 {
        let handle = next
        next += 1
        open[handle] = content
        return handle
    }
}
