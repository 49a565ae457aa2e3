import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper program (`fusermount3`) to completion and collects its stderr.
enum HelperProcess {
    /// Runs `arguments[0]` (looked up in `PATH`, `posix_spawnp`) with stdin and stdout on
    /// `/dev/null`; returns its exit status (128 + signal when killed) and stderr, trimmed.
    ///
    /// - Throws: ``MountError/Code/unmountFailed`` when it cannot be started.
    static func run(_ arguments: [String]) throws(MountError) -> (status: Int32, stderr: String) {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            throw MountError(
                code: .unmountFailed, message: "cannot run \(arguments[0]): no pipe", errno: .init(rawValue: errno))
        }
        // pipe2 is not visible without _GNU_SOURCE; only the child's dup2'ed stderr survives exec.
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)

        var argv = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for argument in argv { free(argument) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        guard spawned == 0 else {
            throw MountError(
                code: .unmountFailed, message: "cannot run \(arguments[0]) (is fuse3 installed?)",
                errno: .init(rawValue: spawned))
        }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let stderrPipe = FileDescriptor(rawValue: pipeFDs[0])
        while true {
            // EINTR is retried by swift-system; another failure ends the output.
            let count = (try? chunk.withUnsafeMutableBytes { try stderrPipe.read(into: $0) }) ?? -1
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = String(decoding: output, as: UTF8.self)
        return (exitStatus, text.trimmingCharacters(in: "\n "))
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
