import OCISpec

/// The error the containerd client throws: what failed, naming the socket (and the namespace
/// where it matters), what to do, and the gRPC status containerd answered with.
package struct ContainerdError: Error, UserFacingError, Sendable {
    /// Extensible set of failure kinds.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case noSocket, permissionDenied, unavailable, notFound, alreadyExists, timeout, invalidArgument, protocolViolation, failed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// Nothing at the socket path, or no socket there.
        package static let noSocket = Code(.noSocket)
        /// The socket exists but this process may not connect to it (`EACCES`).
        package static let permissionDenied = Code(.permissionDenied)
        /// Nothing listens on the socket (`ECONNREFUSED`), or containerd went away mid-call
        /// (gRPC `UNAVAILABLE`).
        package static let unavailable = Code(.unavailable)
        /// gRPC `NOT_FOUND`: no such image, blob, lease or namespace.
        package static let notFound = Code(.notFound)
        /// gRPC `ALREADY_EXISTS` (a lease id in use).
        package static let alreadyExists = Code(.alreadyExists)
        /// The call's deadline passed (gRPC `DEADLINE_EXCEEDED`).
        package static let timeout = Code(.timeout)
        /// A bad argument: a namespace or socket path containerd or we refuse.
        package static let invalidArgument = Code(.invalidArgument)
        /// containerd answered something that breaks its API (a descriptor with an invalid
        /// digest, a Read answering other offsets).
        package static let protocolViolation = Code(.protocolViolation)
        /// Any other gRPC status.
        package static let failed = Code(.failed)
        package var description: String { "\(value)" }
    }

    package var code: Code
    package var message: String
    package var underlying: (any Error)?

    package init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    package var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }
}
