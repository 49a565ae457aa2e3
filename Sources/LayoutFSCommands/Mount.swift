import ArgumentParser
import CLinuxShims
import ContentStore
import Foundation
import Images
import LayoutFS
import LayoutFSMount
import Logging
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs mount IMAGE... MOUNTPOINT`: a live, read-only OCI layout of the images.
///
/// Without `--foreground` the command re-executes itself (`posix_spawn` of /proc/self/exe in a
/// new session, stdio to a log file under `<root>/logs/`) with `--foreground --ready-fd N`, and
/// returns once the child writes `ready` to that pipe, or fails with the child's error.
struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount images as a live, read-only OCI layout directory.",
        discussion: """
            The directory holds oci-layout, index.json (one entry per image name) and the blobs of \
            every image's closure, read from the store on demand. It is mounted read-only with type \
            fuse.layoutfs; unmount it with `layoutfs unmount MOUNTPOINT`.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: ArgumentHelp("Images (NAME[:TAG], NAME@sha256:..., sha256:...), then the mountpoint (an existing directory).", valueName: "image... mountpoint"))
    var arguments: [String]
    @OptionGroup var platform: PlatformOptions
    @Flag(help: "Stay in the foreground (logs to stderr) instead of returning once mounted.") var foreground = false
    @Flag(help: "Let other users read the mount (needs user_allow_other in /etc/fuse.conf for non-root users).") var allowOther = false
    @Option(help: .hidden) var readyFd: Int32?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func validate() throws {
        guard arguments.count >= 2 else { throw ValidationError("give at least one image and a mountpoint") }
    }

    func run() throws {
        // main.swift already blocked the termination signals before any thread existed
        // (LayoutFSCommand.prepareProcess); this is for callers that run the command directly.
        if foreground { MountDaemon.blockTerminationSignals() }
        let mountpoint = arguments.last!
        let store = try self.store.openStore()
        let images = try arguments.dropLast().map { try store.resolve(try ImageSpecifier(parsing: $0)) }
        let plan = try LayoutPlan(store: store, images: images, platform: try platform.parsed())
        try plan.requireLocal(images)
        var stderr = StandardError()
        for warning in plan.warnings { print("layoutfs: warning: \(warning)", to: &stderr) }
        try Unmounter.removeStaleMount(at: mountpoint)
        if let type = MountTable.isMountpoint(mountpoint) {
            throw CommandFailure("\(mountpoint) is already a mountpoint (\(type)): unmount it first (layoutfs unmount \(mountpoint))")
        }
        try PathChecks.refuseInsideStore(mountpoint, store: store, what: "mountpoint")
        if let outer = PathChecks.enclosingLayoutFSMount(of: mountpoint) {
            throw CommandFailure("\(mountpoint) is inside the layoutfs mount \(outer): choose a directory outside it")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: mountpoint, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("mountpoint \(mountpoint) is not an existing directory")
        }
        if foreground {
            try serve(plan: plan, store: store, mountpoint: mountpoint)
        } else {
            try startInBackground(store: store, mountpoint: mountpoint, images: images)
        }
    }

    private func serve(plan: LayoutPlan, store: Store, mountpoint: String) throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        var logger = Logger(label: "layoutfs.mount") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        let tree = LayoutTree(
            index: plan.indexBytes, blobs: plan.blobs, provider: store.content, modificationTime: Int64(Date().timeIntervalSince1970))
        let readyFd = self.readyFd
        try MountDaemon.run(tree: tree, mountpoint: mountpoint, options: MountOptions(allowOther: allowOther), logger: logger) {
            guard let readyFd else { return }
            _ = "ready\n".withCString { write(readyFd, $0, 6) }
            close(readyFd)
        }
        logger.info("unmounted", metadata: ["mountpoint": "\(mountpoint)"])
    }

    private func startInBackground(store: Store, mountpoint: String, images: [ResolvedImage]) throws {
        let logDirectory = store.location.root + "/logs"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        let logPath = "\(logDirectory)/mount-\(getpid())-\(Int(Date().timeIntervalSince1970)).log"
        let logFd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard logFd >= 0 else { throw CommandFailure("cannot create the mount log \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFd) }
        var pipe: [Int32] = [-1, -1]
        guard lfs_ready_pipe(&pipe) == 0 else { throw CommandFailure("cannot create a pipe: \(String(cString: strerror(errno)))") }
        let argv = ["layoutfs"] + Array(CommandLine.arguments.dropFirst()) + ["--foreground", "--ready-fd", String(pipe[1])]
        var pid: pid_t = 0
        let rc = withCStrings(argv) { argvPointers in
            withCStrings(ProcessInfo.processInfo.environment.map { "\($0)=\($1)" }) { envPointers in
                lfs_spawn_daemon("/proc/self/exe", argvPointers, envPointers, logFd, &pid)
            }
        }
        close(pipe[1])
        defer { close(pipe[0]) }
        guard rc == 0 else { throw CommandFailure("cannot start the mount daemon: \(String(cString: strerror(rc)))") }
        var buffer = [UInt8](repeating: 0, count: 16)
        var n: Int
        repeat { n = read(pipe[0], &buffer, buffer.count) } while n < 0 && errno == EINTR
        if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix("ready") {
            let names = images.map { $0.name ?? $0.root.digest.description }.joined(separator: ", ")
            print("mounted \(names) at \(mountpoint) (pid \(pid), log \(logPath))")
            return
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let lastLines = log.split(separator: "\n").suffix(5).map { line in
            line.hasPrefix("layoutfs: error: ") ? String(line.dropFirst("layoutfs: error: ".count)) : String(line)
        }
        throw CommandFailure("the mount did not start: \(lastLines.joined(separator: "\n"))\n(full log: \(logPath))")
    }
}

/// Runs `body` with a NULL-terminated C array of `strings`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
