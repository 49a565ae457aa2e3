import Foundation
import GRDB

extension SQLiteImageStore {
    /// The image names recorded in the database at `path`, sorted, read without creating,
    /// locking or migrating anything: for shell completion, which must be fast and must not
    /// change a store (or make one where none is).
    ///
    /// The database is opened read-only, waiting at most `busyTimeout` for a writer (a WAL
    /// database has readers and one writer at once, so this only waits during a checkpoint or
    /// a migration).
    /// - Returns: the names (full normalized references, as `layoutfs images` lists them), or
    ///   `nil` when there is no readable database at `path` or it has no `images` table yet.
    package static func imageNames(readingOnly path: String, busyTimeout: TimeInterval = 0.5) -> [String]? {
        guard FileManager.default.isReadableFile(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        do {
            let database = try DatabaseQueue(path: path, configuration: configuration)
            return try database.read { db in
                guard try db.tableExists("images") else { return nil }
                return try String.fetchAll(db, sql: "SELECT name FROM images ORDER BY name")
            }
        } catch {
            return nil
        }
    }
}
