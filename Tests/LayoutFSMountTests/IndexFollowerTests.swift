import ImageStore
import LayoutFS
import LazyBlobs
import Logging
import OCISpec
import Synchronization
import Testing

@testable import LayoutFSMount

/// A store whose names, layouts and lease the test controls.
private final class FakeStore: FollowerStore {
    struct State {
        var version: Int64 = 1
        var bound: [String: ResolvedImage] = [:]
        var leased: [[Descriptor]] = []
        var resolves = 0
        var lockFails = false
        var layoutFails = false
    }
    let state = Mutex(State())

    func changeCount() -> Int64? { state.withLock { $0.version } }
    func withPruneHeldOff(_ body: () -> Void) throws {
        if state.withLock({ $0.lockFails }) { throw FakeError() }
        body()
    }
    func resolve(_ specifier: ImageSpecifier) throws -> ResolvedImage {
        try state.withLock { state in
            state.resolves += 1
            guard let image = state.bound[specifier.description] else { throw FakeError() }
            return image
        }
    }
    func layout(of images: [ResolvedImage]) throws -> ShownLayout {
        if state.withLock({ $0.layoutFails }) { throw FakeError() }
        return ShownLayout(entries: images.map(\.root), blobs: images.map(\.root) + images.map { blob(of: $0.root) })
    }
    func closure(of root: Descriptor) -> Set<Digest>? { [root.digest, blob(of: root).digest] }
    func lease(_ roots: [Descriptor]) throws { state.withLock { $0.leased.append(roots) } }

    /// Each fake image has its root and one layer.
    func blob(of root: Descriptor) -> Descriptor { FollowerFixture.descriptor("layer of \(root.digest)") }

    /// Binds `name` to a new root and moves the change counter.
    func move(_ name: String, to root: Descriptor) {
        state.withLock { state in
            state.bound[name] = ResolvedImage(name: name, root: root, pinned: false)
            state.version += 1
        }
    }
}

private struct FakeError: Error {}

private final class FakeKernel: EntryInvalidator {
    let forgotten = Mutex<[String]>([])
    func invalidateEntry(parent: UInt64, name: String) throws { forgotten.withLock { $0.append(name) } }
    func invalidateInode(_ inode: UInt64) throws { forgotten.withLock { $0.append("inode \(inode)") } }
}

private struct NoContent: BlobProvider {
    func open(_ descriptor: Descriptor) throws(LayoutFSError) -> any FileContent { throw LayoutFSError(.io, "no content in this test") }
    func state(of descriptor: Descriptor) -> String { "local" }
    func onInvalidate(_ handler: @escaping @Sendable (Digest) -> Void) {}
    var bytesFetched: Int64 { 0 }
    func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? { nil }
}

private struct FollowerFixture {
    static func descriptor(_ text: String) -> Descriptor {
        let bytes = Array(text.utf8)
        return Descriptor(mediaType: .ociManifest, digest: DigestHasher.digest(of: bytes), size: Int64(bytes.count))
    }

    let name = "docker.io/library/app:1"
    let pinnedName = "docker.io/library/base:1"
    let first = descriptor("first")
    let second = descriptor("second")
    let pinned = descriptor("pinned")
    let store = FakeStore()
    let kernel = FakeKernel()
    let tree: LayoutTree
    let follower: IndexFollower
    let start = ContinuousClock.now

