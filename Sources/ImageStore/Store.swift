import ContentStore
import OCISpec

/// One layoutfs store: the content store and meta.db under one root (DESIGN.md "On disk").
package struct Store: Sendable {
    package let location: StoreLocation
    package let content: LocalContentStore
    /// Names: meta.db's, or containerd's (``naming(with:)``).
    package private(set) var images: any ImageStore
    /// Blobs known by descriptor but not local yet (`pull --lazy`).
    package let lazyBlobs: any LazyBlobIndex
    /// Another tool's content directory read beside the store (`--content DIR`), never written.
    package private(set) var foreignContent: LocalContentStore?

    /// The store, also reading blobs from another tool's content directory (read-only).
    /// - Throws: `.invalidStore` when `path` is not a content directory.
    package func readingAlso(contentDirectory path: String) throws(ImagesError) -> Store {
        var store = self
        do {
            store.foreignContent = try LocalContentStore.readOnly(contentRoot: path)
        } catch {
            throw ImagesError(.invalidArgument, error.message, underlying: error)
        }
        return store
    }

    /// The store, taking its names from `images` instead of meta.db (containerd's names with
    /// `--containerd`); blobs, lazy blobs, leases and mounts stay the store's.
    /// - Parameter origin: where the names live, for messages (`containerd namespace default`)
    ///   and the command that lists them (`layoutfs images --containerd`).
    package func naming(with images: any ImageStore, origin: (place: String, listing: String)) -> Store {
        var store = self
        store.images = images
        store.namesOrigin = origin
        return store
    }

    /// Where names come from when not from meta.db (``naming(with:origin:)``).
    package private(set) var namesOrigin: (place: String, listing: String)?

    /// Configs from a content directory or containerd that passed their check here.
    package var checkMarks: CheckMarks { CheckMarks(location: location) }

    /// Blobs another content store holds that are read through its API, not as files (containerd
    /// when its content directory cannot be read here): digest to size. They count as present
    /// for closures and plans; their bytes are read by whoever set them (the mount, an export).
    package private(set) var remoteBlobs: RemoteBlobSizes?

    /// The store, counting `sizes`' blobs as present, read through another store's API.
    package func readingAlso(remoteBlobs sizes: RemoteBlobSizes) -> Store {
        var store = self
        store.remoteBlobs = sizes
        return store
    }

    /// True for a blob only the remote store has (not in the store's own content).
    package func isRemoteOnly(_ digest: Digest) -> Bool {
        remoteBlobs?.size(of: digest) != nil && !content.contains(digest)
    }

    /// True when the blob can be read here (the store, the content directory beside it, or a
    /// remote content store). The content directory is asked first: its images' blobs are
    /// mostly there, and a closure walk asks once per blob.
    package func hasBlob(_ digest: Digest) -> Bool {
        foreignContent?.contains(digest) == true || content.contains(digest) || remoteBlobs?.size(of: digest) != nil
    }

    /// Size in bytes of a readable blob, or nil.
    package func blobSize(_ digest: Digest) -> Int64? {
        content.size(of: digest) ?? foreignContent?.size(of: digest) ?? remoteBlobs?.size(of: digest)
    }

    /// Opens a readable blob: the store's copy first.
    /// - Throws: `.notFound`, `.io`.
    package func openBlob(_ digest: Digest) throws(ContentStoreError) -> BlobFile {
        if let foreignContent, !content.contains(digest), foreignContent.contains(digest) {
            return try foreignContent.openBlob(digest)
        }
        return try content.openBlob(digest)
    }

    /// Reads a small readable blob whole (at most `maximumSize` bytes).
    /// - Throws: `.notFound`, `.invalidContent` when too large, `.io`.
    package func readBlob(_ digest: Digest, maximumSize: Int64 = ImageLayout.maximumManifestSize) throws(ContentStoreError) -> [UInt8] {
        if let foreignContent, !content.contains(digest), foreignContent.contains(digest) {
            return try foreignContent.readBlob(digest, maximumSize: maximumSize)
        }
        return try content.readBlob(digest, maximumSize: maximumSize)
    }

    /// Opens (creating when needed) the store at `root` (nil: the default location).
    /// - Throws: `ContentStoreError` (`.invalidStore` on NFS/FUSE, `.database`, `.io`).
    package static func open(root: String?) throws(ContentStoreError) -> Store {
        let location = StoreLocation(root: root)
        try location.prepare()
        let content = try LocalContentStore(contentRoot: location.contentRoot)
        let images = try SQLiteImageStore(path: location.databasePath)
        return Store(location: location, content: content, images: images, lazyBlobs: images, foreignContent: nil)
    }

    /// Reads and parses a local manifest or index blob, verifying the bytes against `digest`.
    /// - Throws: `.missingBlob`, `.corruptBlob`, `.invalidLayout` for unparseable JSON.
    package func readRoot(_ descriptor: Descriptor) throws(ImagesError) -> ManifestNode {
        let bytes: [UInt8]
        do {
            bytes = try readBlob(descriptor.digest)
        } catch {
            throw ImagesError(error, "cannot read \(descriptor.digest)")
        }
        return try ManifestNode(descriptor: descriptor, bytes: bytes)
    }
}
