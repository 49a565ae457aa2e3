import ArgumentParser
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs

/// `layoutfs prune`: frees what no image and no running mount needs.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete blobs and cache entries that no image name and no running mount references.",
        discussion: """
            Keeps the closure of every image name and of every image a running mount serves (its \
            lease). Waits for a running import, pull or export to bind its names first, so their \
            fresh blobs are never deleted. Also clears lazy records that nothing needs and stale \
            ingests. Nothing is deleted when an image's closure cannot be walked.
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Say what would be deleted; delete nothing.") var dryRun = false

    func run() throws {
        let store = try store.openStore()
        let report = try Pruner(store: store).prune(dryRun: dryRun) {
            var stderr = StandardError()
            print("layoutfs: waiting for a running import, pull or export to finish", to: &stderr)
        }
        print(dryRun ? "would prune" + report.line.dropFirst("pruned".count) : report.line)
    }
}
