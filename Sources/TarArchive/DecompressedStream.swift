import CArchive

#if canImport(Glibc)
import Glibc
#endif

/// The decompressed bytes of a gzip, zstd, xz or bzip2 stream (libarchive's raw format), e.g. to
/// hash a compressed layer and compare it with its diff_id. One reader, one thread.
public final class DecompressedStream {
    private let archive: OpaquePointer

    /// Reads from `fileDescriptor` (not closed by the stream), from its current offset.
    /// - Throws: `TarArchiveError` when the data is not in a compression format libarchive reads.
    public init(fileDescriptor: Int32) throws(TarArchiveError) {
        guard let archive = archive_read_new() else { throw TarArchiveError("cannot allocate a decompressor") }
        self.archive = archive
        archive_read_support_format_raw(archive)
        for filter in [archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz, archive_read_support_filter_zstd] {
            _ = filter(archive)
        }
        var header: OpaquePointer?
        guard archive_read_open_fd(archive, fileDescriptor, 1 << 20) == ARCHIVE_OK, archive_read_next_header(archive, &header) == ARCHIVE_OK else {
            throw TarArchiveError("cannot decompress", archive: archive)
        }
    }

    deinit { archive_read_free(archive) }

    /// The next decompressed bytes into `buffer`; 0 at the end.
    /// - Throws: `TarArchiveError` for corrupt or truncated data.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TarArchiveError) -> Int {
        let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
        guard n >= 0 else { throw TarArchiveError("cannot decompress", archive: archive) }
        return n
    }
}
