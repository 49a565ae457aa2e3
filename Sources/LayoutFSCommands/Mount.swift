import ArgumentParser

/// `layoutfs mount IMAGE... MOUNTPOINT` (wired to LayoutFSMount below).
struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mount images as a live, read-only OCI layout directory.")
    @OptionGroup var store: StoreOptions
    @Argument var arguments: [String]
    func run() throws { throw CommandFailure("mount is not wired yet") }
}

struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unmount a layoutfs mount.")
    @Argument var mountpoint: String
    func run() throws { throw CommandFailure("unmount is not wired yet") }
}
