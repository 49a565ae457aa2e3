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
            let anonymous = try Harness.run(
                [Harness.binary, "pull", "\(registry.address)/public/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": none])
            #expect(anonymous.succeeded, "\(anonymous.stderr)")
            #expect(token.requests().contains { $0.scopes == ["repository:public/busybox:pull"] && !$0.authorized })

            let refused = try Harness.run(
                [Harness.binary, "pull", "\(registry.address)/private/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": none])
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains("layoutfs: error:") && refused.stderr.contains("401"), "\(refused.stderr)")

            let wrongConfig = work + "/wrong"
            try PullTests.writeDockerConfig(at: wrongConfig, host: registry.address, user: token.user, password: "wrong-password")
            let wrong = try Harness.run(
                [Harness.binary, "pull", "\(registry.address)/private/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": wrongConfig])
            #expect(!wrong.succeeded)
            #expect(wrong.stderr.contains("token"), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains("wrong-password"))

            let config = work + "/config"
            try PullTests.writeDockerConfig(at: config, host: registry.address, user: token.user, password: token.password)
            let pulled = try Harness.run(
                [Harness.binary, "pull", "\(registry.address)/private/busybox:1", "--root", store], environment: ["DOCKER_CONFIG": config])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            #expect(token.requests().contains { $0.scopes == ["repository:private/busybox:pull"] && $0.authorized })
            #expect(try Harness.layoutfs(["images"], store: store).stdout.contains("\(registry.address)/private/busybox:1"))
        }
    }

    @Test("an identity token (auths identitytoken, or a helper answering <token>) is exchanged by the OAuth2 refresh-token POST; a wrong one is refused")
    func identityToken() throws {
        try withTokenRegistry { work, registry, token in
            let reference = "\(registry.address)/private/busybox:1"
            // docker login's shape for an identity token: no auth, the token beside it.
            let fromFile = work + "/identity"
            try FileManager.default.createDirectory(atPath: fromFile, withIntermediateDirectories: true)
            try #"{"auths":{"\#(registry.address)":{"identitytoken":"\#(token.identityToken)"}}}"#
                .write(toFile: fromFile + "/config.json", atomically: true, encoding: .utf8)
            let pushes = token.requests().count
            let pulled = try Harness.run([Harness.binary, "pull", reference, "--root", work + "/store1"], environment: ["DOCKER_CONFIG": fromFile])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            let requests = token.requests().dropFirst(pushes)
            #expect(requests.allSatisfy { $0.grant != nil }, "every token of the pull came from a POST: \(requests)")
            let exchanges = requests.filter { $0.grant != nil }
            #expect(!exchanges.isEmpty, "the token came from a POST")
            #expect(exchanges.allSatisfy { $0.grant == "refresh_token" && $0.clientID == "layoutfs" && $0.authorized })
            #expect(exchanges.allSatisfy { $0.contentType == "application/x-www-form-urlencoded" })
            #expect(exchanges.contains { $0.scopes == ["repository:private/busybox:pull"] })

            // A credential helper answering Username "<token>": Secret is an identity token.
            let bin = work + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let helper = """
                #!/bin/sh
                [ "$1" = get ] || exit 1
                read server
                printf '{"ServerURL":"%s","Username":"<token>","Secret":"\(token.identityToken)"}' "$server"
                """
            // Written through an O_CLOEXEC descriptor: one inherited by a process another test
            // spawns meanwhile would make exec fail with ETXTBSY.
            let fd = open(bin + "/docker-credential-layoutfsidentity", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
            #expect(fd >= 0)
            _ = Array(helper.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let fromHelper = work + "/helper"
            try FileManager.default.createDirectory(atPath: fromHelper, withIntermediateDirectories: true)
            try #"{"credHelpers":{"\#(registry.address)":"layoutfsidentity"}}"#.write(toFile: fromHelper + "/config.json", atomically: true, encoding: .utf8)
            let before = token.requests().count
            let helped = try Harness.run(
                [Harness.binary, "pull", reference, "--root", work + "/store2"], environment: ["DOCKER_CONFIG": fromHelper, "PATH": path])
            #expect(helped.succeeded, "\(helped.stderr)")
            #expect(token.requests().dropFirst(before).contains { $0.grant == "refresh_token" && $0.authorized })

            // A token the server does not know: refused, saying so, never printing the token.
            let wrongFile = work + "/wrong-identity"
            try FileManager.default.createDirectory(atPath: wrongFile, withIntermediateDirectories: true)
            try #"{"auths":{"\#(registry.address)":{"identitytoken":"not-the-token-91c2"}}}"#
                .write(toFile: wrongFile + "/config.json", atomically: true, encoding: .utf8)
            let wrong = try Harness.run([Harness.binary, "pull", reference, "--root", work + "/store3"], environment: ["DOCKER_CONFIG": wrongFile])
            #expect(!wrong.succeeded)
            #expect(wrong.stderr.contains("layoutfs: error:") && wrong.stderr.contains("identity token") && wrong.stderr.contains("400"), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains("not-the-token-91c2"))
            #expect(token.requests().contains { $0.grant == "refresh_token" && !$0.authorized })
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
            let pulled = try Harness.run(
                [Harness.binary, "pull", "\(proxy.address)/private/busybox:1", "--root", work + "/store"], environment: ["DOCKER_CONFIG": config])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            #expect(try proxy.requests(matching: "/blobs/").contains { $0.fault == "status403" })
            #expect(token.requests().count - before >= 2, "a fresh token after the 403")
        }
    }
}
