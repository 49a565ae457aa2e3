/// One retry the registry client is about to make, for announcing it before it waits:
/// `retrying in 2 s (attempt 3 of 5): connection refused (127.0.0.1:5999)`.
public struct RegistryRetry: Sendable, CustomStringConvertible {
    /// The attempt about to be made: 2 up to `maximumAttempts`.
    public var attempt: Int
    /// Attempts in all for the request (`RegistryConfiguration.retries` + 1).
    public var maximumAttempts: Int
    /// How long the client waits before making it.
    public var delay: Duration
    /// What failed, for people: `connection refused (127.0.0.1:5999)`,
    /// `503 from http://127.0.0.1:5000/v2/...`, `http://... timed out`.
    public var reason: String

    public init(attempt: Int, maximumAttempts: Int, delay: Duration, reason: String) {
        self.attempt = attempt
        self.maximumAttempts = maximumAttempts
        self.delay = delay
        self.reason = reason
    }

    public var description: String {
        "retrying in \(Self.seconds(delay)) (attempt \(attempt) of \(maximumAttempts)): \(reason)"
    }

    /// A duration in seconds, rounded to hundredths, without trailing zeros: `2 s`, `0.5 s`,
    /// `1.25 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let hundredths = seconds * 100 + (attoseconds + 5_000_000_000_000_000) / 10_000_000_000_000_000
        let whole = hundredths / 100
        let fraction = hundredths % 100
        if fraction == 0 { return "\(whole) s" }
        if fraction % 10 == 0 { return "\(whole).\(fraction / 10) s" }
        return "\(whole).\(fraction < 10 ? "0" : "")\(fraction) s"
    }
}
