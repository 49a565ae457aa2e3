import ContentStore
import LayerIndex
import LayoutFS
import OCISpec
import TarArchive

#if canImport(Glibc)
import Glibc
#endif

/// The pass over a layer whose compression keeps no access points (zstd, RFC 8878; also what
/// libarchive reads that is neither gzip nor plain tar): libarchive decompresses it once into
/// an uncompressed copy (an unnamed file under `<root>/layer-index`, named when the index is
/// kept), which is hashed and indexed on the way and then serves the layer's files like a plain
/// tar layer. The documented alternative to access points: it costs the layer's uncompressed
/// size on disk, removed by prune with the layer.
struct CopyIndexing {
    let files: LayerIndexFiles

    /// - Returns: the record (format ``LayerIndexRecord/Format/uncompressedCopy``) and the
    ///   copy, open.
    /// - Throws: `LayoutFSError` `.io` when the blob does not decompress, is not tar, or the
    ///   copy cannot be written (a full disk).
    func index(layer: Descriptor, blob: BlobBytes, label: String) throws(LayoutFSError) -> (LayerIndexRecord, BlobFile) {
        let source = try compressedFile(layer: layer, blob: blob, label: label)
        defer { close(source) }
        let copy: Int32
        do {
            copy = try files.temporaryCopy(for: layer.digest)
        } catch {
            throw LayoutFSError(.io, "\(label): cannot write its uncompressed copy: \(error)")
        }
        let record: LayerIndexRecord
        do {
            let stream = try DecompressedStream(fileDescriptor: source)
            var indexer = TarIndexer()
            let hasher = BackgroundHasher()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var written: Int64 = 0
            while true {
                let count = try buffer.withUnsafeMutableBytes { (raw) throws(TarArchiveError) in try stream.read(into: raw) }
                if count == 0 { break }
                let piece = Array(buffer[0..<count])
                hasher.update(piece)
                try indexer.consume(piece)
                try Self.write(piece, to: copy, at: written, label: label)
                written += Int64(count)
            }
            let members = try indexer.finish()
            record = LayerIndexRecord(
                layer: layer.digest, diffID: hasher.finalize(), format: .uncompressedCopy, compressedSize: layer.size, uncompressedSize: written,
                members: members, accessPoints: [])
        } catch let error as LayerIndexError {
            close(copy)
            throw LayoutFSError(.io, "\(label) cannot be read as a layer: \(error.message)")
        } catch let error as TarArchiveError {
            close(copy)
            throw LayoutFSError(.io, "\(label) does not decompress: \(error)")
        } catch let error as LayoutFSError {
            close(copy)
            throw error
        } catch {
            close(copy)
            throw LayoutFSError(.io, "\(label): \(error)")
        }
        // The unnamed file is open write-only (O_TMPFILE): reads, the mount's splices and the
        // naming (linkat through /proc) use a read-only descriptor of it.
        let readable = open("/proc/self/fd/\(copy)", O_RDONLY | O_CLOEXEC)
        close(copy)
        guard readable >= 0 else { throw LayoutFSError(.io, "\(label): cannot read its uncompressed copy back (errno \(errno))") }
        return (record, BlobFile(fileDescriptor: readable, size: record.uncompressedSize))
    }

    /// The layer's uncompressed copy kept in the store, open, when it is there and has `size`
    /// bytes.
    func keptCopy(of layer: Digest, size: Int64) -> BlobFile? {
        let fd = open(files.copyPath(layer), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int64(st.st_size) == size else {
            close(fd)
            return nil
        }
        return BlobFile(fileDescriptor: fd, size: size, path: files.copyPath(layer))
    }

    /// A descriptor of its own (own file offset) reading the compressed blob from its start: the
    /// store's file reopened, or, for a blob that is not a committed local file (lazy, remote),
    /// its bytes read through the content seam (which waits for lazy chunks) into an unnamed
    /// temporary file first.
    private func compressedFile(layer: Descriptor, blob: BlobBytes, label: String) throws(LayoutFSError) -> Int32 {
        // Only a committed blob's file (opened at its path, whole): a lazy blob's cache file
        // holds what was fetched so far, and reading it past that reads holes.
        if let file = blob.localFile(), file.path != nil, file.size == layer.size {
            let fd = open("/proc/self/fd/\(file.fileDescriptor)", O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
        }
        let fd: Int32
        do {
            fd = try files.temporaryCopy(for: layer.digest)
        } catch {
            throw LayoutFSError(.io, "\(label): cannot fetch it into a temporary file: \(error)")
        }
        var offset: Int64 = 0
        while offset < layer.size {
            let piece: [UInt8]
            do {
                piece = try blob.read(offset, LayerIndexing.piece)
                try Self.write(piece, to: fd, at: offset, label: label)
            } catch {
                close(fd)
                throw error
            }
            if piece.isEmpty { break }
            offset += Int64(piece.count)
        }
        // Written through a write-only descriptor (O_TMPFILE): read back through a new one.
        let readable = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
        close(fd)
        guard readable >= 0 else { throw LayoutFSError(.io, "\(label): cannot read its temporary file back (errno \(errno))") }
        return readable
    }

    private static func write(_ bytes: [UInt8], to fd: Int32, at offset: Int64, label: String) throws(LayoutFSError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LayoutFSError(.io, "\(label): cannot write its uncompressed copy (errno \(errno))") }
            done += n
        }
    }
}
