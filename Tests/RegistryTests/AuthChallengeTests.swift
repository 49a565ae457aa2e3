import Testing

@testable import Registry

@Suite("WWW-Authenticate parsing and endpoints")
struct AuthChallengeTests {
    @Test("a bearer challenge as the distribution registry sends it")
    func bearer() throws {
        let challenge = try #require(
            AuthChallenge(header: #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull""#))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.realm == "https://auth.example/token")
        #expect(challenge.service == "registry.example")
        #expect(challenge.scope == "repository:team/app:pull")
    }

    @Test("basic, quoted commas and escapes, unquoted values")
    func otherForms() throws {
        #expect(try #require(AuthChallenge(header: #"Basic realm="Registry Realm""#)).scheme == "basic")
        let odd = try #require(AuthChallenge(header: #"Bearer realm="https://a/t?x=1,2",error=invalid_token, scope="a \"b\"""#))
        #expect(odd.realm == "https://a/t?x=1,2")
        #expect(odd.parameters["error"] == "invalid_token")
        #expect(odd.scope == #"a "b""#)
        #expect(AuthChallenge(header: "") == nil)
    }

    @Test(
        "plain HTTP only for loopback and listed hosts; docker.io is registry-1.docker.io",
        arguments: [
            ("127.0.0.1:5000", "http://127.0.0.1:5000"), ("localhost:5000", "http://localhost:5000"),
            ("registry.example", "https://registry.example"), ("docker.io", "https://registry-1.docker.io"),
            ("insecure.example:5000", "http://insecure.example:5000"),
        ])
    func endpoints(domain: String, expected: String) {
        let configuration = RegistryConfiguration(insecureHosts: ["insecure.example:5000"])
        #expect(configuration.baseURL(for: domain) == expected)
    }
}
