import ContentStore
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// A running mount's entry in `<root>/mounts/` (DESIGN.md "On disk"): mountpoint, images, pid,
/// log, start time, as a JSON object; a ``LockedRecord`` the daemon holds, so it disappears
/// with the daemon however it ends.
package struct MountRecord: Sendable, Equatable {
    /// The mountpoint as the kernel names it.
    package var mountpoint: String
    /// The images shown, by name (or digest when unnamed).
    package var images: [String]
    package var pid: Int32
    /// The daemon's log file, when its stderr is one.
    package var log: String?
    /// Seconds since the epoch.
    package var started: Int64
    /// The containerd lease holding the blobs shown (`--containerd`), as it is now (renewals
    /// replace it).
    package var containerdLease: String?
    /// The containerd namespace the lease lives in (`ctr -n NAMESPACE leases ls` lists it).
    package var containerdNamespace: String?

    package init(
        mountpoint: String, images: [String], pid: Int32, log: String?, started: Int64, containerdLease: String? = nil, containerdNamespace: String? = nil
    ) {
        self.mountpoint = mountpoint
        self.images = images
        self.pid = pid
        self.log = log
        self.started = started
        self.containerdLease = containerdLease
        self.containerdNamespace = containerdNamespace
    }

    /// `{"mountpoint": ..., "images": [...], "pid": N, "log": ..., "started": N}`.
    package var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("mountpoint", .string(mountpoint)), ("images", .array(images.map { .string($0) })), ("pid", .number(String(pid))),
        ]
        if let log { members.append(("log", .string(log))) }
        members.append(("started", .number(String(started))))
        if let containerdLease { members.append(("containerdLease", .string(containerdLease))) }
        if let containerdNamespace { members.append(("containerdNamespace", .string(containerdNamespace))) }
        return .object(members)
    }

    /// Reads a record written by ``json``; nil for anything else.
    package init?(json: JSONValue) {
        guard let mountpoint = json["mountpoint"]?.stringValue, let images = json["images"]?.arrayValue?.compactMap(\.stringValue),
            let pid = json["pid"]?.int64Value.flatMap(Int32.init(exactly:)), let started = json["started"]?.int64Value
        else { return nil }
        self.init(
            mountpoint: mountpoint, images: images, pid: pid, log: json["log"]?.stringValue, started: started,
            containerdLease: json["containerdLease"]?.stringValue, containerdNamespace: json["containerdNamespace"]?.stringValue)
    }

    /// The calling daemon's record, started now.
    package static func forThisProcess(mountpoint: String, images: [String]) -> MountRecord {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return MountRecord(mountpoint: mountpoint, images: images, pid: getpid(), log: logPath(), started: Int64(now.tv_sec))
    }

    /// Writes and holds `record` in the store's mounts directory.
    /// - Throws: `ContentStoreError` `.io`, `.noSpace`.
    package static func create(in store: Store, _ record: MountRecord) throws -> LockedRecord {
        try LockedRecord(in: store.location.mountsDirectory, contents: record.json.encoded)
    }

    /// The records of running mounts, by mountpoint (stale ones are removed on the way).
    package static func running(in store: Store) -> [MountRecord] {
        LockedRecord.live(in: store.location.mountsDirectory).compactMap { record in
            record.contents.flatMap { try? JSONParser.parse($0) }.flatMap(MountRecord.init(json:))
        }
        .sorted { $0.mountpoint < $1.mountpoint }
    }

    /// The pid of the daemon serving `mountpoint` (as the kernel names it) according to the
    /// live records under `location`; nil when none (another store's mount, or stale).
    package static func daemon(serving mountpoint: String, location: StoreLocation) -> Int32? {
        LockedRecord.live(in: location.mountsDirectory, removeStale: false).lazy.compactMap { record in
            record.contents.flatMap { try? JSONParser.parse($0) }.flatMap(MountRecord.init(json:))
        }
        .first { $0.mountpoint == mountpoint }?.pid
    }

    /// The daemon's stderr when it is a file named by an absolute path (the parent opened the
    /// log there).
    private static func logPath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/2", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.hasPrefix("/") ? path : nil
    }
}
