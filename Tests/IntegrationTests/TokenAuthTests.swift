import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The bearer token flow against the real registry configured with `auth: token` and a test
/// token server whose signing certificate is in the registry's rootcertbundle.
@Suite("pull with bearer tokens", .serialized)
struct TokenAuthTests {
    func withTokenRegistry(_ body: (_ work: String, _ registry: RegistryServer, _ token: TokenServer) throws -> Void) throws {
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let token = try TokenServer(directory: work + "/token")
            let registry = try RegistryServer(directory: work + "/registry", token: token)
            try Harness.makeDemoImage(at: work + "/src")
            for repository in ["public/busybox:1", "private/busybox:1"] {
                try registry.push(layout: work + "/src", tag: "1.35", to: repository, credentials: "\(token.user):\(token.password)")
            }
            try body(work, registry, token)
        }
    }

    @Test("anonymous tokens for a public repository; private ones refused without credentials, pulled with them")
    func anonymousAndCredentials() throws {
        try withTokenRegistry { work, registry, token in
            let none = work + "/no-config"
            try FileManager.default.createDirectory(atPath: none, withIntermediateDirectories: true)
            let store = work + "/store"
            let anonymous = try Harness.run([Harness.binary, "pull", "\(registry.address)/public/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": none])
            #expect(anonymous.succeeded, "\(anonymous.stderr)")
            #expect(token.requests().contains { $0.scopes == ["repository:public/busybox:pull"] && !$0.authorized })

            let refused = try Harness.run([Harness.binary, "pull", "\(registry.address)/private/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": none])
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains("layoutfs: error:") && refused.stderr.contains("401"), "\(refused.stderr)")

            let wrongConfig = work + "/wrong"
            try PullTests.writeDockerConfig(at: wrongConfig, host: registry.address, user: token.user, password: "wrong-password")
            let wrong = try Harness.run([Harness.binary, "pull", "\(registry.address)/private/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": wrongConfig])
            #expect(!wrong.succeeded)
            #expect(wrong.stderr.contains("token"), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains("wrong-password"))

            let config = work + "/config"
            try PullTests.writeDockerConfig(at: config, host: registry.address, user: token.user, password: token.password)
            let pulled = try Harness.run([Harness.binary, "pull", "\(registry.address)/private/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": config])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            #expect(token.requests().contains { $0.scopes == ["repository:private/busybox:pull"] && $0.authorized })
            #expect(try Harness.layoutfs(["images"], store: store).stdout.contains("\(registry.address)/private/busybox:1"))
        }
    }

    @Test("a 403 on a blob (an expired token, as some registries answer) gets a fresh token and the pull completes")
    func forbiddenAfterExpiry() throws {
        try withTokenRegistry { work, registry, token in
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            try proxy.setFaults([.init(match: "/blobs/", fault: "status403", times: 1)])
            let config = work + "/config"
            try PullTests.writeDockerConfig(at: config, host: proxy.address, user: token.user, password: token.password)
            let before = token.requests().count
            let pulled = try Harness.run([Harness.binary, "pull", "\(proxy.address)/private/busybox:1", "--root", work + "/store"], environment: ["DOCKER_CONFIG": config])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            #expect(try proxy.requests(matching: "/blobs/").contains { $0.fault == "status403" })
            #expect(token.requests().count - before >= 2, "a fresh token after the 403")
        }
    }
}
