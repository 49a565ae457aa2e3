import Foundation
import OCISpec

/// An image: a normalized name bound to a root descriptor (manifest or index).
package struct ImageRecord: Sendable, Equatable {
    /// Normalized full reference, e.g. `docker.io/demo/busybox:1.35`.
    package var name: String
    /// The root descriptor, with its platform when the root is a manifest.
    package var target: Descriptor
    package var created: Date
    package var updated: Date

    package init(name: String, target: Descriptor, created: Date, updated: Date) {
        self.name = name
        self.target = target
        self.created = created
        self.updated = updated
    }
}

/// Names bound to root descriptors (DESIGN.md: meta.db `images`). Implementations are safe
/// across processes.
package protocol ImageStore: Sendable {
    /// The image bound to `name` (normalized), or nil.
    /// - Throws: `ContentStoreError.database`.
    func image(named name: String) throws(ContentStoreError) -> ImageRecord?
    /// Every image, sorted by name.
    func images() throws(ContentStoreError) -> [ImageRecord]
    /// Binds every name to its target (creating or moving it), all in one transaction: either
    /// every name is bound or none is.
    func bind(_ bindings: [(name: String, target: Descriptor)]) throws(ContentStoreError)
    /// Removes a name; returns false when it was not bound.
    func remove(_ name: String) throws(ContentStoreError) -> Bool
    /// A number that changes whenever another connection (any process) changed the store
    /// (SQLite `PRAGMA data_version`); polled by mounts that follow names.
    func changeCount() throws(ContentStoreError) -> Int64
}

extension ImageStore {
    /// Binds `name` to `target` (creating or moving it).
    package func bind(_ name: String, to target: Descriptor) throws(ContentStoreError) {
        try bind([(name, target)])
    }
}
