import OCISpec

/// The error the registry client throws: what failed (with the URL or reference), what to do,
/// and the underlying cause. Credentials never appear in it.
public struct RegistryError: Error, UserFacingError, Sendable {
    /// Extensible set of failure kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case unauthorized, denied, notFound, server, transport, unreachable, unknownHost, timeout, protocolViolation, digestMismatch, tooLarge, insecure,
                invalidArgument, cancelled
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// 401 after authenticating (wrong or missing credentials).
        public static let unauthorized = Code(.unauthorized)
        /// 403.
        public static let denied = Code(.denied)
        /// 404: no such repository, tag, manifest or blob.
        public static let notFound = Code(.notFound)
        /// 5xx or 429 after every retry.
        public static let server = Code(.server)
        /// Connection refused/reset, TLS failure, after every retry.
        public static let transport = Code(.transport)
        /// Every address of the registry refused the connection (`ECONNREFUSED`: nothing
        /// listens), after every retry within the configuration's connection backoff.
        public static let unreachable = Code(.unreachable)
        /// The registry's host name does not resolve (`getaddrinfo` failed). Never retried.
        public static let unknownHost = Code(.unknownHost)
        /// Connect or read timeout after every retry.
        public static let timeout = Code(.timeout)
        /// The registry broke the protocol (bad Content-Range, missing headers, wrong sizes).
        public static let protocolViolation = Code(.protocolViolation)
        /// Content does not match its digest.
        public static let digestMismatch = Code(.digestMismatch)
        /// A manifest larger than 4 MiB.
        public static let tooLarge = Code(.tooLarge)
        /// Plain HTTP to a host that is neither loopback nor listed with --insecure-registry.
        public static let insecure = Code(.insecure)
        public static let invalidArgument = Code(.invalidArgument)
        /// The task was cancelled (another transfer failed, or the user interrupted).
        public static let cancelled = Code(.cancelled)
        public var description: String { "\(value)" }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }

    /// True for failures worth another attempt by a caller (transport, timeout, 5xx, 429).
    /// `.unreachable` and `.unknownHost` are not: the client has spent its retries on a refused
    /// connection already, and a name that does not resolve will not on the next try.
    public var isRetryable: Bool { code == .transport || code == .timeout || code == .server }
}
