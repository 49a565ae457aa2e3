#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where containerd's API listens, and a check that it does before any call: the gRPC
/// transport would otherwise retry a missing or refused socket until a call's deadline, and
/// say only "unavailable".
package enum ContainerdSocket {
    /// containerd's default address (`ctr --address`).
    package static let defaultPath = "/run/containerd/containerd.sock"

    /// The socket to use: `explicit` when given, else `$CONTAINERD_ADDRESS` (as ctr and
    /// nerdctl read it, with or without a `unix://` prefix), else ``defaultPath``.
    package static func path(explicit: String?, environment: [String: String]) -> String {
        let chosen = explicit ?? environment["CONTAINERD_ADDRESS"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
        return chosen.hasPrefix("unix://") ? String(chosen.dropFirst("unix://".count)) : chosen
    }

    /// Connects to `path` once and closes the connection.
    /// - Throws: `.noSocket` (no such file, or a file or directory that is not a socket), `.permissionDenied`,
    ///   `.unavailable` (nothing listens), `.invalidArgument` (a path over 107 bytes).
    package static func probe(_ path: String) throws(ContainerdError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw ContainerdError(.invalidArgument, "the containerd socket path \(path) is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ContainerdError(.failed, "cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var result: Int32
        repeat {
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } while result != 0 && errno == EINTR
        let code = errno
        let hint = "start containerd, or give its socket with --containerd=SOCKET or $CONTAINERD_ADDRESS"
        if path.hasSuffix(".ttrpc") {
            // It accepts, but speaks ttrpc: a gRPC call would wait for its deadline.
            throw ContainerdError(
                .invalidArgument, "\(path) is containerd's ttrpc socket (for shims); give its gRPC socket: --containerd=\(path.dropLast(".ttrpc".count))")
        }
        guard result != 0 else { return }
        if code == ECONNREFUSED, !isSocketOrGone(path) {
            // Linux answers a connect to a regular file or a directory with ECONNREFUSED.
            var inside = stat()
            let socketInside = kind(of: path) == "a directory" && stat(path + "/containerd.sock", &inside) == 0
            throw ContainerdError(
                .noSocket, "\(path) is \(kind(of: path)), not a socket: " + (socketInside ? "give --containerd=\(path)/containerd.sock" : hint))
        }
        switch code {
        case ENOENT, ENOTDIR:
            throw ContainerdError(.noSocket, "no containerd socket at \(path): \(hint)")
        case ECONNREFUSED:
            throw ContainerdError(.unavailable, "nothing listens on the containerd socket \(path) (containerd is not running?): \(hint)")
        case EACCES, EPERM:
            throw ContainerdError(
                .permissionDenied, "permission denied connecting to the containerd socket \(path): run as root or as a member of the socket's group")
        case ENOTSOCK:
            throw ContainerdError(.noSocket, "\(path) is not a socket: \(hint)")
        default:
            throw ContainerdError(.unavailable, "cannot connect to the containerd socket \(path): \(String(cString: strerror(code)))")
        }
    }

    private static func isSocketOrGone(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) != 0 || info.st_mode & S_IFMT == S_IFSOCK
    }

    private static func kind(of path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "not a socket" }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFREG: return "a regular file"
        default: return "a special file"
        }
    }
}
