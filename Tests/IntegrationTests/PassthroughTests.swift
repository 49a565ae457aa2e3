import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// FUSE passthrough (issue 17): a root mount negotiates it, and opens of local blobs are
/// answered with the store file as backing file, so the kernel reads them without the daemon.
/// Needs Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH: on a kernel without it these tests fail (the
/// log says "FUSE passthrough is unavailable").
@Suite("FUSE passthrough")
struct PassthroughTests {
    static func attribute(_ name: String, _ path: String) throws -> String {
        try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs." + name, path]).stdout
    }

    /// The demo image imported and mounted (with `options`) at `work/mnt`; its blobs.
    static func mounted(_ work: String, options: [String] = []) throws -> (mnt: String, blobs: [String]) {
        try Harness.requireFUSE()
        try Harness.require("getfattr")
        let (store, mnt) = try Harness.demoStore(work)
        try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt] + options, store: store)
        return (mnt, try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256").sorted())
    }

    @Test("every blob reads byte for byte through passthrough, and the daemon serves none of those reads; readers read the layout")
    func bytesWithoutTheDaemon() throws {
        try Harness.require("oci-image-tool", "skopeo")
        try Harness.withWorkDirectory { work in
            let (mnt, blobs) = try Self.mounted(work)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let path = try #require(try Self.logPath(work))
            let log = try String(contentsOfFile: path, encoding: .utf8)
            #expect(log.contains("FUSE passthrough negotiated"), "\(log)")
            for blob in blobs {
                #expect(try Self.attribute("state", mnt + "/blobs/sha256/" + blob) == "local (passthrough)")
                #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + blob) == blob)
            }
            #expect(try Self.attribute("reads", mnt) == "0", "the kernel read the blobs itself")
            #expect(try Self.attribute("passthrough_opens", mnt) == String(blobs.count))
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", mnt])
            try Harness.runOK(["skopeo", "copy", "oci:\(mnt):1.35", "oci:\(work)/copy:1"])
            #expect(try Set(FileManager.default.contentsOfDirectory(atPath: work + "/copy/blobs/sha256")).isSuperset(of: Set(blobs)))
        }
    }

    @Test("--passthrough off: the same bytes, every read through the daemon, and the state says local")
    func off() throws {
        try Harness.withWorkDirectory { work in
            let (mnt, blobs) = try Self.mounted(work, options: ["--passthrough", "off"])
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            for blob in blobs {
                #expect(try Self.attribute("state", mnt + "/blobs/sha256/" + blob) == "local")
                #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + blob) == blob)
            }
            #expect(try Self.attribute("reads", mnt) != "0")
            #expect(try Self.attribute("passthrough_opens", mnt) == "0")
        }
    }

    @Test(
        "a mount without CAP_SYS_ADMIN in the initial user namespace (root in a user namespace of its own) falls back: the same bytes through the daemon, readers read the layout, and the log says passthrough is unavailable"
    )
    func withoutTheRight() throws {
        try Harness.requireFUSE()
        try Harness.require("unshare", "getfattr", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let (store, mnt) = try Harness.demoStore(work)
            // The mount lives in the namespace's own mount table: everything runs in there.
            let script = """
                set -e
                "$0" mount demo/busybox:1.35 "$1" --root "$2"
                trap '"$0" unmount "$1" --root "$2"' EXIT
                for blob in "$1"/blobs/sha256/*; do
                    echo "blob $(basename "$blob") $(sha256sum < "$blob" | cut -d' ' -f1) $(getfattr --only-values -n user.layoutfs.state "$blob")"
                done
                oci-image-tool validate --type image "$1" >/dev/null && echo validated
                echo "opens $(getfattr --only-values -n user.layoutfs.passthrough_opens "$1")"
                echo "reads $(getfattr --only-values -n user.layoutfs.reads "$1")"
                """
            let result = try Harness.run([
                "unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "bash", "-c", script, Harness.binary, mnt, store,
            ])
            #expect(result.succeeded, "\(result.stdout)\n\(result.stderr)")
            let blobs = result.stdout.split(separator: "\n").filter { $0.hasPrefix("blob ") }.map { $0.split(separator: " ") }
            #expect(blobs.count >= 3, "\(result.stdout)")
            for blob in blobs {
                #expect(blob.count == 4 && blob[1] == blob[2] && blob[3] == "local", "\(blob)")
            }
            #expect(result.stdout.contains("validated\nopens 0\n"), "\(result.stdout)")
            #expect(!result.stdout.contains("reads 0\n"), "the daemon served the reads")
            let log = try String(contentsOfFile: try #require(try Self.logPath(work)), encoding: .utf8)
            #expect(log.contains("FUSE passthrough is unavailable (the kernel refused a backing file: Operation not permitted"), "\(log)")
            #expect(!log.contains("FUSE passthrough negotiated"), "\(log)")
        }
    }

    @Test(
        "backing files are bounded (a limit of 1 here): with one blob open in passthrough, another opens through the daemon; once the first is closed, the other's next open is passthrough"
    )
    func boundedBackingFiles() throws {
        try Harness.requireFUSE()
        try Harness.require("getfattr")
        try Harness.withWorkDirectory { work in
            let (store, mnt) = try Harness.demoStore(work)
            let mounted = try Harness.run(
                [Harness.binary, "mount", "demo/busybox:1.35", mnt, "--root", store], environment: ["LAYOUTFS_BACKING_FILE_LIMIT": "1"])
            #expect(mounted.succeeded, "\(mounted.stderr)")
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let blobs = try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256").sorted()
            let (held, other) = (mnt + "/blobs/sha256/" + blobs[0], blobs[1])
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: held))
            #expect(try file.read(upToCount: 1)?.count == 1)
            #expect(try Self.attribute("passthrough_opens", mnt) == "1")
            #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + other) == other)
            #expect(try Self.attribute("passthrough_opens", mnt) == "1", "the limit was reached: the other blob read through the daemon")
            #expect(try Self.attribute("reads", mnt) != "0")
            #expect(try Self.attribute("backing_files", mnt) == "1")
            try file.close()
            // The kernel sends the release after close(2) returned.
            try LazyMountTests.waitUntil("the held blob's backing file is closed with its last open") {
                try Self.attribute("backing_files", mnt) == "0"
            }
            #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + other) == other)
            #expect(try Self.attribute("passthrough_opens", mnt) == "2")
        }
    }

    @Test("a lazy unmount with a passthrough file open: the file reads on, and the daemon ends when it is closed")
    func unmountWithOpenFile() throws {
        try Harness.withWorkDirectory { work in
            let (mnt, blobs) = try Self.mounted(work)
            let size = { (blob: String) in (try? FileManager.default.attributesOfItem(atPath: mnt + "/blobs/sha256/" + blob)[.size] as? Int) ?? 0 }
            let largest = try #require(blobs.max { size($0) < size($1) })
            let pid = try #require(MountTests.daemonPID(mnt))
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: mnt + "/blobs/sha256/" + largest))
            let first = try file.read(upToCount: 100)
            #expect(first?.count == 100)
            let busy = try Harness.run([Harness.binary, "unmount", mnt])
            #expect(!busy.succeeded && busy.stderr.contains("is busy"), "\(busy.stderr)")
            try Harness.runOK([Harness.binary, "unmount", mnt, "--lazy"])
            #expect(MountTests.mountEntry(mnt) == nil, "detached")
            let rest = try file.readToEnd() ?? Data()
            try ((first ?? Data()) + rest).write(to: URL(fileURLWithPath: work + "/read-after-detach"))
            #expect(try Harness.sha256(ofFile: work + "/read-after-detach") == largest, "the open file read the whole blob after the detach")
            #expect(kill(pid, 0) == 0, "the daemon serves while a file is open")
            try file.close()
            try MountTests.waitForExit(pid)
        }
    }

    /// The mount's log file (the newest under the store's logs).
    static func logPath(_ work: String) throws -> String? {
        let logs = work + "/store/logs"
        return try FileManager.default.contentsOfDirectory(atPath: logs).sorted().last.map { logs + "/" + $0 }
    }
}
