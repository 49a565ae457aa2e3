import ArgumentParser
import LayoutFSMount

/// `layoutfs unmount MOUNTPOINT [--lazy]`.
struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a layoutfs mount.",
        discussion: """
            A busy mount fails with EBUSY; --lazy detaches it now and lets it go when the last user \
            closes it. A stale mount (its daemon is gone) is always detached lazily.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The mountpoint.") var mountpoint: String
    @Flag(help: "Detach now even if busy (umount -l).") var lazy = false

    func run() throws {
        if try Unmounter.unmount(mountpoint, lazy: lazy) {
            print("removed the stale mount at \(mountpoint) (its daemon was gone)")
        } else {
            print("unmounted \(mountpoint)")
        }
    }
}
