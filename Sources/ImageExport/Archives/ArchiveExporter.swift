import ContentStore
import ImagePull
import ImageStore
import OCISpec
import SystemPackage
import TarArchive

#if canImport(Glibc)
import Glibc
#endif

/// Streams a plan as an oci-archive: a tar of an OCI image layout (image-spec
/// image-layout.md), as `skopeo copy ... oci-archive:` and BuildKit's `--output type=oci`
/// write it. `oci-layout` and `index.json` come first (then any extra top files, such as the
/// `manifest.json` of `--format docker`), then `blobs/`, children before parents.
///
/// Every blob is re-hashed on its way out. A file destination appears only when complete
/// (`O_TMPFILE`, renamed over `path`); a failed export leaves what was there.
package struct ArchiveExporter {
    /// What an export wrote.
    package struct Summary: Sendable {
        package init() {}

        package var blobs = 0
        /// Bytes of blob data (the archive is a little larger: headers and padding).
        package var bytes: Int64 = 0

    }

    private let store: Store

    package init(store: Store) { self.store = store }

    /// Writes `plan` to the file at `path`, or to standard output for "-" (refused when it is
    /// a terminal). Lazy blobs must have been fetched into the store first.
    /// - Parameter extraFiles: small files written at the top after `index.json`.
    /// - Throws: `.invalidArgument` (a terminal), `.missingBlob`, `.corruptBlob` (a stored blob
    ///   that no longer matches its digest), `.noSpace`, `.io`.
    ///
    /// A symlink is followed to its (existing) target; a character device or FIFO is written
    /// into directly, as tar does (`--tar /dev/null`); other special files are refused.
    package func export(_ plan: LayoutPlan, to path: String, extraFiles: [(name: String, bytes: [UInt8])] = []) throws(ImagesError) -> Summary {
        if path == "-" {
            guard isatty(STDOUT_FILENO) == 0 else {
                throw ImagesError(.invalidArgument, "refusing to write an archive to a terminal: redirect standard output, or give a file")
            }
            return try write(plan, to: STDOUT_FILENO, what: "standard output", extraFiles: extraFiles)
        }
        var existing = stat()
        if lstat(path, &existing) == 0 {
            switch existing.st_mode & S_IFMT {
            case S_IFREG, S_IFDIR: break
            case S_IFLNK:
                guard let real = try? CanonicalPath.of(path, resolving: .full) else {
                    throw ImagesError(.invalidArgument, "--tar \(path) is a symlink to a missing file: give the target's path")
                }
                return try export(plan, to: real, extraFiles: extraFiles)
            case S_IFCHR, S_IFIFO:
                let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
                guard fd >= 0 else { throw ImagesError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                guard isatty(fd) == 0 else { throw ImagesError(.invalidArgument, "refusing to write an archive to the terminal \(path)") }
                return try write(plan, to: fd, what: path, extraFiles: extraFiles)
            default:
                throw ImagesError(.invalidArgument, "--tar \(path) is a special file (not a regular file, character device or FIFO): refused")
            }
        }
        let slash = path.lastIndex(of: "/")
        let directoryPath = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var st = stat()
        guard !name.isEmpty, name != ".", name != "..", !(stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR) else {
            throw ImagesError(.invalidArgument, "--tar \(path) is a directory: give the archive's file name")
        }
        guard stat(directoryPath, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ImagesError(.invalidArgument, "--tar \(path): directory \(directoryPath) does not exist")
        }
        let directory = try DestinationDirectory.openRoot(directoryPath)
        let file = try NewBlobFile(named: name, in: directory)
        let summary = try write(plan, to: file.fileDescriptor, what: path, extraFiles: extraFiles)
        try file.commit(replace: true)
        directory.sync()
        return summary
    }

    private func write(_ plan: LayoutPlan, to fd: Int32, what: String, extraFiles: [(name: String, bytes: [UInt8])]) throws(ImagesError) -> Summary {
        var summary = Summary()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        do {
            let writer = try TarWriter(fileDescriptor: fd)
            try writer.addFile(ImageLayout.layoutFileName, bytes: ImageLayout.layoutFileContents)
            try writer.addFile(ImageLayout.indexFileName, bytes: plan.indexBytes)
            for file in extraFiles { try writer.addFile(file.name, bytes: file.bytes) }
            try writer.addDirectory("blobs/")
            var algorithms: Set<Digest.Algorithm> = []
            for descriptor in plan.blobs {
                if algorithms.insert(descriptor.digest.algorithm).inserted { try writer.addDirectory("blobs/\(descriptor.digest.algorithm.rawValue)/") }
                try copy(descriptor, to: writer, buffer: buffer)
                summary.blobs += 1
                summary.bytes += descriptor.size
            }
            try writer.finish()
        } catch let error as TarArchiveError {
            throw ImagesError(ImagesError.Code(errno: error.errno), "cannot write the archive to \(what): \(error.message)")
        } catch let error as ImagesError {
            throw error
        } catch {
            throw ImagesError(.io, "cannot write the archive to \(what): \(error)")
        }
        return summary
    }

    private func copy(_ descriptor: Descriptor, to writer: TarWriter, buffer: UnsafeMutableRawBufferPointer) throws {
        let file: BlobFile
        do {
            file = try store.openBlob(descriptor.digest)
        } catch {
            throw ImagesError(error, "cannot read blob \(descriptor.digest)")
        }
        guard file.size == descriptor.size else {
            throw ImagesError(.corruptBlob, "stored blob \(descriptor.digest) has \(file.size) bytes, its descriptor says \(descriptor.size)")
        }
        try writer.beginFile(descriptor.digest.blobPath, size: descriptor.size)
        var hasher = DigestHasher(descriptor.digest.algorithm)
        var offset: Int64 = 0
        let source = FileDescriptor(rawValue: file.fileDescriptor)
        while offset < descriptor.size {
            // A failed read (swift-system retries EINTR) is reported as an early end.
            let n =
                (try? source.read(
                    fromAbsoluteOffset: offset,
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), descriptor.size - offset))]))) ?? -1
            guard n > 0 else { throw ImagesError(.corruptBlob, "stored blob \(descriptor.digest) ends early or cannot be read at byte \(offset)") }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(chunk)
            try writer.write(chunk)
            offset += Int64(n)
        }
        let actual = hasher.finalize()
        guard actual == descriptor.digest else {
            throw ImagesError(
                .corruptBlob, "stored blob \(descriptor.digest) no longer matches its digest (it hashes to \(actual)); the archive was not finished")
        }
    }
}
