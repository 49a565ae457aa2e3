import ContainerdAPI
import OCISpec

extension ContainerdClient {
    /// The label that makes containerd's garbage collector drop a lease after this time
    /// (RFC 3339), as containerd's `leases.WithExpiration` sets it.
    package static let leaseExpiryLabel = "containerd.io/gc.expire"

    /// Creates the lease `id` with `labels` (leases service Create).
    /// - Throws: `.alreadyExists` when the id is taken, ``ContainerdError``.
    package func createLease(id: String, labels: [String: String]) async throws(ContainerdError) -> ContainerdLease {
        let service = Containerd_Services_Leases_V1_Leases.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Leases_V1_CreateRequest()
        request.id = id
        request.labels = labels
        let lease = try await calling("creating lease \(id) in containerd namespace \(namespace)") {
            try await service.create(request, metadata: metadata, options: options)
        }.lease
        return ContainerdLease(id: lease.id, labels: lease.labels)
    }

    /// Adds blobs to lease `id` (leases service AddResource, type `content`, one call per blob,
    /// `parallel` at a time). Adding a blob twice is harmless; a blob containerd lacks is
    /// still recorded (and kept if it arrives).
    /// - Throws: `.notFound` when the lease is gone, ``ContainerdError``.
    package func addContent(_ digests: [Digest], toLease id: String, parallel: Int = 16) async throws(ContainerdError) {
        let service = Containerd_Services_Leases_V1_Leases.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        let what = "adding blobs to lease \(id) in containerd namespace \(namespace)"
        try await calling(what) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var started = 0
                for digest in digests {
                    if started >= parallel { try await group.next() }
                    var request = Containerd_Services_Leases_V1_AddResourceRequest()
                    request.id = id
                    request.resource.id = digest.description
                    request.resource.type = "content"
                    // Adding a resource again is harmless.
                    group.addTask {
                        _ = try await Self.retryingClosedConnections { try await service.addResource(request, metadata: metadata, options: options) }
                    }
                    started += 1
                }
                try await group.waitForAll()
            }
        }
    }

    /// Deletes lease `id` (leases service Delete); with `sync`, containerd collects garbage
    /// before answering. A lease already gone is not an error.
    package func deleteLease(id: String, sync: Bool = false) async throws(ContainerdError) {
        let service = Containerd_Services_Leases_V1_Leases.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Leases_V1_DeleteRequest()
        request.id = id
        request.sync = sync
        do throws(ContainerdError) {
            _ = try await calling("deleting lease \(id) in containerd namespace \(namespace)") {
                try await service.delete(request, metadata: metadata, options: options)
            }
        } catch  where error.code == .notFound {
            return
        }
    }

    /// The leases of the namespace matching containerd `filters` (e.g. `id~=^layoutfs`); every
    /// lease when empty.
    package func leases(filters: [String] = []) async throws(ContainerdError) -> [ContainerdLease] {
        let service = Containerd_Services_Leases_V1_Leases.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Leases_V1_ListRequest()
        request.filters = filters
        return try await calling("listing leases in containerd namespace \(namespace)") {
            try await service.list(request, metadata: metadata, options: options)
        }.leases.map { ContainerdLease(id: $0.id, labels: $0.labels) }
    }

    /// The blobs lease `id` holds (leases service ListResources, type `content`).
    package func leasedContent(_ id: String) async throws(ContainerdError) -> [String] {
        let service = Containerd_Services_Leases_V1_Leases.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Leases_V1_ListResourcesRequest()
        request.id = id
        return try await calling("listing the resources of lease \(id)") {
            try await service.listResources(request, metadata: metadata, options: options)
        }.resources.filter { $0.type == "content" }.map(\.id)
    }
}
