import ContentStore
import LayoutFS
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A layout tree over the blobs of one multi-platform image written by `ImageBuilder`; the
/// builder's directory doubles as the content store (`blobs/<alg>/<hex>` is the same layout).
private struct Fixture {
    let tree: LayoutTree
    let store: LocalContentStore
    let built: BuiltIndex
    let indexBytes: [UInt8]
    let blobs: [Descriptor]

    init(_ tmp: String, extraBlobs: (ImageBuilder) throws -> [Descriptor] = { _ in [] }) throws {
        let layout = try ImageBuilder(path: tmp + "/layout")
        built = try layout.addMultiPlatformImage()
        let extra = try extraBlobs(layout)
        store = try LocalContentStore(contentRoot: layout.path)
        indexBytes = ImageIndex(manifests: [ImageBuilder.entry(built.index, refName: "1.0", imageName: "docker.io/demo/x:1.0")]).json.encoded
        blobs = built.blobs + extra
        tree = LayoutTree(index: indexBytes, blobs: blobs + blobs.prefix(2), provider: StoreFiles(store: store), modificationTime: 1_700_000_000)
    }

    /// Reads through a handle, resolving a file range into bytes.
    func read(_ handle: UInt64, offset: Int64, byteCount: Int) throws -> [UInt8] {
        let outcome = Locked<Result<ReadResult, LayoutFSError>?>(nil)
        tree.read(inode: 0, handle: handle, offset: offset, byteCount: byteCount) { result in outcome.withLock { $0 = result } }
        switch try #require(outcome.current).get() {
        case .bytes(let bytes): return bytes
        case .file(let file, let offset, let count): return try file.read(offset: offset, byteCount: count)
        }
    }

    func readError(_ handle: UInt64, offset: Int64 = 0, byteCount: Int = 10) -> LayoutFSError? {
        let outcome = Locked<Result<ReadResult, LayoutFSError>?>(nil)
        tree.read(inode: 0, handle: handle, offset: offset, byteCount: byteCount) { result in outcome.withLock { $0 = result } }
        if case .failure(let error) = outcome.current { return error }
        return nil
    }

    func path(_ components: String...) throws -> NodeAttributes {
        var node = try tree.attributes(of: LayoutTree.rootInode)
        for name in components { node = try tree.lookup(parent: node.inode, name: name) }
        return node
    }
}

private func withFixture<R>(_ body: (Fixture) throws -> R) throws -> R {
    try withTemporaryDirectory { tmp in try body(Fixture(tmp)) }
}

@Suite("LayoutTree")
struct LayoutTreeTests {
    @Test("the root holds blobs, index.json, ingest and oci-layout")
    func root() throws {
        try withFixture { f in
            let entries = try f.tree.entries(of: LayoutTree.rootInode)
            #expect(entries.map(\.name).sorted() == ["blobs", "index.json", "ingest", "oci-layout"])
            let root = try f.tree.attributes(of: LayoutTree.rootInode)
            #expect(root.kind == .directory)
            #expect(root.permissions == 0o555)
            #expect(root.modificationTime == 1_700_000_000)
            #expect(try f.tree.entries(of: f.path("ingest").inode).isEmpty)
            #expect(try f.tree.entries(of: f.path("blobs").inode).map(\.name) == ["sha256"])
        }
    }

    @Test("readdir's inode equals lookup's and attributes' inode, everywhere")
    func inodesAgree() throws {
        try withFixture { f in
            var directories: [UInt64] = [LayoutTree.rootInode]
            var seen: Set<UInt64> = [LayoutTree.rootInode]
            while let directory = directories.popLast() {
                for entry in try f.tree.entries(of: directory) {
                    let looked = try f.tree.lookup(parent: directory, name: entry.name)
                    #expect(looked.inode == entry.inode, "\(entry.name)")
                    #expect(try f.tree.attributes(of: entry.inode) == looked)
                    #expect(looked.kind == entry.kind)
                    #expect(seen.insert(entry.inode).inserted, "inode \(entry.inode) used twice")
                    if entry.kind == .directory { directories.append(entry.inode) }
                }
            }
            #expect(seen.count == 1 + 4 + 1 + Set(f.blobs.map(\.digest)).count)
        }
    }

