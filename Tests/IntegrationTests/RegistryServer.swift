import CLinuxShims
import Foundation
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

    /// `host:port`.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts a registry; `htpasswd` (a bcrypt htpasswd file) turns on basic auth.
    init(directory: String, htpasswd: String? = nil) throws {
        try Harness.require("docker-registry")
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        port = try Self.freePort()
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
        try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        child = try Harness.spawn(["docker-registry", "serve", directory + "/config.yml"])
        try waitUntilListening()
    }

    deinit {
        kill(child.pid, SIGTERM)
        _ = Harness.wait(child.pid)
    }

    /// Connects until the registry accepts (bounded: 20 s), failing loudly if it exits.
    private func waitUntilListening() throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if Self.canConnect(port) { return }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                Issue.record("docker-registry exited at start: \(child.readError())")
                throw HarnessError("registry did not start")
            }
            usleep(20_000)
        }
        Issue.record("docker-registry did not listen on \(port) within 20 s")
        throw HarnessError("registry did not start")
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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw HarnessError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Pushes `oci:LAYOUT:TAG` to `repository:tag` with skopeo.
    func push(layout: String, tag: String, to repository: String, credentials: String? = nil) throws {
        var arguments = ["skopeo", "copy", "--dest-tls-verify=false"]
        if let credentials { arguments += ["--dest-creds", credentials] }
        try Harness.runOK(arguments + ["oci:\(layout):\(tag)", "docker://\(address)/\(repository)"])
    }
}
