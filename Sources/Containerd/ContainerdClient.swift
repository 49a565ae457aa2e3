import ContainerdAPI
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import OCISpec

/// A client of one containerd's gRPC API (containerd 1.6, api/services/*) over its unix
/// socket, in one namespace (sent as the `containerd-namespace` metadata on every call, as
/// containerd's Go client does). No gRPC type appears in its API; every failure is a
/// ``ContainerdError`` naming the socket.
///
/// Unary calls have a deadline (``callTimeout``); Read and List fail when containerd sends
/// nothing for that long (a stream may take longer as a whole); Subscribe has none: its caller
/// bounds it. ``close()`` ends the connection; a client not closed
/// keeps its connection task until the process exits.
package final class ContainerdClient: Sendable {
    /// The socket path.
    package let socket: String
    /// The namespace every call is made in (`default`, Docker's `moby`, BuildKit's `buildkit`,
    /// Kubernetes' `k8s.io`).
    package let namespace: String
    /// The deadline of each unary call.
    package let callTimeout: Duration
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, Never>

    /// Connects to `socket` (checked first: ``ContainerdSocket/probe(_:)``).
    /// - Throws: `.noSocket`, `.permissionDenied`, `.unavailable`, `.invalidArgument` (an
    ///   empty namespace or one with characters containerd refuses).
    /// - Parameter executor: where the connection's task runs (nil: Swift's global executor);
    ///   a test process whose cooperative threads block on subprocesses gives its own.
    package init(socket: String, namespace: String, callTimeout: Duration = .seconds(30), executor: (any TaskExecutor)? = nil) throws(ContainerdError) {
        guard Self.isValidNamespace(namespace) else {
            throw ContainerdError(
                .invalidArgument, "invalid containerd namespace \"\(namespace)\": letters, digits, '.', '_' and '-', starting with a letter or digit")
        }
        try ContainerdSocket.probe(socket)
        self.socket = socket
        self.namespace = namespace
        self.callTimeout = callTimeout
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: .unixDomainSocket(path: socket), transportSecurity: .plaintext,
                config: .defaults {
                    $0.http2.authority = "localhost"
                    // A local socket: after containerd restarts, reconnect within a second, not
                    // after gRPC's default backoff of up to two minutes (which kept renewals
                    // failing with "transient failure" a minute after containerd was back).
                    $0.backoff = .init(initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
                })
        } catch {
            throw ContainerdError(.failed, "cannot set up a connection to the containerd socket \(socket)", underlying: error)
        }
        let grpc = GRPCClient(transport: transport)
        self.grpc = grpc
        connections = Task(executorPreference: executor) { try? await grpc.runConnections() }
    }

    deinit {
        grpc.beginGracefulShutdown()
    }

    /// Ends the connection once calls in flight are done, or after `grace` (a stream nobody
    /// ends, a containerd that went away mid-call): then the calls still in flight are cancelled
    /// (gRPC's forceful shutdown, by cancelling the task that runs the connections).
    package func close(grace: Duration = .seconds(5)) async {
        grpc.beginGracefulShutdown()
        let connections = self.connections
        let forceful = Task {
            try await Task.sleep(for: grace)
            connections.cancel()
        }
        await connections.value
        forceful.cancel()
    }

    /// containerd's namespace rule (namespaces/validate.go): labels of letters, digits, `_`
    /// and `-` separated by `.`, each starting and ending with a letter or digit, at most 76
    /// bytes in all.
    package static func isValidNamespace(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 76 else { return false }
        func alphanumeric(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard let first = label.first, let last = label.last, alphanumeric(first), alphanumeric(last) else { return false }
            guard label.allSatisfy({ alphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else { return false }
        }
        return true
    }

    /// The metadata of every call: the namespace.
    var metadata: Metadata {
        var metadata = Metadata()
        metadata.addString(namespace, forKey: "containerd-namespace")
        return metadata
    }

    /// Options of a unary call: its deadline and room for large answers (a List of many images).
    var unaryOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = callTimeout
        options.maxResponseMessageBytes = 64 << 20
        return options
    }

    /// Options of a stream: no deadline of its own.
    var streamOptions: CallOptions {
        var options = CallOptions.defaults
        options.maxResponseMessageBytes = 64 << 20
        return options
    }

    /// Runs `call`, turning gRPC failures into ``ContainerdError`` saying `what` failed.
    func calling<R: Sendable>(_ what: String, _ call: () async throws -> R) async throws(ContainerdError) -> R {
        do {
            return try await call()
        } catch let error as ContainerdError {
            throw error
        } catch let error as RPCError {
            throw mapped(error, what)
        } catch is CancellationError {
            throw ContainerdError(.failed, "\(what) was cancelled")
        } catch {
            throw ContainerdError(.failed, "\(what) failed (containerd at \(socket))", underlying: error)
        }
    }

    private func mapped(_ error: RPCError, _ what: String) -> ContainerdError {
        let said = error.message
        switch error.code {
        case .notFound: return ContainerdError(.notFound, "\(what): \(said)")
        case .alreadyExists: return ContainerdError(.alreadyExists, "\(what): \(said)")
        case .deadlineExceeded: return ContainerdError(.timeout, "\(what): containerd at \(socket) did not answer within \(callTimeout)")
        case .unavailable: return ContainerdError(.unavailable, "\(what): containerd at \(socket) is unavailable (\(said))")
        case .invalidArgument: return ContainerdError(.invalidArgument, "\(what): \(said)")
        case .permissionDenied: return ContainerdError(.permissionDenied, "\(what): \(said)")
        default: return ContainerdError(.failed, "\(what): containerd at \(socket) answered \(error.code): \(said)")
        }
    }

    /// Runs an idempotent call again when it meets a closed connection (gRPC `UNAVAILABLE`:
    /// containerd's HTTP/2 server closes a connection every few hundred streams, and the
    /// channel reconnects), up to 7 more times, 10, 20, 40 ... ms apart; not once cancelled.
    static func retryingClosedConnections<R>(_ call: () async throws -> R) async throws -> R {
        var attempt = 1
        while true {
            do {
                return try await call()
            } catch  where attempt < 8 && !Task.isCancelled && Self.isClosedConnection(error) {
                try await Task.sleep(for: .milliseconds(10 << attempt))
                attempt += 1
            }
        }
    }

    private static func isClosedConnection(_ error: any Error) -> Bool {
        (error as? RPCError)?.code == .unavailable || (error as? ContainerdError)?.code == .unavailable
    }

    /// A descriptor of containerd's API as an OCI descriptor.
    /// - Throws: `.protocolViolation` for an invalid digest or a negative size.
    static func descriptor(_ d: Containerd_Types_Descriptor, of what: String) throws(ContainerdError) -> Descriptor {
        let digest: Digest
        do {
            digest = try Digest(parsing: d.digest)
        } catch {
            throw ContainerdError(.protocolViolation, "containerd gave \(what) an invalid digest \"\(d.digest.prefix(80))\"", underlying: error)
        }
        guard d.size >= 0 else { throw ContainerdError(.protocolViolation, "containerd gave \(what) a negative size \(d.size)") }
        return Descriptor(mediaType: MediaType(d.mediaType), digest: digest, size: d.size, annotations: d.annotations)
    }
}
