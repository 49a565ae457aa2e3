import LayoutFS
import Synchronization

/// The parent of each directory the kernel has looked up, for the `..` entry of `readdir`.
/// The tree has no upward links; the kernel always looks a directory up (or starts at the
/// root) before it lists it, so recording lookups suffices.
final class DirectoryParents: Sendable {
    private let parents = Mutex<[UInt64: UInt64]>([LayoutTree.rootInode: LayoutTree.rootInode])

    func record(directory: UInt64, parent: UInt64) {
        parents.withLock { $0[directory] = parent }
    }

    /// The recorded parent; the directory itself when unknown.
    func parent(of directory: UInt64) -> UInt64 {
        parents.withLock { $0[directory] } ?? directory
    }
}
