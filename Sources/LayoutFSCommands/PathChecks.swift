import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LayoutFSMount
import LazyBlobs

/// Guards against pointing layoutfs at itself: a mount inside its own store deadlocks (the
/// daemon would read its blobs through its own mount), and writing a layout into the store
/// pollutes it.
enum PathChecks {
    /// `path` made absolute with its existing part resolved by `realpath(3)`, as the kernel
    /// walks it (a `..` after a symlink leaves the symlink's target, not the link's directory);
    /// the missing rest is appended with `.` and `..` applied (`CanonicalPath`, `.existingPrefix`).
    static func resolved(_ path: String) -> String {
        // Only a removed working directory fails: the path is then taken as it is.
        (try? CanonicalPath.of(path, resolving: .existingPrefix)) ?? path
    }

    static func isInside(_ path: String, _ directory: String) -> Bool {
        path == directory || path.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/")
    }

    /// - Throws: `CommandFailure` when `path` is the store root or inside it.
    static func refuseInsideStore(_ path: String, store: Store, what: String) throws {
        let root = resolved(store.location.root)
        if isInside(resolved(path), root) {
            throw CommandFailure("the \(what) \(path) is inside the store \(root): choose a directory outside it")
        }
    }

    /// The layoutfs mount `path` lies in, if any.
    static func enclosingLayoutFSMount(of path: String) -> String? {
        let target = resolvedParentOnly(path)
        let mounts = (try? MountTable.entries()) ?? []
        return mounts.last { $0.fileSystemType == MountTable.layoutFSType && isInside(target, $0.mountPoint) && target != $0.mountPoint }?.mountPoint
    }

    /// Resolves the parent only: stat of a path inside a stale mount would fail. `.` and `..`
    /// are applied to the text first.
    private static func resolvedParentOnly(_ path: String) -> String {
        let normalized = (try? CanonicalPath.of(path, resolving: .lexical)) ?? path
        guard let slash = normalized.lastIndex(of: "/"), normalized != "/" else { return normalized }
        let parent = resolved(slash == normalized.startIndex ? "/" : String(normalized[..<slash]))
        return (parent == "/" ? "" : parent) + "/" + String(normalized[normalized.index(after: slash)...])
    }
}