    init(dockerManifest: Bool = false, prepareBlobs: @escaping @Sendable ([Descriptor]) -> Void = { _ in }) throws {
        let images = [ResolvedImage(name: name, root: first, pinned: false), ResolvedImage(name: pinnedName, root: pinned, pinned: true)]
        let specifiers = [
            ImageSpecifier.name(try ImageReference(parsing: name)), .name(try ImageReference(parsing: pinnedName + "@" + pinned.digest.description)),
        ]
        store.move(name, to: first)
        let layout = try store.layout(of: images)
        tree = LayoutTree(index: layout.indexBytes, dockerManifest: dockerManifest ? [] : nil, blobs: layout.blobs, provider: NoContent(), modificationTime: 0)
        follower = IndexFollower(
            names: FollowedNames(specifiers: specifiers, images: images, convertedRoots: [], grace: .seconds(300)),
            changeCount: store.changeCount(), store: store, target: LayoutFollowing(tree: tree, showsDockerManifest: dockerManifest),
            prepareBlobs: prepareBlobs,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        follower.attach(kernel)
    }
}

@Suite("following names under a mount (no FUSE, no store)")
struct IndexFollowerTests {
    @Test("nothing happens while meta.db's change counter stands still")
    func idle() throws {
        let f = try FollowerFixture()
        f.follower.poll(now: f.start)
        #expect(f.tree.generation == 0)
        #expect(f.store.state.withLock { $0.resolves } == 0)
        #expect(f.store.state.withLock { $0.leased }.isEmpty)
    }

    @Test("a moved name: a new index.json generation, the kernel forgets index.json, the lease holds old and new until the grace period ends")
    func move() throws {
        let f = try FollowerFixture()
        f.store.move(f.name, to: f.second)
        f.follower.poll(now: f.start)
        #expect(f.tree.generation == 1)
        #expect(f.kernel.forgotten.withLock { $0 } == ["index.json"])
        #expect(f.store.state.withLock { $0.leased.last }?.map(\.digest) == [f.second.digest, f.pinned.digest, f.first.digest])
        #expect(f.follower.names.current.map(\.root) == [f.second, f.pinned])
        // The old generation's blobs stay reachable by name (not listed) during the grace period.
        let oldLayer = f.store.blob(of: f.first).digest
        #expect(f.tree.inode(of: oldLayer) != nil)

        f.follower.poll(now: f.start + .seconds(299))
        #expect(f.tree.inode(of: oldLayer) != nil)
        f.follower.poll(now: f.start + .seconds(301))
        #expect(f.tree.inode(of: oldLayer) == nil)
        #expect(f.tree.inode(of: f.first.digest) == nil)
        #expect(f.store.state.withLock { $0.leased.last }?.map(\.digest) == [f.second.digest, f.pinned.digest])
        #expect(f.kernel.forgotten.withLock { $0 }.contains(oldLayer.encoded))
    }

    @Test("a new generation's blobs are prepared (their sources looked up) before the tree shows them")
    func preparesBeforeShowing() throws {
        let prepared = Mutex<[(blobs: [Descriptor], shownGeneration: UInt64)]>([])
        let tree = Mutex<LayoutTree?>(nil)
        let f = try FollowerFixture(prepareBlobs: { blobs in
            prepared.withLock { $0.append((blobs, tree.withLock { $0 }?.generation ?? 99)) }
        })
        tree.withLock { $0 = f.tree }
        f.follower.poll(now: f.start)
        #expect(prepared.withLock { $0 }.isEmpty, "nothing moved: nothing to prepare")
        f.store.move(f.name, to: f.second)
        f.follower.poll(now: f.start)
        let calls = prepared.withLock { $0 }
        #expect(calls.count == 1)
        #expect(calls.first?.shownGeneration == 0, "prepared while the tree still showed the first generation")
        #expect(
            Set(calls.first?.blobs.map(\.digest) ?? []) == [
                f.second.digest, f.pinned.digest, f.store.blob(of: f.second).digest, f.store.blob(of: f.pinned).digest,
            ])
        #expect(f.tree.generation == 1)
    }

    @Test("with --format docker, manifest.json is forgotten with index.json")
    func dockerManifest() throws {
        let f = try FollowerFixture(dockerManifest: true)
        f.store.move(f.name, to: f.second)
        f.follower.poll(now: f.start)
        #expect(f.kernel.forgotten.withLock { $0 } == ["index.json", "manifest.json"])
    }

