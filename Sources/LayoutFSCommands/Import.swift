import ArgumentParser
import Images
import OCISpec

/// `layoutfs import PATH`: copies images from an OCI layout directory into the store.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import images from an OCI image layout directory.",
        discussion: """
            Names: --name wins (it needs exactly one selected entry); else the entry's \
            io.containerd.image.name; else a ref name that is a full reference; else a tag-only ref \
            name T becomes REPO:T (--repo, default the directory's base name). Entries left without \
            a name are kept by digest and reported. Every blob is verified on the way in; names are \
            bound only when every selected image is complete.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The OCI layout directory.") var path: String
    @Option(help: "Name for the single selected image, e.g. demo/busybox:1.35.") var name: String?
    @Option(help: "Repository for tag-only ref names (default: the directory's base name).") var repo: String?
    @Option(help: "Select the entry with this ref name.") var ref: String?
    @OptionGroup var platform: PlatformOptions

    func run() throws {
        let store = try store.openStore()
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        let options = LayoutImporter.Options(name: name, repository: repo, refName: ref, platform: try platform.parsed())
        let result = try LayoutImporter(store: store).importLayout(at: path, options: options)
        for image in result.images {
            if let name = image.name {
                print("imported \(name) \(image.target.digest)")
            } else {
                print("imported \(image.target.digest) without a name (no usable ref name; give one with --name or --repo)")
            }
        }
        for layer in result.absentForeignLayers {
            print("note: non-distributable layer \(layer.digest) is not in the layout and was not imported")
        }
        print("copied \(ByteFormat.count(result.copiedBlobs, "blob")) (\(ByteFormat.string(result.copiedBytes))), skipped \(result.skippedBlobs)")
    }
}
