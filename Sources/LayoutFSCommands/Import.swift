import ArgumentParser
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs import PATH`: copies images from an OCI layout directory or an archive into the store.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import images from an OCI image layout directory, an oci-archive or a docker-archive.",
        discussion: """
            PATH is a layout directory, or a tar archive (or - for standard input; gzip, xz, \
            bzip2 and zstd are read too): an oci-archive, or a docker-archive as `docker save` and \
            `skopeo copy ... docker-archive:` write it. Archives are streamed, never extracted; \
            a legacy docker-archive's images become OCI image manifests with real digests, \
            layers kept as they are. \
            Names: --name wins (it needs exactly one selected entry); else the entry's \
            io.containerd.image.name; else a ref name that is a full reference; else a tag-only ref \
            name T becomes REPO:T (--repo, default the directory's or archive's base name; none for \
            standard input). With --repo, every ref name that names no registry host stays under \
            it (release/2.0 becomes REPO/release/2.0:latest); without, a ref name that names an \
            image outside the source's own repository is warned about. \
            A legacy docker-archive's images are named by their RepoTags. Entries left without \
            a name are kept by digest and reported. Every blob is verified on the way in; names are \
            bound only when every selected image is complete.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The OCI layout directory, or an archive file (- for standard input).", completion: .file()) var path: String
    @Option(help: "Name for the single selected image, e.g. demo/busybox:1.35.") var name: String?
    @Option(
        help:
            "Repository for tag-only ref names (default: the directory's or archive's base name, without .tar); when given, also for every ref name that names no registry host."
    ) var repo: String?
    @Option(help: "Select the entries with this ref name or full image name (for a legacy docker-archive: a RepoTag or its tag).") var ref: String?
    @OptionGroup var platform: PlatformOptions
    @Flag(help: "Re-hash the images' blobs already in the store and copy again those that do not match (instead of skipping them).") var verifyExisting = false

    func run() throws {
        let store = try store.openStore()
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        let options = LayoutImporter.Options(name: name, repository: repo, refName: ref, platform: try platform.parsed(), verifyExisting: verifyExisting)
        var st = stat()
        let isDirectory = path != "-" && stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
        let result =
            isDirectory
            ? try LayoutImporter(store: store).importLayout(at: path, options: options)
            : try ArchiveImporter(store: store).importArchive(at: path, options: options)
        for image in result.images {
            if let name = image.name {
                print("imported \(name) \(image.target.digest)")
                if let refName = image.outsideRefName {
                    var stderr = StandardError()
                    let moved = image.movedFrom.map { "; it moved \(name) from \($0.short)" } ?? ""
                    // --repo keeps only ref names without a registry host under it.
                    let remedy =
                        ImageNaming.namesRegistryHost(refName) ? "--name names one image" : "--repo REPO keeps ref names under REPO; --name names one image"
                    print("layoutfs: warning: ref name \"\(refName)\" named \(name), outside this source's repository\(moved) (\(remedy))", to: &stderr)
                }
            } else {
                let why = image.unnamedReason ?? "the source gives it none"
                let remedy =
                    repo == nil
                    ? "name it with --name (--ref selects the entry), or with --repo when its ref name is a bare tag"
                    : "name it with --name (--ref selects the entry)"
                print("imported \(image.target.digest) without a name: \(why); \(remedy)")
            }
        }
        for layer in result.absentForeignLayers {
            print("note: non-distributable layer \(layer.digest) is not in the layout and was not imported")
        }
        print(
            "copied \(ByteFormat.count(result.copiedBlobs, "blob")) (\(ByteFormat.string(result.copiedBytes))), skipped \(result.skippedBlobs)\(result.replacedBlobs > 0 ? ", replaced \(result.replacedBlobs) wrong" : "")"
        )
    }
}