    @Test("a name moved back within the grace period leaves the retained set")
    func moveBack() throws {
        let f = try FollowerFixture()
        f.store.move(f.name, to: f.second)
        f.follower.poll(now: f.start)
        f.store.move(f.name, to: f.first)
        f.follower.poll(now: f.start + .seconds(1))
        #expect(f.tree.generation == 2)
        #expect(f.follower.names.retainedRoots == [f.second])
        #expect(f.store.state.withLock { $0.leased.last }?.map(\.digest) == [f.first.digest, f.pinned.digest, f.second.digest])
    }

    @Test("a removed name keeps its last image; a pinned name is never resolved again")
    func removedAndPinned() throws {
        let f = try FollowerFixture()
        f.store.state.withLock { state in
            state.bound = [:]
            state.version += 1
        }
        f.follower.poll(now: f.start)
        #expect(f.tree.generation == 0)
        #expect(f.store.state.withLock { $0.resolves } == 1)
        #expect(f.follower.names.current.map(\.root) == [f.first, f.pinned])
    }

    @Test("a new image that cannot be shown keeps the previous index.json and waits for the next change")
    func unshowable() throws {
        let f = try FollowerFixture()
        f.store.state.withLock { $0.layoutFails = true }
        f.store.move(f.name, to: f.second)
        f.follower.poll(now: f.start)
        f.follower.poll(now: f.start)
        #expect(f.tree.generation == 0)
        #expect(f.store.state.withLock { $0.resolves } == 1)
        #expect(f.kernel.forgotten.withLock { $0 }.isEmpty)
    }

    @Test("gc.lock unavailable: nothing changes, and the next poll tries again")
    func lockUnavailable() throws {
        let f = try FollowerFixture()
        f.store.state.withLock { $0.lockFails = true }
        f.store.move(f.name, to: f.second)
        f.follower.poll(now: f.start)
        #expect(f.tree.generation == 0)
        f.store.state.withLock { $0.lockFails = false }
        f.follower.poll(now: f.start)
        #expect(f.tree.generation == 1)
    }

    @Test("only NAME[:TAG] is followed: NAME@digest and digests are pinned")
    func followedSpecifiers() throws {
        let digest = FollowerFixture.descriptor("x")
        let names = FollowedNames(
            specifiers: [
                .digest(digest.digest), .name(try ImageReference(parsing: "a:1")), .name(try ImageReference(parsing: "b@" + digest.digest.description)),
            ],
            images: Array(repeating: ResolvedImage(name: nil, root: digest, pinned: true), count: 3), convertedRoots: [], grace: .zero)
        #expect(names.followed == [1])
        #expect(names.followsAnything)
    }
}

@Suite("the mount request handed to the daemon")
struct MountRequestTests {
    @Test("a request reads back equal: pinned and followed images, change counter, platform and shape")
    func roundTrip() throws {
        let root = FollowerFixture.descriptor("root")
        let request = MountRequest(
            mountpoint: "/mnt/a b",
            images: [
                MountRequest.Image(
                    specifier: .name(try ImageReference(parsing: "app:1")), resolved: ResolvedImage(name: "docker.io/library/app:1", root: root, pinned: false)),
                MountRequest.Image(specifier: .digest(root.digest), resolved: ResolvedImage(name: nil, root: root, pinned: true)),
            ],
            changeCount: 7, shape: LayoutPlan.Shape(platform: try Platform(parsing: "linux/arm64/v8"), oci: true, dockerManifest: true))
        #expect(try MountRequest(bytes: request.json.encoded) == request)
    }

    @Test("a malformed request is refused with what is wrong")
    func malformed() {
        #expect(throws: OCISpecError.self) { try MountRequest(bytes: Array(#"{"mountpoint": "/m"}"#.utf8)) }
        #expect(throws: OCISpecError.self) { try MountRequest(bytes: Array("not json".utf8)) }
    }
}
