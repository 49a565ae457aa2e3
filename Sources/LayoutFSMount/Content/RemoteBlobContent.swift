import ContentStore
import LayoutFS
import OCISpec

/// Blobs read through another content store's API rather than as files: containerd's content
/// service Read when its content directory cannot be read here (``StoreBlobs`` serves them).
package protocol RemoteBlobReader: Sendable {
    /// Up to `byteCount` bytes of the blob at `offset`, fewer only at its end.
    /// - Throws: when the store fails or does not answer.
    func read(_ digest: Digest, offset: Int64, byteCount: Int) async throws -> [UInt8]
}

/// An open blob read through a ``RemoteBlobReader``: each read is one call, completed from the
/// task that makes it (through ``RemoteReads``, which fails it early when the store stalls).
/// The bytes are the content store's own (as a content directory's file would be), so the
/// kernel may keep their pages.
struct RemoteBlobContent: FileContent {
    let reader: any RemoteBlobReader
    let descriptor: Descriptor
    let reads: RemoteReads

    var keepsPages: Bool { true }

    func read(offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        let count = Int(max(0, min(Int64(byteCount), descriptor.size - offset)))
        guard count > 0 else { return completion(.success(.bytes([]))) }
        let (reader, digest, reads) = (reader, descriptor.digest, reads)
        let id: UInt64
        switch reads.begin(digest, completion) {
        case .success(let begun): id = begun
        case .failure(let error): return completion(.failure(error))
        }
        Task {
            do {
                let bytes = try await reader.read(digest, offset: offset, byteCount: count)
                reads.end(digest, id, .success(.bytes(bytes)))
            } catch {
                reads.end(digest, id, .failure(LayoutFSError(.io, "cannot read blob \(digest): \(error)")))
            }
        }
    }
}
