import BlockingWork
import FUSE
import LayoutFS
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs one layoutfs mount in the foreground: mount, serve until unmounted or signaled, return.
///
/// Threads: the caller's thread waits; the FUSE loop (`fuse_session_loop_mt` and its workers)
/// runs on a thread of its own; one more thread owns `SIGINT`/`SIGTERM`/`SIGHUP`, which are
/// blocked everywhere else, and ends the session on the first of them.
package enum MountDaemon {
    /// Blocks `SIGINT`, `SIGTERM` and `SIGHUP` in the calling thread and every thread created
    /// after it (`pthread_sigmask`), and ignores `SIGPIPE`. Call it first thing in a daemon
    /// process, before anything starts threads (a thread created earlier could take a signal and
    /// end the process without unmounting). ``run(tree:mountpoint:options:logger:ready:)`` calls
    /// it too.
    package static func blockTerminationSignals() {
        SignalOwner.blockTerminationSignals()
    }

    /// Mounts `tree` at `mountpoint` and serves it until the mount goes away (`layoutfs unmount`,
    /// `fusermount3 -u`, `umount`) or a termination signal arrives, which unmounts it.
    ///
    /// Steps: raises `RLIMIT_NOFILE` to the hard limit; blocks the termination signals; creates
    /// the session with `ro,subtype=layoutfs,fsname=...` (plus `allow_other,default_permissions`
    /// when asked); under the machine-wide ``MountLock``, detaches a stale layoutfs mount at
    /// `mountpoint` (calling `announce`), refuses a live one and mounts (`fuse_session_mount`), so
    /// that of any number of mounts started at once on one directory exactly one succeeds;
    /// starts the loop thread and the signal owner; calls `ready` once; waits for the loop to end.
    ///
    /// - Parameters:
    ///   - mountpoint: an existing directory.
    ///   - announce: told what was done on the user's behalf (a stale mount removed).
    ///   - ready: called once on the calling thread when the mount is live, so a parent process
    ///     waiting on a ready file descriptor can return; its ``MountControl`` tells the kernel
    ///     about changes (from any thread but a request handler).
    /// - Throws: ``MountError/Code/alreadyMounted`` when a live mount is at `mountpoint`;
    ///   ``MountError/Code/mountFailed`` when the session cannot be created or mounted (the
    ///   message says what to check); ``MountError/Code/sessionFailed`` when the loop fails. A
    ///   signal or an external unmount is a normal return.
    package static func run(
        tree: any ServedTree, mountpoint: String, options: MountOptions = MountOptions(), logger: Logger,
        announce: (String) -> Void = { _ in }, ready: (MountControl) -> Void
    ) throws(MountError) {
        let fileLimit = FileLimit.raiseToHardLimit()
        blockTerminationSignals()

        let adapter = MountAdapter(
            tree: tree, timeouts: options.timeouts, readDeadline: options.readDeadline, logger: logger, passthrough: options.passthrough,
            backingFileLimit: options.backingFileLimit)
        let session: Session
        do {
            session = try Session(fileSystem: adapter, options: options.fuseOptions)
            adapter.backing.attach(session)
        } catch {
            throw MountError(
                code: .mountFailed, message: mountFailureMessage(mountpoint, options: options, error: error),
                errno: error.errno, underlying: error)
        }
        try MountLock.withLock { () throws(MountError) in
            if try Unmounter.removeStaleMount(at: mountpoint) {
                announce("removed the stale mount at \(mountpoint) (its daemon was gone)")
            }
            if let entry = try MountTable.entry(at: mountpoint) {
                throw Unmounter.alreadyMounted(mountpoint, type: entry.fileSystemType)
            }
            do throws(FUSEError) {
                try session.mount(at: mountpoint)
            } catch {
                throw MountError(
                    code: .mountFailed, message: mountFailureMessage(mountpoint, options: options, error: error),
                    errno: error.errno, underlying: error)
            }
        }
        // Never from a request thread (libfuse documents the deadlock): a worker reports it.
        let invalidate = { @Sendable (inode: UInt64) in
            BlockingWork.submit {
                do throws(FUSEError) {
                    try session.notifyInvalidateInode(inode)
                } catch {
                    logger.warning("cannot evict the kernel's pages of inode \(inode): \(error)")
                }
            }
        }
        tree.onInvalidate(invalidate)
        // A blob repaired under open handles (layoutfs check --repair): they read the new file
        // within a second, and the kernel forgets the old pages.
        let repairs = BlockingWork.every(.seconds(1)) {
            for inode in tree.repointReplacedBlobs() {
                logger.notice("a blob with open files was replaced in the store (repaired): serving the new file", metadata: ["inode": "\(inode)"])
                invalidate(inode)
            }
        }
        defer { repairs.cancel() }
        logger.info(
            "mounted",
            metadata: [
                "mountpoint": "\(mountpoint)", "options": "\(options.fuseOptions.joined(separator: ","))",
                "open_file_limit": "\(fileLimit)",
            ])

        let loopError = Mutex<FUSEError?>(nil)
        let loop = PosixThread {
            do throws(FUSEError) {
                try session.run(maxThreads: options.maxThreads)
            } catch {
                loopError.withLock { $0 = error }
            }
        }
        let signals = SignalOwner { signal in
            logger.info("signal \(signal): unmounting", metadata: ["mountpoint": "\(mountpoint)"])
            session.exit()
        }
        ready(MountControl(session: session))
        if options.passthrough {
            // Any request is answered only after FUSE_INIT, whose reply settles passthrough.
            BlockingWork.submit {
                var buffer = statvfs()
                _ = statvfs(mountpoint, &buffer)
                if let why = session.passthroughUnavailable ?? adapter.backing.probe() {
                    logger.notice("FUSE passthrough is unavailable (\(why)): every read goes through the daemon")
                } else {
                    logger.info("FUSE passthrough negotiated")
                }
            }
        }
        loop.join()
        signals.stop()

        if let error = loopError.withLock({ $0 }) {
            throw MountError(
                code: .sessionFailed, message: "serving \(mountpoint) failed: \(error)", errno: error.errno,
                underlying: error)
        }
        logger.info("unmounted", metadata: ["mountpoint": "\(mountpoint)"])
    }

    private static func mountFailureMessage(_ mountpoint: String, options: MountOptions, error: FUSEError) -> String {
        var message = "cannot mount \(mountpoint): \(error.message)"
        if error.errno == .socketNotConnected {
            return message
                + "; a stale layoutfs mount is in the way (its daemon is gone): `layoutfs unmount \(mountpoint)` removes it"
        }
        if options.allowOther && getuid() != 0 {
            message += "; --allow-other needs 'user_allow_other' in /etc/fuse.conf for non-root users"
        }
        return message
            + "; check that the mountpoint is an existing directory you own, that /dev/fuse exists and that "
            + "fusermount3 is installed (libfuse's own message, with this one, names the cause)"
    }
}

/// What a running mount's owner may tell the kernel, from any thread except a FUSE request
/// handler (libfuse documents the deadlock).
package struct MountControl: Sendable {
    let session: Session

    /// Makes the kernel forget `name` in directory `parent` (a moved `index.json`).
    /// - Throws: `FUSEError` when the mount is gone.
    package func invalidateEntry(parent: UInt64, name: String) throws(FUSEError) {
        try session.notifyInvalidateEntry(parent: parent, name: name)
    }

    /// Makes the kernel drop its cached attributes and content of `inode` (a directory's
    /// listing, after a rootfs view's root changed).
    /// - Throws: `FUSEError` when the mount is gone.
    package func invalidateInode(_ inode: UInt64) throws(FUSEError) {
        try session.notifyInvalidateInode(inode)
    }
}
