import ImageStore
import LayoutFS
import OCISpec

/// What a followed name's move changes in a running mount (``IndexFollower``): the layout's
/// `index.json` generation (``LayoutFollowing``), or the rootfs view's tree
/// (``RootfsFollowing``).
package protocol FollowingTarget: Sendable {
    /// Shows `layout` (the images the names now resolve to) as the next generation. Blocking: a
    /// rootfs view indexes the new image's layers first. Called from the follower's poll, never
    /// a FUSE request thread.
    /// - Returns: the generation's number, the entries the kernel must forget (parent inode,
    ///   name), and the inodes whose cached data it must drop.
    /// - Throws: when the new generation cannot be shown; the mount keeps showing the previous.
    func show(_ layout: ShownLayout) throws -> (generation: UInt64, entries: [(parent: UInt64, name: String)], inodes: [UInt64])
    /// The previous generations' grace period is over: what only they showed goes, except the
    /// blobs of `keeping`.
    /// - Returns: the entries the kernel must forget.
    func retire(keeping: Set<Digest>) -> [(parent: UInt64, name: String)]
}

/// A layout mount's target: `index.json` (and `manifest.json`) get a new generation.
package struct LayoutFollowing: FollowingTarget {
    let tree: LayoutTree
    let showsDockerManifest: Bool

    /// - Parameter showsDockerManifest: `manifest.json` is shown (`--format docker`) and is
    ///   forgotten with `index.json`.
    package init(tree: LayoutTree, showsDockerManifest: Bool) {
        self.tree = tree
        self.showsDockerManifest = showsDockerManifest
    }

    package func show(_ layout: ShownLayout) -> (generation: UInt64, entries: [(parent: UInt64, name: String)], inodes: [UInt64]) {
        let generation = tree.replace(index: layout.indexBytes, dockerManifest: layout.dockerManifestBytes, blobs: layout.blobs)
        var entries = [(LayoutTree.rootInode, ImageLayout.indexFileName)]
        if showsDockerManifest { entries.append((LayoutTree.rootInode, ImageLayout.dockerManifestFileName)) }
        return (generation, entries, [])
    }

    package func retire(keeping: Set<Digest>) -> [(parent: UInt64, name: String)] {
        tree.retire(keeping: keeping)
    }
}
