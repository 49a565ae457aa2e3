import Foundation
import GRDB
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// `ImageStore` in `meta.db` (SQLite through GRDB): WAL journal, busy timeout, schema migrated
/// under an exclusive `flock` on `meta.db.lock` so concurrent first runs do not race.
package final class SQLiteImageStore: ImageStore, LazyBlobIndex {
    private let database: DatabaseQueue
    package let path: String

    /// Opens or creates the database at `path`.
    /// - Throws: `ContentStoreError.database` when SQLite cannot open or migrate it.
    package init(path: String) throws(ContentStoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let lockFD = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw ContentStoreError(.database, "cannot open \(path).lock", errno: errno) }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        // Created 0600 before SQLite opens it: SQLite gives -wal and -shm the same mode.
        let databaseFD = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if databaseFD >= 0 { close(databaseFD) }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(database)
        } catch {
            // On a full disk SQLite cannot create meta.db-shm (32 KiB) and says "disk I/O error".
            throw ContentStoreError(
                .database, "cannot open the image database \(path)", errno: Self.isNearlyFull(path) ? ENOSPC : nil, underlying: error)
        }
    }

    /// True when the file system holding `path` has less than 64 KiB free for this user.
    private static func isNearlyFull(_ path: String) -> Bool {
        var info = statvfs()
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        guard statvfs(directory.isEmpty ? "/" : directory, &info) == 0 else { return false }
        let blocks = geteuid() == 0 ? info.f_bfree : info.f_bavail
        return UInt64(blocks) * UInt64(info.f_frsize) < 64 << 10
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "images") { t in
                t.column("name", .text).primaryKey()
                t.column("digest", .text).notNull().indexed()
                t.column("descriptor", .text).notNull()
                t.column("created", .double).notNull()
                t.column("updated", .double).notNull()
            }
        }
        migrator.registerMigration("v2-lazy-blobs") { db in
            try db.create(table: "lazy_blobs") { t in
                t.column("digest", .text).primaryKey()
                t.column("descriptor", .text).notNull()
            }
            try db.create(table: "blob_sources") { t in
                t.column("digest", .text).notNull().indexed()
                t.column("domain", .text).notNull()
                t.column("repository", .text).notNull()
                t.primaryKey(["digest", "domain", "repository"])
            }
        }
        return migrator
    }

    package func recordLazy(_ descriptors: [Descriptor], source: BlobSource) throws(ContentStoreError) {
        try wrap("recording lazy blobs") {
            try database.write { db in
                for descriptor in descriptors {
                    let digest = descriptor.digest.description
                    try db.execute(
                        sql: "INSERT INTO lazy_blobs (digest, descriptor) VALUES (?, ?) ON CONFLICT(digest) DO NOTHING",
                        arguments: [digest, String(decoding: descriptor.encoded, as: UTF8.self)])
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO blob_sources (digest, domain, repository) VALUES (?, ?, ?)",
                        arguments: [digest, source.domain, source.repository])
                }
            }
        }
    }

    package func lazyBlob(_ digest: Digest) throws(ContentStoreError) -> (descriptor: Descriptor, sources: [BlobSource])? {
        try wrap("lookup of lazy blob \(digest)") {
            try database.read { db -> (descriptor: Descriptor, sources: [BlobSource])? in
                guard let text = try String.fetchOne(db, sql: "SELECT descriptor FROM lazy_blobs WHERE digest = ?", arguments: [digest.description])
                else { return nil }
                let descriptor = try Descriptor(json: try JSONParser.parse(Array(text.utf8)))
                let sources = try Row.fetchAll(
                    db, sql: "SELECT domain, repository FROM blob_sources WHERE digest = ? ORDER BY domain, repository", arguments: [digest.description]
                ).map { BlobSource(domain: $0["domain"], repository: $0["repository"]) }
                return (descriptor, sources)
            }
        }
    }

    package func changeCount() throws(ContentStoreError) -> Int64 {
        try wrap("reading data_version") {
            try database.read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        }
    }

    package func lazyDigests() throws(ContentStoreError) -> [Digest] {
        try wrap("listing lazy blobs") {
            try database.read { db in
                try String.fetchAll(db, sql: "SELECT digest FROM lazy_blobs").compactMap { try? Digest(parsing: $0) }
            }
        }
    }

    package func forgetLazy(_ digests: [Digest]) throws(ContentStoreError) {
        try wrap("forgetting lazy blobs") {
            try database.write { db in
                for digest in digests {
                    try db.execute(sql: "DELETE FROM lazy_blobs WHERE digest = ?", arguments: [digest.description])
                    try db.execute(sql: "DELETE FROM blob_sources WHERE digest = ?", arguments: [digest.description])
                }
            }
        }
    }

    private func wrap<T>(_ what: String, _ body: () throws -> T) throws(ContentStoreError) -> T {
        do {
            return try body()
        } catch let error as ContentStoreError {
            throw error
        } catch {
            throw ContentStoreError(.database, "image database: \(what) failed", underlying: error)
        }
    }

    private static func record(_ row: Row) throws -> ImageRecord {
        let text: String = row["descriptor"]
        let descriptor = try Descriptor(json: try JSONParser.parse(Array(text.utf8)))
        return ImageRecord(
            name: row["name"], target: descriptor,
            created: Date(timeIntervalSince1970: row["created"]), updated: Date(timeIntervalSince1970: row["updated"]))
    }

    package func image(named name: String) throws(ContentStoreError) -> ImageRecord? {
        try wrap("lookup of \(name)") {
            try database.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM images WHERE name = ?", arguments: [name]).map(Self.record)
            }
        }
    }

    package func images() throws(ContentStoreError) -> [ImageRecord] {
        try wrap("listing") {
            // A corrupt row (hand-edited, or from a future version) is skipped, not fatal to every
            // command: it can still be looked up by name (and fail there) or removed with rm.
            try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM images ORDER BY name").compactMap { try? Self.record($0) } }
        }
    }

    package func bind(_ bindings: [(name: String, target: Descriptor)]) throws(ContentStoreError) {
        let now = Date().timeIntervalSince1970
        try wrap("binding \(bindings.map(\.name).joined(separator: ", "))") {
            try database.write { db in
                for (name, target) in bindings {
                    try db.execute(
                        sql: """
                            INSERT INTO images (name, digest, descriptor, created, updated) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT(name) DO UPDATE SET digest = excluded.digest, descriptor = excluded.descriptor,
                              updated = excluded.updated
                            """,
                        arguments: [name, target.digest.description, String(decoding: target.encoded, as: UTF8.self), now, now])
                }
            }
        }
    }

    package func remove(_ name: String) throws(ContentStoreError) -> Bool {
        try wrap("removal of \(name)") {
            try database.write { db in
                try db.execute(sql: "DELETE FROM images WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        }
    }
}
