import CArchive

/// A failure reading or writing a tar archive, with libarchive's message and errno.
public struct TarArchiveError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The errno libarchive reported (0 when none), e.g. `ENOSPC`.
    public let errno: Int32

    public init(_ message: String, errno: Int32 = 0) {
        self.message = message
        self.errno = errno
    }

    init(_ what: String, archive: OpaquePointer?) {
        let detail = archive.flatMap { archive_error_string($0) }.map { String(cString: $0) } ?? "unknown error"
        self.init("\(what): \(detail)", errno: archive.map { archive_errno($0) } ?? 0)
    }

    public var description: String { message }
}
