import ContentStore
import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("lazy blob cache entries")
struct CacheEntryTests {
    @Test("one owner at a time: a second open while the first holds the entry gets nil; after release it opens")
    func singleOwner() throws {
        try withContentStore { _, root in
            let bytes = ImageBuilder.randomBytes(3000)
            var first = try CacheEntry.open(cacheRoot: root + "/cache", digest: digest(bytes), size: 3000)
            #expect(first != nil)
            #expect(try CacheEntry.open(cacheRoot: root + "/cache", digest: digest(bytes), size: 3000) == nil)
            first = nil
            #expect(try CacheEntry.open(cacheRoot: root + "/cache", digest: digest(bytes), size: 3000) != nil)
        }
    }

    @Test("data and chunks survive a reopen; a data file of another size starts over; forgetChunks keeps the size")
    func persistence() throws {
        try withContentStore { _, root in
            let bytes = ImageBuilder.randomBytes(3000)
            let cacheRoot = root + "/cache"
            do {
                let entry = try #require(try CacheEntry.open(cacheRoot: cacheRoot, digest: digest(bytes), size: 3000))
                #expect(entry.data.currentSize() == 3000, "sparse, full size from the start")
                #expect(entry.storedChunks().isEmpty)
                try bytes[0..<1000].withUnsafeBytes { try entry.write($0, at: 0) }
                try entry.syncData()
                try entry.storeChunks([0b1])
            }
            do {
                let entry = try #require(try CacheEntry.open(cacheRoot: cacheRoot, digest: digest(bytes), size: 3000))
                #expect(entry.storedChunks() == [0b1])
                #expect(try entry.data.read(offset: 0, byteCount: 1000) == Array(bytes[0..<1000]))
                #expect(CacheEntry.peekChunks(cacheRoot: cacheRoot, digest: digest(bytes)) == [0b1])
                try entry.forgetChunks()
                #expect(entry.storedChunks().isEmpty)
                #expect(entry.data.currentSize() == 3000)
            }
            truncate(cacheRoot + "/sha256/" + digest(bytes).encoded, 10)
            let entry = try #require(try CacheEntry.open(cacheRoot: cacheRoot, digest: digest(bytes), size: 3000))
            #expect(entry.data.currentSize() == 3000)
            #expect(entry.storedChunks().isEmpty)
        }
    }

    @Test("commit moves the data file into the store (read-only), removes the side files, and the open file still reads")
    func commit() throws {
        try withContentStore { store, root in
            let bytes = ImageBuilder.randomBytes(5000)
            let cacheRoot = root + "/cache"
            let entry = try #require(try CacheEntry.open(cacheRoot: cacheRoot, digest: digest(bytes), size: 5000))
            try bytes.withUnsafeBytes { try entry.write($0, at: 0) }
            try entry.commit(into: store)
            #expect(store.contains(digest(bytes)))
            #expect(try store.readBlob(digest(bytes)) == bytes)
            #expect(permissions(store.path(of: digest(bytes))) == 0o444)
            #expect(listing(cacheRoot + "/sha256").isEmpty)
            #expect(try entry.data.read(offset: 4000, byteCount: 1000) == Array(bytes[4000..<5000]))
        }
    }
}
