import CFUSE
import Glibc
import Synchronization
import SystemPackage

/// A libfuse low-level session (`struct fuse_session`) serving one ``FileSystem`` at one
/// mountpoint.
///
/// Life cycle: ``init(fileSystem:options:programName:)`` (`fuse_session_new`), ``mount(at:)``
/// (`fuse_session_mount`), ``run(maxThreads:)`` on a thread of the caller's choosing (blocks in
/// `fuse_session_loop_mt` until unmounted or ``exit()``, then unmounts), then release the
/// session (`fuse_session_destroy`). ``exit()`` and the `notify` calls may be made from any
/// thread.
public final class Session: @unchecked Sendable {
    private struct State: Sendable {
        /// Absolute once mounted.
        var mountpoint: String?
        var mounted = false
        var running = false
        var exitRequested = false
        /// No new notifications (exit or unmount under way).
        var notificationsClosed = false
        var notificationsInFlight = 0
        /// The /dev/fuse descriptor of a mount made here (``KernelMount``), for its unmount.
        var ownDevice: Int32?
        /// Why passthrough was wanted but the session mounted through libfuse.
        var passthroughUnavailable: String?
    }

    /// `struct fuse_session *`. libfuse makes the calls used here safe across threads; mount and
    /// unmount run under `state`, and unmount first waits for the notifications counted there
    /// (they write to the device descriptor it closes).
    private let handle: OpaquePointer
    private let context: SessionContext
    private let state = Mutex(State())
    /// The `-o` items, for a mount made here.
    private let options: [String]

    /// Creates a session (`fuse_session_new`).
    ///
    /// - Parameters:
    ///   - fileSystem: answers the requests; kept alive by the session.
    ///   - options: mount and libfuse options, one `-o` item each (commas and backslashes inside
    ///     an item are escaped): `ro`, `subtype=layoutfs`, `fsname=NAME`,
    ///     `default_permissions`, `allow_other`, `debug`.
    ///   - programName: `argv[0]` for libfuse's messages.
    /// - Throws: ``FUSEError/Code/sessionCreationFailed`` when libfuse rejects an option (it
    ///   prints which on stderr).
    public init(fileSystem: any FileSystem, options: [String], programName: String = "layoutfs") throws(FUSEError) {
        let context = SessionContext(fileSystem: fileSystem)
        var arguments = [programName]
        if !options.isEmpty {
            arguments += ["-o", options.map(Self.escapeOption).joined(separator: ",")]
        }
        var cStrings = arguments.map { strdup($0) }
        defer { for string in cStrings { free(string) } }
        cStrings.append(nil)
        var operations = LowLevelOperations.make(readdirPlus: context.configuration.readdirPlus, openDirectory: context.configuration.openDirectory)
        let userdata = Unmanaged.passUnretained(context).toOpaque()
        let handle = cStrings.withUnsafeMutableBufferPointer { argv -> OpaquePointer? in
            var args = fuse_args(argc: Int32(arguments.count), argv: argv.baseAddress, allocated: 0)
            defer { fuse_opt_free_args(&args) }
            return cfuse_session_new(&args, &operations, userdata)
        }
        guard let handle else {
            throw FUSEError(
                code: .sessionCreationFailed,
                message: "libfuse refused the session options \(options.joined(separator: ","))")
        }
        self.handle = handle
        self.context = context
        self.options = options
    }

    deinit {
        unmount()
        fuse_session_destroy(handle)
    }

    /// libfuse's `-o` syntax: `,` separates options, `\` escapes.
    private static func escapeOption(_ option: String) -> String {
        option.replacingAll("\\", with: "\\\\").replacingAll(",", with: "\\,")
    }

    /// Mounts the file system at `mountpoint` (`fuse_session_mount`): from here on the kernel
    /// queues requests, which ``run(maxThreads:)`` serves. `mountpoint` is kept as given for
    /// ``exit()``'s wake-up: give it absolute and canonical (layoutfs's callers pass
    /// `MountTable.canonicalMountpoint`'s result; this binding imports none of layoutfs's
    /// modules, so it does not canonicalise paths itself).
    ///
    /// - Throws: ``FUSEError/Code/mountFailed`` (libfuse printed why on stderr), or
    ///   ``FUSEError/Code/invalidState`` when already mounted or after ``exit()``.
    public func mount(at mountpoint: String) throws(FUSEError) {
        try state.withLock { (state) throws(FUSEError) in
            guard !state.mounted, state.mountpoint == nil, !state.exitRequested else {
                throw FUSEError(code: .invalidState, message: "session for \(mountpoint) was already mounted or exited")
            }
            if context.passthrough.wanted {
                do throws(FUSEError) {
                    state.ownDevice = try mountHere(at: mountpoint)
                    state.mounted = true
                    state.mountpoint = mountpoint
                    return
                } catch {
                    state.passthroughUnavailable = error.description
                }
            }
            guard fuse_session_mount(handle, mountpoint) == 0 else {
                throw FUSEError(
                    code: .mountFailed, message: "could not mount a FUSE file system at \(mountpoint)",
                    errno: Errno(rawValue: Glibc.errno))
            }
            state.mounted = true
            state.mountpoint = mountpoint
        }
    }

