import ContentStore
import ImageStore
import LayoutFS
import LazyBlobs

/// An open lazy blob: reads complete when their chunks arrive (``LazyBlob``). The generation
/// it was opened at makes every read fail once the blob turned out corrupt while it was open.
struct LazyBlobContent: FileContent {
    let blob: LazyBlob
    let generation: UInt64

    /// Only a verified blob's pages may stay: earlier pages may hold bytes of a generation that
    /// turned out corrupt.
    var keepsPages: Bool { blob.isVerified }

    func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        blob.read(offset: offset, byteCount: byteCount, openedAt: generation) { result in
            completion(result.mapError { LayoutFSError(.io, $0.message) })
        }
    }
}
