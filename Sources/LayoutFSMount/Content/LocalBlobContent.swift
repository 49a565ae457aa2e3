import ContentStore
import LayoutFS
import OCISpec

/// An open local blob: ranges of its store file, answered at once (the mount splices them).
struct LocalBlobContent: FileContent {
    let file: BlobFile
    let keepsPages: Bool
    let descriptor: Descriptor
    let blobs: StoreBlobs

    func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        let available = max(0, file.size - offset)
        completion(.success(.file(file, offset: offset, byteCount: Int(min(Int64(byteCount), available)))))
    }

    /// The store file itself: committed, verified, whole.
    var backingFile: BlobFile? { file }

    /// The blob's new file once the store's path names another file (one `stat`).
    func replacement() -> (any FileContent)? {
        guard file.isReplaced() else { return nil }
        return blobs.reopen(descriptor)
    }
}
