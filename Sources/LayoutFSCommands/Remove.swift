import ArgumentParser
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec

/// `layoutfs rm NAME...`.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove image names (their blobs stay in the store).")
    @OptionGroup var store: StoreOptions
    @Argument(help: "Image names.", completion: ShellCompletion.images) var names: [String]

    func run() throws {
        let store = try store.openStore()
        let normalized = try names.map { try ImageReference(parsing: $0).description }
        // Check every name first: a typo in one must not leave the others half-removed.
        let all = try store.allImages()
        let existing = Set(all.map(\.name))
        if let unknown = normalized.first(where: { !existing.contains($0) }) {
            throw CommandFailure("no image named \(unknown)\(Store.available(all, near: unknown)); nothing was removed")
        }
        for name in normalized {
            _ = try store.images.remove(name)
            print("removed \(name)")
        }
    }
}
