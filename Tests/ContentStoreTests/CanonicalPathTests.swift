import ContentStore
import Foundation
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The one path canonicaliser, each resolution as its callers rely on it.
@Suite("canonical paths")
struct CanonicalPathTests {
    /// `CanonicalPath.of`, its typed throw erased (so `#expect` can take it).
    func resolve(_ path: String, _ resolution: CanonicalPath.Resolution) throws -> String {
        try CanonicalPath.of(path, resolving: resolution)
    }

    /// A directory with `real/sub`, `link -> real/sub` and `dangling -> missing`, resolved.
    func withTree(_ body: (String) throws -> Void) throws {
        let made = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: "/tmp"), create: true)
            .path
        defer { try? FileManager.default.removeItem(atPath: made) }
        let root = try CanonicalPath.of(made, resolving: .full)
        try FileManager.default.createDirectory(atPath: root + "/real/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/real/sub")
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: "missing")
        try body(root)
    }

    @Test("lexical: absolute, . and .. applied to the text, nothing looked up")
    func lexical() throws {
        #expect(try resolve("/a/./b/../c/", .lexical) == "/a/c")
        #expect(try resolve("/../..", .lexical) == "/")
        #expect(try resolve("x/y", .lexical) == FileManager.default.currentDirectoryPath + "/x/y")
        try withTree { (root: String) throws in
            // The link is not followed, so .. leaves the link's directory.
            #expect(try resolve(root + "/link/..", .lexical) == root)
        }
    }

    @Test("full: every symlink resolved; a missing component fails with its errno")
    func full() throws {
        try withTree { (root: String) throws in
            #expect(try resolve(root + "/link/", .full) == root + "/real/sub")
            #expect(throws: Errno.noSuchFileOrDirectory) { try resolve(root + "/dangling", .full) }
        }
    }

    @Test("existing prefix: resolved as the kernel walks it (.. after a symlink leaves its target), the missing rest appended")
    func existingPrefix() throws {
        try withTree { (root: String) throws in
            #expect(try resolve(root + "/link/../new/./deeper/..", .existingPrefix) == root + "/real/new")
            #expect(try resolve(root + "/link", .existingPrefix) == root + "/real/sub")
        }
    }

    @Test("mount point: the parent resolved, the last component followed only while it is a symlink; a missing one is kept")
    func mountPoint() throws {
        try withTree { (root: String) throws in
            #expect(try resolve(root + "/link", .mountPoint) == root + "/real/sub")
            #expect(try resolve(root + "/real/absent", .mountPoint) == root + "/real/absent")
            #expect(try resolve(root + "/dangling", .mountPoint) == root + "/missing")
            #expect(throws: Errno.noSuchFileOrDirectory) { try resolve(root + "/absent/child", .mountPoint) }
        }
    }
}
