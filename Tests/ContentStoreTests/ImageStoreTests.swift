import ContentStore
import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func descriptor(_ seed: String, extra: String = "") throws -> Descriptor {
    let digest = ImageBuilder.digest(of: Array(seed.utf8))
    let text = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(digest)","size":\#(seed.utf8.count)\#(extra)}"#
    return try Descriptor(json: JSONParser.parse(Array(text.utf8)))
}

private func withDatabase<R>(_ body: (String) throws -> R) throws -> R {
    try withTemporaryDirectory { root in try body(root + "/meta.db") }
}

@Suite("SQLiteImageStore")
struct ImageStoreTests {
    @Test("bind then look up: the descriptor comes back exactly, unknown fields and platform included")
    func bindAndLookUp() throws {
        try withDatabase { path in
            let store = try SQLiteImageStore(path: path)
            let target = try descriptor(
                "a", extra: #","platform":{"architecture":"arm64","os":"linux","variant":"v8"},"x-big":18446744073709551615,"annotations":{"k":"v/w"}"#)
            try store.bind("docker.io/demo/busybox:1.35", to: target)
            let record = try #require(try store.image(named: "docker.io/demo/busybox:1.35"))
            #expect(record.name == "docker.io/demo/busybox:1.35")
            #expect(record.target == target)
            #expect(record.target.encoded == target.encoded)
            #expect(record.created == record.updated)
            #expect(try store.image(named: "docker.io/demo/busybox:1.36") == nil)
            #expect(permissions(path) == 0o600)
        }
    }

    @Test("rebinding moves the name: new target, created kept, updated not earlier")
    func rebind() throws {
        try withDatabase { path in
            let store = try SQLiteImageStore(path: path)
            try store.bind("docker.io/library/a:1", to: descriptor("first"))
            let before = try #require(try store.image(named: "docker.io/library/a:1"))
            try store.bind("docker.io/library/a:1", to: descriptor("second"))
            let after = try #require(try store.image(named: "docker.io/library/a:1"))
            #expect(after.target == (try descriptor("second")))
            #expect(after.created == before.created)
            #expect(after.updated >= before.updated)
            #expect(try store.images().count == 1)
        }
    }

    @Test("remove says whether the name was bound")
    func remove() throws {
        try withDatabase { path in
            let store = try SQLiteImageStore(path: path)
            try store.bind("docker.io/library/a:1", to: descriptor("a"))
            try store.bind("docker.io/library/b:1", to: descriptor("a"))
            #expect(try store.remove("docker.io/library/a:1"))
            #expect(try !store.remove("docker.io/library/a:1"))
            #expect(try !store.remove("docker.io/library/never:1"))
            #expect(try store.image(named: "docker.io/library/a:1") == nil)
            #expect(try store.images().map(\.name) == ["docker.io/library/b:1"])
        }
    }

    @Test("images are listed sorted by name; two names may share a target")
    func listSorted() throws {
        try withDatabase { path in
            let store = try SQLiteImageStore(path: path)
            for name in ["docker.io/z/z:1", "docker.io/a/a:2", "localhost:5000/m:1", "docker.io/a/a:1"] {
                try store.bind(name, to: descriptor("same"))
            }
            let images = try store.images()
            #expect(images.map(\.name) == ["docker.io/a/a:1", "docker.io/a/a:2", "docker.io/z/z:1", "localhost:5000/m:1"])
            #expect(Set(images.map(\.target.digest)).count == 1)
        }
    }

    @Test("names persist across opens; the database is in WAL mode")
    func persistence() throws {
        try withDatabase { path in
            do {
                let store = try SQLiteImageStore(path: path)
                try store.bind("docker.io/library/a:1", to: descriptor("a"))
            }
            let reopened = try SQLiteImageStore(path: path)
            #expect(try reopened.image(named: "docker.io/library/a:1")?.target == (try descriptor("a")))
            // SQLite file format: header bytes 18 and 19 are 2 in WAL mode.
            let header = try readFile(path).prefix(20)
            #expect(Array(header.suffix(2)) == [2, 2])
        }
    }

    @Test("many threads opening a new meta.db at once all migrate and write safely")
    func concurrentOpens() throws {
        try withDatabase { path in
            let failures = Locked<[String]>([])
            runConcurrently(8) { i in
                do {
                    let store = try SQLiteImageStore(path: path)
                    for round in 0..<5 {
                        try store.bind("docker.io/library/image\(i):\(round)", to: descriptor("\(i)-\(round)"))
                    }
                    _ = try store.images()
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.current.isEmpty)
            let store = try SQLiteImageStore(path: path)
            #expect(try store.images().count == 40)
            #expect(try store.image(named: "docker.io/library/image7:4")?.target == (try descriptor("7-4")))
        }
    }

    @Test("a database that cannot be opened is a database error")
    func unusablePath() throws {
        try withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: root + "/meta.db", withIntermediateDirectories: false)
            let error = #expect(throws: ContentStoreError.self) { try SQLiteImageStore(path: root + "/meta.db") }
            #expect(error?.code == .database)
        }
    }
}

@Suite("StoreLocation")
struct StoreLocationTests {
    @Test("an explicit root wins and gives content/ and meta.db under it")
    func explicitRoot() throws {
        try withTemporaryDirectory { root in
            let location = StoreLocation(root: root + "/store")
            #expect(location.root == root + "/store")
            #expect(location.contentRoot == root + "/store/content")
            #expect(location.databasePath == root + "/store/meta.db")
            try location.prepare()
            #expect(permissions(root + "/store") == 0o700)
        }
    }
}
