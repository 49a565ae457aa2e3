import ContentStore
import LayoutFS

/// The content of a local file this process opened itself (a layer's uncompressed copy): every
/// read is a range of it, spliced by the mount.
struct LocalFileContent: FileContent {
    let file: BlobFile

    var keepsPages: Bool { true }

    func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        let count = max(0, min(Int64(byteCount), file.size - offset))
        completion(.success(.file(file, offset: offset, byteCount: Int(count))))
    }
}
