import CLinuxShims
import ContentStore
import ImagePull
import ImageStore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A directory of the destination layout, opened so that nothing inside it is reached through
/// a symlink (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`): a symlinked `blobs/`
/// must not redirect a root process's writes elsewhere.
final class DestinationDirectory: Sendable {
    let fileDescriptor: Int32
    let path: String

    private init(fileDescriptor: Int32, path: String) {
        self.fileDescriptor = fileDescriptor
        self.path = path
    }

    deinit { close(fileDescriptor) }

    /// Opens (creating when needed) the top directory; the user's own path may contain symlinks.
    static func openRoot(_ path: String) throws(ImagesError) -> DestinationDirectory {
        do throws(ContentStoreError) {
            var current = path.hasPrefix("/") ? "" : "."
            for component in path.split(separator: "/") {
                current += "/" + component
                if mkdir(current, 0o755) != 0, errno != EEXIST { throw ContentStoreError(.io, "cannot create \(current)", errno: errno) }
            }
        } catch {
            throw ImagesError(error, "cannot create the destination")
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ImagesError(.io, "cannot open destination \(path): \(String(cString: strerror(errno)))") }
        return DestinationDirectory(fileDescriptor: fd, path: path)
    }

    /// Opens (creating when needed) subdirectory `name`, refusing a symlink.
    /// - Throws: `.unsafeDestination` when `name` is a symlink or not a directory.
    func subdirectory(_ name: String) throws(ImagesError) -> DestinationDirectory {
        if mkdirat(fileDescriptor, name, 0o755) != 0, errno != EEXIST {
            throw ImagesError(ImagesError.Code(errno: errno), "cannot create \(path)/\(name): \(String(cString: strerror(errno)))")
        }
        let fd = lfs_openat_beneath(fileDescriptor, name, O_RDONLY | O_DIRECTORY, 0)
        guard fd >= 0 else {
            if errno == ELOOP || errno == EXDEV || errno == ENOTDIR {
                throw ImagesError(.unsafeDestination, "\(path)/\(name) is a symlink or not a directory: refusing to write through it")
            }
            throw ImagesError(.io, "cannot open \(path)/\(name): \(String(cString: strerror(errno)))")
        }
        return DestinationDirectory(fileDescriptor: fd, path: "\(path)/\(name)")
    }

    /// Opens file `name` inside this directory without following symlinks; -1 with errno set
    /// on failure (`ELOOP` for a symlink, `ENOENT`).
    func openFile(_ name: String, _ flags: Int32, mode: mode_t = 0o644) -> Int32 {
        lfs_openat_beneath(fileDescriptor, name, flags, UInt32(mode))
    }

    /// Reads a small file (at most `limit` bytes); nil when absent.
    /// - Throws: `.unsafeDestination` for a symlink, `.invalidLayout` when too large or not a
    ///   regular file (a named pipe would read as empty), `.io`.
    func readFile(_ name: String, limit: Int64) throws(ImagesError) -> [UInt8]? {
        let fd = openFile(name, O_RDONLY | O_NONBLOCK)  // a named pipe is never waited on (and refused below)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            if errno == ELOOP || errno == EXDEV { throw ImagesError(.unsafeDestination, "\(path)/\(name) is a symlink: refusing to use it") }
            throw ImagesError(.io, "cannot open \(path)/\(name): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        fstat(fd, &st)
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ImagesError(.invalidLayout, "\(path)/\(name) is not a regular file; it was left as it is: remove it")
        }
        guard Int64(st.st_size) <= limit else {
            close(fd)
            throw ImagesError(.invalidLayout, "\(path)/\(name) is \(st.st_size) bytes, more than the \(limit)-byte limit")
        }
        do {
            return try BlobFile(fileDescriptor: fd, size: Int64(st.st_size)).readAll()
        } catch {
            throw ImagesError(error, "cannot read \(path)/\(name)")
        }
    }

    /// Replaces file `name` atomically: unique temp, write, fsync, rename, fsync directory.
    func replaceFile(_ name: String, contents: [UInt8]) throws(ImagesError) {
        let temporary = ".\(name).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = openFile(temporary, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        guard fd >= 0 else { throw ImagesError(ImagesError.Code(errno: errno), "cannot create \(path)/\(temporary): \(String(cString: strerror(errno)))") }
        var failure: Int32 = 0
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(contents)
        } catch {
            failure = Errno(thrownBy: error).rawValue
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, renameat(fileDescriptor, temporary, fileDescriptor, name) != 0 { failure = errno }
        if failure != 0 {
            unlinkat(fileDescriptor, temporary, 0)
            let code = ImagesError.Code(errno: failure)
            throw ImagesError(code, "cannot write \(path)/\(name): \(String(cString: strerror(failure)))\(code == .noSpace ? " (the disk is full)" : "")")
        }
        sync()
    }

    /// fsync of the directory itself (makes renames and links durable).
    func sync() { fsync(fileDescriptor) }
}
