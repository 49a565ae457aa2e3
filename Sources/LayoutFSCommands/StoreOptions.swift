import ArgumentParser
import Images
import OCISpec

/// `--root`: the store location, shared by every command.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $LAYOUTFS_ROOT, /var/lib/layoutfs for root, else ~/.local/share/layoutfs).")
    var root: String?

    func openStore() throws -> Store { try Store.open(root: root) }
}

/// `--platform`, shared by import, mount and export.
struct PlatformOptions: ParsableArguments {
    @Option(name: .long, help: "Only this platform of an index, e.g. linux/amd64 (re-roots the image at that manifest).")
    var platform: String?

    func parsed() throws -> Platform? {
        guard let platform else { return nil }
        return try Platform(parsing: platform)
    }
}
