import ArgumentParser
import LayoutFSMount

/// `layoutfs unmount MOUNTPOINT [--lazy]`.
struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a layoutfs mount.",
        discussion: "A busy mount fails with EBUSY; --lazy detaches it now and lets it go when the last user closes it.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "The mountpoint.") var mountpoint: String
    @Flag(help: "Detach now even if busy (umount -l).") var lazy = false

    func run() throws {
        try Unmounter.unmount(mountpoint, lazy: lazy)
        print("unmounted \(mountpoint)")
    }
}
