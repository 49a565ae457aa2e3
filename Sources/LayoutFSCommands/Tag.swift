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
