import Foundation
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

    /// Runs `arguments[0]` with the rest, waiting for it to exit.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> RunResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0].hasPrefix("/") ? arguments[0] : "/usr/bin/env")
        process.arguments = arguments[0].hasPrefix("/") ? Array(arguments.dropFirst()) : arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let group = DispatchGroup()
        let errBox = DataBox()
        DispatchQueue.global().async(group: group) { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return RunResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Runs and requires success, recording stdout/stderr on failure.
    @discardableResult
    static func runOK(_ arguments: [String], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        let result = try run(arguments, environment: environment)
        #expect(result.succeeded, "\(arguments.joined(separator: " ")) exited \(result.status)\nstdout: \(result.stdout)\nstderr: \(result.stderr)", sourceLocation: sourceLocation)
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

    /// The demo image: built by umoci from busybox-static, two layers (scripts/make-demo-image).
    static func makeDemoImage(at path: String, tag: String = "1.35") throws {
        try require("umoci", "busybox")
        try runOK([repositoryRoot + "/scripts/make-demo-image", path, tag])
    }

    /// Runs the layoutfs binary with a store at `store`.
    @discardableResult
    static func layoutfs(_ arguments: [String], store: String, expectSuccess: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        let result = try run([binary] + arguments + ["--root", store])
        if expectSuccess {
            #expect(result.succeeded, "layoutfs \(arguments.joined(separator: " ")) exited \(result.status)\nstdout: \(result.stdout)\nstderr: \(result.stderr)", sourceLocation: sourceLocation)
            if !result.succeeded { throw HarnessError("layoutfs \(arguments.first ?? "") failed") }
        }
        return result
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

final class DataBox: @unchecked Sendable {
    var data = Data()
}
