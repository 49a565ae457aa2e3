import ContentStore
import OCISpec

/// The error the Images module throws: what failed, what to do, and the cause.
package struct ImagesError: Error, UserFacingError, Sendable {
    /// Extensible set of failure kinds.
    package struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable {
            case invalidLayout, missingBlob, corruptBlob, unknownImage, ambiguous, invalidArgument, unsafeDestination, io, noSpace, noPlatform
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// The source directory is not a usable OCI layout (no `oci-layout`, bad `index.json`).
        package static let invalidLayout = Code(.invalidLayout)
        /// A blob of the closure is neither local nor in the source.
        package static let missingBlob = Code(.missingBlob)
        /// A blob's bytes do not match its digest or size.
        package static let corruptBlob = Code(.corruptBlob)
        /// No image has that name.
        package static let unknownImage = Code(.unknownImage)
        /// The request selects more or fewer entries than it must.
        package static let ambiguous = Code(.ambiguous)
        package static let invalidArgument = Code(.invalidArgument)
        /// The destination contains a symlink where a directory must be.
        package static let unsafeDestination = Code(.unsafeDestination)
        package static let io = Code(.io)
        package static let noSpace = Code(.noSpace)
        /// An index has no manifest for the requested platform.
        package static let noPlatform = Code(.noPlatform)

        /// The code for a system call that failed with `errno`: `.noSpace` (`ENOSPC`, `EDQUOT`)
        /// or `.io`, as `ContentStoreError.Code(errno:)` decides.
        package init(errno: Int32) {
            self = ContentStoreError.Code(errno: errno) == .noSpace ? .noSpace : .io
        }
    }

    package var code: Code
    package var message: String
    package var underlying: (any Error)?

    package init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// Wraps a store error, keeping disk-full and digest failures recognizable.
    package init(_ error: ContentStoreError, _ context: String) {
        let code: Code
        switch error.code {
        case .noSpace: code = .noSpace
        case .digestMismatch, .sizeMismatch: code = .corruptBlob
        case .notFound: code = .missingBlob
        default: code = .io
        }
        self.init(code, "\(context): \(error)", underlying: error)
    }

    package var description: String { message }
}
