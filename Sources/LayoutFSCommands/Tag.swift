import ArgumentParser
import Images
import OCISpec

/// `layoutfs tag SRC DST`.
struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Give an image another name.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "An existing image.") var source: String
    @Argument(help: "The new name.") var destination: String

    func run() throws {
        let store = try store.openStore()
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
        for text in names {
            let name = try ImageReference(parsing: text).description
            guard try store.images.remove(name) else {
                let available = try store.allImages().map(\.name)
                throw CommandFailure("no image named \(name); available: \(available.isEmpty ? "none" : available.joined(separator: ", ")) (see layoutfs images)")
            }
            print("removed \(name)")
        }
    }
}
