import ArgumentParser
import Containerd
import ContainerdStore
import Foundation
import ImageStore

/// `--containerd[=SOCKET]` and `--namespace NS`: images named by containerd, with its blobs read
/// from its content directory (images, mount, export).
struct ContainerdOptions: ParsableArguments {
    @Option(
        name: .customLong("containerd"),
        help: ArgumentHelp(
            "Images from containerd: its names (namespace --namespace) and blobs, held by a containerd lease while used. The socket defaults to $CONTAINERD_ADDRESS, else /run/containerd/containerd.sock; give another as --containerd=SOCKET (or --containerd SOCKET when it starts with / or . or ends in .sock).",
            valueName: "socket"))
    var containerd: String?
    @Option(help: "With --containerd: the namespace (default $CONTAINERD_NAMESPACE, else default; Docker uses moby, BuildKit buildkit, Kubernetes k8s.io).")
    var namespace: String?

    /// The value a bare `--containerd` stands for (the socket from the environment); never a
    /// socket path (those are absolute or relative paths, not starting with "@").
    static let bare = "@environment"

    var isEnabled: Bool { containerd != nil }

    func validate() throws {
        if namespace != nil, containerd == nil { throw ValidationError("--namespace goes with --containerd") }
    }

    /// The socket to use, absolute (the mount daemon leaves the working directory).
    var socket: String {
        let path = ContainerdSocket.path(explicit: containerd.flatMap { $0 == Self.bare ? nil : $0 }, environment: ProcessInfo.processInfo.environment)
        return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// The namespace to use.
    var chosenNamespace: String {
        namespace ?? ProcessInfo.processInfo.environment["CONTAINERD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    }

    /// containerd as the source, when `--containerd` is given.
    /// - Throws: ``ContainerdError`` (no socket, unknown namespace, unreadable content directory).
    func source() async throws -> ContainerdSource? {
        guard isEnabled else { return nil }
        return try await ContainerdSource.connect(socket: socket, namespace: chosenNamespace)
    }

    /// `store` as the command sees it: with containerd's names and content when `--containerd`
    /// is given (`content` must then be nil).
    func apply(to store: Store, content: String?) async throws -> (Store, ContainerdSource?) {
        guard let source = try await source() else { return (store, nil) }
        if content != nil { throw CommandFailure("--content and --containerd both give a content directory: give one") }
        return (try await source.applied(to: store), source)
    }

    /// The command line with a bare `--containerd` (no `=SOCKET`, and not followed by a socket
    /// path: ``isSocketPath(_:)``) given ``bare`` as its value: ArgumentParser
    /// options need a value, and `--containerd IMAGE MNT` must not take the image for the socket.
    static func normalized(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument == "--containerd" else {
                result.append(argument)
                continue
            }
            if index < arguments.endIndex, Self.isSocketPath(arguments[index]) {
                result += [argument, arguments[index]]
                index += 1
            } else {
                result.append("--containerd=\(bare)")
            }
        }
        return result
    }

    /// A socket path after a bare `--containerd`: an existing socket, a name ending in `.sock`,
    /// or a path starting with `/` or `.` (an image name never does).
    private static func isSocketPath(_ argument: String) -> Bool {
        argument.hasSuffix(".sock") || argument.hasPrefix("/") || argument.hasPrefix("./") || argument.hasPrefix("../") || isSocket(argument)
    }

    private static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }
}
