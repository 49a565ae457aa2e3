/// How the client talks to registries.
public struct RegistryConfiguration: Sendable {
    /// Hosts (`host` or `host:port`) reached over plain HTTP. Loopback hosts always may be.
    public var insecureHosts: Set<String>
    /// Time to establish a connection.
    public var connectTimeout: Duration
    /// Longest silence while reading a response (a stalled registry fails after this).
    public var readTimeout: Duration
    /// Retries per request after its first attempt (`--retries`; 0 = one attempt), for a refused
    /// connection, a timeout, 5xx and 429. An unknown host is never retried. Within
    /// `allowedRetries`.
    public var retries: Int
    /// The values `retries` may take: 0 to 10 (10 retries of a refused connection wait 65.5 s).
    public static let allowedRetries = 0...10
    /// Attempts per request: `retries` + 1.
    public var maximumAttempts: Int { retries + 1 }
    /// First wait after a refused connection; doubled each retry (no jitter), capped at
    /// `maximumBackoff`: 0.5, 1, 2, 4 s by default, so the default 4 retries give up after
    /// 7.5 s of waiting (a registry being restarted is back by then, a wrong port fails soon).
    public var connectionBackoff: Duration
    /// First backoff after a timeout, 5xx or 429; doubled each attempt, with up to 50% jitter,
    /// capped at `maximumBackoff`.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    public var userAgent: String
    /// Called before each retry is waited for, to announce it (the CLI prints it on stderr, a
    /// mount daemon logs it); nil logs it at notice level through the client's logger.
    public var onRetry: (@Sendable (RegistryRetry) -> Void)?

    public init(
        insecureHosts: Set<String> = [], connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30),
        retries: Int = 4, connectionBackoff: Duration = .milliseconds(500), initialBackoff: Duration = .milliseconds(200),
        maximumBackoff: Duration = .seconds(10), userAgent: String = "layoutfs/0.1", onRetry: (@Sendable (RegistryRetry) -> Void)? = nil
    ) {
        self.insecureHosts = insecureHosts
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.retries = max(0, retries)
        self.connectionBackoff = connectionBackoff
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.userAgent = userAgent
        self.onRetry = onRetry
    }

    /// The wait before attempt `attempt + 1` after a refused connection: `connectionBackoff`
    /// doubled `attempt - 1` times, capped at `maximumBackoff`.
    public func connectionRetryDelay(after attempt: Int) -> Duration {
        let delay = connectionBackoff * (1 << min(max(attempt - 1, 0), 16))
        return delay > maximumBackoff ? maximumBackoff : delay
    }

    /// The base URL for a registry domain: docker.io is served by registry-1.docker.io; loopback
    /// and listed hosts use http, everything else https.
    func baseURL(for domain: String) -> String {
        let host = domain == "docker.io" ? "registry-1.docker.io" : domain
        return (usesPlainHTTP(host) ? "http://" : "https://") + host
    }

    func usesPlainHTTP(_ host: String) -> Bool {
        if insecureHosts.contains(host) { return true }
        let name = Self.hostName(host)
        return name == "localhost" || name.hasPrefix("127.") || name == "[::1]" || name == "::1"
    }

    /// `host` without its port.
    static func hostName(_ hostAndPort: String) -> String {
        if hostAndPort.hasPrefix("[") { return String(hostAndPort.prefix { $0 != "]" }) + "]" }
        return String(hostAndPort.split(separator: ":", maxSplits: 1).first ?? "")
    }
}
