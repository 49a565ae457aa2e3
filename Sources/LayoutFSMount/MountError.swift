import OCISpec
import SystemPackage

/// An error of mounting, serving or unmounting a layoutfs mount.
package struct MountError: Error, UserFacingError, Sendable {
    /// What failed.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case mountFailed, sessionFailed, notMounted, notLayoutFS, busy, permissionDenied, unmountFailed,
                mountTableUnreadable, invalidPath, alreadyMounted
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The FUSE mount could not be made.
        package static let mountFailed = Code(.mountFailed)
        /// The FUSE session failed while serving.
        package static let sessionFailed = Code(.sessionFailed)
        /// Nothing is mounted at the path.
        package static let notMounted = Code(.notMounted)
        /// Something other than layoutfs is mounted at the path; it is left alone.
        package static let notLayoutFS = Code(.notLayoutFS)
        /// The mount is in use (`EBUSY`); `--lazy` detaches it anyway.
        package static let busy = Code(.busy)
        /// Not allowed to unmount (`EPERM`).
        package static let permissionDenied = Code(.permissionDenied)
        /// Unmounting failed otherwise.
        package static let unmountFailed = Code(.unmountFailed)
        /// `/proc/self/mountinfo` could not be read.
        package static let mountTableUnreadable = Code(.mountTableUnreadable)
        /// The path cannot be resolved.
        package static let invalidPath = Code(.invalidPath)
        /// Something (a live mount) is already mounted at the mount point.
        package static let alreadyMounted = Code(.alreadyMounted)

        package var description: String { "\(value)" }
    }

    /// What failed.
    package var code: Code
    /// What failed and what to do about it.
    package var message: String
    /// The system error behind it, if any.
    package var errno: Errno?
    /// The underlying error, if any (a `FUSEError`).
    package var underlying: (any Error & Sendable)?

    package init(code: Code, message: String, errno: Errno? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.underlying = underlying
    }

    package var description: String {
        if let errno { "\(message) (\(errno))" } else { message }
    }
}
