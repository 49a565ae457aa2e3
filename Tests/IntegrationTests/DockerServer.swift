import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real dockerd of its own (Debian's docker.io 20.10: data, exec root and socket in the test's
/// directory, no bridge, no iptables, the vfs storage driver), for `docker load`.
final class DockerServer {
    let socket: String
    private let child: Harness.Child

    init(directory: String) throws {
        try Harness.require("dockerd", "docker")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socket = directory + "/docker.sock"
        child = try Harness.spawn([
            "dockerd", "--data-root", directory + "/root", "--exec-root", directory + "/exec", "--pidfile", directory + "/docker.pid",
            "--host", "unix://" + socket, "--bridge", "none", "--iptables=false", "--ip6tables=false", "--storage-driver", "vfs",
        ])
        let socket = self.socket
        try LazyMountTests.waitUntil("dockerd listens") { try Harness.run(["docker", "-H", "unix://" + socket, "version"]).succeeded }
    }

    deinit {
        kill(child.pid, SIGTERM)
        _ = Harness.wait(child.pid)
    }

    /// `docker ARGUMENTS` against this daemon, with `input` (a file) as standard input.
    func run(_ arguments: [String], input: String? = nil) throws -> RunResult {
        let command = (["docker", "-H", "unix://" + socket] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try Harness.run(["sh", "-c", command + (input.map { " < '\($0)'" } ?? "")])
    }
}
