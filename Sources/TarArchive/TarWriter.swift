import CArchive

/// Writes a tar archive (POSIX pax, restricted: plain ustar headers unless a path needs more),
/// streaming to a file descriptor. Members get mode 0644 (directories 0755), owner 0:0 and
/// mtime 0, so the same content gives the same archive. One writer, one thread.
public final class TarWriter {
    private let archive: OpaquePointer
    private var remaining: Int64 = 0
    private var currentPath = ""

    /// Starts an archive on `fileDescriptor` (not closed by the writer).
    /// - Throws: `TarArchiveError`.
    public init(fileDescriptor: Int32) throws(TarArchiveError) {
        guard let archive = archive_write_new() else { throw TarArchiveError("cannot allocate an archive writer") }
        self.archive = archive
        archive_write_set_format_pax_restricted(archive)
        archive_write_set_bytes_in_last_block(archive, 1)
        // On failure, deinit frees the writer.
        guard archive_write_open_fd(archive, fileDescriptor) == ARCHIVE_OK else { throw TarArchiveError("cannot start the archive", archive: archive) }
    }

    deinit { archive_write_free(archive) }

    /// Adds a directory member.
    public func addDirectory(_ path: String) throws(TarArchiveError) {
        try writeHeader(path, regular: false, size: 0)
    }

    /// Starts a regular file of `size` bytes; `write` must then give exactly that many.
    public func beginFile(_ path: String, size: Int64) throws(TarArchiveError) {
        guard remaining == 0 else { throw TarArchiveError("\(currentPath) is \(remaining) bytes short") }
        try writeHeader(path, regular: true, size: size)
        remaining = size
        currentPath = path
    }

    /// Adds a small regular file at once.
    public func addFile(_ path: String, bytes: [UInt8]) throws(TarArchiveError) {
        try beginFile(path, size: Int64(bytes.count))
        var failure: TarArchiveError?
        bytes.withUnsafeBytes { raw in
            do throws(TarArchiveError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends data to the current file.
    /// - Throws: `TarArchiveError` (with `errno`, e.g. `ENOSPC` or `EPIPE`), or when more bytes
    ///   come than `beginFile` announced.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TarArchiveError) {
        guard Int64(bytes.count) <= remaining else { throw TarArchiveError("\(currentPath) got more bytes than its \(remaining) remaining") }
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else { throw TarArchiveError("cannot write \(currentPath)", archive: archive) }
            offset += n
        }
        remaining -= Int64(bytes.count)
    }

    /// Writes the end-of-archive blocks and flushes.
    public func finish() throws(TarArchiveError) {
        guard remaining == 0 else { throw TarArchiveError("\(currentPath) is \(remaining) bytes short") }
        guard archive_write_close(archive) == ARCHIVE_OK else { throw TarArchiveError("cannot finish the archive", archive: archive) }
    }

    private func writeHeader(_ path: String, regular: Bool, size: Int64) throws(TarArchiveError) {
        guard let entry = archive_entry_new() else { throw TarArchiveError("cannot allocate an archive entry") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        carchive_entry_set_kind(entry, regular ? 1 : 0)
        archive_entry_set_perm(entry, regular ? 0o644 : 0o755)
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, 0, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw TarArchiveError("cannot write the header of \(path)", archive: archive)
        }
    }
}
