import ArgumentParser
import CLinuxShims
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LayoutFSMount
import LazyBlobs

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs status`: the running mounts of the store and their counters.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List running mounts with their images and counters.",
        discussion: """
            Counters come from the mount root's user.layoutfs.* attributes (reads, bytes_served, \
            bytes_fetched, cache_hits, errors, passthrough_opens), which getfattr -n NAME also \
            answers. --json gives them camelCase keys, as every JSON output of layoutfs: reads, \
            bytesServed, bytesFetched, cacheHits, errors, passthroughOpens. Reads of a file opened \
            in FUSE passthrough mode never reach the daemon, so they are not counted: \
            passthrough_opens counts those opens.
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    /// The counters: the mount root's attribute name (`user.layoutfs.<attribute>`, snake_case as
    /// the mount answers it) and the `--json` key (camelCase, as every JSON output: README "JSON
    /// output").
    static let counters: [(attribute: String, jsonKey: String)] = [
        ("reads", "reads"), ("bytes_served", "bytesServed"), ("bytes_fetched", "bytesFetched"), ("cache_hits", "cacheHits"), ("errors", "errors"),
        ("passthrough_opens", "passthroughOpens"),
    ]

    func run() throws {
        let store = try store.openStore()
        let mounts = MountRecord.running(in: store)
        let rows = mounts.map { mount in (mount, Self.counters(of: mount.mountpoint)) }
        if json {
            let objects: [[String: Any]] = rows.map { mount, counters in
                var object: [String: Any] = ["mountpoint": mount.mountpoint, "images": mount.images, "pid": mount.pid, "started": mount.started]
                if let log = mount.log { object["log"] = log }
                if let lease = mount.containerdLease { object["containerdLease"] = lease }
                if let namespace = mount.containerdNamespace { object["containerdNamespace"] = namespace }
                for (counter, value) in zip(Self.counters, counters) { object[counter.jsonKey] = value ?? NSNull() }
                return object
            }
            try ListImages.printJSON(objects)
            return
        }
        guard !rows.isEmpty else {
            print("no running mounts")
            return
        }
        var table = [["MOUNTPOINT", "PID", "READS", "SERVED", "FETCHED", "HITS", "ERRORS", "PASSTHROUGH", "IMAGES"]]
        for (mount, counters) in rows {
            let shown = counters.enumerated().map { i, value -> String in
                guard let value else { return "-" }
                return i == 1 || i == 2 ? ByteFormat.string(value) : String(value)
            }
            let lease = mount.containerdLease.map { " (containerd lease \($0)" + (mount.containerdNamespace.map { " in namespace \($0)" } ?? "") + ")" }
            let images = mount.images.joined(separator: " ") + (lease ?? "")
            table.append([mount.mountpoint, String(mount.pid)] + shown + [images])
        }
        ListImages.printTable(table)
    }

    /// Every counter of one mount, in ``counters``' order; all nil after the first that gets
    /// no answer (a stopped daemon costs one second, not one per counter).
    static func counters(of mountpoint: String) -> [Int64?] {
        var values: [Int64?] = []
        for (attribute, _) in counters {
            let value = Self.counter(attribute, of: mountpoint)
            values.append(value)
            if value == nil { break }
        }
        return values + Array(repeating: nil, count: counters.count - values.count)
    }

    /// One counter from the mount root's attributes; nil when the mount does not answer within
    /// a second (a stopped or hung daemon must not hang status: the call waits on its own thread,
    /// not on the blocking pool, since it may never return).
    static func counter(_ name: String, of mountpoint: String) -> Int64? {
        let result = CounterBox()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = lfs_getxattr(mountpoint, "user.layoutfs." + name, &buffer, buffer.count)
            if n > 0 { result.set(Int64(String(decoding: buffer[0..<n], as: UTF8.self))) }
            done.signal()
        }
        guard done.wait(timeout: .now() + 1) == .success else { return nil }
        return result.value
    }
}

/// A counter handed from the thread that asked the mount.
private final class CounterBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int64?
    func set(_ value: Int64?) {
        lock.lock()
        stored = value
        lock.unlock()
    }
    var value: Int64? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
