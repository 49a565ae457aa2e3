/// A user name and secret for one registry host. Never logged, never in error messages.
public struct Credentials: Sendable, Equatable {
    public var username: String
    public var password: String
    /// An identity token (docker's `identitytoken`, or a credential helper's answer with user
    /// name `<token>`): when set, bearer tokens are asked for by exchanging it as an OAuth2
    /// refresh token (`RegistryClient.refreshTokenRequest`, distribution spec oauth.md) instead of
    /// with `username` and `password`.
    public var identityToken: String?

    public init(username: String, password: String, identityToken: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken
    }
}

/// Where credentials come from.
public protocol CredentialProvider: Sendable {
    /// Credentials for `host` (`host[:port]`, docker.io as `docker.io`), or nil for anonymous.
    /// - Throws: `RegistryError.unauthorized` when a configured helper fails.
    func credentials(for host: String) throws(RegistryError) -> Credentials?
}

/// No credentials: anonymous access only.
public struct AnonymousCredentials: CredentialProvider {
    public init() {}
    public func credentials(for host: String) throws(RegistryError) -> Credentials? { nil }
}
