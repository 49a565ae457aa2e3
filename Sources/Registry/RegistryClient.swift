import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OCISpec
import Synchronization

/// An OCI distribution client (distribution spec v1.1 §pull): resolve tags, fetch manifests
/// and blobs (whole or single ranges), verified. Authenticates as registries ask (bearer token
/// flow or basic), retries refused connections (a short, fixed backoff), timeouts, 5xx and 429
/// (backoff with jitter, honouring `Retry-After`) up to `RegistryConfiguration.retries` times,
/// announcing each retry (`onRetry`); an unknown host fails at once. Follows redirects itself so
/// credentials never go to another host. No transport type appears in its public API.
///
/// Use it in a scope: `try await RegistryClient.with(...) { client in ... }`.
public final class RegistryClient: Sendable {
    let http: HTTPClient
    let configuration: RegistryConfiguration
    let credentials: any CredentialProvider
    let logger: Logger
    let tokens = Mutex<[TokenKey: CachedToken]>([:])
    /// Where a registry redirected a blob (a storage URL), reused until it answers 4xx.
    let blobLocations = Mutex<[Digest: String]>([:])
    /// The last retry announced, and when.
    let lastRetry = Mutex<(retry: RegistryRetry, at: ContinuousClock.Instant)?>(nil)

    init(configuration: RegistryConfiguration, credentials: any CredentialProvider, logger: Logger) {
        var httpConfiguration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .nanoseconds(
                    Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000
                        + configuration.connectTimeout.components.attoseconds / 1_000_000_000),
                read: .nanoseconds(
                    Int64(configuration.readTimeout.components.seconds) * 1_000_000_000
                        + configuration.readTimeout.components.attoseconds / 1_000_000_000)),
            decompression: .disabled)
        httpConfiguration.httpVersion = .automatic
        // A mount fetches many ranges at once (reads of several blobs plus background fetches):
        // 8 connections per host (the default) let a few slow transfers starve every reader.
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        // The pool would otherwise retry a failed connect, silently, until the connect timeout
        // (an unknown host or a refused port cost 10 s per attempt): `send` classifies the
        // failure and retries itself, announcing each retry.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        self.configuration = configuration
        self.credentials = credentials
        self.logger = logger
    }

    /// Runs `body` with a client and shuts it down afterwards, whatever `body` does.
    public static func with<R: Sendable>(
        configuration: RegistryConfiguration = RegistryConfiguration(), credentials: any CredentialProvider = DockerConfigCredentials(),
        logger: Logger = Logger(label: "layoutfs.registry"), _ body: (RegistryClient) async throws -> R
    ) async throws -> R {
        let client = RegistryClient(configuration: configuration, credentials: credentials, logger: logger)
        do {
            let result = try await body(client)
            try? await client.http.shutdown()
            return result
        } catch {
            try? await client.http.shutdown()
            throw error
        }
    }

    /// Longest silence while reading a response; also how long a transfer may take to move
    /// 1 MiB before a caller calls it stalled (a registry that trickles bytes).
    public var readTimeout: Duration { configuration.readTimeout }

    /// A response whose body the caller must consume or drop.
    struct Response {
        var status: UInt
        var headers: [(String, String)]
        var body: HTTPClientResponse.Body
        /// The URL that answered (after redirects).
        var url: String

        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    /// Sends a GET or HEAD for `repository` on `domain`, handling auth, redirects and retries.
    /// Returns a 2xx response; every other outcome is thrown.
    /// - Parameter path: below `/v2/`, e.g. `library/busybox/manifests/latest`.
    func send(
        _ method: HTTPMethod, domain: String, repository: String, path: String, headers: [(String, String)] = [],
        rememberLocationOf blob: Digest? = nil
    ) async throws(RegistryError) -> Response {
        let startURL = configuration.baseURL(for: domain) + "/v2/" + path
        let host = domain == "docker.io" ? "registry-1.docker.io" : domain
        let started = ContinuousClock.now
        var attempt = 0
        var authRetried = false
        var forbiddenRetried = false
        var url = startURL
        var redirects = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers.add(name: "User-Agent", value: configuration.userAgent)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            // Credentials only for the registry itself, never for a redirect target.
            let sameHost = URL(string: url)?.host == URL(string: startURL)?.host && URL(string: url)?.port == URL(string: startURL)?.port
            if sameHost, let authorization = authorization(host: host, repository: repository) {
                request.headers.add(name: "Authorization", value: authorization)
            }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .hours(24))
            } catch {
                let failure = Self.transportFailure(error, url: url)
                guard let delay = retryDelay(after: failure, attempt: attempt) else {
                    throw Self.finalFailure(failure, url: url, attempts: attempt, since: started)
                }
                announce(RegistryRetry(attempt: attempt + 1, maximumAttempts: configuration.maximumAttempts, delay: delay, reason: failure.message))
                try? await Task.sleep(for: delay)
                continue
            }
            let status = response.status.code
            let responseHeaders = response.headers.map { ($0.name, $0.value) }
            let result = Response(status: status, headers: responseHeaders, body: response.body, url: url)
            switch status {
            case 200..<300:
                if let blob, redirects > 0 { blobLocations.withLock { $0[blob] = url } }
                return result
            case 301, 302, 303, 307, 308:
                try await drain(result)
                guard redirects < 10, let location = result.header("Location"), let next = URL(string: location, relativeTo: URL(string: url)) else {
                    throw RegistryError(.protocolViolation, "bad or too many redirects from \(url)")
                }
                redirects += 1
                url = next.absoluteString
                continue
            case 401, 403:
                let body = try await errorBody(result)
                let challenge = result.header("WWW-Authenticate").flatMap(AuthChallenge.init(header:))
                // 401: authenticate (once). A 403 while holding a token (some registries answer
                // an expired token so): drop it and retry, so the registry challenges afresh.
                if status == 401, !authRetried, sameHost {
                    authRetried = true
                    invalidateToken(host: host, repository: repository)
                    try await authenticate(host: host, repository: repository, challenge: challenge)
                    continue
                }
                if status == 403, !forbiddenRetried, sameHost, hasToken(host: host, repository: repository) {
                    forbiddenRetried = true
                    authRetried = false
                    invalidateToken(host: host, repository: repository)
                    continue
                }
                if status == 401 {
                    throw RegistryError(
                        .unauthorized, "\(host) refused access to \(repository) (401)\(body); log in (docker login / ~/.docker/config.json) or check the name")
                }
                throw RegistryError(.denied, "\(host) denied access to \(repository) (403)\(body)")
            case 404:
                let body = try await errorBody(result)
                throw RegistryError(.notFound, "\(url) was not found (404)\(body)")
            case 429, 500..<600:
                let body = try await errorBody(result)
                guard attempt < configuration.maximumAttempts else {
                    let times = configuration.maximumAttempts > 1 ? " \(configuration.maximumAttempts) times" : ""
                    throw RegistryError(.server, "\(url) answered \(status)\(times)\(body)")
                }
                let delay = backoff(attempt: attempt, retryAfter: result.header("Retry-After").flatMap { Int($0) })
                announce(RegistryRetry(attempt: attempt + 1, maximumAttempts: configuration.maximumAttempts, delay: delay, reason: "\(status) from \(url)"))
                try? await Task.sleep(for: delay)
                continue
            default:
                let body = try await errorBody(result)
                throw RegistryError(.protocolViolation, "\(url) answered \(status)\(body)")
            }
        }
    }

    /// The wait before attempt `attempt + 1` after a 5xx, 429 or timeout: `Retry-After` seconds
    /// when given (capped), else exponential backoff with jitter.
    func backoff(attempt: Int, retryAfter: Int?) -> Duration {
        let maximum = configuration.maximumBackoff
        var delay: Duration
        if let retryAfter, retryAfter >= 0 {
            delay = .seconds(retryAfter)
        } else {
            delay = configuration.initialBackoff * (1 << min(attempt - 1, 16))
            delay = delay + delay * Double.random(in: 0...0.5)
        }
        if delay > maximum { delay = maximum }
        return delay
    }

    func drain(_ response: Response) async throws(RegistryError) {
        do {
            for try await _ in response.body {}
        } catch {
            throw Self.transportFailure(error, url: response.url)
        }
    }

    /// The start of an error body (distribution spec error JSON), for messages.
    func errorBody(_ response: Response) async throws(RegistryError) -> String {
        var collected: [UInt8] = []
        do {
            for try await chunk in response.body where collected.count < 4096 {
                collected += chunk.readableBytesView.prefix(4096 - collected.count)
            }
        } catch {
            return ""
        }
        if let json = try? JSONParser.parse(collected), let first = json["errors"]?.arrayValue?.first {
            let code = first["code"]?.stringValue ?? ""
            let message = first["message"]?.stringValue ?? ""
            return ": \(code) \(message)".trimmingCharacters(in: .whitespaces)
        }
        return ""
    }
}

