import Containerd
import ContentStore
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// containerd as the source of a command's images (`--containerd`, `--namespace`): its names
/// (``ContainerdImages``) and its content directory, read directly.
package struct ContainerdSource: Sendable {
    package let client: ContainerdClient
    package let images: ContainerdImages
    /// containerd's content directory (`<root>/blobs/<alg>/<hex>`), readable by this process.
    package let contentRoot: String

    /// Connects, checks the namespace, and takes the names and the content root.
    /// - Throws: ``ContainerdError``: `.noSocket`, `.permissionDenied`, `.unavailable`;
    ///   `.notFound` for a namespace containerd does not have (listing those it has);
    ///   `.failed` when containerd's content directory cannot be read by this process.
    package static func connect(socket: String, namespace: String) async throws(ContainerdError) -> ContainerdSource {
        let client = try ContainerdClient(socket: socket, namespace: namespace)
        let namespaces = try await client.namespaces()
        guard namespaces.contains(namespace) else {
            let known = namespaces.isEmpty ? "it has none yet" : "it has \(namespaces.joined(separator: ", "))"
            throw ContainerdError(
                .notFound,
                "containerd at \(socket) has no namespace \(namespace) (\(known); Docker uses moby, BuildKit buildkit, Kubernetes k8s.io): give one with --namespace"
            )
        }
        let images = ContainerdImages(namespace: namespace, images: try await client.images())
        guard let root = try await client.contentRoot() else {
            throw ContainerdError(.failed, "containerd at \(socket) does not say where its content directory is (no io.containerd.content.v1 plugin root)")
        }
        guard access(root + "/blobs", R_OK | X_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ContainerdError(
                .failed, "containerd's content directory \(root) cannot be read here (\(reason)): run as root, in containerd's mount namespace")
        }
        return ContainerdSource(client: client, images: images, contentRoot: root)
    }

    /// `store` with containerd's names, reading blobs also from containerd's content directory.
    /// - Throws: `ImagesError` when the content directory is not one.
    package func applied(to store: Store) throws(ImagesError) -> Store {
        let place = "containerd namespace \(images.namespace) (\(client.socket))"
        return try store.naming(with: images, origin: (place, "layoutfs images --containerd --namespace \(images.namespace)"))
            .readingAlso(contentDirectory: contentRoot)
    }
}
