import ArgumentParser
import ContainerdStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs export IMAGE... --materialize DIR | --tar FILE|-`.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write images into a real OCI layout directory (copying only the blobs it lacks) or an oci-archive.",
        discussion: """
            --materialize DIR: blobs already in DIR (same size) are skipped; --verify-existing \
            re-hashes them and replaces wrong ones. New blobs are verified and invisible until \
            complete. index.json is merged last: an entry with the same ref name and image name is \
            replaced, others are kept.

            --tar FILE: streams an oci-archive (a tar of the layout, as skopeo's oci-archive: \
            reads it); - writes it to standard output. FILE appears only when complete. When every \
            image is one platform, the archive also holds docker's manifest.json, as docker save \
            writes since docker 25, so that `export --tar - | docker load` works with any docker; \
            --format oci leaves it out, --format docker picks a platform of a multi-platform image.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(
        help:
            "Images: NAME[:TAG], NAME@sha256:..., sha256:... of a root in the store (or its first 12+ hex digits, as images prints them), or docker://REF (pulled lazily first, then its blobs fetched).",
        completion: ShellCompletion.images) var images: [String]
    @Option(help: ArgumentHelp("The destination directory (created when missing).", valueName: "dir"), completion: .directory) var materialize: String?
    @Option(help: ArgumentHelp("Write an oci-archive to this file (- for standard output).", valueName: "file"), completion: .file()) var tar: String?
    @OptionGroup var platform: PlatformOptions
    @OptionGroup var format: FormatOptions
    @Flag(help: "Re-hash blobs already in the destination and replace wrong ones.") var verifyExisting = false
    @Flag(help: "Write lazy blobs fetched from a registry into DIR only, not into the store.") var noStore = false
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var contentDirectory: ContentOptions
    @OptionGroup var containerd: ContainerdOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard (materialize == nil) != (tar == nil) else { throw ValidationError("give exactly one of --materialize DIR and --tar FILE") }
        if tar != nil, verifyExisting || noStore { throw ValidationError("--verify-existing and --no-store go with --materialize, not --tar") }
    }

    func run() async throws {
        let (store, source) = try await containerd.apply(to: try contentDirectory.apply(to: try self.store.openStore()), content: contentDirectory.content)
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        let destination = materialize ?? tar!
        if destination != "-" { try PathChecks.refuseInsideStore(destination, store: store, what: "destination") }
        // docker://REF: pull --lazy first, then REF (its lazy blobs are fetched below). The line
        // goes where the summary goes: stdout, or stderr when the archive may be on stdout.
        let given = try images.map { try ImageSpecifier(parsing: $0) }
        if source != nil { try ContainerdResolution.refuseRegistryReferences(given) }
        let specifiers = try await DockerReferencePull.pullLazily(
            given, into: store, registry: registry, platform: try platform.parsed(),
            logger: log.logger("layoutfs.export")
        ) { line in
            var stderr = StandardError()
            if tar == nil { print(line) } else { print(line, to: &stderr) }
        }
        let resolved: [ResolvedImage]
        if let source {
            resolved = try contentDirectory.name(try await ContainerdResolution.resolve(specifiers, in: store, source: source))
        } else {
            resolved = try contentDirectory.name(try specifiers.map { try store.resolve($0) })
        }
        var shape = try format.shape(platform)
        if tar != nil, format.format == nil {
            let (include, ambiguous) = FormatOptions.dockerManifestIsUnambiguous(for: resolved, platform: shape.platform, store: store)
            shape.dockerManifest = include
            if let ambiguous {
                var stderr = StandardError()
                print(
                    "layoutfs: note: the archive has no manifest.json, since \(ambiguous.label) offers \(ambiguous.platforms.count) platforms "
                        + "(\(ambiguous.platforms.joined(separator: ", "))): docker load before docker 25 needs it; for that docker, add --format docker "
                        + "(this machine's platform) or --platform P. Docker 25 and later, skopeo, podman and ctr read the archive as it is.",
                    to: &stderr)
            }
        }
        let plan: LayoutPlan
        do {
            plan = try LayoutPlan(store: store, images: resolved, shape: shape)
        } catch {
            // What containerd lacks is fetched lazily, then planned once more.
            let lacksBlobs = error.code == .missingBlob
            guard let source, lacksBlobs else { throw error }
            try await ContainerdCompletion.complete(resolved, source: source, store: store, registry: registry, logger: log.logger("layoutfs.export")) { line in
                var stderr = StandardError()
                print("layoutfs: \(line)", to: &stderr)
            }
            plan = try LayoutPlan(store: store, images: resolved, shape: shape)
        }
        // From containerd: a lease holds what is copied until the copy is done, renewed as a
        // mount's is (an export may outlast its expiry).
        let keeper = source.map { ContainerdLeaseKeeper(client: $0.client, prefix: "layoutfs-export-\(getpid())", expiry: ContainerdMount.expiry) }
        try await keeper?.hold(plan.blobs, waiting: true)
        do {
            let copy = {
                // Read through containerd's API: what is copied is read as files from the store.
                if let source, source.access == .api { try await source.copyBlobs(plan.blobs, into: store) }
                try await write(plan, from: store, to: destination)
            }
            if let keeper { try await keeper.renewing(copy) } else { try await copy() }
        } catch {
            await keeper?.end()
            throw error
        }
        await keeper?.end()
    }

    /// Fetches the plan's lazy blobs, then writes the archive or the directory.
    private func write(_ plan: LayoutPlan, from store: Store, to destination: String) async throws {
        // Lazy blobs (pull --lazy) are fetched from their sources first, verified: into the
        // store, or with --no-store straight into DIR (the materialization then skips them).
        var fetched = 0
        if !plan.lazyBlobs.isEmpty {
            let configuration = registry.configuration()
            let lazyBlobs = plan.lazyBlobs
            let directory = noStore ? materialize : nil
            fetched = try await RegistryClient.with(configuration: configuration, logger: log.logger("layoutfs.export")) { client in
                let fetcher = LazyBlobFetcher(store: store, client: client)
                if let directory { return try await fetcher.fetch(lazyBlobs, intoLayout: directory, verifyExisting: verifyExisting).blobs }
                return try await fetcher.fetch(lazyBlobs).blobs
            }
        }
        var stderr = StandardError()
        for warning in plan.warnings { print("layoutfs: warning: \(warning)", to: &stderr) }
        if let tar {
            let extraFiles = plan.dockerManifestBytes.map { [(name: DockerLoadManifest.fileName, bytes: $0)] } ?? []
            let summary = try ArchiveExporter(store: store).export(plan, to: tar, extraFiles: extraFiles)
            let docker = extraFiles.isEmpty ? "" : ", with docker's manifest.json"
            print(summary.line(tar) + docker + (fetched > 0 ? ", fetched \(fetched)" : ""), to: &stderr)
            return
        }
        let showProgress = isatty(STDERR_FILENO) == 1
        var summary = try Materializer(store: store).materialize(plan, into: destination, options: .init(verifyExisting: verifyExisting)) { done, total in
            if showProgress { print("\r\(done)/\(total) blobs", terminator: "", to: &stderr) }
        }
        if showProgress { print("\r", terminator: "", to: &stderr) }
        summary.fetchedBlobs = fetched
        if noStore { summary.skippedBlobs -= fetched }
        for warning in summary.warnings { print("layoutfs: warning: \(warning)", to: &stderr) }
        print(summary.line)
    }
}
