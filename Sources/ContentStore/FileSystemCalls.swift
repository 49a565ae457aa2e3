import CLinuxShims
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the system calls the store uses, throwing `ContentStoreError.io` with
/// the errno and the path involved.
enum FileSystemCalls {
    /// `open(2)` with `O_CLOEXEC` added (swift-system's `FileDescriptor.open`, retrying `EINTR`).
    /// - Throws: `.notFound` for `ENOENT`, else `.io` (`.noSpace` on a full disk), with the errno.
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(ContentStoreError) -> Int32 {
        do {
            return try FileDescriptor.open(
                FilePath(path), FileDescriptor.AccessMode(rawValue: flags & O_ACCMODE),
                options: FileDescriptor.OpenOptions(rawValue: (flags & ~O_ACCMODE) | O_CLOEXEC), permissions: FilePermissions(rawValue: mode)
            ).rawValue
        } catch {
            let failure = Errno(thrownBy: error)
            throw ContentStoreError(failure == .noSuchFileOrDirectory ? .notFound : .io, "cannot open \(path)", errno: failure.rawValue)
        }
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(ContentStoreError) {
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw ContentStoreError(.io, "cannot create directory \(path)", errno: errno)
        }
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(ContentStoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try makeDirectory(current, mode: mode)
        }
    }

    /// Writes all of `bytes` to `fd` (swift-system's `writeAll`: short writes repeated, `EINTR`
    /// retried).
    /// - Throws: `.io` (`.noSpace` on a full disk) with the errno.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: String) throws(ContentStoreError) {
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(bytes)
        } catch {
            throw ContentStoreError(.io, "cannot write \(what)", errno: Errno(thrownBy: error).rawValue)
        }
    }

    static func fsyncFile(_ fd: Int32, what: String) throws(ContentStoreError) {
        if fsync(fd) != 0 { throw ContentStoreError(.io, "cannot sync \(what)", errno: errno) }
    }

    static func fsyncDirectory(_ path: String) throws(ContentStoreError) {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsyncFile(fd, what: path)
    }

    /// Names in a directory (without `.` and `..`); empty when it does not exist.
    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a directory tree (no symlinks followed: entries are unlinked, not descended into,
    /// unless they are real directories).
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in listDirectory(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func randomHex(bytes count: Int = 8) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in
            let b = UInt8.random(in: 0...255, using: &generator)
            return String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16)
        }.joined()
    }
}
