import ContentStore
import Foundation
import ImageStore
import LayoutFS
import LazyBlobs
import Logging
import OCISpec
import Registry
import Synchronization
import Testing

@testable import LayoutFSMount

/// A kernel side that mounts nothing: it calls `ready`, lets the test look, and returns (the
/// mount went away) or throws.
private struct FakeSession: MountSession {
    let whileMounted: @Sendable (LayoutTree) throws -> Void
    func run(
        tree: any ServedTree, mountpoint: String, options: MountOptions, logger: Logger, announce: (String) -> Void, ready: (any EntryInvalidator) -> Void
    ) throws {
        ready(NoKernel())
        try whileMounted(try #require(tree as? LayoutTree))
    }
}

private struct NoKernel: EntryInvalidator {
    func invalidateEntry(parent: UInt64, name: String) throws {}
    func invalidateInode(_ inode: UInt64) throws {}
}

private struct SessionFailed: Error {}

@Suite("the mount service's life (a real store, no FUSE)")
struct MountServiceTests {
    private func request(_ store: Store) throws -> MountRequest {
        let bytes = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#.utf8)
        let root = Descriptor(mediaType: .ociManifest, digest: DigestHasher.digest(of: bytes), size: Int64(bytes.count))
        return MountRequest(
            mountpoint: "/nowhere",
            images: [
                MountRequest.Image(
                    specifier: .name(try ImageReference(parsing: "app:1")), resolved: ResolvedImage(name: "docker.io/library/app:1", root: root, pinned: false))
            ],
            changeCount: nil, shape: LayoutPlan.Shape())
    }

    private func service(_ store: Store, _ request: MountRequest, _ session: FakeSession) -> MountService {
        MountService(
            store: store, request: request,
            settings: MountService.Settings(mount: MountOptions(), lazy: LazyReadOptions(), registry: RegistryConfiguration(), grace: .seconds(1)),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, session: session,
            planner: { images in (ShownLayout(entries: images.map(\.root), blobs: images.map(\.root)), ["a warning"]) })
    }

    private func withStore(_ body: (Store) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "layoutfs-service-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await body(try Store.open(root: root))
    }

    @Test("the plan's warnings are told; while mounted, a lease holds the images and a record names the mount; both are gone after the unmount")
    func leaseAndRecord() async throws {
        try await withStore { store in
            let request = try request(store)
            let seen = Mutex<(leased: [Digest], records: [MountRecord], generation: UInt64?)>(([], [], nil))
            let leasedCalls = Mutex(0)
            let readyCalls = Mutex(0)
            let warnings = Mutex<[String]>([])
            try await service(
                store, request,
                FakeSession { tree in
                    let leased = try store.leasedRoots(removeStale: false).roots.map(\.digest)
                    seen.withLock { $0 = (leased, MountRecord.running(in: store), tree.generation) }
                }
            ).run(
                warn: { warning in warnings.withLock { $0.append(warning) } }, announce: { _ in }, leased: { leasedCalls.withLock { $0 += 1 } },
                ready: { readyCalls.withLock { $0 += 1 } })
            let observed = seen.withLock { $0 }
            #expect(observed.leased == [request.images[0].resolved.root.digest])
            #expect(observed.records.map(\.mountpoint) == ["/nowhere"])
            #expect(observed.records.first?.images == ["docker.io/library/app:1"])
            #expect(observed.generation == 0)
            #expect(leasedCalls.withLock { $0 } == 1)
            #expect(readyCalls.withLock { $0 } == 1)
            #expect(warnings.withLock { $0 } == ["a warning"])
            #expect(try store.leasedRoots().leases == 0)
            #expect(MountRecord.running(in: store).isEmpty)
        }
    }

    @Test("a session that fails: the error comes out, and the lease and the record are gone")
    func failure() async throws {
        try await withStore { store in
            await #expect(throws: SessionFailed.self) {
                try await service(store, try request(store), FakeSession { _ in throw SessionFailed() }).run(announce: { _ in }, leased: {}, ready: {})
            }
            let leases = try store.leasedRoots().leases
            #expect(leases == 0)
            #expect(MountRecord.running(in: store).isEmpty)
        }
    }
}