    /// Mounts with mount(2) on a device of our own, handed to libfuse with
    /// `fuse_session_custom_io`, so that ``CustomIO`` sees `FUSE_INIT`.
    /// - Returns: the device descriptor.
    /// - Throws: ``FUSEError/Code/mountFailed`` saying why (not root, mount(2) refused).
    private func mountHere(at mountpoint: String) throws(FUSEError) -> Int32 {
        guard geteuid() == 0 else { throw FUSEError(code: .mountFailed, message: "passthrough needs root (CAP_SYS_ADMIN)") }
        let device = try KernelMount(options: options).mount(at: mountpoint)
        var io = CustomIO.make()
        let result = fuse_session_custom_io(handle, &io, device)
        guard result == 0 else {
            KernelMount.unmount(mountpoint, device: device)
            close(device)
            throw FUSEError(code: .mountFailed, message: "libfuse refused the device (fuse_session_custom_io)", errno: Errno(rawValue: -result))
        }
        return device
    }

    /// Why passthrough was wanted (``FileSystemConfiguration/passthrough``) but is not in use:
    /// the mount could not be made here, or the kernel did not offer it; nil when it is in use
    /// or was not wanted. Known once the kernel sent `FUSE_INIT`.
    public var passthroughUnavailable: String? {
        guard context.passthrough.wanted else { return nil }
        if let reason = state.withLock({ $0.passthroughUnavailable }) { return reason }
        return context.passthrough.negotiated ? nil : "the kernel does not offer FUSE passthrough (Linux 6.9+, CONFIG_FUSE_PASSTHROUGH)"
    }

    /// Whether opens may be answered with a backing file: passthrough was negotiated.
    public var passthrough: Bool { context.passthrough.negotiated }

    /// Registers `fileDescriptor` (a regular file, open for reading) as a backing file
    /// (`FUSE_DEV_IOC_BACKING_OPEN`); the kernel keeps its own reference to the file.
    /// - Returns: the backing id for ``Request/reply(open:backingID:)``; close it
    ///   with ``closeBacking(_:)`` once no open needs it.
    /// - Throws: ``FUSEError/Code/passthroughFailed`` with the ioctl's errno.
    public func openBacking(_ fileDescriptor: Int32) throws(FUSEError) -> Int32 {
        let id = lfs_fuse_backing_open(fuse_session_fd(handle), fileDescriptor)
        guard id > 0 else {
            throw FUSEError(code: .passthroughFailed, message: "the kernel refused a backing file", errno: Errno(rawValue: id < 0 ? errno : EINVAL))
        }
        return id
    }

    /// Forgets backing id `id` (`FUSE_DEV_IOC_BACKING_CLOSE`); files opened with it keep reading
    /// their backing file.
    public func closeBacking(_ id: Int32) {
        _ = lfs_fuse_backing_close(fuse_session_fd(handle), id)
    }

    /// Serves requests until the file system is unmounted or ``exit()`` is called
    /// (`fuse_session_loop_mt`); then calls ``FileSystem/sessionWillEnd()`` and unmounts
    /// (`fuse_session_unmount`) if still mounted. Blocks the calling thread; libfuse starts up to
    /// `maxThreads` worker threads that call the ``FileSystem``. Returns at once if ``exit()``
    /// came first.
    ///
    /// - Throws: ``FUSEError/Code/loopFailed`` when the loop ends with an error that ``exit()``
    ///   did not cause; ``FUSEError/Code/invalidState`` when not mounted or already running.
    public func run(maxThreads: Int = 10) throws(FUSEError) {
        let exitedBeforeStart = try state.withLock { (state) throws(FUSEError) -> Bool in
            guard state.mounted, !state.running else {
                throw FUSEError(code: .invalidState, message: "session is not mounted or is already running")
            }
            state.running = !state.exitRequested
            return state.exitRequested
        }
        defer {
            context.fileSystem.sessionWillEnd()
            unmount()
        }
        if exitedBeforeStart { return }
        guard let configuration = fuse_loop_cfg_create() else {
            state.withLock { $0.running = false }
            throw FUSEError(code: .loopFailed, message: "could not allocate the loop configuration", errno: .noMemory)
        }
        defer { fuse_loop_cfg_destroy(configuration) }
        fuse_loop_cfg_set_max_threads(configuration, UInt32(clamping: max(1, maxThreads)))
        let result = cfuse_session_loop_mt(handle, configuration)
        let exitRequested = state.withLock { state in
            state.running = false
            return state.exitRequested
        }
        if result != 0, !exitRequested {
            throw FUSEError(
                code: .loopFailed, message: "the FUSE session loop failed", errno: Errno(rawValue: abs(result)))
        }
    }

