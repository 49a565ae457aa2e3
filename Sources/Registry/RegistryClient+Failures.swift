import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

extension RegistryClient {
    /// A transport error as a `RegistryError`, classified by the error's type (never its text
    /// where a type exists):
    /// - `.unknownHost`: the name did not resolve (`getaddrinfo` failed, which NIO reports as a
    ///   `NIOConnectionError` holding a `SocketAddressError.UnknownHost`). Final at once.
    /// - `.unreachable`: every address refused the connection (`ECONNREFUSED`): retried within
    ///   the configuration's short connection backoff.
    /// - `.timeout`, `.cancelled`, else `.transport` (resets, TLS failures, other errnos).
    static func transportFailure(_ error: any Error, url: String) -> RegistryError {
        if let error = error as? RegistryError { return error }
        if error is CancellationError || Task.isCancelled { return RegistryError(.cancelled, "\(url): cancelled") }
        if let connection = error as? NIOConnectionError {
            return connectionFailure(connection, url: url)
        }
        let text = "\(error)"
        if let httpError = error as? HTTPClientError, httpError == .readTimeout || httpError == .connectTimeout || httpError == .deadlineExceeded {
            return RegistryError(.timeout, "\(url) timed out", underlying: error)
        }
        if text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("timed out") {
            return RegistryError(.timeout, "\(url) timed out", underlying: error)
        }
        // NIO's socket errors read poorly ("connection reset (error set): ..."): say the errno.
        if let io = error as? IOError {
            if io.errnoCode == ECONNREFUSED { return refused(authority(of: url), url: url) }
            return RegistryError(.transport, "cannot reach \(url): \(String(cString: strerror(io.errnoCode)))")
        }
        return RegistryError(.transport, "cannot reach \(url)", underlying: error)
    }

    /// A failed connection attempt (NIO's happy-eyeballs connect: name resolution, then one
    /// connection per address).
    private static func connectionFailure(_ error: NIOConnectionError, url: String) -> RegistryError {
        let authority = "\(error.host):\(error.port)"
        if error.connectionErrors.isEmpty, let lookup = error.dnsAError ?? error.dnsAAAAError {
            let reason = (lookup as? SocketAddressError.UnknownHost)?.errorDescription ?? "\(lookup)"
            return RegistryError(
                .unknownHost, "cannot resolve the registry host \(error.host) (\(reason)): check the name in the reference and the DNS settings")
        }
        let errnos = error.connectionErrors.map { ($0.error as? IOError)?.errnoCode }
        if !errnos.isEmpty, errnos.allSatisfy({ $0 == ECONNREFUSED }) {
            return refused(authority, url: url)
        }
        if let errno = errnos.compactMap({ $0 }).first {
            return RegistryError(.transport, "cannot reach \(url): \(String(cString: strerror(errno)))")
        }
        return RegistryError(.transport, "cannot reach \(url)", underlying: error)
    }

    private static func refused(_ authority: String, url: String) -> RegistryError {
        RegistryError(.unreachable, "connection refused (\(authority))")
    }

    /// `host:port` of a URL (the port implied by the scheme when absent).
    static func authority(of url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return url }
        let port = parsed.port ?? (parsed.scheme == "http" ? 80 : 443)
        return "\(host):\(port)"
    }

    /// The error to throw when `failure` ends a request after `attempts` attempts begun at
    /// `started`: says how often and for how long it was tried, and what to check.
    static func finalFailure(_ failure: RegistryError, url: String, attempts: Int, since started: ContinuousClock.Instant) -> RegistryError {
        guard failure.code == .unreachable else {
            guard attempts > 1 else { return failure }
            return RegistryError(failure.code, failure.message + " (tried \(attempts) times)", underlying: failure.underlying)
        }
        let tried = attempts > 1 ? ", tried \(attempts) times over \(RegistryRetry.seconds(.now - started))" : ""
        return RegistryError(
            .unreachable,
            "cannot connect to \(authority(of: url)): connection refused\(tried) (\(url)); is the registry running, and are its host and port right? (--retries N tries longer)"
        )
    }

    /// The wait before attempt `attempt + 1` after `failure`, or nil when `failure` is final: an
    /// unknown host, a failure that is not retryable, or no attempts left. A refused connection
    /// waits `connectionBackoff` doubled per attempt (no jitter); the rest back off as `backoff`.
    func retryDelay(after failure: RegistryError, attempt: Int) -> Duration? {
        guard attempt < configuration.maximumAttempts else { return nil }
        if failure.code == .unreachable { return configuration.connectionRetryDelay(after: attempt) }
        guard failure.isRetryable else { return nil }
        return backoff(attempt: attempt, retryAfter: nil)
    }

    /// Announces a retry (the configuration's `onRetry`, else the logger at notice level).
    func announce(_ retry: RegistryRetry) {
        lastRetry.withLock { $0 = (retry, .now) }
        if let onRetry = configuration.onRetry {
            onRetry(retry)
        } else {
            logger.notice("\(retry)")
        }
    }

    /// The last retry announced, if it was announced within `interval` (a mount's log line for
    /// a read that timed out while the client was still retrying says why).
    public func latestRetry(within interval: Duration) -> RegistryRetry? {
        lastRetry.withLock { last in
            guard let last, last.at.duration(to: .now) <= interval else { return nil }
            return last.retry
        }
    }
}
