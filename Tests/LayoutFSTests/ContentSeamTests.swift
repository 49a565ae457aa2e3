import ContentStore
import LayoutFS
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tree's side of the content seam (``BlobProvider``, ``FileContent``) with content that
/// completes later, turns bad and is replaced: what lazy blobs and repaired store files do,
/// without a registry or a store.
@Suite("Content seam")
struct ContentSeamTests {
    let blobs: [[UInt8]] = [Array("first blob".utf8), Array(repeating: 7, count: 5000)]
    let descriptors: [Descriptor]
    let provider: DeferredProvider
    let tree: LayoutTree

    init() {
        descriptors = blobs.map { Descriptor(mediaType: .ociLayer, digest: DigestHasher.digest(of: $0), size: Int64($0.count)) }
        var bytes: [Digest: [UInt8]] = [:]
        for (descriptor, blob) in zip(descriptors, blobs) { bytes[descriptor.digest] = blob }
        provider = DeferredProvider(bytes)
        tree = LayoutTree(index: Array("{}".utf8), blobs: descriptors, provider: provider, modificationTime: 0)
    }

    private func open(_ i: Int) throws -> UInt64 { try tree.open(try #require(tree.inode(of: descriptors[i].digest))) }

    private func read(_ handle: UInt64, offset: Int64 = 0, byteCount: Int = 100) -> Locked<Result<ReadResult, LayoutFSError>?> {
        let outcome = Locked<Result<ReadResult, LayoutFSError>?>(nil)
        tree.read(inode: 0, handle: handle, offset: offset, byteCount: byteCount) { result in outcome.withLock { $0 = result } }
        return outcome
    }

    @Test("a read the content completes later completes then, with the content's bytes")
    func deferredRead() throws {
        let handle = try open(1)
        let outcome = read(handle, offset: 4990, byteCount: 100)
        #expect(outcome.current == nil)
        #expect(provider.deliver() == 1)
        guard case .success(.bytes(let bytes))? = outcome.current else {
            Issue.record("no bytes: \(String(describing: outcome.current))")
            return
        }
        #expect(bytes == Array(repeating: 7, count: 10))
    }

    @Test("a read the content fails fails with its error")
    func failedRead() throws {
        let handle = try open(0)
        let outcome = read(handle)
        provider.deliver(failing: LayoutFSError(.io, "fetch failed"))
        guard case .failure(let error)? = outcome.current else {
            Issue.record("not failed: \(String(describing: outcome.current))")
            return
        }
        #expect(error.errno == EIO)
    }

    @Test("whether the kernel keeps pages is the content's answer; the layout's own files always keep them")
    func keepsPages() throws {
        let handle = try open(0)
        #expect(!tree.keepsPages(handle: handle))
        _ = provider.state.withLock { $0.verified.insert(descriptors[0].digest) }
        #expect(try tree.keepsPages(handle: open(0)))
        let layout = try tree.lookup(parent: LayoutTree.rootInode, name: "oci-layout")
        #expect(tree.keepsPages(handle: try tree.open(layout.inode)))
    }

    @Test("an open the provider refuses is EIO and leaves no handle")
    func refusedOpen() throws {
        _ = provider.state.withLock { $0.bytes.removeValue(forKey: descriptors[0].digest) }
        let inode = try #require(tree.inode(of: descriptors[0].digest))
        do throws(LayoutFSError) {
            _ = try tree.open(inode)
            Issue.record("open succeeded")
        } catch {
            #expect(error.errno == EIO)
            #expect(error.message.contains("no source"))
        }
    }

    @Test("replaced content: open handles read the replacement, and its inode is returned for the kernel to forget")
    func replacement() throws {
        let first = try open(1)
        let second = try open(1)
        let other = try open(0)
        #expect(tree.repointReplacedBlobs().isEmpty)
        _ = provider.state.withLock { $0.replaced.insert(descriptors[1].digest) }
        #expect(tree.repointReplacedBlobs() == [try #require(tree.inode(of: descriptors[1].digest))])
        #expect(tree.repointReplacedBlobs().isEmpty)
        for handle in [first, second, other] { _ = read(handle) }
        let versions = provider.state.withLock { $0.pending.count }
        #expect(versions == 3)
        tree.release(handle: first)
        tree.release(handle: second)
        tree.release(handle: other)
    }

    @Test("the provider's invalidations name the blob's inode; unknown digests are dropped")
    func invalidation() throws {
        let seen = Locked<[UInt64]>([])
        tree.onInvalidate { inode in seen.withLock { $0.append(inode) } }
        let handler = try #require(provider.state.withLock { $0.invalidate })
        handler(descriptors[1].digest)
        handler(DigestHasher.digest(of: Array("not shown".utf8)))
        #expect(seen.current == [try #require(tree.inode(of: descriptors[1].digest))])
    }

    @Test("a timed-out read is reported to the provider, and its reason logged with the blob")
    func timedOut() throws {
        let inode = try #require(tree.inode(of: descriptors[0].digest))
        #expect(tree.readTimedOut(inode: inode, after: .seconds(5)) == "blob \(descriptors[0].digest): the registry said 503")
        #expect(provider.state.withLock { $0.timedOut } == [descriptors[0].digest])
        #expect(tree.readTimedOut(inode: 3, after: .seconds(5)) == "inode 3")
    }

    @Test("state and bytes fetched are the provider's")
    func state() throws {
        let inode = try #require(tree.inode(of: descriptors[1].digest))
        #expect(try tree.extendedAttribute(of: inode, name: "user.layoutfs.state") == Array("lazy 0/5000".utf8))
        #expect(tree.bytesFetched == 42)
    }
}
