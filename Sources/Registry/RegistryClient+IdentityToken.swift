import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension RegistryClient {
    /// The `client_id` layoutfs names itself by to OAuth2 token servers.
    static let oauthClientID = "layoutfs"

    /// The token request that exchanges an identity token (docker's `identitytoken`, a refresh
    /// token) for an access token, as docker does: `POST realm` with the form
    /// `grant_type=refresh_token&refresh_token=TOKEN&service=S&scope=SCOPE&client_id=layoutfs`
    /// (`application/x-www-form-urlencoded`). The answer carries `access_token` (some servers
    /// also `token`) and `expires_in` in seconds. Follows the distribution spec's "OAuth2 token
    /// authentication" (docs/spec/auth/oauth.md) and RFC 6749 §6 (refreshing an access token).
    /// - Parameters:
    ///   - realm: the challenge's realm URL, used as it is (its query included).
    ///   - service: the challenge's `service`, sent when the challenge has one.
    ///   - scope: the scope asked for, e.g. `repository:team/app:pull`.
    static func refreshTokenRequest(realm: String, service: String?, scope: String, identityToken: String) -> HTTPClientRequest {
        var fields = [("grant_type", "refresh_token"), ("refresh_token", identityToken)]
        if let service { fields.append(("service", service)) }
        fields.append(("scope", scope))
        fields.append(("client_id", oauthClientID))
        var request = HTTPClientRequest(url: realm)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: formEncoded(fields)))
        return request
    }

    /// `name=value&...` with every byte but ASCII letters, digits and `-._~` percent-encoded
    /// (HTML's application/x-www-form-urlencoded, spaces as `%20`, which every decoder accepts).
    static func formEncoded(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    private static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
