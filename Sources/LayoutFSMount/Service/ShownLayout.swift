import ImageStore
import OCISpec

/// What a mount's tree shows for one generation: the entries of `index.json`, the blobs of
/// their closures, the roots of `--oci` conversions and the entries of `manifest.json`
/// (`--format docker`). Made from a ``LayoutPlan``, and carried from the command to the daemon
/// in a ``MountRequest`` so the daemon never plans again.
package struct ShownLayout: Sendable, Equatable {
    /// The `index.json` entries (image-spec image-layout.md).
    package var entries: [Descriptor]
    /// Every blob of the closures, each once.
    package var blobs: [Descriptor]
    /// Roots written by `--oci` conversion, shown and leased beside the images' own.
    package var convertedRoots: [Descriptor]
    /// The entries of docker's `manifest.json`, nil for none.
    package var dockerManifestEntries: [JSONValue]?

    package init(entries: [Descriptor], blobs: [Descriptor], convertedRoots: [Descriptor] = [], dockerManifestEntries: [JSONValue]? = nil) {
        self.entries = entries
        self.blobs = blobs
        self.convertedRoots = convertedRoots
        self.dockerManifestEntries = dockerManifestEntries
    }

    package init(_ plan: LayoutPlan) {
        self.init(entries: plan.entries, blobs: plan.blobs, convertedRoots: plan.convertedRoots, dockerManifestEntries: plan.dockerManifestEntries)
    }

    /// The exact bytes of `index.json`.
    package var indexBytes: [UInt8] { ImageIndex(manifests: entries).json.encoded }
    /// The exact bytes of `manifest.json`, nil for none.
    package var dockerManifestBytes: [UInt8]? { dockerManifestEntries.map { JSONValue.array($0).encoded } }
}
