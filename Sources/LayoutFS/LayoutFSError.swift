import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// The error the filesystem model throws; `errno` is what a FUSE reply carries. `Code` is the
/// one table from the model's failures to errno values (and to whether one is worth a log line).
package struct LayoutFSError: Error, UserFacingError, Sendable {
    /// Extensible set of failure kinds, each with one errno (the single mapping table).
    package struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable { case notFound, notDirectory, isDirectory, io, badHandle, noAttribute, timedOut, interrupted, invalidArgument }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        package static let notFound = Code(.notFound)
        package static let notDirectory = Code(.notDirectory)
        package static let isDirectory = Code(.isDirectory)
        package static let io = Code(.io)
        package static let badHandle = Code(.badHandle)
        package static let noAttribute = Code(.noAttribute)
        package static let timedOut = Code(.timedOut)
        package static let interrupted = Code(.interrupted)
        /// The operation does not apply to that node (`readlink` of what is not a symlink).
        package static let invalidArgument = Code(.invalidArgument)

        /// The errno for this code, always > 0. `EMFILE` and every storage failure surface as
        /// `EIO`.
        package var errno: Int32 {
            switch value {
            case .notFound: return ENOENT
            case .notDirectory: return ENOTDIR
            case .isDirectory: return EISDIR
            case .io, .timedOut: return EIO
            case .badHandle: return EBADF
            case .noAttribute: return ENODATA
            case .interrupted: return EINTR
            case .invalidArgument: return EINVAL
            }
        }

        /// Whether a failure is a routine answer rather than a fault worth a log line: lookups
        /// of absent names and attributes, wrong file types, interrupted reads.
        package var isRoutine: Bool {
            switch value {
            case .notFound, .noAttribute, .notDirectory, .isDirectory, .interrupted, .invalidArgument: return true
            case .io, .badHandle, .timedOut: return false
            }
        }
    }

    package var code: Code
    package var message: String
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    package var errno: Int32 { code.errno }
    package var description: String { message }
}
