/// How the client talks to registries.
public struct RegistryConfiguration: Sendable {
    /// Hosts (`host` or `host:port`) reached over plain HTTP. Loopback hosts always may be.
    public var insecureHosts: Set<String>
    /// Time to establish a connection.
    public var connectTimeout: Duration
    /// Longest silence while reading a response (a stalled registry fails after this).
    public var readTimeout: Duration
    /// Attempts per request for retryable failures (connection errors, timeouts, 5xx, 429).
    public var maximumAttempts: Int
    /// First backoff; doubled each attempt, with up to 50% jitter, capped at `maximumBackoff`.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    public var userAgent: String

    public init(
        insecureHosts: Set<String> = [], connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30),
        maximumAttempts: Int = 5, initialBackoff: Duration = .milliseconds(200), maximumBackoff: Duration = .seconds(10),
        userAgent: String = "layoutfs/0.1"
    ) {
        self.insecureHosts = insecureHosts
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.maximumAttempts = maximumAttempts
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.userAgent = userAgent
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
