import ContentStore
import Foundation
import OCISpec
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with an empty content store in a temporary directory.
func withContentStore<R>(_ body: (LocalContentStore, String) throws -> R) throws -> R {
    try withTemporaryDirectory { root in
        let store = try LocalContentStore(contentRoot: root + "/content")
        return try body(store, root)
    }
}

/// Names in a directory, sorted; empty when it does not exist.
func listing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// `st_mode & 0o7777` of `path`, not following a symlink.
func permissions(_ path: String) -> mode_t? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return st.st_mode & 0o7777
}

func digest(_ bytes: [UInt8], _ algorithm: OCISpec.Digest.Algorithm = .sha256) -> OCISpec.Digest {
    ImageBuilder.digest(of: bytes, algorithm: algorithm)
}
