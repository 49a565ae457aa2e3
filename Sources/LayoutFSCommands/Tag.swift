import ArgumentParser
import Images
import OCISpec

/// `layoutfs tag SRC DST`.
struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "An existing image.") var source: String
    @Argument(help: "The new name.") var destination: String

    func run() throws {
        let store = try store.openStore()
        // Prune must not delete the image between its resolution here and the new name.
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        let image = try store.resolve(try ImageSpecifier(parsing: source))
        let reference = try ImageReference(parsing: destination)
        try Store.checkName(reference, for: image.root)
        let name = reference.description
        try store.images.bind(name, to: image.root)
        print("tagged \(name) \(image.root.digest)")
    }
}

/// `layoutfs rm NAME...`.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove image names (their blobs stay in the store).")
    @OptionGroup var store: StoreOptions
    @Argument(help: "Image names.") var names: [String]

    func run() throws {
        let store = try store.openStore()
        let normalized = try names.map { try ImageReference(parsing: $0).description }
        // Check every name first: a typo in one must not leave the others half-removed.
        let existing = Set(try store.allImages().map(\.name))
        if let unknown = normalized.first(where: { !existing.contains($0) }) {
            throw CommandFailure("no image named \(unknown); available: \(existing.isEmpty ? "none" : existing.sorted().joined(separator: ", ")) (see layoutfs images); nothing was removed")
        }
        for name in normalized {
            _ = try store.images.remove(name)
            print("removed \(name)")
        }
    }
}
