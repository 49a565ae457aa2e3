import AsyncHTTPClient
import BlockingWork
import Foundation
import NIOCore
import NIOHTTP1
import OCISpec

/// A cache key: tokens are per registry host and repository scope.
struct TokenKey: Hashable, Sendable {
    var host: String
    var repository: String
}

/// An authorization header value and when it stops being usable.
struct CachedToken: Sendable {
    var authorization: String
    var expires: ContinuousClock.Instant
}

extension RegistryClient {
    func authorization(host: String, repository: String) -> String? {
        let key = TokenKey(host: host, repository: repository)
        return tokens.withLock { cache in
            guard let token = cache[key] else { return nil }
            guard token.expires > .now else {
                cache[key] = nil
                return nil
            }
            return token.authorization
        }
    }

    func hasToken(host: String, repository: String) -> Bool { authorization(host: host, repository: repository) != nil }

    func invalidateToken(host: String, repository: String) {
        _ = tokens.withLock { $0.removeValue(forKey: TokenKey(host: host, repository: repository)) }
    }

    /// Answers a challenge: Basic with the host's credentials, or the bearer token flow: with an
    /// identity token, its exchange (``refreshTokenRequest(realm:service:scope:identityToken:)``,
    /// distribution spec oauth.md); else GET realm?service=&scope=repository:NAME:pull, with
    /// Basic credentials when known (distribution spec token.md).
    /// - Throws: `.unauthorized` when there is no way to authenticate (a Basic challenge to
    ///   credentials that are only an identity token, a token server refusing them).
    func authenticate(host: String, repository: String, challenge: AuthChallenge?) async throws(RegistryError) {
        let credentials = try await lookUpCredentials(for: host == "registry-1.docker.io" ? "docker.io" : host)
        let key = TokenKey(host: host, repository: repository)
        guard let challenge else {
            throw RegistryError(.unauthorized, "\(host) asked for authentication without a WWW-Authenticate challenge")
        }
        switch challenge.scheme {
        case "basic":
            guard let credentials else {
                throw RegistryError(
                    .unauthorized, "\(host) needs a user name and password for \(repository): log in with docker login or add it to ~/.docker/config.json")
            }
            if credentials.username.isEmpty, credentials.identityToken?.isEmpty == false {
                throw RegistryError(
                    .unauthorized,
                    "\(host) needs a user name and password for \(repository), but its credentials are an identity token (which only a bearer token server takes): log in with a user name and password"
                )
            }
            let basic = Self.basicAuthorization(credentials)
            tokens.withLock { $0[key] = CachedToken(authorization: basic, expires: .now + .seconds(3600)) }
        case "bearer":
            guard let realm = challenge.realm, var components = URLComponents(string: realm), components.scheme == "https" || components.scheme == "http" else {
                throw RegistryError(.protocolViolation, "\(host) sent a bearer challenge without a usable realm")
            }
            let scope = challenge.scope ?? "repository:\(repository):pull"
            let identityToken = credentials?.identityToken.flatMap { $0.isEmpty ? nil : $0 }
            var request: HTTPClientRequest
            if let identityToken {
                request = Self.refreshTokenRequest(realm: realm, service: challenge.service, scope: scope, identityToken: identityToken)
            } else {
                var query = components.queryItems ?? []
                if let service = challenge.service { query.append(URLQueryItem(name: "service", value: service)) }
                query.append(URLQueryItem(name: "scope", value: scope))
                if let credentials, !credentials.username.isEmpty { query.append(URLQueryItem(name: "account", value: credentials.username)) }
                components.queryItems = query
                guard let url = components.url?.absoluteString else { throw RegistryError(.protocolViolation, "bad token realm from \(host)") }
                request = HTTPClientRequest(url: url)
                if let credentials, !credentials.username.isEmpty {
                    request.headers.add(name: "Authorization", value: Self.basicAuthorization(credentials))
                }
            }
            request.headers.add(name: "User-Agent", value: configuration.userAgent)
            let response: HTTPClientResponse
            let body: ByteBuffer
            do {
                response = try await http.execute(request, timeout: .seconds(60))
                body = try await response.body.collect(upTo: 1 << 20)
            } catch {
                throw Self.transportFailure(error, url: realm)
            }
            guard response.status.code == 200 else {
                if identityToken != nil {
                    throw RegistryError(
                        .unauthorized,
                        "the token server of \(host) refused the identity token for \(repository) (\(response.status.code)); log in again (docker login) for a new one"
                    )
                }
                throw RegistryError(
                    .unauthorized, "the token server of \(host) refused a token for \(repository) (\(response.status.code)); check your credentials")
            }
            // token.md answers `token` (and maybe `access_token`), oauth.md `access_token`.
            guard let json = try? JSONParser.parse(Array(body.readableBytesView)),
                let token = json["token"]?.stringValue ?? json["access_token"]?.stringValue, !token.isEmpty
            else {
                throw RegistryError(.protocolViolation, "the token server of \(host) answered without a token")
            }
            let lifetime = max(json["expires_in"]?.int64Value ?? 60, 1)
            // Renew a little early: a token must not expire between two requests of one fetch.
            let expires = ContinuousClock.now + .seconds(max(lifetime - 10, lifetime / 2))
            tokens.withLock { $0[key] = CachedToken(authorization: "Bearer \(token)", expires: expires) }
        default:
            throw RegistryError(.unauthorized, "\(host) asks for unsupported authentication \(challenge.scheme)")
        }
    }

    /// The credentials for `host` from the provider, asked on the blocking pool: it may read
    /// `config.json` and run a credential helper (`posix_spawn` + `waitpid`), which must not hold
    /// a thread of Swift's cooperative pool.
    /// - Throws: what the provider throws; `.cancelled` when the pool no longer runs work.
    private func lookUpCredentials(for host: String) async throws(RegistryError) -> Credentials? {
        let provider = self.credentials
        let answer: Result<Credentials?, RegistryError>
        do {
            answer = try await BlockingWork.run { Result { () throws(RegistryError) in try provider.credentials(for: host) } }
        } catch {
            throw RegistryError(.cancelled, "the credentials for \(host) were not looked up: \(error)")
        }
        return try answer.get()
    }

    static func basicAuthorization(_ credentials: Credentials) -> String {
        "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
    }
}
