import ArgumentParser
import CLinuxShims
import ContentStore
import LayoutFSMount

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs unmount MOUNTPOINT [--lazy]`.
struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a layoutfs mount.",
        discussion: """
            A busy mount fails with EBUSY; --lazy detaches it now and lets it go when the last user \
            closes it. A stale mount (its daemon is gone) is always detached lazily. Without --lazy, \
            the command returns once the daemon has finished (its lease released, the indexes of a \
            --rootfs mount kept), or after 10 s.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The mountpoint.", completion: ShellCompletion.mountpoints) var mountpoint: String
    @Flag(help: "Detach now even if busy (umount -l).") var lazy = false

    /// Longest wait for the daemon to finish after its mount is gone.
    static let daemonExit: Int32 = 10_000

    func run() throws {
        // Found before the unmount: the record goes with the daemon. A mount of another store
        // (mounted with another --root) is asked for its daemon's pid (bounded: a hung daemon
        // answers nothing, and then the command does not wait).
        let daemon = (try? MountTable.canonicalMountpoint(mountpoint)).flatMap {
            MountRecord.daemon(serving: $0, location: StoreLocation(root: store.root)) ?? Self.askDaemon($0)
        }
        if try Unmounter.unmount(mountpoint, lazy: lazy) {
            print("removed the stale mount at \(mountpoint) (its daemon was gone)")
            return
        }
        print("unmounted \(mountpoint)")
        if !lazy, let daemon, !Self.waitForExit(daemon) {
            var stderr = StandardError()
            print("layoutfs: the daemon (pid \(daemon)) is still finishing after \(Self.daemonExit / 1000) s; it ends by itself", to: &stderr)
        }
    }

    /// The pid the layoutfs mount at `mountpoint` answers as `user.layoutfs.pid` (within a
    /// second); nil for another file system's mount or no answer.
    private static func askDaemon(_ mountpoint: String) -> Int32? {
        guard MountTable.isMountpoint(mountpoint) == MountTable.layoutFSType else { return nil }
        return Status.counter("pid", of: mountpoint).map { Int32(truncatingIfNeeded: $0) }
    }

    /// Waits (a pidfd, up to ``daemonExit`` ms) for process `pid` to exit.
    /// - Returns: false when it still runs.
    private static func waitForExit(_ pid: Int32) -> Bool {
        let fd = lfs_pidfd_open(pid)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = poll(&entry, 1, daemonExit) } while ready < 0 && errno == EINTR
        return ready != 0
    }
}
