import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// Marks of blobs that passed a check of their bytes, kept in the store so that the check runs
/// once per store, not at every use: `<root>/checked/<alg>/<hex>`, empty files. A digest names
/// its bytes, so a mark stays true; losing one only means checking again. Used for image
/// configs read from a content directory or containerd (the duplicate-member check of
/// `ManifestNode.checkConfiguration`): the store's own configs were checked when they came in.
package struct CheckMarks: Sendable {
    /// `<root>/checked`.
    package let directory: String

    package init(location: StoreLocation) {
        directory = location.root + "/checked"
    }

    /// True when `digest`'s bytes passed the check here before.
    package func contains(_ digest: Digest) -> Bool {
        access(path(digest), F_OK) == 0
    }

    /// Records that `digest`'s bytes passed the check. Best effort: a store that cannot be
    /// written (read-only, full) checks again next time.
    package func mark(_ digest: Digest) {
        let file = path(digest)
        var fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0, errno == ENOENT {
            try? FileSystemCalls.makeDirectories(directory + "/" + digest.algorithm.rawValue)
            fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        if fd >= 0 { close(fd) }
    }

    private func path(_ digest: Digest) -> String {
        "\(directory)/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }
}
