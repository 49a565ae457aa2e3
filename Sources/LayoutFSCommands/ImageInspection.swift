import OCISpec

/// What `layoutfs inspect` says of one image, as plain values (no I/O): gathered from a store by
/// ``gather(_:platform:in:)``, printed by ``lines`` (people) or ``json`` (programs).
///
/// An index shows its platforms and one manifest's details: the `--platform` one, else this
/// machine's (``Platform/current``, as `mount --rootfs` chooses); a manifest root shows its own.
struct ImageInspection: Equatable {
    /// How the manifest whose details are shown was chosen.
    enum Choice: Equatable {
        /// The root is a manifest.
        case root
        /// `--platform P` selected it from the index.
        case requested(Platform)
        /// This machine's platform selected it from the index (no `--platform`).
        case machine(Platform)
    }

    /// Where a layer's bytes are, as the store can tell without fetching.
    enum LayerState: Equatable {
        /// A file in the store or the content directory read beside it.
        case local
        /// Recorded by `pull --lazy`: fetched when read; `cachedBytes` (bytes) are already in its
        /// cache entry (chunks fetched by a mount so far).
        case lazy(cachedBytes: Int64)
        /// Read through containerd's content API (its directory is not readable here).
        case remote
        /// Nowhere here and not recorded as lazy (a non-distributable layer, or one containerd
        /// lacks).
        case missing

        /// `local`, `lazy`, `remote` or `missing`: the `state` value of `--json`.
        var name: String {
            switch self {
            case .local: return "local"
            case .lazy: return "lazy"
            case .remote: return "remote"
            case .missing: return "missing"
            }
        }
    }

    /// One layer of the chosen manifest, in manifest order.
    struct Layer: Equatable {
        var descriptor: Descriptor
        var state: LayerState
    }

    /// One platform an index offers (attestations left out, as `--platform` sees them) and the
    /// manifest `--platform` selects for it.
    struct PlatformEntry: Equatable {
        var platform: Platform
        var manifest: Descriptor
    }

    /// The chosen manifest and what its image config says (config.md fields; nil or empty when
    /// the config lacks them or is not an image config).
    struct Details: Equatable {
        var manifest: Descriptor
        var choice: Choice
        var config: Descriptor
        /// RFC 3339 text exactly as the config has it.
        var created: String?
        var architecture: String?
        var os: String?
        var variant: String?
        var env: [String] = []
        var entrypoint: [String] = []
        var cmd: [String] = []
        var workingDir: String?
        var user: String?
        /// Label key and value, in the config's order.
        var labels: [Label] = []
        var layers: [Layer] = []

        /// `os/architecture[/variant]` from the config, else nil.
        var platform: String? {
            guard let os, let architecture else { return nil }
            return [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
        }
    }

    /// One `config.Labels` member.
    struct Label: Equatable {
        var key: String
        var value: String
    }

    /// Every name bound to the root (the one given first); empty for an image given by digest
    /// that no name is bound to.
    var names: [String]
    /// The root descriptor (manifest or index).
    var root: Descriptor
    /// For an index, the platforms it offers; nil for a manifest root.
    var platforms: [PlatformEntry]?
    /// The chosen manifest's details; nil for an index without `--platform` that has no
    /// manifest for ``machine``.
    var details: Details?
    /// This machine's platform, the default choice in an index.
    var machine: Platform = .current
}
