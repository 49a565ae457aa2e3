import ContentStore
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// Where `import` reads images from: a layout directory, or an archive already streamed into
/// the store.
protocol ImportSource {
    /// The directory or archive, for messages.
    var label: String { get }
    /// What lists its images, for messages ("DIR/index.json", "manifest.json in FILE").
    var indexLabel: String { get }
    var index: ImageIndex { get }
    /// A manifest, index or config (at most 4 MiB), or nil when absent.
    func readBlob(_ descriptor: Descriptor) throws(ImagesError) -> [UInt8]?
    func has(_ digest: Digest) -> Bool
    /// Copies a blob the store lacks into it, verified.
    func copy(_ descriptor: Descriptor, into content: LocalContentStore) throws(ImagesError)
}

extension SourceLayout: ImportSource {
    var label: String { path }
    var indexLabel: String { "\(path)/index.json" }

    func copy(_ descriptor: Descriptor, into content: LocalContentStore) throws(ImagesError) {
        let path = blobPath(descriptor.digest)
        do {
            let file = try SourceLayout.openForCopy(path)
            defer { _ = file }
            guard file.size == descriptor.size else {
                throw ImagesError(.corruptBlob, "blob \(descriptor.digest) in \(path) has \(file.size) bytes, its descriptor says \(descriptor.size)")
            }
            let ingest = try content.ingest()
            ingest.alsoHash(descriptor.digest.algorithm)
            try ingest.write(from: file.fileDescriptor, byteCount: descriptor.size, what: path)
            try ingest.commit(digest: descriptor.digest, size: descriptor.size)
        } catch let error as ImagesError {
            throw error
        } catch let error as ContentStoreError {
            throw ImagesError(error, "cannot import blob \(descriptor.digest) from \(path)")
        } catch {
            throw ImagesError(.io, "cannot import blob \(descriptor.digest): \(error)")
        }
    }

    static func openForCopy(_ path: String) throws(ContentStoreError) -> BlobFile {
        // O_NONBLOCK: never wait on a named pipe swapped in after `has` looked (its size then mismatches).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ContentStoreError(errno == ENOENT ? .notFound : .io, "cannot open \(path)", errno: errno) }
        var st = stat()
        fstat(fd, &st)
        return BlobFile(fileDescriptor: fd, size: Int64(st.st_size))
    }
}
