import ContentStore
import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two processes committing the same blobs into one store at the same moment. The second
/// process is this test binary again, running only `helper`, which is enabled by an
/// environment variable naming the shared directory.
@Suite("Ingest from two processes")
struct CrossProcessIngestTests {
    static let helperVariable = "LAYOUTFS_TEST_INGEST_HELPER"
    static let blobCount = 64
    static let blobSize = 64 << 10

    /// Commits every blob of `<dir>/source` (slices of `blobSize`) into `<dir>/content`.
    static func commitAll(in dir: String) -> [String] {
        var failures: [String] = []
        do {
            let store = try LocalContentStore(contentRoot: dir + "/content")
            let source = try readFile(dir + "/source")
            for i in 0..<blobCount {
                let bytes = Array(source[i * blobSize..<(i + 1) * blobSize])
                let ingest = try store.ingest()
                try ingest.write(bytes)
                try ingest.commit(digest: ImageBuilder.digest(of: bytes), size: Int64(blobSize))
            }
        } catch {
            failures.append("\(error)")
        }
        return failures
    }

    @Test("two processes committing the same blobs at once both succeed, with one correct file each")
    func twoProcesses() throws {
        try withTemporaryDirectory { dir in
            let source = ImageBuilder.randomBytes(Self.blobCount * Self.blobSize)
            try writeFile(dir + "/source", source)
            #expect(mkfifo(dir + "/ready", 0o600) == 0)
            let ready = open(dir + "/ready", O_RDONLY | O_NONBLOCK)
            #expect(ready >= 0)
            defer { close(ready) }

            var executable = [CChar](repeating: 0, count: 4096)
            let length = readlink("/proc/self/exe", &executable, executable.count - 1)
            #expect(length > 0)
            let pid = try spawn(
                String(decoding: executable.prefix(max(0, length)).map { UInt8(bitPattern: $0) }, as: UTF8.self),
                ["--testing-library", "swift-testing", "--filter", "CrossProcessIngestTests/helper"],
                environment: ["\(Self.helperVariable)=\(dir)"])

            // Wait (with a deadline) until the helper is about to commit, then commit too.
            var pollFD = pollfd(fd: ready, events: Int16(POLLIN), revents: 0)
            #expect(poll(&pollFD, 1, 120_000) == 1)
            let failures = Self.commitAll(in: dir)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}

            #expect(failures.isEmpty)
            #expect(status == 0, "helper exit status \(status)")
            #expect(pathExists(dir + "/helper-done"), "the helper did not run")
            let store = try LocalContentStore(contentRoot: dir + "/content")
            #expect(store.walk().count == Self.blobCount)
            for i in 0..<Self.blobCount {
                let bytes = Array(source[i * Self.blobSize..<(i + 1) * Self.blobSize])
                #expect(try readFile(store.path(of: ImageBuilder.digest(of: bytes))) == bytes)
            }
            #expect(listing(dir + "/content/ingest").isEmpty)
        }
    }

    /// The second process of `twoProcesses`; skipped unless that test started it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[helperVariable] != nil))
    func helper() throws {
        let dir = try #require(ProcessInfo.processInfo.environment[Self.helperVariable])
        let ready = open(dir + "/ready", O_WRONLY)
        #expect(ready >= 0)
        #expect(write(ready, "go", 2) == 2)
        close(ready)
        let failures = Self.commitAll(in: dir)
        #expect(failures.isEmpty)
        if failures.isEmpty { try writeFile(dir + "/helper-done", []) }
    }
}

/// Starts `path` with `arguments`, this process's environment plus `environment`
/// (`NAME=value`), stdin/stdout/stderr on /dev/null. posix_spawn, never fork: the test
/// process has threads. The caller reaps the child with `waitpid`.
private func spawn(_ path: String, _ arguments: [String], environment: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] {
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
    }
    let inherited = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = (inherited + environment).map { strdup($0) } + [nil]
    defer {
        for pointer in argv + envp { free(pointer) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
    guard result == 0 else { throw TestSupportError("posix_spawn \(path): \(String(cString: strerror(result)))") }
    return pid
}
