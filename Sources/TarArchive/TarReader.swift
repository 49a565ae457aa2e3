import CArchive

#if canImport(Glibc)
import Glibc
#endif

/// Reads a tar archive entry by entry, streaming, never extracting (libarchive's read API).
/// Accepts ustar, pax and GNU tar, uncompressed or compressed with gzip, bzip2, xz or zstd.
/// One reader, one thread.
public final class TarReader {
    /// What an entry is. Hard links are told apart from regular files.
    public enum Kind: Sendable, Equatable {
        case regular, directory, symbolicLink, hardLink, other
    }

    /// One archive member's header.
    public struct Entry: Sendable {
        /// The member's path as written in the archive (not normalized).
        public let path: String
        public let kind: Kind
        /// Data bytes of a regular file; 0 for others.
        public let size: Int64
        /// The target of a symbolic or hard link.
        public let linkTarget: String?
    }

    private let archive: OpaquePointer
    /// Where the archive is read from, for messages.
    public let source: String

    /// Opens `path` ("-" reads standard input, refused when it is a terminal).
    /// - Throws: `TarArchiveError` when it cannot be opened or is not an archive libarchive reads.
    public init(path: String) throws(TarArchiveError) {
        guard let archive = archive_read_new() else { throw TarArchiveError("cannot allocate an archive reader") }
        self.archive = archive
        source = path == "-" ? "standard input" : path
        archive_read_support_format_tar(archive)
        archive_read_support_format_gnutar(archive)
        for filter in [archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz, archive_read_support_filter_zstd] {
            _ = filter(archive)
        }
        if path == "-", isatty(STDIN_FILENO) == 1 {
            throw TarArchiveError("refusing to read an archive from a terminal: pipe it in, or give a file")
        }
        if path != "-", access(path, R_OK) != 0 {
            throw TarArchiveError("cannot read \(path): \(String(cString: strerror(errno)))", errno: errno)
        }
        let status = path == "-" ? archive_read_open_fd(archive, 0, 1 << 20) : archive_read_open_filename(archive, path, 1 << 20)
        // On failure, deinit frees the reader (every stored property is set by now).
        guard status == ARCHIVE_OK else { throw TarArchiveError("cannot open \(source) as a tar archive", archive: archive) }
    }

    deinit { archive_read_free(archive) }

    /// The next member's header, or nil at the end of the archive. Unread data of the previous
    /// member is skipped.
    /// - Throws: `TarArchiveError` for a damaged or truncated archive.
    public func next() throws(TarArchiveError) -> Entry? {
        var header: OpaquePointer?
        let status = archive_read_next_header(archive, &header)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let header else {
            throw TarArchiveError("cannot read \(source)", archive: archive)
        }
        let path = archive_entry_pathname(header).map { String(cString: $0) } ?? ""
        if let target = archive_entry_hardlink(header) {
            return Entry(path: path, kind: .hardLink, size: 0, linkTarget: String(cString: target))
        }
        switch carchive_entry_kind(header) {
        case 1: return Entry(path: path, kind: .regular, size: archive_entry_size(header), linkTarget: nil)
        case 2: return Entry(path: path, kind: .directory, size: 0, linkTarget: nil)
        case 3: return Entry(path: path, kind: .symbolicLink, size: 0, linkTarget: archive_entry_symlink(header).map { String(cString: $0) } ?? "")
        default: return Entry(path: path, kind: .other, size: 0, linkTarget: nil)
        }
    }

    /// Reads the current member's data into `buffer`; 0 at its end.
    /// - Throws: `TarArchiveError` when the archive is damaged or ends early.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TarArchiveError) -> Int {
        let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
        guard n >= 0 else { throw TarArchiveError("cannot read \(source)", archive: archive) }
        return n
    }
}
