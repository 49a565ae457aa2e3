import ArgumentParser
import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import Logging
import OCISpec
import Registry

/// `--root`: the store location, shared by every command.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long, help: "The store directory (default: $LAYOUTFS_ROOT, /var/lib/layoutfs for root, else ~/.local/share/layoutfs).",
        completion: .directory)
    var root: String?

    func openStore() throws -> Store { try Store.open(root: root) }

    /// The same options naming the store by an absolute path (`--root`, `$LAYOUTFS_ROOT` or the
    /// default, made absolute against the working directory), for a process that leaves it.
    func absolute() -> StoreOptions {
        var options = self
        options.root = PathChecks.resolved(StoreLocation(root: root).root)
        return options
    }

    /// Holds `gc.lock` shared (until the value goes away) so prune cannot run meanwhile: taken
    /// by commands that write blobs before their names are bound, or before a lease exists.
    func holdAgainstPrune(_ store: Store) throws -> GCLock {
        try GCLock(root: store.location.root, exclusive: false) {
            var stderr = StandardError()
            print("layoutfs: waiting for a running prune to finish", to: &stderr)
        }
    }
}

/// `--platform`, shared by import, mount and export.
struct PlatformOptions: ParsableArguments {
    @Option(name: .long, help: "Only this platform of an index, e.g. linux/amd64 (re-roots the image at that manifest).")
    var platform: String?

    func parsed() throws -> Platform? {
        guard let platform else { return nil }
        return try Platform(parsing: platform)
    }
}

/// `--format` and `--oci`, shared by mount and export: how the layout shows the images.
struct FormatOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case oci, docker
    }

    @Option(
        help: ArgumentHelp(
            "oci: an OCI layout; docker: also the manifest.json that docker load reads (an index gives its manifest for --platform, else this machine's). Default: oci, and for export --tar also manifest.json when every image is one platform (as docker save writes since docker 25).",
            valueName: "format"))
    var format: Format?
    @Flag(help: "Show Docker-typed manifests and lists converted to OCI media types (new manifest digests, same layers), as skopeo copy --format oci does.")
    var oci = false

    func shape(_ platform: PlatformOptions) throws -> LayoutPlan.Shape {
        LayoutPlan.Shape(platform: try platform.parsed(), oci: oci, dockerManifest: format == .docker)
    }

    /// `--format` as given, else oci.
    var chosen: Format { format ?? .oci }

    /// For `export --tar` without `--format`: whether docker's manifest.json goes in the archive
    /// too. It does when it is unambiguous, every image being one platform (a manifest, an index
    /// offering one platform, or any index under `--platform`); else nil and, for the message,
    /// the first image that offers several platforms, with them.
    static func dockerManifestIsUnambiguous(
        for images: [ResolvedImage], platform: Platform?, store: Store
    ) -> (include: Bool, ambiguous: (label: String, platforms: [String])?) {
        guard platform == nil else { return (true, nil) }
        for image in images where image.root.mediaType.isIndex {
            let offered = ListImages.platforms(of: image.root, in: store)
            if offered.count != 1 { return (false, (image.name ?? image.root.digest.description, offered)) }
        }
        return (true, nil)
    }
}

/// `--insecure-registry` and `--retries`, shared by the commands that reach registries (pull,
/// export, mount and its daemon, check --repair).
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("insecure-registry"), help: "A registry host[:port] to reach over plain HTTP (repeatable; loopback hosts always may be).")
    var insecureRegistries: [String] = []
    @Option(
        help: """
            Retries of a registry request after a refused connection (waiting 0.5, 1, 2, 4 s...), a timeout, 5xx or 429: 0 to 10, 0 for a single attempt. Each is announced. An unknown host fails at once.
            """)
    var retries = 4

    func validate() throws {
        let allowed = RegistryConfiguration.allowedRetries
        guard allowed.contains(retries) else {
            throw ValidationError("--retries must be between \(allowed.lowerBound) and \(allowed.upperBound) (0: a single attempt), not \(retries)")
        }
    }

    /// The client's configuration; `onRetry` announces each retry (by default on stderr as
    /// `layoutfs: retrying in 1 s (attempt 3 of 5): connection refused (HOST:PORT)`).
    func configuration(readTimeout seconds: Int = 30, onRetry: @escaping @Sendable (RegistryRetry) -> Void = Self.printRetry) -> RegistryConfiguration {
        RegistryConfiguration(insecureHosts: Set(insecureRegistries), readTimeout: .seconds(max(1, seconds)), retries: retries, onRetry: onRetry)
    }

    @Sendable static func printRetry(_ retry: RegistryRetry) {
        var stderr = StandardError()
        print("layoutfs: \(retry)", to: &stderr)
    }
}

extension LazyReadOptions.Prefetch: ExpressibleByArgument {}
extension LazyReadOptions.Verification: ExpressibleByArgument {}

/// `--log-level`, for the commands that log (registry retries, fetches, the mount daemon).
struct LogOptions: ParsableArguments {
    @Option(help: "Log level on stderr.") var logLevel: LogLevel = .warning

    /// A logger writing to stderr at the chosen level.
    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel.level
        return logger
    }
}

/// `--content DIR` and `--name`: read blobs straight from a containerd or BuildKit content
/// directory (read-only, no daemon), naming an image given there by digest.
struct ContentOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Also read blobs from this content directory, read-only: containerd's <root>/io.containerd.content.v1.content, BuildKit's <root>/runc-overlayfs/content.",
            valueName: "dir"), completion: .directory)
    var content: String?
    @Option(help: "The name an image given by digest (from the store or --content) has in index.json (e.g. demo/app:1).") var name: String?

    /// The same options with the content directory as an absolute path.
    func absolute() -> ContentOptions {
        var options = self
        options.content = content.map(PathChecks.resolved)
        return options
    }

    /// The store, reading also from the content directory when one is given.
    func apply(to store: Store) throws -> Store {
        guard let content else { return store }
        return try store.readingAlso(contentDirectory: content)
    }

    /// Names the one image given by digest, when --name is set.
    /// - Throws: when --name is given without exactly one digest image.
    func name(_ images: [ResolvedImage]) throws -> [ResolvedImage] {
        guard let name else { return images }
        guard images.count == 1 else {
            throw CommandFailure("--name names one image given by digest (sha256:... or its first 12 or more hex digits); \(images.count) images were given")
        }
        if let existing = images[0].name {
            throw CommandFailure(
                "--name names an image given by digest (sha256:... or its first 12 or more hex digits); \(existing) is a name already (layoutfs tag adds another)"
            )
        }
        let reference = try ImageReference(parsing: name)
        return [ResolvedImage(name: reference.description, root: images[0].root, pinned: true)]
    }
}
