import CLinuxShims
import Foundation
import OCISpec
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real CNCF distribution registry (Debian `docker-registry`) on 127.0.0.1, with filesystem
/// storage in a temporary directory, started for a test and stopped with it.
final class RegistryServer {
    let port: Int
    let directory: String
    private let child: Harness.Child
    private var stopped = false

    /// `host:port`.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts a registry; `htpasswd` (a bcrypt htpasswd file) turns on basic auth, `token`
    /// the bearer token flow with that token server. `port` asks for that port (a registry
    /// that comes back where it was); else a free one is taken.
    init(directory: String, htpasswd: String? = nil, token: TokenServer? = nil, port fixedPort: Int? = nil) throws {
        try Harness.require("docker-registry")
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        // The port is free when asked for but released before the registry binds it, so a test
        // running in parallel can take it first: then the registry starts again on another.
        var attempt = 0
        while true {
            let port = try fixedPort ?? Self.freePort()
            try Self.configuration(directory: directory, port: port, htpasswd: htpasswd, token: token)
                .write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
            let child = try Harness.spawn(["docker-registry", "serve", directory + "/config.yml"])
            let error = Self.waitUntilListening(child, port: port)
            guard let error else {
                self.port = port
                self.child = child
                return
            }
            attempt += 1
            if error.contains("address already in use"), attempt < 5, fixedPort == nil { continue }
            Issue.record("docker-registry did not start on port \(port): \(error)")
            throw HarnessError("registry did not start")
        }
    }

    private static func configuration(directory: String, port: Int, htpasswd: String?, token: TokenServer?) -> String {
        var config = """
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: \(directory)/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            """
        if let htpasswd {
            config += """

                auth:
                  htpasswd:
                    realm: layoutfs-test
                    path: \(htpasswd)
                """
        }
        if let token {
            config += """

                auth:
                  token:
                    realm: http://127.0.0.1:\(token.port)/token
                    service: layoutfs-test-registry
                    issuer: layoutfs-test-issuer
                    rootcertbundle: \(token.directory)/cert.pem
                """
        }
        return config
    }

    deinit { stop() }

    /// Stops the registry (its data stays in `directory`); nothing listens on `port` then.
    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(child.pid, SIGTERM)
        _ = Harness.wait(child.pid)
    }

    /// Connects until the registry accepts (bounded: 20 s); nil then, else why it did not
    /// (its stderr when it exited; a stuck child is killed).
    private static func waitUntilListening(_ child: Harness.Child, port: Int) -> String? {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if canConnect(port) { return nil }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid { return "exited at start: \(child.readError())" }
            usleep(20_000)
        }
        kill(child.pid, SIGKILL)
        _ = Harness.wait(child.pid)
        return "did not listen within 20 s"
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A port the kernel just handed out (bound to port 0, then released).
    static func freePort() throws -> Int {
        let (fd, port) = try RefusingPort.bindLoopback()
        close(fd)
        return port
    }

    /// A registry in `work/registry` holding the demo image (built in `work/src`) as
    /// `repository` (`team/lazy:1`).
    /// - Returns: the registry (it stops when released: keep it) and the image's reference.
    static func holdingDemo(_ work: String, as repository: String) throws -> (registry: RegistryServer, reference: String) {
        let registry = try RegistryServer(directory: work + "/registry")
        try Harness.makeDemoImage(at: work + "/src")
        try registry.push(layout: work + "/src", tag: "1.35", to: repository)
        return (registry, "\(registry.address)/\(repository)")
    }

    /// Pushes `oci:LAYOUT:TAG` to `repository:tag` with skopeo.
    /// `skopeo copy` of a layout's tag; `format` "v2s2" pushes it Docker-typed.
    func push(layout: String, tag: String, to repository: String, credentials: String? = nil, format: String? = nil) throws {
        var arguments = ["skopeo", "copy", "--dest-tls-verify=false"]
        if let credentials { arguments += ["--dest-creds", credentials] }
        if let format { arguments += ["--format", format] }
        try Harness.runOK(arguments + ["oci:\(layout):\(tag)", "docker://\(address)/\(repository)"])
    }

    /// Pushes every blob of `layout` and `manifest`'s bytes unchanged as `repository:tag`
    /// (skopeo would re-encode the manifest): Tests/Fixtures/push-raw.py. When `manifest` is an
    /// index, `children` are its manifests (and indexes), pushed by digest before it.
    func pushRaw(layout: String, manifest: Descriptor, children: [Descriptor] = [], tag: String, to repository: String) throws {
        try Harness.require("python3")
        try Harness.runOK(
            [
                "/usr/bin/python3", Harness.repositoryRoot + "/Tests/Fixtures/push-raw.py", address, repository, tag, layout, manifest.digest.description,
                manifest.mediaType.rawValue,
            ] + children.map { "\($0.digest)=\($0.mediaType.rawValue)" })
    }
}

/// The test token server (Tests/Fixtures/token-server.py): ES256 JWTs with an x5c certificate
/// that the registry trusts; `public/` repositories are open, others need the user's password,
/// or `identityToken` exchanged as an OAuth2 refresh token (POST, distribution spec oauth.md).
final class TokenServer {
    let directory: String
    let port: Int
    let user: String
    let password: String
    let identityToken: String
    private let child: Harness.Child

    init(directory: String, user: String = "tester", password: String = "s3cret", identityToken: String = "identity-token-7f3e", expiresIn: Int = 300) throws {
        try Harness.require("python3")
        self.directory = directory
        self.user = user
        self.password = password
        self.identityToken = identityToken
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        (child, port) = try Harness.startServer(
            ["/usr/bin/python3", Harness.repositoryRoot + "/Tests/Fixtures/token-server.py", directory, user, password, String(expiresIn), identityToken],
            directory: directory, name: "token server")
    }

    deinit {
        kill(child.pid, SIGTERM)
        _ = Harness.wait(child.pid)
    }

    /// A token request: its scopes, whether it was granted as the user, and for a POST (the
    /// OAuth2 exchange) its `grant_type`, `client_id` and Content-Type (nil for a GET).
    struct Request {
        var scopes: [String]
        var authorized: Bool
        var grant: String?
        var clientID: String?
        var contentType: String?
    }

    /// Token requests so far, in order.
    func requests() -> [Request] {
        let text = (try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(
                scopes: (object["scopes"] as? [String]) ?? [], authorized: (object["authorized"] as? Bool) ?? false,
                grant: object["grant"] as? String, clientID: object["client_id"] as? String, contentType: object["content_type"] as? String)
        }
    }
}
