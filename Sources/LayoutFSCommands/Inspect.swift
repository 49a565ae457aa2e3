import ArgumentParser
import ContainerdStore
import ContentStore
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs inspect IMAGE [--platform P] [--json | --raw | --config]`, as `skopeo inspect` is
/// used: what an image is, from what is here, fetching nothing.
struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an image's names, digest, platforms, config and layers (--raw: its manifest or index as stored; --config: its config).",
        discussion: """
            Reads only manifests, indexes and the chosen config, never a layer, and fetches \
            nothing: a lazy image (pull --lazy) is inspected from the manifests and configs the \
            pull stored; each layer's state says local, lazy (with the bytes already cached) or, \
            with --containerd, remote.

            An index shows its platforms and one manifest's details: --platform's, else this \
            machine's (as mount --rootfs chooses). --raw prints the root blob's bytes exactly \
            (with --platform, that platform's manifest), --config the chosen manifest's config \
            blob exactly, as skopeo inspect --raw and --config --raw do. --json prints the \
            details as one object with camelCase keys, the same keys for every image (names, digest, \
            mediaType, size, the chosen platform's manifest and config, created, architecture, os, \
            variant, env, entrypoint, cmd, workingDir, user, labels, layers): a value the image \
            lacks is null, [] or {}.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(
        help:
            "The image: NAME[:TAG], NAME@sha256:..., sha256:... (or its first 12+ hex digits, as images prints them), or docker://REF (pulled lazily first: manifests and configs only).",
        completion: ShellCompletion.images) var image: String
    @Option(help: "The platform of an index to show, e.g. linux/arm64 (default: this machine's).") var platform: String?
    @Flag(help: "Print the details as one JSON object (camelCase keys).") var json = false
    @Flag(help: "Print the manifest or index exactly as stored (with --platform: that platform's manifest).") var raw = false
    @Flag(help: "Print the chosen manifest's config blob exactly as stored.") var config = false
    @Option(
        help: ArgumentHelp(
            "Inspect an image of this containerd or BuildKit content directory (by digest, as images --content lists them).", valueName: "dir"),
        completion: .directory)
    var content: String?
    @OptionGroup var containerd: ContainerdOptions
    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        if raw, config { throw ValidationError("--raw prints the manifest or index, --config the config: give one of them") }
        if json, raw || config {
            throw ValidationError("--json prints the details; --raw and --config print a blob's own JSON as it is stored: give one of them")
        }
        if let platform {
            do { _ = try Platform(parsing: platform) } catch { throw ValidationError(error.message) }
        }
    }

    func run() async throws {
        var store = try self.store.openStore()
        let source: ContainerdSource?
        (store, source) = try await containerd.apply(to: store, content: content)
        if let content { store = try store.readingAlso(contentDirectory: content) }
        let chosenPlatform = try platform.map { try Platform(parsing: $0) }
        let specifier = try ImageSpecifier(parsing: image)
        let resolved: ResolvedImage
        if let source {
            try ContainerdResolution.refuseRegistryReferences([specifier])
            resolved = try await ContainerdResolution.resolve([specifier], in: store, source: source)[0]
        } else {
            // docker://REF: pull --lazy first (manifests and configs), then REF, as mount does;
            // the line goes to stderr so that stdout stays the blob or the JSON.
            let gcLock: GCLock? = if case .registry = specifier { try self.store.holdAgainstPrune(store) } else { nil }
            defer { withExtendedLifetime(gcLock) {} }
            let pulled = try await DockerReferencePull.pullLazily([specifier], into: store, registry: registry, platform: chosenPlatform) { line in
                var stderr = StandardError()
                print("layoutfs: \(line)", to: &stderr)
            }
            resolved = try store.resolve(pulled[0])
        }
        let label = resolved.name ?? resolved.root.digest.description
        if raw {
            var target = resolved.root
            if chosenPlatform != nil, let chosen = try ImageInspection.chooseManifest(of: resolved, platform: chosenPlatform, in: store).chosen {
                target = chosen.manifest
            }
            let what = target.mediaType.isIndex ? "index" : "manifest"
            return Self.writeOut(try ImageInspection.bytes(of: target, of: label, what: what, in: store))
        }
        if config {
            let choice = try ImageInspection.chooseManifest(of: resolved, platform: chosenPlatform, in: store)
            guard let chosen = choice.chosen else {
                let offered = (choice.platforms ?? []).map(\.platform.description).joined(separator: ", ")
                throw CommandFailure("\(label) has no manifest for \(Platform.current) (this machine's platform): give --platform, one of \(offered)")
            }
            return Self.writeOut(try ImageInspection.configBytes(of: chosen.manifest, label: label, in: store))
        }
        let inspection = try ImageInspection.gather(resolved, platform: chosenPlatform, in: store)
        if json {
            Self.writeOut(inspection.json.prettyEncoded + [UInt8(ascii: "\n")])
        } else {
            for line in inspection.lines { print(line) }
        }
    }

    /// Writes `bytes` to standard output as they are (no newline added), retrying short
    /// writes and `EINTR`.
    /// Exits with `layoutfs: error: ...` when standard output fails (`EPIPE` included).
    private static func writeOut(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + done, $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { LayoutFSCommand.fail("cannot write to standard output: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}
