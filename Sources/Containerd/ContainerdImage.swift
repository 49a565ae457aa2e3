import OCISpec

/// An image as containerd names it (containerd api/services/images/v1 `Image`): a name such as
/// `docker.io/library/alpine:3.20`, the root descriptor it points at, and its labels.
package struct ContainerdImage: Sendable, Equatable {
    /// The full name, as containerd stores it (ctr and nerdctl normalize before they store).
    package var name: String
    /// The root: a manifest or an index.
    package var target: Descriptor
    package var labels: [String: String]
    /// Last change, in seconds since the epoch.
    package var updatedAt: Double

    package init(name: String, target: Descriptor, labels: [String: String] = [:], updatedAt: Double = 0) {
        self.name = name
        self.target = target
        self.labels = labels
        self.updatedAt = updatedAt
    }
}

/// A blob's metadata in containerd's content store (api/services/content/v1 `Info`).
package struct ContainerdContentInfo: Sendable, Hashable {
    package var digest: Digest
    /// Bytes.
    package var size: Int64
    /// containerd's labels: `containerd.io/gc.ref.content.*`, `containerd.io/distribution.source.<host>`.
    package var labels: [String: String]
}

/// A lease (api/services/leases/v1 `Lease`): while it exists, and until its
/// `containerd.io/gc.expire` label's time, containerd's garbage collector keeps its resources.
package struct ContainerdLease: Sendable, Hashable {
    package var id: String
    package var labels: [String: String]
}

/// A change to a name in one namespace (the events service's `/images/create`, `/images/update`
/// and `/images/delete` topics, api/events/image.proto).
package struct ContainerdImageEvent: Sendable, Hashable {
    package enum Kind: String, Sendable {
        case create, update, delete
    }
    package var kind: Kind
    package var name: String

    package init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }
}
