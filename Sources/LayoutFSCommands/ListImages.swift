import ArgumentParser
import ContentStore
import Images
import OCISpec

/// `layoutfs images`: the named images with digest, size and platforms.
struct ListImages: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images in the store.")

    @OptionGroup var store: StoreOptions
    @Flag(name: .customLong("no-trunc"), help: "Show full digests.") var noTruncate = false

    func run() throws {
        let store = try store.openStore()
        let images = try store.allImages()
        var rows = [["NAME", "DIGEST", "SIZE", "PLATFORMS"]]
        for image in images {
            let (size, platforms) = summary(of: image.target, in: store)
            rows.append([image.name, noTruncate ? image.target.digest.description : image.target.digest.short, size, platforms])
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { i, cell in i == 3 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    /// Total bytes of the closure (each blob once) and the platforms it offers.
    private func summary(of root: Descriptor, in store: Store) -> (String, String) {
        guard let walker = try? store.closure(of: root, imageName: root.digest.description) else { return ("?", "incomplete") }
        let bytes = walker.blobs.reduce(Int64(0)) { $0 + $1.size }
        let lazyBytes = walker.blobs.filter { !store.content.contains($0.digest) }.reduce(Int64(0)) { $0 + $1.size }
        var platforms: [String] = []
        if let platform = root.platform { platforms.append(platform.description) }
        if case .index(let index)? = try? store.readRoot(root) {
            platforms = index.manifests.filter { $0.annotations[AnnotationKey.dockerReferenceType] == nil }.compactMap { $0.platform?.description }
        }
        var unique: [String] = []
        for platform in platforms where !unique.contains(platform) { unique.append(platform) }
        let size = ByteFormat.string(bytes) + (lazyBytes > 0 ? " (\(ByteFormat.string(lazyBytes)) lazy)" : "")
        return (size, unique.isEmpty ? "-" : unique.joined(separator: ","))
    }
}
