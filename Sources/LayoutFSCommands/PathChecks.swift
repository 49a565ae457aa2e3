import Foundation
import Images
import LayoutFSMount

/// Guards against pointing layoutfs at itself: a mount inside its own store deadlocks (the
/// daemon would read its blobs through its own mount), and writing a layout into the store
/// pollutes it.
enum PathChecks {
    /// `path` made absolute with symlinks resolved in its existing part.
    static func resolved(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        var missing: [String] = []
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" {
            missing.insert(url.lastPathComponent, at: 0)
            url.deleteLastPathComponent()
        }
        var resolved = url.resolvingSymlinksInPath().path
        for component in missing { resolved += (resolved.hasSuffix("/") ? "" : "/") + component }
        return resolved
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

    /// Resolves the parent only: stat of a path inside a stale mount would fail.
    private static func resolvedParentOnly(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return resolved(url.deletingLastPathComponent().path) + "/" + url.lastPathComponent
    }
}
