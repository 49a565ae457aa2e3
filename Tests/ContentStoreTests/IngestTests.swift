import ContentStore
import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Ingest and commit")
struct IngestTests {
    @Test("a committed blob is in blobs/<alg>/<hex>, read-only, with its bytes; the ingest directory is gone")
    func commit() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(3 << 20 + 17)
            let expected = digest(bytes)
            let ingest = try store.ingest()
            #expect(listing(store.contentRoot + "/ingest").count == 1)
            try ingest.write(Array(bytes[..<1000]))
            try ingest.write(Array(bytes[1000...]))
            #expect(ingest.byteCount == Int64(bytes.count))
            #expect(ingest.currentDigest() == expected)
            try ingest.commit(digest: expected, size: Int64(bytes.count))
            #expect(store.contains(expected))
            #expect(store.size(of: expected) == Int64(bytes.count))
            #expect(try readFile(store.path(of: expected)) == bytes)
            #expect(store.path(of: expected) == "\(store.contentRoot)/blobs/sha256/\(expected.encoded)")
            #expect(permissions(store.path(of: expected)) == 0o444)
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
            #expect(store.walk() == [expected])
        }
    }

    @Test("a sha512 blob commits when the ingest hashes sha512 too")
    func sha512() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(1000)
            let expected = digest(bytes, .sha512)
            let ingest = try store.ingest()
            ingest.alsoHash(.sha512)
            try ingest.write(bytes)
            try ingest.commit(digest: expected, size: 1000)
            #expect(try readFile(store.contentRoot + "/blobs/sha512/" + expected.encoded) == bytes)

            let unhashed = try store.ingest()
            try unhashed.write(bytes)
            // Without alsoHash(.sha512) the ingest cannot verify a sha512 digest: refused, not trusted.
            let error = #expect(throws: ContentStoreError.self) { try unhashed.commit(digest: expected, size: 1000) }
            #expect(error?.code == .digestMismatch)
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("a size mismatch commits nothing and removes the ingest")
    func sizeMismatch() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(100)
            let ingest = try store.ingest()
            try ingest.write(bytes)
            let error = #expect(throws: ContentStoreError.self) { try ingest.commit(digest: digest(bytes), size: 101) }
            #expect(error?.code == .sizeMismatch)
            #expect(!store.contains(digest(bytes)))
            #expect(listing(store.contentRoot + "/blobs/sha256").isEmpty)
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("a digest mismatch commits nothing, under neither digest, and removes the ingest")
    func digestMismatch() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(100)
            let claimed = digest(ImageBuilder.randomBytes(100))
            let ingest = try store.ingest()
            try ingest.write(bytes)
            let error = #expect(throws: ContentStoreError.self) { try ingest.commit(digest: claimed, size: 100) }
            #expect(error?.code == .digestMismatch)
            #expect(error?.message.contains(claimed.description) == true)
            #expect(!store.contains(claimed))
            #expect(!store.contains(digest(bytes)))
            #expect(listing(store.contentRoot + "/blobs/sha256").isEmpty)
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("write(_:digest:) verifies; a wrong digest stores nothing")
    func writeVerifies() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(64)
            let wrong = digest(bytes + [0])
            #expect((#expect(throws: ContentStoreError.self) { try store.write(bytes, digest: wrong) })?.code == .digestMismatch)
            #expect((#expect(throws: ContentStoreError.self) { try store.write(bytes, digest: digest(bytes), size: 65) })?.code == .sizeMismatch)
            #expect(store.walk().isEmpty)
            try store.write(bytes, digest: digest(bytes))
            try store.write(bytes, digest: digest(bytes))
            #expect(store.walk() == [digest(bytes)])
        }
    }

    @Test("two ingests of the same blob both succeed, leaving one correct file")
    func sameBlobTwice() throws {
        try withContentStore { store, _ in
            let bytes = ImageBuilder.randomBytes(10_000)
            let expected = digest(bytes)
            let first = try store.ingest()
            let second = try store.ingest()
            #expect(first.directory != second.directory)
            try first.write(bytes)
            try second.write(bytes)
            try first.commit(digest: expected, size: 10_000)
            // The second commit meets the first one's file: RENAME_NOREPLACE says EEXIST.
            try second.commit(digest: expected, size: 10_000)
            #expect(try readFile(store.path(of: expected)) == bytes)
            #expect(listing(store.contentRoot + "/blobs/sha256") == [expected.encoded])
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("many threads committing the same blob at once all succeed, leaving one correct file")
    func sameBlobConcurrently() throws {
        try withContentStore { store, _ throws in
            let bytes = ImageBuilder.randomBytes(1 << 20)
            let expected = digest(bytes)
            let failures = Locked<[String]>([])
            runConcurrently(8) { _ in
                do {
                    let ingest = try store.ingest()
                    try ingest.write(bytes)
                    try ingest.commit(digest: expected, size: Int64(bytes.count))
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.current.isEmpty)
            #expect(try readFile(store.path(of: expected)) == bytes)
            #expect(listing(store.contentRoot + "/blobs/sha256") == [expected.encoded])
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("two store instances (as two processes would have) commit the same blob at once")
    func twoStoreInstances() throws {
        try withContentStore { store, root in
            let other = try LocalContentStore(contentRoot: root + "/content")
            let bytes = ImageBuilder.randomBytes(200_000)
            let expected = digest(bytes)
            let failures = Locked<[String]>([])
            runConcurrently(2) { i in
                do {
                    try (i == 0 ? store : other).write(bytes, digest: expected)
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.current.isEmpty)
            #expect(try readFile(other.path(of: expected)) == bytes)
        }
    }

    @Test("write(from:) copies from a file descriptor and reports a short file")
    func writeFromDescriptor() throws {
        try withContentStore { store, root in
            let bytes = ImageBuilder.randomBytes(2 << 20 + 5)
            try writeFile(root + "/source", bytes)
            let fd = open(root + "/source", O_RDONLY)
            #expect(fd >= 0)
            defer { close(fd) }
            let ingest = try store.ingest()
            try ingest.write(from: fd, byteCount: Int64(bytes.count), what: "source")
            try ingest.commit(digest: digest(bytes), size: Int64(bytes.count))
            #expect(store.contains(digest(bytes)))

            lseek(fd, 0, SEEK_SET)
            let short = try store.ingest()
            let error = #expect(throws: ContentStoreError.self) { try short.write(from: fd, byteCount: Int64(bytes.count) + 1, what: "source") }
            #expect(error?.code == .sizeMismatch)
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("an ingest that is aborted or dropped leaves nothing behind")
    func abortAndDrop() throws {
        try withContentStore { store, _ in
            let ingest = try store.ingest()
            try ingest.write([1, 2, 3])
            ingest.abort()
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
            do {
                let dropped = try store.ingest()
                try dropped.write([4, 5, 6])
                #expect(listing(store.contentRoot + "/ingest").count == 1)
            }
            #expect(listing(store.contentRoot + "/ingest").isEmpty)
            #expect(store.walk().isEmpty)
        }
    }
}

@Suite("Stale ingest cleanup")
struct StaleIngestTests {
    @Test("an unlocked ingest directory is removed; a live (locked) one is not")
    func cleanup() throws {
        try withContentStore { store, _ in
            let ingestRoot = store.contentRoot + "/ingest"
            // What a writer killed with SIGKILL leaves: a directory nobody holds a lock on.
            try FileManager.default.createDirectory(atPath: ingestRoot + "/0123456789abcdef", withIntermediateDirectories: false)
            try writeFile(ingestRoot + "/0123456789abcdef/data", [1, 2, 3])
            let live = try store.ingest()
            try live.write([9, 9, 9])
            let liveName = String(live.directory.split(separator: "/").last!)
            #expect(listing(ingestRoot) == ["0123456789abcdef", liveName].sorted())

            #expect(store.removeStaleIngests() == 1)
            #expect(listing(ingestRoot) == [liveName])
            #expect(pathExists(live.directory + "/data"))
            // The live writer is unharmed and commits.
            try live.commit(digest: digest([9, 9, 9]), size: 3)
            #expect(try readFile(store.path(of: digest([9, 9, 9]))) == [9, 9, 9])
            #expect(store.removeStaleIngests() == 0)
        }
    }

    @Test("a directory locked by another holder is left alone")
    func lockedByOtherHolder() throws {
        try withContentStore { store, _ in
            let dir = store.contentRoot + "/ingest/feedfacefeedface"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            let fd = open(dir, O_RDONLY | O_DIRECTORY)
            #expect(fd >= 0)
            #expect(flock(fd, LOCK_EX) == 0)
            #expect(store.removeStaleIngests() == 0)
            #expect(pathExists(dir))
            close(fd)
            #expect(store.removeStaleIngests() == 1)
            #expect(!pathExists(dir))
        }
    }

    @Test("cleanup does not follow a symlink in the ingest directory")
    func symlinkNotFollowed() throws {
        try withTemporaryDirectory { outside in
            try writeFile(outside + "/precious", [1])
            try withContentStore { store, _ in
                try FileManager.default.createSymbolicLink(atPath: store.contentRoot + "/ingest/abcdef", withDestinationPath: outside)
                store.removeStaleIngests()
                #expect(pathExists(outside + "/precious"))
            }
        }
    }
}