    @Test("blobs/sha256 lists every blob once, sorted, with exact sizes, read-only")
    func blobListing() throws {
        try withFixture { f in
            let directory = try f.path("blobs", "sha256")
            let entries = try f.tree.entries(of: directory.inode)
            let unique = Set(f.blobs.map(\.digest))
            #expect(entries.map(\.name) == unique.map(\.encoded).sorted())
            for blob in f.blobs {
                let node = try f.path("blobs", "sha256", blob.digest.encoded)
                #expect(node.size == blob.size)
                #expect(node.kind == .regularFile)
                #expect(node.permissions == 0o444)
                #expect(node.inode == f.tree.inode(of: blob.digest))
                #expect(node.inode & (1 << 63) != 0)
                #expect(f.tree.keepsCache(node.inode))
            }
        }
    }

    @Test("blob inodes are stable: another tree over the same blobs, in another order, gives the same numbers")
    func stableInodes() throws {
        try withFixture { f in
            let other = LayoutTree(index: [], blobs: f.blobs.reversed(), provider: StoreFiles(store: f.store), modificationTime: 0)
            for blob in f.blobs { #expect(other.inode(of: blob.digest) == f.tree.inode(of: blob.digest)) }
        }
    }

    @Test("index.json and oci-layout have exact sizes and read back exactly, in any range")
    func smallFiles() throws {
        try withFixture { f in
            let index = try f.path("index.json")
            #expect(index.size == Int64(f.indexBytes.count))
            #expect(!f.tree.keepsCache(index.inode))
            let handle = try f.tree.open(index.inode)
            #expect(try f.read(handle, offset: 0, byteCount: 1 << 20) == f.indexBytes)
            #expect(try f.read(handle, offset: 10, byteCount: 20) == Array(f.indexBytes[10..<30]))
            #expect(try f.read(handle, offset: Int64(f.indexBytes.count) - 3, byteCount: 100) == Array(f.indexBytes.suffix(3)))
            #expect(try f.read(handle, offset: Int64(f.indexBytes.count) + 5, byteCount: 100).isEmpty)
            #expect(try f.read(handle, offset: 0, byteCount: .max) == f.indexBytes)
            #expect(try f.read(handle, offset: 10, byteCount: .max) == Array(f.indexBytes[10...]))
            f.tree.release(handle: handle)

            let layout = try f.path("oci-layout")
            #expect(layout.size == Int64(ImageLayout.layoutFileContents.count))
            let layoutHandle = try f.tree.open(layout.inode)
            #expect(try f.read(layoutHandle, offset: 0, byteCount: 4096) == ImageLayout.layoutFileContents)
        }
    }

    @Test("generations: a new index.json gets a new inode, the old inode still opens and reads its bytes; retired blobs stop resolving")
    func generations() throws {
        try withFixture { f in
            let first = try f.path("index.json")
            let oldHandle = try f.tree.open(first.inode)
            let newIndex = Array(#"{"schemaVersion":2,"manifests":[]}"#.utf8)
            let kept = Array(f.blobs.prefix(1))
            #expect(f.tree.replace(index: newIndex, blobs: kept) == 1)
            let second = try f.path("index.json")
            #expect(second.inode != first.inode && second.size == Int64(newIndex.count))
            #expect(!f.tree.keepsCache(second.inode))
            #expect(try f.read(oldHandle, offset: 0, byteCount: 1 << 20) == f.indexBytes)
            // A late open of the earlier generation's inode (an entry the kernel still had).
            let late = try f.tree.open(first.inode)
            #expect(try f.read(late, offset: 0, byteCount: 1 << 20) == f.indexBytes)
            #expect(try f.tree.attributes(of: first.inode).size == Int64(f.indexBytes.count))
            // Earlier blobs: not listed, still reachable until retired.
            let dropped = try #require(f.blobs.last)
            #expect(try f.tree.entries(of: try f.path("blobs", "sha256").inode).map(\.name) == kept.map(\.digest.encoded))
            #expect(try f.path("blobs", "sha256", dropped.digest.encoded).size == dropped.size)
            let removed = f.tree.retire(keeping: [])
            #expect(removed.contains { $0.name == dropped.digest.encoded })
            #expect(throws: LayoutFSError.self) { try f.path("blobs", "sha256", dropped.digest.encoded) }
            #expect(try f.path("blobs", "sha256", kept[0].digest.encoded).size == kept[0].size)
        }
    }

    @Test("manifest.json (--format docker) is listed only when given and changes generation with index.json; an old handle keeps its bytes")
    func dockerManifestGenerations() throws {
        try withFixture { f in
            #expect(throws: LayoutFSError.self) { try f.path("manifest.json") }
            #expect(!(try f.tree.entries(of: LayoutTree.rootInode).map(\.name).contains("manifest.json")))
            let first = Array(#"[{"Config":"a"}]"#.utf8)
            _ = f.tree.replace(index: f.indexBytes, dockerManifest: first, blobs: f.blobs)
            let node = try f.path("manifest.json")
            #expect(node.size == Int64(first.count) && !f.tree.keepsCache(node.inode))
            #expect(try f.tree.entries(of: LayoutTree.rootInode).map(\.name) == ["blobs", "index.json", "ingest", "manifest.json", "oci-layout"])
            let handle = try f.tree.open(node.inode)
            let second = Array(#"[{"Config":"b"},{"Config":"c"}]"#.utf8)
            _ = f.tree.replace(index: f.indexBytes, dockerManifest: second, blobs: f.blobs)
            let next = try f.path("manifest.json")
            let index = try f.path("index.json")
            #expect(next.inode != node.inode && next.inode != index.inode)
            #expect(try f.read(handle, offset: 0, byteCount: 4096) == first)
            #expect(try f.read(try f.tree.open(next.inode), offset: 0, byteCount: 4096) == second)
            _ = f.tree.replace(index: f.indexBytes, blobs: f.blobs)
            #expect(throws: LayoutFSError.self) { try f.path("manifest.json") }
        }
    }

    @Test("blob reads return the store's bytes for any range")
    func blobReads() throws {
        try withFixture { f in
            for blob in f.built.images[0].blobs {
                let node = try f.path("blobs", "sha256", blob.digest.encoded)
                let handle = try f.tree.open(node.inode)
                defer { f.tree.release(handle: handle) }
                let whole = try f.store.readBlob(blob.digest, maximumSize: .max)
                #expect(try f.read(handle, offset: 0, byteCount: Int(blob.size) + 100) == whole)
                let middle = Int(blob.size) / 3
                #expect(try f.read(handle, offset: Int64(middle), byteCount: 7) == Array(whole[middle..<min(middle + 7, whole.count)]))
                #expect(try f.read(handle, offset: blob.size, byteCount: 10).isEmpty)
                #expect(try f.read(handle, offset: blob.size + 1000, byteCount: 10).isEmpty)
            }
        }
    }

    @Test("errors carry ENOENT, ENOTDIR, EISDIR and EBADF")
    func errors() throws {
        try withFixture { f in
            let index = try f.path("index.json")
            let blob = try f.path("blobs", "sha256", f.blobs[0].digest.encoded)
            func code(_ body: () throws -> Void) -> Int32? {
                do {
                    try body()
                    return nil
                } catch {
                    return (error as? LayoutFSError)?.errno ?? -1
                }
            }
            let blobsInode = try f.path("blobs").inode
            let sha256Inode = try f.path("blobs", "sha256").inode
            #expect(code { _ = try f.tree.lookup(parent: LayoutTree.rootInode, name: "absent") } == ENOENT)
            #expect(code { _ = try f.tree.lookup(parent: blobsInode, name: "sha512") } == ENOENT)
            #expect(code { _ = try f.tree.lookup(parent: sha256Inode, name: String(repeating: "0", count: 64)) } == ENOENT)
            #expect(code { _ = try f.tree.lookup(parent: index.inode, name: "x") } == ENOTDIR)
            #expect(code { _ = try f.tree.lookup(parent: blob.inode, name: "x") } == ENOTDIR)
            #expect(code { _ = try f.tree.entries(of: blob.inode) } == ENOTDIR)
            #expect(code { _ = try f.tree.entries(of: 999_999) } == ENOENT)
            #expect(code { _ = try f.tree.attributes(of: 999_999) } == ENOENT)
            #expect(code { _ = try f.tree.open(LayoutTree.rootInode) } == EISDIR)
            #expect(code { _ = try f.tree.open(sha256Inode) } == EISDIR)
            #expect(code { _ = try f.tree.open(999_999) } == ENOENT)
            #expect(f.readError(424_242)?.errno == EBADF)
            let handle = try f.tree.open(index.inode)
            f.tree.release(handle: handle)
            #expect(f.readError(handle)?.errno == EBADF)
            let live = try f.tree.open(index.inode)
            #expect(f.readError(live, offset: -1)?.errno == EIO)
        }
    }

    @Test("a blob the store lost cannot be opened: EIO, not a crash")
    func lostBlob() throws {
        try withFixture { f in
            let victim = f.built.images[1].layers[0]
            f.store.delete(victim.digest)
            let node = try f.path("blobs", "sha256", victim.digest.encoded)
            #expect(node.size == victim.size)
            do throws(LayoutFSError) {
                _ = try f.tree.open(node.inode)
                Issue.record("open succeeded")
            } catch {
                #expect(error.errno == EIO)
            }
        }
    }

    @Test("user.layoutfs.state is answered on blobs; other names and nodes have no such attribute")
    func extendedAttributes() throws {
        try withFixture { f in
            let blob = try f.path("blobs", "sha256", f.built.images[0].layers[0].digest.encoded)
            #expect(try f.tree.extendedAttribute(of: blob.inode, name: "user.layoutfs.state") == Array("local".utf8))
            func code(_ inode: UInt64, _ name: String) -> Int32? {
                do throws(LayoutFSError) {
                    _ = try f.tree.extendedAttribute(of: inode, name: name)
                    return nil
                } catch {
                    return error.errno
                }
            }
            #expect(code(blob.inode, "user.other") == ENODATA)
            let indexInode = try f.path("index.json").inode
            #expect(code(indexInode, "user.layoutfs.state") == ENODATA)
            #expect(code(999_999, "user.layoutfs.state") == ENOENT)
            f.store.delete(f.built.images[0].layers[0].digest)
            #expect(try f.tree.extendedAttribute(of: blob.inode, name: "user.layoutfs.state") != Array("local".utf8))
        }
    }

    @Test("sha512 blobs appear under blobs/sha512")
    func sha512() throws {
        try withTemporaryDirectory { tmp in
            var extra: Descriptor?
            let f = try Fixture(tmp) { layout in
                extra = try layout.addBlob(ImageBuilder.randomBytes(333), mediaType: .ociLayer, algorithm: .sha512)
                return [extra!]
            }
            let blob = try #require(extra)
            #expect(try f.tree.entries(of: f.path("blobs").inode).map(\.name) == ["sha256", "sha512"])
            let node = try f.path("blobs", "sha512", blob.digest.encoded)
            #expect(node.size == 333)
            let handle = try f.tree.open(node.inode)
            #expect(try f.read(handle, offset: 0, byteCount: 1000) == readFile(tmp + "/layout/" + blob.digest.blobPath))
        }
    }

    @Test("many threads reading through one tree get the right bytes")
    func concurrentReads() throws {
        try withFixture { f in
            let blobs = f.built.images.flatMap(\.layers)
            let expected = try blobs.map { try f.store.readBlob($0.digest, maximumSize: .max) }
            let mismatches = Locked(0)
            let tree = f.tree
            runConcurrently(4) { i in
                for round in 0..<20 {
                    let k = (i + round) % blobs.count
                    guard let inode = tree.inode(of: blobs[k].digest), let handle = try? tree.open(inode) else {
                        mismatches.withLock { $0 += 1 }
                        continue
                    }
                    let read = (try? f.read(handle, offset: 0, byteCount: 1 << 20)) ?? []
                    if read != expected[k] { mismatches.withLock { $0 += 1 } }
                    tree.release(handle: handle)
                }
            }
            #expect(mismatches.current == 0)
        }
    }
}
