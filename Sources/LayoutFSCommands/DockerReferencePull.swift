import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import Logging
import OCISpec
import Registry

/// The `docker://REF` form of IMAGE (DESIGN.md, "The command line"), shared by mount, export
/// and tag: `pull --lazy REF` first (manifests, indexes and configs; layers recorded as lazy
/// blobs, fetched when read or copied), then REF.
enum DockerReferencePull {
    /// Pulls each `.registry` specifier lazily into `store` and returns `specifiers` with each
    /// replaced by `.name` of what was pulled; other specifiers are returned as they are.
    /// Says `pulled NAME lazily (SIZE to fetch on read)` through `say` for each pull.
    /// - Parameters:
    ///   - platform: `--platform`: only that platform of an index is pulled.
    ///   - logger: the registry client's logger.
    /// - Throws: `RegistryError` (unreachable registry, unknown reference, refused access),
    ///   `ImagesError` (`.noPlatform`, `.noSpace`, ...), as `layoutfs pull --lazy`.
    static func pullLazily(
        _ specifiers: [ImageSpecifier], into store: Store, registry: RegistryOptions, platform: Platform?,
        logger: Logger = Logger(label: "layoutfs.registry"), say: (String) -> Void = { print($0) }
    ) async throws -> [ImageSpecifier] {
        var specifiers = specifiers
        for (i, specifier) in specifiers.enumerated() {
            guard case .registry(let reference) = specifier else { continue }
            let result = try await RegistryClient.with(configuration: registry.configuration(), logger: logger) { client in
                try await Puller(store: store, client: client).pull(reference, options: .init(platform: platform, lazy: true))
            }
            say("pulled \(result.name) lazily (\(ByteFormat.string(result.lazyBytes)) to fetch on read)")
            specifiers[i] = .name(try ImageReference(parsing: result.name))
        }
        return specifiers
    }
}
