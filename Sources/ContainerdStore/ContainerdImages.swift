import Containerd
import ContentStore
import Foundation
import OCISpec
import Synchronization

/// containerd's names in one namespace as layoutfs's ``ImageStore``: a snapshot taken from the
/// images service and kept current by image events (``ContainerdNameFollower``), so name
/// resolution, plans and the index follower read it without a call to containerd.
///
/// Read-only: names in containerd are changed with ctr, nerdctl, docker or BuildKit. The change
/// counter moves whenever a name is added, moved or removed, as meta.db's does.
package final class ContainerdImages: ImageStore {
    private struct State {
        var records: [String: ImageRecord] = [:]
        var version: Int64 = 0
    }
    private let state = Mutex(State())
    /// The namespace the names are in.
    package let namespace: String

    package init(namespace: String, images: [ContainerdImage]) {
        self.namespace = namespace
        replaceAll(images)
    }

    package func image(named name: String) throws(ContentStoreError) -> ImageRecord? { state.withLock { $0.records[name] } }

    package func images() throws(ContentStoreError) -> [ImageRecord] { state.withLock { $0.records.values.sorted { $0.name < $1.name } } }

    package func bind(_ bindings: [(name: String, target: Descriptor)]) throws(ContentStoreError) {
        throw ContentStoreError(
            .invalidStore, "names in containerd namespace \(namespace) are changed with ctr, nerdctl, docker or BuildKit, not layoutfs")
    }

    package func remove(_ name: String) throws(ContentStoreError) -> Bool {
        throw ContentStoreError(
            .invalidStore, "names in containerd namespace \(namespace) are removed with ctr, nerdctl or docker, not layoutfs")
    }

    package func changeCount() throws(ContentStoreError) -> Int64 { state.withLock { $0.version } }

    /// Makes the snapshot exactly `images` (a fresh List); moves the counter if anything changed.
    package func replaceAll(_ images: [ContainerdImage]) {
        let records = Dictionary(images.map { ($0.name, Self.record($0)) }, uniquingKeysWith: { first, _ in first })
        state.withLock { state in
            guard state.records != records else { return }
            state.records = records
            state.version += 1
        }
    }

    /// Sets one name (nil: removed); moves the counter if it changed.
    package func set(_ name: String, to image: ContainerdImage?) {
        let record = image.map(Self.record)
        state.withLock { state in
            guard state.records[name] != record else { return }
            state.records[name] = record
            state.version += 1
        }
    }

    private static func record(_ image: ContainerdImage) -> ImageRecord {
        let updated = Date(timeIntervalSince1970: image.updatedAt)
        return ImageRecord(name: image.name, target: image.target, created: updated, updated: updated)
    }
}
