import CLinuxShims
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where the store lives (DESIGN.md "On disk"): `--root`, else `$LAYOUTFS_ROOT`, else
/// `/var/lib/layoutfs` for root, else `$XDG_DATA_HOME/layoutfs` (`~/.local/share/layoutfs`).
package struct StoreLocation: Sendable {
    package let root: String

    package init(root: String?) {
        let environment = ProcessInfo.processInfo.environment
        if let root, !root.isEmpty {
            self.root = root
        } else if let root = environment["LAYOUTFS_ROOT"], !root.isEmpty {
            self.root = root
        } else if geteuid() == 0 {
            self.root = "/var/lib/layoutfs"
        } else if let data = environment["XDG_DATA_HOME"], !data.isEmpty {
            self.root = data + "/layoutfs"
        } else {
            self.root = (environment["HOME"] ?? "/tmp") + "/.local/share/layoutfs"
        }
    }

    package var contentRoot: String { root + "/content" }
    package var databasePath: String { root + "/meta.db" }
    /// Leases of running mounts: `leases/<id>.json` + `.lock` (``LockedRecord``).
    package var leasesDirectory: String { root + "/leases" }
    /// Running mounts: `mounts/<id>.json` + `.lock` (``LockedRecord``).
    package var mountsDirectory: String { root + "/mounts" }
    /// Lazy blobs being fetched: `cache/<alg>/<hex>` (``CacheEntry``).
    package var cacheRoot: String { root + "/cache" }

    /// Creates the root (0700) and refuses a filesystem where SQLite's WAL cannot work.
    /// - Throws: `ContentStoreError.invalidStore` on NFS or FUSE, `.io` when it cannot be made.
    package func prepare() throws(ContentStoreError) {
        try FileSystemCalls.makeDirectories(root)
        let type = lfs_filesystem_type(root)
        guard type != -1 else { throw ContentStoreError(.io, "cannot inspect \(root)", errno: errno) }
        let nfs: Int = 0x6969
        let fuse: Int = 0x6573_5546
        if type == nfs || type == fuse {
            throw ContentStoreError(
                .invalidStore,
                "the store \(root) is on NFS or FUSE, where SQLite's WAL cannot work: choose a local directory with --root or LAYOUTFS_ROOT")
        }
    }
}
