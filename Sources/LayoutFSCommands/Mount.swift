import ArgumentParser
import CLinuxShims
import ContainerdStore
import ContentStore
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LayoutFSMount
import LazyBlobs
import Logging
import OCISpec
import Registry
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs mount IMAGE... MOUNTPOINT`: a live, read-only OCI layout of the images.
///
/// Without `--foreground` the command re-executes itself (`posix_spawn` of /proc/self/exe in a
/// new session, stdio to a log file under `<root>/logs/`) with `--foreground --ready-fd N`, and
/// returns once the child writes `ready` to that pipe, or fails with the child's error.
struct Mount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount images as a live, read-only OCI layout directory.",
        discussion: """
            The directory holds oci-layout, index.json (one entry per image name) and the blobs of \
            every image's closure, read from the store on demand. It is mounted read-only with type \
            fuse.layoutfs; unmount it with `layoutfs unmount MOUNTPOINT`.

            Lazy blobs (pull --lazy, or docker://REF here) are fetched from their registry when \
            read, in 1 MiB chunks cached under <root>/cache, verified against their digest (the \
            read that reaches a blob's last byte waits for it), and committed to the store once \
            complete. The xattr user.layoutfs.state of a blob says local, lazy P/N or fetching P/N.

            With --rootfs the directory shows one image's root filesystem instead, as `umoci \
            unpack` would produce it, without unpacking: each layer is indexed once (kept in the \
            store under <root>/layer-index), verified against the config's diff_ids, and files are \
            read from their layer on demand. The xattr user.layoutfs.layer names a file's layer.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(
        help: ArgumentHelp(
            "Images (NAME[:TAG], NAME@sha256:..., sha256:... or its first 12+ hex digits), then the mountpoint (an existing directory).",
            valueName: "image|mountpoint"), completion: ShellCompletion.imagesAndDirectories)
    var arguments: [String]
    @OptionGroup var platform: PlatformOptions
    @OptionGroup var format: FormatOptions
    @Flag(
        help:
            "Show the image's root filesystem (its layers applied, for one platform: --platform, else this machine's) instead of an OCI layout. One image only."
    )
    var rootfs = false
    @Flag(help: "Stay in the foreground (logs to stderr) instead of returning once mounted.") var foreground = false
    @Flag(help: "Let other users read the mount (needs user_allow_other in /etc/fuse.conf for non-root users).") var allowOther = false
    @Option(help: .hidden) var readyFd: Int32?
    /// The daemon's request (a ``MountRequest``, JSON), in an inherited memfd.
    @Option(help: .hidden) var requestFd: Int32?
    @Option(help: "Log level, on stderr or in a background mount's log file.") var logLevel: LogLevel = .info
    @Option(help: "After the first read of a lazy blob: on-touch (fetch the rest in the background) or none.")
    var prefetch: LazyReadOptions.Prefetch = .onTouch
    @Option(help: "Which reads of a lazy blob wait for its digest: eof (the read reaching the last byte) or strict (every read).")
    var verify: LazyReadOptions.Verification = .eof
    @Option(help: "Seconds a read may wait for lazy bytes before it fails with EIO.") var readTimeout = 30
    @Option(help: "Seconds the blobs of a previous index.json stay readable after a followed name moves.") var grace = 300
    @Option(
        help:
            "FUSE passthrough (Linux 6.9+, root): auto (negotiate it, so that the kernel can read local blobs itself; where it cannot, the log says why and reads go through the daemon) or off."
    )
    var passthrough: PassthroughMode = .auto
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var contentDirectory: ContentOptions
    @OptionGroup var containerd: ContainerdOptions

    func validate() throws {
        guard arguments.count >= 2 else { throw ValidationError("give at least one image and a mountpoint") }
        if rootfs {
            guard arguments.count == 2 else { throw ValidationError("--rootfs shows one image's files: give one image and a mountpoint") }
            guard format.format == nil, !format.oci else { throw ValidationError("--rootfs shows files, not a layout: --format and --oci do not apply") }
        }
        guard (0...86_400).contains(grace) else { throw ValidationError("--grace must be between 0 and 86400 seconds") }
        guard (1...86_400).contains(readTimeout) else { throw ValidationError("--read-timeout must be between 1 and 86400 seconds") }
    }

    func run() async throws {
        // main.swift already blocked the termination signals before any thread existed
        // (LayoutFSCommand.prepareProcess); this is for callers that run the command directly.
        if foreground { MountDaemon.blockTerminationSignals() }
        for fd in [readyFd, requestFd].compactMap({ $0 }) { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        do {
            try await mount()
        } catch  where readyFd != nil && LayoutFSCommand.isOurs(error) {
            // The parent prints this line as its own error (the log keeps it too).
            report("error: \(error)")
            throw error
        }
    }

    /// Writes one line to the parent waiting on `--ready-fd` (nothing in the foreground).
    private func report(_ line: String) { Self.report(line, to: readyFd) }

    /// - Returns: false when the parent is gone (the pipe's read end is closed: `EPIPE`).
    @discardableResult
    private static func report(_ line: String, to readyFd: Int32?) -> Bool {
        guard let readyFd else { return true }
        let written = "\(line)\n".withCString { write(readyFd, $0, strlen($0)) }
        return !(written < 0 && errno == EPIPE)
    }

    private func mount() async throws {
        if let requestFd {
            // The daemon: the parent resolved and checked, and holds prune off until
            // the lease exists. It outlives the command, so it must not keep the directory it
            // was started in busy (unmounting the file system holding it would fail with
            // EBUSY): relative paths are made absolute, then it moves to /.
            let mountpoint = try MountTable.canonicalMountpoint(arguments.last!)
            // containerd is connected to while the store opens (the socket made absolute first).
            let (socket, namespace) = (containerd.socket, containerd.chosenNamespace)
            let connecting = containerd.isEnabled ? Task { try await ContainerdSource.connect(socket: socket, namespace: namespace) } : nil
            let own = try contentDirectory.absolute().apply(to: try self.store.absolute().openStore())
            let source = try await connecting?.value
            if source != nil, contentDirectory.content != nil { throw CommandFailure("--content and --containerd both give a content directory: give one") }
            let store = try await source?.applied(to: own) ?? own
            guard chdir("/") == 0 else { throw CommandFailure("cannot change directory to /: \(String(cString: strerror(errno)))") }
            var request = try MountRequest(bytes: try Self.readRequest(requestFd))
            try Self.checkRequest(request, mountpoint: mountpoint, store: store)
            if !request.unresolved.isEmpty {
                // Left to the daemon by a command that did not connect to containerd.
                let changeCount = try? store.images.changeCount()
                request.images = try await resolve(request.unresolved, in: store, source: source)
                (request.unresolved, request.changeCount) = ([], changeCount)
            }
            try await serve(request, store: store, source: source, leased: {})
            return
        }
        // With --containerd, a command that starts a daemon leaves containerd to it: the daemon
        // connects anyway, for its lease (one gRPC connection fewer before the mount is ready).
        let deferred = containerd.isEnabled && !foreground
        if deferred, contentDirectory.content != nil { throw CommandFailure("--content and --containerd both give a content directory: give one") }
        let (store, source) =
            deferred
            ? (try contentDirectory.apply(to: try self.store.openStore()), nil)
            : try await containerd.apply(to: try contentDirectory.apply(to: try self.store.openStore()), content: contentDirectory.content)
        let request = try await decide(store: store, source: source, deferred: deferred)
        if foreground {
            try await serve(request.request, store: store, source: source, leased: { request.gcLock.release() })
        } else {
            try startInBackground(request.request, store: store)
            request.gcLock.release()
        }
    }

    /// The daemon's checks of a request it did not write: it names the mountpoint of the
    /// command line (`mountpoint`, as the kernel names it), outside the store and outside any
    /// layoutfs mount, and a directory unless something is mounted there (checked under the
    /// mount lock; a `stat` there could hang on a stopped daemon).
    private static func checkRequest(_ request: MountRequest, mountpoint: String, store: Store) throws {
        guard request.mountpoint == mountpoint else {
            throw CommandFailure("the mount request names the mountpoint \(request.mountpoint), the command line \(mountpoint): not mounting")
        }
        try checkPlacement(mountpoint, store: store)
        var info = stat()
        if try MountTable.entry(at: mountpoint) == nil, stat(mountpoint, &info) != 0 || info.st_mode & S_IFMT != S_IFDIR {
            throw CommandFailure("mountpoint \(mountpoint) is not an existing directory")
        }
    }

    /// - Throws: when `mountpoint` is inside the store or inside a layoutfs mount.
    private static func checkPlacement(_ mountpoint: String, store: Store) throws {
        try PathChecks.refuseInsideStore(mountpoint, store: store, what: "mountpoint")
        if let outer = PathChecks.enclosingLayoutFSMount(of: mountpoint) {
            throw CommandFailure("\(mountpoint) is inside the layoutfs mount \(outer): choose a directory outside it")
        }
    }

    /// Resolves the images once (pulling `docker://REF` lazily first), checks the mountpoint and
    /// holds prune off until the daemon's lease exists. The daemon plans (``MountService``).
    private func decide(store: Store, source: ContainerdSource?, deferred: Bool) async throws -> (request: MountRequest, gcLock: GCLock) {
        // As the kernel will name it (symlinks followed, no trailing "/"): every check, the lock's
        // included, and the mount record see the one path.
        let mountpoint = try Self.mountpoint(arguments)
        let gcLock = try self.store.holdAgainstPrune(store)
        var specifiers = try arguments.dropLast().map { try ImageSpecifier(parsing: $0) }
        if containerd.isEnabled { try ContainerdResolution.refuseRegistryReferences(specifiers) }
        // docker://REF: pull --lazy first (manifests and configs only), then REF.
        specifiers = try await DockerReferencePull.pullLazily(specifiers, into: store, registry: registry, platform: try platform.parsed())
        let changeCount = try? store.images.changeCount()
        // What containerd lacks is completed by the daemon, when its plan finds a blob missing
        // (ContainerdMount.complete): a walk of the image's closure here would be a second one.
        let images = deferred ? [] : try await resolve(specifiers, in: store, source: source)
        let shape = try format.shape(platform)
        // A quick answer before a daemon starts; the daemon checks again under the mount lock
        // (and removes a stale mount there).
        let state = try Unmounter.state(of: mountpoint)
        if case .mounted(let type) = state { throw Unmounter.alreadyMounted(mountpoint, type: type) }
        try Self.checkPlacement(mountpoint, store: store)
        // A stale mount answers nothing (ENOTCONN): the daemon detaches it and the kernel checks
        // the directory beneath.
        var isDirectory: ObjCBool = false
        if state == .notMounted, !FileManager.default.fileExists(atPath: mountpoint, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw CommandFailure("mountpoint \(mountpoint) is not an existing directory")
        }
        let request = MountRequest(
            mountpoint: mountpoint, images: images, changeCount: deferred ? nil : changeCount, shape: shape, unresolved: deferred ? specifiers : [],
            rootfs: rootfs)
        return (request, gcLock)
    }

    /// The IMAGE arguments resolved (against containerd's names with `source`), each with how
    /// it is followed: a digest prefix stands for what it resolved to, the digest it pins or
    /// the name to follow (bare hex that no digest starts with).
    private func resolve(_ given: [ImageSpecifier], in store: Store, source: ContainerdSource?) async throws -> [MountRequest.Image] {
        var specifiers = given
        let resolved: [ResolvedImage]
        if let source {
            resolved = try await ContainerdResolution.resolve(specifiers, in: store, source: source)
        } else {
            resolved = try specifiers.map { try store.resolve($0) }
        }
        for (i, specifier) in specifiers.enumerated() {
            guard case .digestPrefix = specifier else { continue }
            specifiers[i] = try resolved[i].name.map { ImageSpecifier.name(try ImageReference(parsing: $0)) } ?? .digest(resolved[i].root.digest)
        }
        return zip(specifiers, try contentDirectory.name(resolved)).map { MountRequest.Image(specifier: $0, resolved: $1) }
    }

    /// The mountpoint (the last argument) as the kernel will name it; when it does not exist but
    /// the first argument is a directory, says that the mountpoint comes last.
    private static func mountpoint(_ arguments: [String]) throws -> String {
        let last = arguments.last!
        var isDirectory: ObjCBool = false
        if arguments.count > 1, !FileManager.default.fileExists(atPath: last),
            FileManager.default.fileExists(atPath: arguments[0], isDirectory: &isDirectory), isDirectory.boolValue
        {
            throw CommandFailure(
                "the mountpoint comes last: layoutfs mount IMAGE... MOUNTPOINT (\(last) does not exist; \(arguments[0]) is a directory)")
        }
        return try MountTable.canonicalMountpoint(last)
    }

    /// Serves `request` until unmounted (``MountService``); `leased` lets prune run again.
    private func serve(_ request: MountRequest, store: Store, source: ContainerdSource?, leased: () -> Void) async throws {
        var mountLogger = Logger(label: "layoutfs.mount") { StreamLogHandler.standardError(label: $0) }
        mountLogger.logLevel = logLevel.level
        let logger = mountLogger
        let settings = MountService.Settings(
            mount: MountOptions(
                allowOther: allowOther, readDeadline: .seconds(max(1, readTimeout)), passthrough: passthrough == .auto && !rootfs,
                // For tests of the bound: a few blobs reach it.
                backingFileLimit: ProcessInfo.processInfo.environment["LAYOUTFS_BACKING_FILE_LIMIT"].flatMap(Int.init) ?? 4096),
            lazy: LazyReadOptions(prefetch: prefetch, verification: verify, stallTimeout: .seconds(readTimeout)),
            // A registry silent for as long as a reader may wait is abandoned (and retried) two
            // seconds after that reader got EIO: the mount's deadline always comes first, so the
            // log says the registry has not answered, whichever timer the machine runs first
            // under load (with both at the same second the client's won in a loaded CI run).
            registry: registry.configuration(readTimeout: readTimeout + 2) { logger.warning("\($0)") },
            grace: .seconds(grace),
            // Past the longest containerd call (30 s) and a connection's close (5 s).
            shutdownDeadline: .seconds(60))
        let readyFd = readyFd
        let report = { @Sendable (line: String) -> Void in _ = Self.report(line, to: readyFd) }
        // The pipe stays open (close-on-exec) until the daemon exits: once the parent has
        // returned, later lines meet EPIPE (SIGPIPE is ignored) and nothing else.
        var stderr = StandardError()
        let holder = source.map { ContainerdMount(source: $0, store: store, mountpoint: request.mountpoint, registry: registry, logger: logger) }
        try await MountService(store: store, request: request, settings: settings, logger: logger, holder: holder).run(
            warn: { warning in
                print("layoutfs: warning: \(warning)", to: &stderr)
                report("warning: \(warning)")
            }, announce: { report($0) }, leased: leased,
            ready: {
                // A command that was interrupted before the mount was ready (Ctrl-C) told the user
                // it failed: the mount it no longer waits for is taken down again, as a
                // termination signal would (the lease and the record go with it).
                guard !Self.report("ready", to: readyFd) else { return }
                logger.notice("the mount command ended before the mount was ready (interrupted?): unmounting")
                kill(getpid(), SIGTERM)
            })
    }

    /// The request the parent wrote into the memfd `fd` (at most 64 MiB).
    private static func readRequest(_ fd: Int32) throws -> [UInt8] {
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = pread(fd, &buffer, buffer.count, off_t(bytes.count))
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw CommandFailure("cannot read the mount request: \(String(cString: strerror(errno)))") }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
            guard bytes.count <= 64 << 20 else { throw CommandFailure("the mount request is larger than 64 MiB") }
        }
    }

    /// Starts the daemon: `posix_spawn` of /proc/self/exe in a new session with the same
    /// arguments plus `--foreground --ready-fd N --request-fd M` (the request in a memfd),
    /// stdio to a log file; returns once it writes `ready`, or fails with its error.
    private func startInBackground(_ request: MountRequest, store: Store) throws {
        let mountpoint = request.mountpoint
        let logDirectory = store.location.root + "/logs"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        let logPath = "\(logDirectory)/mount-\(getpid())-\(Int(Date().timeIntervalSince1970)).log"
        let logFd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard logFd >= 0 else { throw CommandFailure("cannot create the mount log \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFd) }
        var pipe: [Int32] = [-1, -1]
        guard lfs_ready_pipe(&pipe) == 0 else { throw CommandFailure("cannot create a pipe: \(String(cString: strerror(errno)))") }
        let requestFd = lfs_memfd("layoutfs-mount-request")
        guard requestFd >= 0 else { throw CommandFailure("cannot create the mount request: \(String(cString: strerror(errno)))") }
        defer { close(requestFd) }
        let bytes = request.json.encoded
        guard bytes.withUnsafeBytes({ write(requestFd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw CommandFailure("cannot write the mount request: \(String(cString: strerror(errno)))")
        }
        let argv = ["layoutfs"] + CommandLine.arguments.dropFirst() + ["--foreground", "--ready-fd", String(pipe[1]), "--request-fd", String(requestFd)]
        var pid: pid_t = 0
        let rc = withCStrings(argv) { argvPointers in
            withCStrings(ProcessInfo.processInfo.environment.map { "\($0)=\($1)" }) { envPointers in
                lfs_spawn_daemon("/proc/self/exe", argvPointers, envPointers, logFd, pipe[1], requestFd, &pid)
            }
        }
        close(pipe[1])
        defer { close(pipe[0]) }
        guard rc == 0 else { throw CommandFailure("cannot start the mount daemon: \(String(cString: strerror(rc)))") }
        // The daemon writes "warning: ..." and notice lines, then "ready"; EOF without it: it
        // failed, after an "error: ..." line when the failure is one of ours.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var ready = false
        var failure: String?
        var stderr = StandardError()
        let readyPipe = FileDescriptor(rawValue: pipe[0])
        while !ready {
            // EINTR is retried by swift-system; another failure is the daemon's end.
            let n = (try? buffer.withUnsafeMutableBytes { try readyPipe.read(into: $0) }) ?? -1
            guard n > 0 else { break }
            received += buffer[0..<n]
            while let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: received[..<newline], as: UTF8.self)
                received.removeSubrange(...newline)
                if line == "ready" {
                    ready = true
                } else if line.hasPrefix("error: ") {
                    failure = String(line.dropFirst("error: ".count))
                } else {
                    print("layoutfs: \(line)", to: &stderr)
                }
            }
        }
        if ready {
            let names = request.names.joined(separator: ", ")
            print("mounted \(names) at \(mountpoint) (pid \(pid), log \(logPath))")
            return
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        if let failure {
            // libfuse and fusermount3 print the cause (say, "fuse: failed to open /dev/fuse:
            // Permission denied") to the daemon's stderr: the log, not the user's terminal.
            let libfuse = log.split(separator: "\n").filter { $0.hasPrefix("fuse:") || $0.hasPrefix("fusermount") }
            let said = libfuse.isEmpty ? "" : "\n" + libfuse.joined(separator: "\n")
            // The log's path when it holds more than the error itself (a failure to resolve an
            // image or reach containerd says all there is to say).
            let more = log.split(separator: "\n").contains { $0 != "layoutfs: error: \(failure)" }
            if !more { unlink(logPath) }
            throw CommandFailure("\(failure)\(said)" + (more ? "\n(full log: \(logPath))" : ""))
        }
        let lastLines = log.split(separator: "\n").suffix(5).map { line in
            line.hasPrefix("layoutfs: error: ") ? String(line.dropFirst("layoutfs: error: ".count)) : String(line)
        }
        throw CommandFailure("the mount did not start: \(lastLines.joined(separator: "\n"))\n(full log: \(logPath))")
    }
}
