import OCISpec
import SystemPackage

/// An error of mounting, serving or unmounting a layoutfs mount.
public struct MountError: Error, UserFacingError, Sendable {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case mountFailed, sessionFailed, notMounted, notLayoutFS, busy, permissionDenied, unmountFailed,
                mountTableUnreadable, invalidPath, alreadyMounted
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The FUSE mount could not be made.
        public static let mountFailed = Code(.mountFailed)
        /// The FUSE session failed while serving.
        public static let sessionFailed = Code(.sessionFailed)
        /// Nothing is mounted at the path.
        public static let notMounted = Code(.notMounted)
        /// Something other than layoutfs is mounted at the path; it is left alone.
        public static let notLayoutFS = Code(.notLayoutFS)
        /// The mount is in use (`EBUSY`); `--lazy` detaches it anyway.
        public static let busy = Code(.busy)
        /// Not allowed to unmount (`EPERM`).
        public static let permissionDenied = Code(.permissionDenied)
        /// Unmounting failed otherwise.
        public static let unmountFailed = Code(.unmountFailed)
        /// `/proc/self/mountinfo` could not be read.
        public static let mountTableUnreadable = Code(.mountTableUnreadable)
        /// The path cannot be resolved.
        public static let invalidPath = Code(.invalidPath)
        /// Something (a live mount) is already mounted at the mount point.
        public static let alreadyMounted = Code(.alreadyMounted)

        public var description: String { "\(value)" }
    }

    /// What failed.
    public var code: Code
    /// What failed and what to do about it.
    public var message: String
    /// The system error behind it, if any.
    public var errno: Errno?
    /// The underlying error, if any (a `FUSEError`).
    public var underlying: (any Error & Sendable)?

    public init(code: Code, message: String, errno: Errno? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.underlying = underlying
    }

    public var description: String {
        if let errno { "\(message) (\(errno))" } else { message }
    }
}
