import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Registries that cannot be reached (issue 12, case 4): an unknown host fails at once; a
/// refused connection is retried within a short budget, each retry announced on stderr
/// (`layoutfs: retrying in 1 s (attempt 3 of 5): connection refused (127.0.0.1:PORT)`);
/// `--retries N` bounds the attempts of pull, export, mount and the mount daemon's fetches; a
/// registry that comes back during the retries is used.
@Suite("unreachable registries", .serialized)
struct UnreachableRegistryTests {
    /// The `layoutfs: retrying in ...` lines of a command's stderr.
    static func retryLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("layoutfs: retrying in ") }
    }

    /// The demo image pushed to a fresh registry as team/app:1, which `body` may stop.
    func withPushedImage(_ body: (_ work: String, _ registry: RegistryServer) throws -> Void) throws {
        try Harness.require("skopeo", "docker-registry")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/app:1")
            try body(work, registry)
        }
    }

    @Test("pull from a port that refuses: four retries announced, then one error naming the refusal, within the budget")
    func refused() throws {
        try Harness.withWorkDirectory { work in
            let refusing = try RefusingPort()
            let started = ContinuousClock.now
            let result = try Harness.layoutfs(["pull", "127.0.0.1:\(refusing.port)/x/y:1"], store: work + "/store", expectSuccess: false)
            let elapsed = ContinuousClock.now - started
            #expect(!result.succeeded)
            let retries = Self.retryLines(result.stderr)
            #expect(retries.count == 4, "\(result.stderr)")
            for (i, line) in retries.enumerated() {
                #expect(line.hasSuffix("(attempt \(i + 2) of 5): connection refused (127.0.0.1:\(refusing.port))"), "\(line)")
            }
            #expect(result.stderr.contains("layoutfs: error: cannot connect to 127.0.0.1:\(refusing.port): connection refused"), "\(result.stderr)")
            // The default budget waits 0.5 + 1 + 2 + 4 = 7.5 s between the 5 attempts. 30 s is
            // a generous bound for a loaded 2-core machine that still fails the 54 s seen before
            // (each attempt kept reconnecting for the whole 10 s connect timeout).
            #expect(elapsed < .seconds(30), "took \(elapsed)")
        }
    }

    @Test("--retries N makes N + 1 attempts against a refusing port", arguments: [0, 2])
    func retriesOption(retries: Int) throws {
        try Harness.withWorkDirectory { work in
            let refusing = try RefusingPort()
            let result = try Harness.layoutfs(
                ["pull", "127.0.0.1:\(refusing.port)/x/y:1", "--retries", String(retries)], store: work + "/store", expectSuccess: false)
            #expect(!result.succeeded)
            let lines = Self.retryLines(result.stderr)
            #expect(lines.count == retries, "\(result.stderr)")
            for (i, line) in lines.enumerated() {
                #expect(line.contains("(attempt \(i + 2) of \(retries + 1)): connection refused"), "\(line)")
            }
            #expect(result.stderr.contains("layoutfs: error: cannot connect to 127.0.0.1:\(refusing.port): connection refused"), "\(result.stderr)")
        }
    }

    @Test("an unknown host fails at once: one clear error, no retry (not even a logged one)")
    func unknownHost() throws {
        try Harness.withWorkDirectory { work in
            // .invalid never resolves (RFC 6761). Debug logging shows retries that are not announced.
            let result = try Harness.layoutfs(["pull", "nonexistent.invalid/x/y:1", "--log-level", "debug"], store: work + "/store", expectSuccess: false)
            #expect(!result.succeeded)
            #expect(!result.stderr.localizedCaseInsensitiveContains("retrying"), "\(result.stderr)")
            #expect(result.stderr.contains("layoutfs: error: cannot resolve the registry host nonexistent.invalid"), "\(result.stderr)")
            #expect(result.stderr.components(separatedBy: "layoutfs: error:").count == 2, "\(result.stderr)")
        }
    }

    @Test("--retries outside 0...10 is refused with a clear message by pull, export and mount", arguments: ["pull", "export", "mount"])
    func retriesValidated(command: String) throws {
        try Harness.withWorkDirectory { work in
            let operands =
                switch command {
                case "pull": ["127.0.0.1:1/x/y:1"]
                case "export": ["x/y:1", "--materialize", work + "/out"]
                default: ["x/y:1", work]
                }
            for value in ["11", "-1"] {
                let result = try Harness.layoutfs([command] + operands + ["--retries=\(value)"], store: work + "/store", expectSuccess: false)
                #expect(!result.succeeded)
                #expect(result.stderr.contains("--retries must be between 0 and 10"), "\(command) --retries=\(value): \(result.stderr)")
            }
        }
    }

    @Test("a registry that comes back during the retries is used: the pull succeeds")
    func registryComesBack() throws {
        try withPushedImage { work, registry in
            registry.stop()
            let refusing = try RefusingPort()
            let store = work + "/store"
            // --retries 10 waits up to 65 s in all: room for the registry to start on a loaded machine.
            let child = try Harness.spawn([Harness.binary, "pull", "127.0.0.1:\(refusing.port)/team/app:1", "--root", store, "--retries", "10"])
            try LazyMountTests.waitUntil("the pull announces its first retry") { !Self.retryLines(child.readError()).isEmpty }
            refusing.release()
            let back = try RegistryServer(directory: work + "/registry", port: refusing.port)
            let status = Harness.wait(child.pid)
            #expect(status == 0, "\(child.readError())")
            let lines = Self.retryLines(child.readError())
            #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("connection refused (127.0.0.1:\(back.port))") }, "\(lines)")
            #expect(try Harness.layoutfs(["images"], store: store).stdout.contains("127.0.0.1:\(back.port)/team/app"))
        }
    }

    @Test("mount docker://REF of a refusing registry: --retries 1 announces one retry, then fails")
    func mountDockerReference() throws {
        try Harness.withWorkDirectory { work in
            let refusing = try RefusingPort()
            try FileManager.default.createDirectory(atPath: work + "/mnt", withIntermediateDirectories: true)
            let result = try Harness.layoutfs(
                ["mount", "docker://127.0.0.1:\(refusing.port)/x/y:1", work + "/mnt", "--retries", "1"], store: work + "/store", expectSuccess: false)
            #expect(!result.succeeded)
            let lines = Self.retryLines(result.stderr)
            #expect(lines.count == 1 && lines[0].hasSuffix("(attempt 2 of 2): connection refused (127.0.0.1:\(refusing.port))"), "\(result.stderr)")
            #expect(result.stderr.contains("layoutfs: error: cannot connect to 127.0.0.1:\(refusing.port): connection refused"), "\(result.stderr)")
        }
    }

    @Test("export of lazy blobs whose registry is gone: --retries 1 announces the retries, fails, and writes no index.json")
    func exportRefused() throws {
        try withPushedImage { work, registry in
            let reference = "\(registry.address)/team/app:1"
            let store = work + "/store"
            try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            registry.stop()
            let result = try Harness.layoutfs(["export", reference, "--materialize", work + "/out", "--retries", "1"], store: store, expectSuccess: false)
            #expect(!result.succeeded)
            let lines = Self.retryLines(result.stderr)
            // One line per lazy blob fetched at once, each its second and last attempt.
            #expect(!lines.isEmpty && lines.allSatisfy { $0.hasSuffix("(attempt 2 of 2): connection refused (\(registry.address))") }, "\(result.stderr)")
            #expect(result.stderr.contains("connection refused"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work + "/out/index.json"))
        }
    }

    @Test("a mount's lazy fetches obey --retries and announce each retry in the mount's log")
    func mountDaemonLog() throws {
        try Harness.requireFUSE()
        try withPushedImage { work, registry in
            let reference = "\(registry.address)/team/app:1"
            let store = work + "/store"
            try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount", reference, mnt, "--retries", "1", "--prefetch", "none", "--read-timeout", "10"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let log = try Harness.mountLog(mounted)
            registry.stop()
            // The layers are lazy: reading them fails once the fetch gives up.
            var failed = 0
            for blob in try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256") {
                if try Harness.run(["cat", mnt + "/blobs/sha256/" + blob]).status != 0 { failed += 1 }
            }
            #expect(failed > 0)
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.contains("retrying in 0.5 s (attempt 2 of 2): connection refused (\(registry.address))"), "\(text)")
            #expect(!text.contains("(attempt 3 of"), "\(text)")
        }
    }
}
