import BlockingWork
import Containerd
import ContentStore
import Foundation
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// containerd as the source of a command's images (`--containerd`, `--namespace`): its names
/// (``ContainerdImages``) and its blobs, read from its content directory when this process can
/// read it (``Access/directory``), else through the content service's Read call
/// (``Access/api``: a rootless containerd, a socket from another mount namespace).
package struct ContainerdSource: Sendable {
    /// How blobs are read.
    package enum Access: Sendable, Equatable {
        /// containerd's content directory (`<root>/blobs/<alg>/<hex>`), read as files.
        case directory(String)
        /// The content service: manifests, indexes and configs are copied into layoutfs's store
        /// (verified); other blobs are read through Read when used.
        case api
    }

    package let client: ContainerdClient
    package let images: ContainerdImages
    package let access: Access

    /// Connects, checks the namespace, and takes the names and how to read the blobs.
    /// `$LAYOUTFS_CONTAINERD_READ=api` reads through the API even when the directory is
    /// readable (to compare the two).
    /// - Throws: ``ContainerdError``: `.noSocket`, `.permissionDenied`, `.unavailable`;
    ///   `.notFound` for a namespace containerd does not have (listing those it has).
    package static func connect(socket: String, namespace: String) async throws(ContainerdError) -> ContainerdSource {
        let client = try ContainerdClient(socket: socket, namespace: namespace)
        // The three calls at once: one round trip at mount start, in the command and the daemon.
        async let listedNamespaces = result { () async throws(ContainerdError) in try await client.namespaces() }
        async let listedImages = result { () async throws(ContainerdError) in try await client.images() }
        async let contentRoot = result { () async throws(ContainerdError) in try await client.contentRoot() }
        let namespaces = try await listedNamespaces.get()
        guard namespaces.contains(namespace) else {
            let known = namespaces.isEmpty ? "it has none yet" : "it has \(namespaces.joined(separator: ", "))"
            throw ContainerdError(
                .notFound,
                "containerd at \(socket) has no namespace \(namespace) (\(known); Docker uses moby, BuildKit buildkit, Kubernetes k8s.io): give one with --namespace"
            )
        }
        let images = ContainerdImages(namespace: namespace, images: try await listedImages.get())
        let forced = ProcessInfo.processInfo.environment["LAYOUTFS_CONTAINERD_READ"] == "api"
        if !forced, let root = try await contentRoot.get(), Glibc.access(root + "/blobs", R_OK | X_OK) == 0 {
            return ContainerdSource(client: client, images: images, access: .directory(root))
        }
        return ContainerdSource(client: client, images: images, access: .api)
    }

    /// What `call` returns or throws, as a value (`async let` keeps no typed throws).
    private static func result<T>(_ call: () async throws(ContainerdError) -> T) async -> Result<T, ContainerdError> {
        do {
            return .success(try await call())
        } catch {
            return .failure(error)
        }
    }

    /// `store` with containerd's names, reading blobs also from containerd: its content
    /// directory, or (``Access/api``) its blobs counted as remote, with the manifests, indexes
    /// and configs of every image in the namespace copied into the store first.
    /// - Throws: `ImagesError` when the content directory is not one; ``ContainerdError`` when
    ///   the API fails; `ContentStoreError` when the store cannot take a document.
    package func applied(to store: Store) async throws -> Store {
        let place = "containerd namespace \(images.namespace) (\(client.socket))"
        let named = store.naming(with: images, origin: (place, "layoutfs images --containerd --namespace \(images.namespace)"))
        switch access {
        case .directory(let root):
            return try named.readingAlso(contentDirectory: root)
        case .api:
            let remote = named.readingAlso(remoteBlobs: RemoteBlobSizes(try await contentSizes()))
            try await copyDocuments(of: try images.images().map(\.target), into: remote)
            return remote
        }
    }

    /// Every blob containerd has in the namespace, with its size (content service List).
    package func contentSizes() async throws(ContainerdError) -> [Digest: Int64] {
        Dictionary(try await client.contentList().map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first })
    }

    /// Before a mount shows where a name moved (``Access/api``): the remote sizes listed anew,
    /// and the new target's manifests, indexes and configs copied into the store. Nothing to do
    /// when containerd's directory is read.
    /// - Throws: ``ContainerdError``, `ContentStoreError`.
    package func prepare(_ target: Descriptor, in store: Store) async throws {
        guard access == .api, let remote = store.remoteBlobs else { return }
        remote.replaceAll(try await contentSizes())
        try await copyDocuments(of: [target], into: store)
    }

    /// Copies the manifests, indexes and configs of `roots`' closures that containerd has and
    /// the store lacks into the store (read through the API, verified against their digests).
    /// - Throws: ``ContainerdError``, `ContentStoreError`.
    package func copyDocuments(of roots: [Descriptor], into store: Store) async throws {
        var pending = roots
        var seen: Set<Digest> = []
        while let descriptor = pending.popLast() {
            guard seen.insert(descriptor.digest).inserted, descriptor.size <= ImageLayout.maximumManifestSize else { continue }
            let isDocument = ManifestNode.hasChildren(descriptor.mediaType) || descriptor.mediaType.isImageConfiguration
            guard isDocument, store.remoteBlobs?.size(of: descriptor.digest) != nil else { continue }
            let bytes: [UInt8]
            if let local = try await BlockingWork.run({ try? store.content.readBlob(descriptor.digest) }) {
                bytes = local
            } else {
                let read = try await client.read(descriptor.digest, offset: 0, count: Int(descriptor.size))
                try await BlockingWork.run { try store.content.write(read, digest: descriptor.digest, size: descriptor.size) }
                bytes = read
            }
            if ManifestNode.hasChildren(descriptor.mediaType), let node = try? ManifestNode(descriptor: descriptor, bytes: bytes) {
                pending += node.children
            }
        }
    }

    /// Copies blobs containerd has and the store lacks into the store through the API
    /// (streamed, verified): what an export reads as files.
    /// - Throws: ``ContainerdError``, `ContentStoreError`.
    package func copyBlobs(_ descriptors: [Descriptor], into store: Store) async throws {
        for descriptor in descriptors where store.isRemoteOnly(descriptor.digest) {
            let ingest = IngestWriter(try store.content.ingest())
            ingest.ingest.alsoHash(descriptor.digest.algorithm)
            // Chunks arrive one at a time, in order; each write runs on the blocking pool.
            _ = try await client.read(descriptor.digest) { bytes in try await BlockingWork.run { try ingest.ingest.write(bytes) } }
            try await BlockingWork.run { try ingest.ingest.commit(digest: descriptor.digest, size: descriptor.size) }
        }
    }
}

/// An ingest handed from chunk to chunk of one stream: the stream calls its handler one chunk
/// at a time, never two at once, so the ingest is never used from two threads together.
private final class IngestWriter: @unchecked Sendable {
    let ingest: Ingest
    init(_ ingest: Ingest) { self.ingest = ingest }
}

/// Reads containerd's blobs through its content service for a mount (``Access/api``).
package struct ContainerdBlobReader: Sendable {
    let client: ContainerdClient

    package init(client: ContainerdClient) { self.client = client }

    /// Up to `byteCount` bytes of the blob at `offset`.
    package func read(_ digest: Digest, offset: Int64, byteCount: Int) async throws -> [UInt8] {
        try await client.read(digest, offset: offset, count: byteCount)
    }
}
