import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The one canonicaliser of paths: absolute, no `.`, `..`, empty or trailing components, and
/// as much symlink resolution as the caller may afford. Each ``Resolution`` says which
/// components may be looked up; a mount point's own component never is (a `stat` of a mount
/// point reaches its file system, which blocks on a stopped FUSE daemon and fails with
/// `ENOTCONN` on a stale one).
package enum CanonicalPath {
    /// How much of a path is resolved through the file system.
    package enum Resolution: Sendable {
        /// Nothing is looked up: `.` and `..` are applied to the text.
        case lexical
        /// Every component is resolved (`realpath(3)`); it fails when one is missing.
        case full
        /// The longest existing prefix is resolved with `realpath(3)`, as the kernel walks it
        /// (a `..` after a symlink leaves the symlink's target); the missing rest is appended
        /// with `.` and `..` applied. Never fails.
        case existingPrefix
        /// As mount(2) names a mount point: the parent is resolved with `realpath(3)`, the last
        /// component only with `readlink(2)` (followed when a symlink, up to 40 links), never
        /// with `stat`. A last component `.` or `..` resolves the whole path.
        case mountPoint
    }

    /// `path` made absolute against the working directory (`getcwd(3)`), unchanged otherwise.
    /// - Throws: the errno of `getcwd` (`ENOENT` when the working directory was removed).
    package static func absolute(_ path: String) throws(Errno) -> String {
        guard !path.hasPrefix("/") else { return path }
        guard let cwd = getcwd(nil, 0) else { throw Errno(rawValue: errno) }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }

    /// `path` canonicalised as `resolution` says.
    /// - Throws: the errno of `getcwd` for a relative path; with `.full`, `.mountPoint`: the
    ///   errno of `realpath` (`ENOENT` for a missing component) or `ELOOP` after 40 symlinks.
    package static func of(_ path: String, resolving resolution: Resolution) throws(Errno) -> String {
        let absolute = try Self.absolute(path)
        switch resolution {
        case .lexical:
            return lexicallyNormalized(absolute)
        case .full:
            return try realPath(absolute)
        case .existingPrefix:
            var existing = absolute.split(separator: "/").map(String.init)
            var missing: [String] = []
            while true {
                if let real = try? realPath("/" + existing.joined(separator: "/")) {
                    return lexicallyNormalized(real + "/" + missing.joined(separator: "/"))
                }
                guard let last = existing.popLast() else { return lexicallyNormalized(absolute) }
                missing.insert(last, at: 0)
            }
        case .mountPoint:
            var current = absolute
            for _ in 0..<40 {
                var components = current.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
                guard let last = components.popLast() else { return "/" }
                if last == "." || last == ".." { return try realPath(current) }
                let parent = try realPath("/" + components.joined(separator: "/"))
                let candidate = parent == "/" ? "/" + last : parent + "/" + last
                // readlink answers EINVAL for anything but a symlink without asking a mounted
                // file system (a mount point is never a symlink).
                guard let target = symlinkTarget(candidate) else { return candidate }
                current = target.hasPrefix("/") ? target : parent + "/" + target
            }
            throw Errno.tooManySymbolicLinkLevels
        }
    }

    /// `.` and empty components dropped, `..` removing the one before (nothing above `/`).
    private static func lexicallyNormalized(_ absolute: String) -> String {
        var parts: [Substring] = []
        for component in absolute.split(separator: "/") where component != "." {
            if component == ".." { _ = parts.popLast() } else { parts.append(component) }
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func realPath(_ path: String) throws(Errno) -> String {
        guard let resolved = realpath(path, nil) else { throw Errno(rawValue: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The target of the symlink at `path`, nil when it is not one.
    private static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, Int(PATH_MAX))
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