extension RegistryClient {
    /// Checks that `domain` speaks the distribution API (`GET /v2/`, distribution spec
    /// §api-version-check): 200, or 401 with a challenge (the registry wants credentials), is a
    /// registry; anything else is not.
    /// - Throws: `.protocolViolation` for a server that is not a registry, transport errors.
    public func ping(_ domain: String) async throws(RegistryError) {
        let url = configuration.baseURL(for: domain) + "/v2/"
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 16)
        } catch {
            throw Self.transportFailure(error, url: url)
        }
        let status = response.status.code
        let isRegistry = status == 200 || (status == 401 && response.headers.first(name: "WWW-Authenticate") != nil)
        guard isRegistry else {
            throw RegistryError(.protocolViolation, "\(url) answered \(status): \(domain) does not look like an OCI registry")
        }
    }
}

extension RegistryClient {
    /// GET of a remembered storage location, without credentials (it is another host). Nil, and
    /// the location forgotten, when it answers anything but 2xx or cannot be reached: the caller
    /// then asks the registry again.
    func sendToRememberedLocation(of blob: Digest, headers: [(String, String)]) async -> Response? {
        guard let url = blobLocations.withLock({ $0[blob] }) else { return nil }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        do {
            let response = try await http.execute(request, timeout: .hours(24))
            let result = Response(status: response.status.code, headers: response.headers.map { ($0.name, $0.value) }, body: response.body, url: url)
            if (200..<300).contains(result.status) { return result }
            try? await drain(result)
        } catch {}
        _ = blobLocations.withLock { $0.removeValue(forKey: blob) }
        return nil
    }
}
