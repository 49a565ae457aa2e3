import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// The error ContentStore throws: a code, a message that says what failed and what to do, and
/// the underlying cause (an errno, or another error).
package struct ContentStoreError: Error, UserFacingError, Sendable {
    /// Extensible set of failure kinds.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case notFound, digestMismatch, sizeMismatch, io, noSpace, invalidStore, database, invalidContent, locked
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// A blob, image or file is not there.
        package static let notFound = Code(.notFound)
        /// Bytes do not hash to the expected digest.
        package static let digestMismatch = Code(.digestMismatch)
        /// Byte count differs from the expected size.
        package static let sizeMismatch = Code(.sizeMismatch)
        /// A system call failed.
        package static let io = Code(.io)
        /// `ENOSPC` or `EDQUOT`.
        package static let noSpace = Code(.noSpace)
        /// The store root is unusable (on NFS/FUSE, not a directory, ...).
        package static let invalidStore = Code(.invalidStore)
        /// meta.db failed.
        package static let database = Code(.database)
        /// Stored content is not what it claims (bad JSON, wrong media type).
        package static let invalidContent = Code(.invalidContent)
        package static let locked = Code(.locked)
        package var description: String { "\(value)" }

        /// The code for a system call that failed with `errno`: `.noSpace` for `ENOSPC` and
        /// `EDQUOT` (the file system, or the user's quota on it, is full), else `.io`. The one
        /// place that decides it: this module's errors and `ImagesError.Code(errno:)` ask it.
        package init(errno: Int32) {
            self = errno == ENOSPC || errno == EDQUOT ? .noSpace : .io
        }
    }

    package var code: Code
    package var message: String
    /// The errno of the failed system call, if any.
    package var errno: Int32?
    package var underlying: (any Error)?

    package init(_ code: Code, _ message: String, errno: Int32? = nil, underlying: (any Error)? = nil) {
        var code = code
        if let errno, Code(errno: errno) == .noSpace { code = .noSpace }
        self.code = code
        self.message = message
        self.errno = errno
        self.underlying = underlying
    }

    package var description: String {
        var text = message
        if let errno { text += ": " + String(cString: strerror(errno)) }
        if let underlying { text += ": \(underlying)" }
        if code == .noSpace { text += " (the disk is full: free space and run the command again)" }
        return text
    }
}
