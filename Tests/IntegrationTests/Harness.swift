import CLinuxShims
import Foundation
import Registry
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The result of running a program.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var succeeded: Bool { status == 0 }
}

/// Runs real programs (the layoutfs binary, skopeo, umoci, oci-image-tool) for integration
/// tests. Everything a test needs must be there: a missing tool fails the test loudly.
enum Harness {
    /// The repository root (for scripts/).
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The layoutfs binary under test: `$LAYOUTFS_BINARY` (set by scripts/test), else the
    /// debug build next to the tests.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["LAYOUTFS_BINARY"], !path.isEmpty { return path }
        return repositoryRoot + "/.build/debug/layoutfs"
    }

    /// Checks that a tool is installed; records a failure naming the install command otherwise.
    static func require(_ tools: String...) throws {
        for tool in tools {
            let found = ["/usr/bin/", "/usr/sbin/", "/bin/", "/usr/local/bin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + tool) }
            guard found else {
                Issue.record("\(tool) is not installed: run scripts/setup (apt-get install)")
                throw HarnessError("missing tool \(tool)")
            }
        }
    }

    /// Checks that FUSE can be used here; fails loudly otherwise.
    static func requireFUSE() throws {
        guard access("/dev/fuse", R_OK | W_OK) == 0 else {
            Issue.record("/dev/fuse is missing or not accessible: FUSE tests cannot run")
            throw HarnessError("no /dev/fuse")
        }
        try require("fusermount3")
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            Issue.record("the layoutfs binary is missing at \(binary): build with swift build")
            throw HarnessError("no binary")
        }
    }

    /// Runs `arguments[0]` (searched on PATH) with the rest and waits for it to exit.
    /// stdout and stderr go to temporary files (no pipes a stray child could hold open), and
    /// the child is reaped with a blocking `waitpid` (Foundation's Process can miss the exit).
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> RunResult {
        let pid = try spawn(arguments, environment: environment)
        let status = wait(pid.pid)
        defer {
            unlink(pid.outputPath)
            unlink(pid.errorPath)
        }
        return RunResult(status: status, stdout: pid.readOutput(), stderr: pid.readError())
    }

    /// A started child process with its output files.
    struct Child {
        var pid: pid_t
        var outputPath: String
        var errorPath: String
        func readOutput() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        func readError() -> String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
    }

    /// Starts a child without waiting for it (stdin from /dev/null).
    static func spawn(_ arguments: [String], environment: [String: String] = [:]) throws -> Child {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let base = "/tmp/layoutfs-test-output-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let outFd = open(base + ".out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let errFd = open(base + ".err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let inFd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            close(outFd)
            close(errFd)
            close(inFd)
        }
        var pid: pid_t = 0
        let rc = withCStrings(arguments) { argv in
            withCStrings(env.map { "\($0)=\($1)" }) { envp in lfs_spawn(arguments[0], argv, envp, inFd, outFd, errFd, &pid) }
        }
        guard rc == 0 else { throw HarnessError("cannot run \(arguments[0]): \(String(cString: strerror(rc)))") }
        return Child(pid: pid, outputPath: base + ".out", errorPath: base + ".err")
    }

    /// Starts a helper server that writes the port it listens on to `directory/port`, and waits
    /// (bounded: 20 s, by connecting) until it accepts; fails loudly if it exits or never does.
    static func startServer(_ arguments: [String], directory: String, name: String) throws -> (Child, Int) {
        let child = try spawn(arguments)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: directory + "/port", encoding: .utf8), let port = Int(text), RegistryServer.canConnect(port) {
                return (child, port)
            }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid { break }
            usleep(20_000)
        }
        kill(child.pid, SIGKILL)
        _ = wait(child.pid)
        Issue.record("the \(name) did not start: \(child.readError())")
        throw HarnessError("no \(name)")
    }

    /// Waits for a child and returns its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// Runs and requires success, recording stdout/stderr on failure.
    @discardableResult
    static func runOK(_ arguments: [String], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        let result = try run(arguments, environment: environment)
        #expect(
            result.succeeded, "\(arguments.joined(separator: " ")) exited \(result.status)\nstdout: \(result.stdout)\nstderr: \(result.stderr)",
            sourceLocation: sourceLocation)
        if !result.succeeded { throw HarnessError("\(arguments[0]) failed") }
        return result
    }

    /// A fresh directory under /tmp/layoutfs-tests, removed when `body` returns.
    static func withWorkDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let base = ProcessInfo.processInfo.environment["LAYOUTFS_TEST_WORK"] ?? "/tmp/layoutfs-tests"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let path = base + "/" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer {
            // Never recurse into a live mount: unmount leftovers first.
            for line in (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8))?.split(separator: "\n") ?? [] {
                let fields = line.split(separator: " ")
                if fields.count > 4, fields[4].hasPrefix(path) { _ = try? run(["fusermount3", "-u", "-z", String(fields[4])]) }
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        return try body(path)
    }

    /// `withWorkDirectory` for async bodies.
    static func withWorkDirectoryAsync<T>(_ body: (String) async throws -> T) async throws -> T {
        let base = ProcessInfo.processInfo.environment["LAYOUTFS_TEST_WORK"] ?? "/tmp/layoutfs-tests"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let path = base + "/" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            let result = try await body(path)
            try? FileManager.default.removeItem(atPath: path)
            return result
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// The demo image: built by umoci from busybox-static, two layers (scripts/make-demo-image).
    static func makeDemoImage(at path: String, tag: String = "1.35") throws {
        try require("umoci", "busybox")
        try runOK([repositoryRoot + "/scripts/make-demo-image", path, tag])
    }

    /// The demo image built at `work/src` and imported into `store` as demo/busybox:1.35.
    @discardableResult
    static func importDemo(work: String, store: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        try makeDemoImage(at: work + "/src")
        return try layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store, sourceLocation: sourceLocation)
    }

    /// The setup of most mount tests: the demo image imported into `work/store`, and an empty
    /// directory `work/mnt` to mount it at.
    static func demoStore(_ work: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (store: String, mnt: String) {
        let (store, mnt) = (work + "/store", work + "/mnt")
        try importDemo(work: work, store: store, sourceLocation: sourceLocation)
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        return (store, mnt)
    }

    /// Runs the layoutfs binary with a store at `store`.
    @discardableResult
    static func layoutfs(_ arguments: [String], store: String, expectSuccess: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> RunResult
    {
        let result = try run([binary] + arguments + ["--root", store])
        if expectSuccess {
            #expect(
                result.succeeded, "layoutfs \(arguments.joined(separator: " ")) exited \(result.status)\nstdout: \(result.stdout)\nstderr: \(result.stderr)",
                sourceLocation: sourceLocation)
            if !result.succeeded { throw HarnessError("layoutfs \(arguments.first ?? "") failed") }
        }
        return result
    }

    /// The log file a background `layoutfs mount` names at the end of its line
    /// ("mounted ... (pid N, log PATH)").
    static func mountLog(_ mounted: RunResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(mounted.stdout.split(separator: " ").last.map { String($0.dropLast(2)) }, sourceLocation: sourceLocation)
    }

    static func sha256(ofFile path: String) throws -> String {
        let result = try runOK(["sha256sum", path])
        return String(result.stdout.prefix(64))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