    /// Ends the session: flags it exited (`fuse_session_exit`) and wakes the loop, which then
    /// returns from ``run(maxThreads:)`` and unmounts. If the loop is not running, unmounts now.
    /// Does not wait for the loop; safe from any thread, any number of times; not from a signal
    /// handler.
    ///
    /// libfuse 3.14's loop only notices the exit flag when a worker thread wakes up, and the
    /// usual wake-up, `fuse_session_unmount`, closes the device under the running workers: with
    /// files open in the mount the lazy unmount leaves the connection up, the workers stay
    /// blocked, and replies in flight are lost. So instead one `statfs` is sent into the mount
    /// from a short-lived thread: the worker that receives it sees the exit flag and ends the
    /// loop (libfuse drops that request; it fails when the device is closed). The device stays
    /// open until the loop has ended, so requests being handled and parked ones
    /// (``FileSystem/sessionWillEnd()``) still get their answers.
    ///
    /// It does wait for notifications in progress on other threads (new ones fail with
    /// `ENOTCONN`), so never call it from a request handler.
    public func exit() {
        // Notifications first, while the loop still answers: a notification can wait in the
        // kernel for a request in the same directory, and requests read after the exit flag
        // are dropped by libfuse (they fail only when the device is closed).
        closeNotifications()
        let action = state.withLock { state -> ExitAction in
            defer { state.exitRequested = true }
            if state.exitRequested { return .none }
            if state.running, let mountpoint = state.mountpoint { return .wake(mountpoint) }
            return state.mounted ? .unmount : .none
        }
        fuse_session_exit(handle)
        switch action {
        case .none:
            break
        case .unmount:
            unmount()
        case .wake(let mountpoint):
            // `statfs` is never cached and holds no inode lock while it waits.
            DetachedThread.start {
                var buffer = statvfs()
                _ = statvfs(mountpoint, &buffer)
            }
        }
    }

    private enum ExitAction {
        case none, unmount
        case wake(String)
    }

    /// What the kernel and libfuse agreed on, once the kernel sent `FUSE_INIT`.
    public var connection: ConnectionInfo? {
        context.connection.withLock { $0 }
    }

    /// `fuse_session_unmount`: closes the device, then unmounts (lazily as root, else with
    /// `fusermount3 -u -z`); nothing if already unmounted.
    private func unmount() {
        closeNotifications()
        state.withLock { state in
            guard state.mounted else { return }
            state.mounted = false
            if let device = state.ownDevice, let mountpoint = state.mountpoint {
                KernelMount.unmount(mountpoint, device: device)
            } else {
                fuse_session_unmount(handle)
            }
        }
    }

    /// Refuses new notifications and waits for those in progress: a notification reads the
    /// device descriptor that unmounting closes.
    private func closeNotifications() {
        state.withLock { $0.notificationsClosed = true }
        while state.withLock({ $0.notificationsInFlight }) > 0 {
            usleep(1000)
        }
    }

    /// Runs a notification while the device is open, outside the state lock (the kernel may
    /// make it wait for a request in the same directory); throws when it fails.
    func notify(_ what: String, _ call: (OpaquePointer) -> Int32) throws(FUSEError) {
        let open = state.withLock { state -> Bool in
            guard state.mounted, !state.notificationsClosed else { return false }
            state.notificationsInFlight += 1
            return true
        }
        guard open else {
            throw FUSEError(
                code: .notificationFailed, message: "could not \(what): not mounted", errno: .socketNotConnected)
        }
        let result = call(handle)
        state.withLock { $0.notificationsInFlight -= 1 }
        // ENOENT: the kernel does not have it cached; nothing to invalidate.
        if result == 0 || result == -ENOENT { return }
        throw FUSEError(code: .notificationFailed, message: "could not \(what)", errno: Errno(rawValue: -result))
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
