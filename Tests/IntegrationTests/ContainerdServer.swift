import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real containerd (its own root, state and socket in the test's directory, the cri plugin
/// off), filled with `ctr images import`, whose content directory layoutfs reads directly.
final class ContainerdServer {
    let directory: String
    let socket: String
    private var child: Harness.Child
    var contentDirectory: String { directory + "/root/io.containerd.content.v1.content" }

    init(directory: String) throws {
        try Harness.require("containerd", "ctr")
        self.directory = directory
        socket = directory + "/containerd.sock"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = """
            version = 2
            root = "\(directory)/root"
            state = "\(directory)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(socket)"
            """
        try config.write(toFile: directory + "/config.toml", atomically: true, encoding: .utf8)
        child = try Self.start(directory: directory, socket: socket)
    }

    private static func start(directory: String, socket: String) throws -> Harness.Child {
        let child = try Harness.spawn(["containerd", "--config", directory + "/config.toml"])
        try LazyMountTests.waitUntil("containerd listens") {
            var st = stat()
            return try stat(socket, &st) == 0 && Harness.run(["ctr", "-a", socket, "version"]).succeeded
        }
        return child
    }

    deinit {
        kill(child.pid, SIGTERM)
        _ = Harness.wait(child.pid)
    }

    /// Kills containerd (SIGKILL), as a crash would, and waits for it to be gone.
    func kill9() {
        kill(child.pid, SIGKILL)
        _ = Harness.wait(child.pid)
    }

    /// Stops containerd (SIGSTOP), as a hung daemon would be: its socket still accepts
    /// connections and nothing answers. Always ``resume()`` after (a stopped containerd would
    /// not end at the test's end).
    /// Returns once every thread has stopped (`waitpid` with `WUNTRACED` reports the group
    /// stop): a request sent after it is never answered, even on a loaded machine where the
    /// signal takes a while to reach all of containerd's threads.
    func pause() {
        kill(child.pid, SIGSTOP)
        var status: Int32 = 0
        while waitpid(child.pid, &status, WUNTRACED) < 0 && errno == EINTR {}
    }

    /// Lets a ``pause()``d containerd run again (SIGCONT).
    func resume() {
        kill(child.pid, SIGCONT)
    }

    /// Starts containerd again on the same root and socket (after ``kill9()``).
    func restart() throws {
        child = try Self.start(directory: directory, socket: socket)
    }

    /// Builds a one-platform image in `directory` (`layers`, else two small random ones), and
    /// imports it as `name` (its tag the layout's ref name) with `ctr images import --no-unpack`.
    @discardableResult
    func importBuilt(_ directory: String, name: String, layers: [[UInt8]]? = nil, namespace: String = "default") throws -> BuiltImage {
        let layout = try ImageBuilder(path: directory)
        let image = try layout.addImage(layers: layers)
        let tag = name.split(separator: ":").last.map(String.init) ?? "latest"
        try layout.writeIndex([ImageBuilder.entry(image.manifest, refName: tag, imageName: name)])
        try Harness.runOK(["tar", "-C", directory, "-cf", directory + ".tar", "oci-layout", "index.json", "blobs"])
        try ctr(["images", "import", "--no-unpack", directory + ".tar"], namespace: namespace)
        return image
    }

    /// `ctr images import --index-name NAME` of an archive.
    func importArchive(_ path: String, name: String, namespace: String = "default") throws {
        try ctr(["images", "import", "--index-name", name, path], namespace: namespace)
    }

    /// Runs `ctr -a SOCKET -n NAMESPACE ARGUMENTS...`, expecting success.
    @discardableResult
    func ctr(_ arguments: [String], namespace: String = "default", sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        try Harness.runOK(["ctr", "-a", socket, "-n", namespace] + arguments, sourceLocation: sourceLocation)
    }
}
