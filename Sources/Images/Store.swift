import ContentStore
import OCISpec

/// One layoutfs store: the content store and meta.db under one root (DESIGN.md "On disk").
public struct Store: Sendable {
    public let location: StoreLocation
    public let content: LocalContentStore
    public let images: any ImageStore
    /// Blobs known by descriptor but not local yet (`pull --lazy`).
    public let lazyBlobs: any LazyBlobIndex

    /// Opens (creating when needed) the store at `root` (nil: the default location).
    /// - Throws: `ContentStoreError` (`.invalidStore` on NFS/FUSE, `.database`, `.io`).
    public static func open(root: String?) throws(ContentStoreError) -> Store {
        let location = StoreLocation(root: root)
        try location.prepare()
        let content = try LocalContentStore(contentRoot: location.contentRoot)
        let images = try SQLiteImageStore(path: location.databasePath)
        return Store(location: location, content: content, images: images, lazyBlobs: images)
    }

    /// Reads and parses a local manifest or index blob, verifying the bytes against `digest`.
    /// - Throws: `.missingBlob`, `.corruptBlob`, `.invalidLayout` for unparseable JSON.
    public func readRoot(_ descriptor: Descriptor) throws(ImagesError) -> ManifestNode {
        let bytes: [UInt8]
        do {
            bytes = try content.readBlob(descriptor.digest)
        } catch {
            throw ImagesError(error, "cannot read \(descriptor.digest)")
        }
        return try ManifestNode(descriptor: descriptor, bytes: bytes)
    }
}
