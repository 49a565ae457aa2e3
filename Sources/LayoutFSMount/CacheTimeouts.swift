/// How long the kernel may cache names and attributes. Blobs and directories never change
/// within a mount: one hour. `index.json` moves with the images it shows (each generation is a
/// new inode): one second, so a new open soon sees the new generation even without an
/// invalidation.
package struct CacheTimeouts: Sendable, Hashable {
    /// For content that never changes (blobs, `oci-layout`, directories).
    package var immutable: Duration
    /// For `index.json`.
    package var mutable: Duration

    package init(immutable: Duration = .seconds(3600), mutable: Duration = .seconds(1)) {
        self.immutable = immutable
        self.mutable = mutable
    }
}
