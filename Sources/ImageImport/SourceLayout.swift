import ContentStore
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// An OCI image layout directory being read (image-spec image-layout.md). Digests are
/// validated before any path is built; `index.json` and manifests are size-checked before
/// they are read.
package struct SourceLayout: Sendable {
    package let path: String
    package let index: ImageIndex

    /// Opens a layout: `oci-layout` must exist with `imageLayoutVersion` 1.x, `index.json` must
    /// be a valid index of at most 4 MiB that lists at least one manifest.
    /// - Throws: `.invalidLayout` saying which file is wrong and how.
    package init(path: String) throws(ImagesError) {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ImagesError(.invalidLayout, "\(path) is not a directory")
        }
        let layoutBytes: [UInt8]
        do {
            layoutBytes = try Self.readSmallFile("\(path)/\(ImageLayout.layoutFileName)", limit: 4096)
        } catch {
            throw ImagesError(.invalidLayout, "\(path) is not an OCI image layout: \(error)")
        }
        guard let version = (try? JSONParser.parse(layoutBytes))?["imageLayoutVersion"]?.stringValue, version.hasPrefix("1.") else {
            throw ImagesError(.invalidLayout, "\(path)/oci-layout does not say imageLayoutVersion 1.x")
        }
        let indexPath = "\(path)/\(ImageLayout.indexFileName)"
        let indexBytes: [UInt8]
        do {
            indexBytes = try Self.readSmallFile(indexPath, limit: ImageLayout.maximumManifestSize)
        } catch {
            throw ImagesError(.invalidLayout, "cannot read \(indexPath): \(error)")
        }
        guard !indexBytes.isEmpty else { throw ImagesError(.invalidLayout, "\(indexPath) is empty") }
        do {
            index = try ImageIndex(bytes: indexBytes)
        } catch {
            throw ImagesError(.invalidLayout, "\(indexPath) is not a valid image index: \(error.message)", underlying: error)
        }
        guard !index.manifests.isEmpty else { throw ImagesError(.invalidLayout, "\(indexPath) lists no images (manifests is empty)") }
    }

    /// Path of a blob in the layout (the digest is already validated).
    package func blobPath(_ digest: Digest) -> String { "\(path)/\(digest.blobPath)" }

    /// Reads a manifest or index blob (at most 4 MiB, checked first), or nil when absent.
    /// - Throws: `.corruptBlob` when larger than the limit, `.io`.
    package func readBlob(_ descriptor: Descriptor) throws(ImagesError) -> [UInt8]? {
        guard descriptor.size <= ImageLayout.maximumManifestSize else {
            throw ImagesError(.corruptBlob, "\(descriptor.mediaType) \(descriptor.digest) claims \(descriptor.size) bytes, more than the 4 MiB limit")
        }
        do {
            // One byte more than the descriptor says, so a longer file is caught as corrupt.
            return try Self.readSmallFile(blobPath(descriptor.digest), limit: ImageLayout.maximumManifestSize + 1)
        } catch  where error.code == .notFound {
            return nil
        } catch {
            throw ImagesError(error.code == .invalidContent ? .corruptBlob : .io, "cannot read blob \(descriptor.digest): \(error)")
        }
    }

    /// True when the layout has a regular file for `digest`.
    package func has(_ digest: Digest) -> Bool {
        var st = stat()
        return stat(blobPath(digest), &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    static func readSmallFile(_ path: String, limit: Int64) throws(ContentStoreError) -> [UInt8] {
        // O_NONBLOCK: a named pipe must be refused below, not waited on (no effect on regular files).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ContentStoreError(errno == ENOENT ? .notFound : .io, "cannot open \(path)", errno: errno) }
        var st = stat()
        fstat(fd, &st)
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ContentStoreError(.invalidContent, "\(path) is not a regular file")
        }
        guard Int64(st.st_size) <= limit else {
            close(fd)
            throw ContentStoreError(.invalidContent, "\(path) is \(st.st_size) bytes, more than the \(limit)-byte limit")
        }
        return try BlobFile(fileDescriptor: fd, size: Int64(st.st_size)).readAll()
    }
}
