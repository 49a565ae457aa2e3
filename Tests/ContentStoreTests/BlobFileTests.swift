import ContentStore
import OCISpec
import TestSupport
import Testing

@Suite("BlobFile and blob reads")
struct BlobFileTests {
    @Test(
        "reads return the requested range, fewer bytes at end of file, none past it",
        arguments: [
            (Int64(0), 10), (Int64(5), 100), (Int64(4090), 20), (Int64(4095), 1), (Int64(4096), 10), (Int64(10_000), 10), (Int64(0), 0),
            (Int64(0), 4096), (Int64(1), 8192),
        ])
    func ranges(offset: Int64, byteCount: Int) throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(4096)
            try store.write(bytes, digest: digest(bytes))
            let file = try store.openBlob(digest(bytes))
            #expect(file.size == 4096)
            let start = Int(min(offset, 4096))
            let end = min(start + byteCount, 4096)
            #expect(try file.read(offset: offset, byteCount: byteCount) == Array(bytes[start..<end]))
        }
    }

    @Test("readAll and readBlob return the whole blob; readBlob refuses one over its limit before reading")
    func wholeBlob() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(5000)
            try store.write(bytes, digest: digest(bytes))
            #expect(try store.openBlob(digest(bytes)).readAll() == bytes)
            #expect(try store.readBlob(digest(bytes)) == bytes)
            #expect(try store.readBlob(digest(bytes), maximumSize: 5000) == bytes)
            let error = #expect(throws: ContentStoreError.self) { try store.readBlob(digest(bytes), maximumSize: 4999) }
            #expect(error?.code == .invalidContent)
        }
    }

    @Test("an empty blob reads as empty")
    func emptyBlob() throws {
        try withContentStore { store, _ in
            try store.write([], digest: digest([]))
            #expect(digest([]).encoded == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            let file = try store.openBlob(digest([]))
            #expect(file.size == 0)
            #expect(try file.readAll().isEmpty)
            #expect(try file.read(offset: 0, byteCount: 10).isEmpty)
        }
    }

    @Test("a blob that is not local is notFound, for open, read, size and contains")
    func missing() throws {
        try withContentStore { store, _ in
            let absent = digest([1, 2, 3])
            #expect((#expect(throws: ContentStoreError.self) { try store.openBlob(absent) })?.code == .notFound)
            #expect((#expect(throws: ContentStoreError.self) { try store.readBlob(absent) })?.code == .notFound)
            #expect(store.size(of: absent) == nil)
            #expect(!store.contains(absent))
        }
    }

    @Test("threads reading one open file at different offsets each get their own bytes")
    func concurrentReads() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(1 << 20)
            try store.write(bytes, digest: digest(bytes))
            let file = try store.openBlob(digest(bytes))
            let mismatches = Locked(0)
            runConcurrently(8) { i in
                for round in 0..<50 {
                    let offset = (i * 131_071 + round * 4099) % (1 << 20)
                    let read = (try? file.read(offset: Int64(offset), byteCount: 3000)) ?? []
                    let end = min(offset + 3000, 1 << 20)
                    if read != Array(bytes[offset..<end]) { mismatches.withLock { $0 += 1 } }
                }
            }
            #expect(mismatches.current == 0)
        }
    }

    @Test("delete removes a blob; walk lists only names that are digests")
    func deleteAndWalk() throws {
        try withContentStore { store, _ in
            let a = ImageBuilder.randomBytes(10)
            let b = ImageBuilder.randomBytes(10)
            try store.write(a, digest: digest(a))
            try store.write(b, digest: digest(b))
            try writeFile(store.contentRoot + "/blobs/sha256/not-a-digest", [0])
            try writeFile(store.contentRoot + "/blobs/sha256/" + digest(a).encoded.uppercased(), [0])
            #expect(Set(store.walk()) == [digest(a), digest(b)])
            store.delete(digest(a))
            #expect(store.walk() == [digest(b)])
            store.delete(digest(a))
            #expect(!store.contains(digest(a)))
        }
    }
}

@Suite("DigestHasher")
struct DigestHasherTests {
    @Test("known vectors (FIPS 180-2 \"abc\")")
    func vectors() {
        #expect(
            DigestHasher.digest(of: Array("abc".utf8)).description
                == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            DigestHasher.digest(of: Array("abc".utf8), algorithm: .sha512).encoded
                == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    }

    @Test("hashing in pieces equals hashing at once, and counts bytes")
    func incremental() {
        let bytes = ImageBuilder.randomBytes(100_000)
        var hasher = DigestHasher(.sha256)
        hasher.update(Array(bytes[..<1]))
        hasher.update(Array(bytes[1..<65_537]))
        hasher.update(Array(bytes[65_537...]))
        #expect(hasher.byteCount == 100_000)
        #expect(hasher.finalize() == ImageBuilder.digest(of: bytes))
    }
}
