import ArgumentParser
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec

/// `layoutfs tag SRC DST`.
struct Tag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "An existing image, or docker://REF (pulled lazily first).", completion: ShellCompletion.images) var source: String
    @Argument(help: "The new name.", completion: ShellCompletion.images) var destination: String
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        let store = try store.openStore()
        // Prune must not delete the image between its resolution here and the new name.
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        var specifier = try ImageSpecifier(parsing: source)
        if case .registry = specifier {
            // The new name is checked before docker://REF is pulled: a typo pulls nothing.
            _ = try ImageReference(parsing: destination)
            // Pull --lazy first (the whole index: tag keeps the root as it is), then REF.
            specifier = try await DockerReferencePull.pullLazily([specifier], into: store, registry: registry, platform: nil)[0]
        }
        let image = try store.resolve(specifier)
        let reference = try ImageReference(parsing: destination)
        try Store.checkName(reference, for: image.root)
        let name = reference.description
        try store.images.bind(name, to: image.root)
        print("tagged \(name) \(image.root.digest)")
    }
}
