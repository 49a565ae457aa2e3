import SystemPackage

/// An error of the FUSE binding: a session could not be created, mounted or run, or a
/// notification failed.
public struct FUSEError: Error, CustomStringConvertible, Sendable {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case sessionCreationFailed, mountFailed, loopFailed, notificationFailed, invalidState, passthroughFailed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// `fuse_session_new` failed: usually an unknown `-o` option (libfuse printed it on stderr).
        public static let sessionCreationFailed = Code(.sessionCreationFailed)
        /// `fuse_session_mount` failed (no `/dev/fuse`, no permission, bad mountpoint,
        /// `allow_other` without `user_allow_other`; libfuse printed the reason on stderr).
        public static let mountFailed = Code(.mountFailed)
        /// `fuse_session_loop_mt` ended with an error.
        public static let loopFailed = Code(.loopFailed)
        /// A `fuse_lowlevel_notify_*` call failed.
        public static let notificationFailed = Code(.notificationFailed)
        /// The session is not in a state that allows the call (mounting twice, running unmounted).
        public static let invalidState = Code(.invalidState)
        /// A backing file could not be registered for passthrough (`FUSE_DEV_IOC_BACKING_OPEN`:
        /// not negotiated, no CAP_SYS_ADMIN, a file system that stacks too deep).
        public static let passthroughFailed = Code(.passthroughFailed)

        public var description: String { "\(value)" }
    }

    /// What failed.
    public var code: Code
    /// What failed and what to do about it.
    public var message: String
    /// The system error behind it, when there is one.
    public var errno: Errno?

    public init(code: Code, message: String, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String {
        if let errno { "\(message): \(errno)" } else { message }
    }
}
