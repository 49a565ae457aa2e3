import CArchive

#if canImport(Glibc)
import Glibc
#endif

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
        var detail = archive.flatMap { archive_error_string($0) }.map { String(cString: $0) } ?? "unknown error"
        let code = archive.map { archive_errno($0) } ?? 0
        if code > 0, let text = strerror(code) { detail += " (\(String(cString: text)))" }
        self.init("\(what): \(detail)", errno: code)
    }

    public var description: String { message }
}
