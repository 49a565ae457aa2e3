import ContentStore
import Foundation
import Images

#if canImport(Glibc)
import Glibc
#endif

/// A running mount's entry in `<root>/mounts/` (DESIGN.md "On disk"): mountpoint, images, pid,
/// log, start time; a ``LockedRecord`` the daemon holds, so it disappears with the daemon.
struct MountRecord: Codable {
    var mountpoint: String
    var images: [String]
    var pid: Int32
    var log: String?
    /// Seconds since the epoch.
    var started: Int64

    /// Writes the calling daemon's record.
    static func create(in store: Store, mountpoint: String, images: [String]) throws -> LockedRecord {
        let absolute = (try? CanonicalPath.of(mountpoint, resolving: .lexical)) ?? mountpoint
        // The daemon's stderr is its log file (the parent opened it).
        let log = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/2")).flatMap { $0.hasPrefix("/") ? $0 : nil }
        let record = MountRecord(mountpoint: absolute, images: images, pid: getpid(), log: log, started: Int64(Date().timeIntervalSince1970))
        return try LockedRecord(in: store.location.mountsDirectory, contents: Array(try JSONEncoder().encode(record)))
    }

    /// The records of running mounts (stale ones are removed on the way).
    static func running(in store: Store) -> [MountRecord] {
        LockedRecord.live(in: store.location.mountsDirectory).compactMap { record in
            record.contents.flatMap { try? JSONDecoder().decode(MountRecord.self, from: Data($0)) }
        }
            .sorted { $0.mountpoint < $1.mountpoint }
    }
}
