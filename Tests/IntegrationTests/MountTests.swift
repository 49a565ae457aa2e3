import CLinuxShims
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real FUSE mounts served by the layoutfs daemon (a separate process), read by skopeo, umoci,
/// oci-image-tool and plain tools; every byte compared with the store.
@Suite("the FUSE mount, read by real tools", .serialized)
struct MountTests {
    /// Imports the demo image, mounts it, runs `body`, and always unmounts.
    func withMountedDemo(names: [String] = ["demo/busybox:1.35"], _ body: (_ work: String, _ store: String, _ mnt: String) throws -> Void) throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            let mnt = work + "/mnt"
            try Harness.makeDemoImage(at: work + "/src")
            for name in names { try Harness.layoutfs(["import", work + "/src", "--name", name], store: store) }
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount"] + names + [mnt], store: store)
            #expect(mounted.stdout.contains("mounted"))
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            try body(work, store, mnt)
        }
    }

    static func mountEntry(_ mountpoint: String) -> [Substring]? {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 8, fields[4] == mountpoint { return fields }
        }
        return nil
    }

    @Test("skopeo, umoci and oci-image-tool read the mount; every blob equals the store's; the layout is read-only")
    func readersAndBytes() throws {
        try Harness.require("skopeo", "umoci", "oci-image-tool", "getfattr")
        try withMountedDemo { work, store, mnt in
            let entry = try #require(Self.mountEntry(mnt))
            #expect(entry.contains("fuse.layoutfs"), "mountinfo: \(entry.joined(separator: " "))")
            #expect(entry[5].split(separator: ",").contains("ro"))
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: mnt)) == ["oci-layout", "index.json", "blobs", "ingest"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: mnt + "/ingest").isEmpty)

            let blobs = try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256").sorted()
            #expect(blobs.count == 4)
            for blob in blobs {
                let mounted = mnt + "/blobs/sha256/" + blob
                let stored = store + "/content/blobs/sha256/" + blob
                #expect(try Harness.sha256(ofFile: mounted) == blob)
                try Harness.runOK(["cmp", mounted, stored])
                let attributes = try FileManager.default.attributesOfItem(atPath: mounted)
                #expect(attributes[.size] as? Int == (try FileManager.default.attributesOfItem(atPath: stored))[.size] as? Int)
                #expect((attributes[.posixPermissions] as? Int) == 0o444)
                // readdir's d_ino equals stat's st_ino.
                let listed = try Harness.runOK(["ls", "-i", mnt + "/blobs/sha256"]).stdout
                let inode = try Harness.runOK(["stat", "-c", "%i", mounted]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(listed.contains("\(inode) \(blob)"))
                let state = try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.state", mounted]).stdout
                #expect(state == "local (passthrough)", "a local blob of a passthrough mount")
                let listedAttributes = try Harness.runOK(["getfattr", "-d", "-m", "-", mounted]).stdout
                #expect(!listedAttributes.contains("layoutfs"), "xattrs must not be listed")
            }
            #expect(try String(contentsOfFile: mnt + "/oci-layout", encoding: .utf8) == #"{"imageLayoutVersion":"1.0.0"}"#)
            let index = try String(contentsOfFile: mnt + "/index.json", encoding: .utf8)
            #expect(index.contains(#""org.opencontainers.image.ref.name":"1.35""#))

            let inspect = try Harness.runOK(["skopeo", "inspect", "oci:\(mnt):1.35"])
            #expect(inspect.stdout.contains("\"Os\": \"linux\""))
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", mnt])
            try Harness.runOK(["umoci", "unpack", "--image", "\(mnt):1.35", work + "/bundle"])
            try Harness.runOK(["umoci", "unpack", "--image", "\(work)/src:1.35", work + "/bundle-src"])
            try Harness.runOK(["diff", "-r", "--no-dereference", work + "/bundle/rootfs", work + "/bundle-src/rootfs"])
            try Harness.runOK(["skopeo", "copy", "oci:\(mnt):1.35", "oci:\(work)/copy:1.35"])
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/copy"])

            let write = try Harness.run(["touch", mnt + "/new-file"])
            #expect(!write.succeeded)
            #expect(write.stderr.contains("Read-only file system"), "\(write.stderr)")
        }
    }

    @Test("status lists the mount with its images and counters; the root answers user.layoutfs.* by name, lists none; a killed daemon's entry goes")
    func status() throws {
        try Harness.require("getfattr", "jq")
        try withMountedDemo { _, store, mnt in
            // Blobs are read in passthrough mode (the kernel reads them itself: counted as opens),
            // index.json through the daemon.
            let blobs = try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256")
            for blob in blobs { _ = try Data(contentsOf: URL(fileURLWithPath: mnt + "/blobs/sha256/" + blob)) }
            let served = try Data(contentsOf: URL(fileURLWithPath: mnt + "/index.json")).count
            let json = try Harness.layoutfs(["status", "--json"], store: store).stdout
            let mounts = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
            #expect(mounts.count == 1)
            let mount = try #require(mounts.first)
            #expect(mount["mountpoint"] as? String == mnt)
            #expect(mount["images"] as? [String] == ["docker.io/demo/busybox:1.35"])
            #expect((mount["reads"] as? Int ?? 0) > 0)
            #expect((mount["bytesServed"] as? Int ?? 0) >= served, "\(json)")
            #expect(mount["errors"] as? Int == 0)
            #expect(mount["passthroughOpens"] as? Int == blobs.count, "\(json)")
            let value = try Harness.runOK(["getfattr", "--only-values", "-n", "user.layoutfs.reads", mnt]).stdout
            #expect((Int(value) ?? 0) > 0)
            #expect(!(try Harness.runOK(["getfattr", "-d", "-m", "-", mnt]).stdout.contains("layoutfs")))
            let table = try Harness.layoutfs(["status"], store: store).stdout
            #expect(table.contains(mnt) && table.contains("demo/busybox:1.35"), "\(table)")

            // A stopped daemon must not hang status: its counters show as unknown.
            let pid = try #require(Self.daemonPID(mnt))
            kill(pid, SIGSTOP)
            let stopped = try Harness.run(["timeout", "30", Harness.binary, "status", "--root", store])
            kill(pid, SIGCONT)
            let row = stopped.stdout.split(separator: "\n").first { $0.hasPrefix(mnt + " ") }?.split(separator: " ").map(String.init) ?? []
            #expect(stopped.status == 0 && row.count > 2 && row[1] == String(pid) && row[2] == "-", "\(stopped.stdout)")

            kill(pid, SIGKILL)
            try Self.waitForExit(pid)
            #expect(try Harness.layoutfs(["status"], store: store).stdout.contains("no running mounts"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/mounts").isEmpty)
        }
    }

    @Test("another user cannot read a default mount; with --allow-other they can (read-only, modes enforced)")
    func allowOther() throws {
        try Harness.require("setpriv")
        try withMountedDemo { work, store, mnt in
            let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            chmod(work, 0o755)
            let denied = try Harness.run(asNobody + ["cat", mnt + "/index.json"])
            #expect(!denied.succeeded && denied.stderr.contains("Permission denied"), "\(denied.stderr)")

            let shared = work + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", "demo/busybox:1.35", shared, "--allow-other"], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", shared, "--lazy"]) }
            let index = try Harness.run(asNobody + ["cat", shared + "/index.json"])
            #expect(index.succeeded && index.stdout.contains("demo/busybox"), "\(index.stderr)")
            let write = try Harness.run(asNobody + ["touch", shared + "/x"])
            #expect(!write.succeeded)
        }
    }

    @Test("several images in one mount: one index.json entry per name")
    func severalImages() throws {
        try Harness.require("skopeo")
        try withMountedDemo(names: ["demo/busybox:1.35", "demo/other:2"]) { _, _, mnt in
            let index = try String(contentsOfFile: mnt + "/index.json", encoding: .utf8)
            #expect(index.contains("docker.io/demo/busybox:1.35") && index.contains("docker.io/demo/other:2"))
            try Harness.runOK(["skopeo", "inspect", "oci:\(mnt):1.35"])
            try Harness.runOK(["skopeo", "inspect", "oci:\(mnt):2"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: mnt + "/blobs/sha256").count == 4)
        }
    }

    @Test("an unmount leaves no lease and no mount record behind: the daemon removes them before it exits (10 rounds)")
    func unmountLeavesNoRecords() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let (store, mnt) = try Harness.demoStore(work)
            for round in 1...10 {
                try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
                try Harness.layoutfs(["unmount", mnt], store: store)
                for directory in ["leases", "mounts"] {
                    let left = (try? FileManager.default.contentsOfDirectory(atPath: store + "/" + directory)) ?? []
                    #expect(left.isEmpty, "round \(round): \(directory) holds \(left)")
                }
            }
        }
    }

    @Test("unmount removes the mount; a busy mount says EBUSY and --lazy detaches it")
    func unmountBusyAndLazy() throws {
        try withMountedDemo { _, _, mnt in
            // This process holds index.json open (the server is another process: no deadlock).
            let held = open(mnt + "/index.json", O_RDONLY)
            #expect(held >= 0)
            let busy = try Harness.run([Harness.binary, "unmount", mnt])
            #expect(!busy.succeeded)
            #expect(busy.stderr.contains("--lazy"), "\(busy.stderr)")
            #expect(Self.mountEntry(mnt) != nil)
            try Harness.runOK([Harness.binary, "unmount", mnt, "--lazy"])
            #expect(Self.mountEntry(mnt) == nil)
            close(held)
        }
    }

    @Test("SIGTERM to the daemon unmounts cleanly; a SIGKILLed daemon's stale mount is cleaned by the next mount")
    func signalsAndStaleMount() throws {
        try withMountedDemo { _, store, mnt in
            // SIGTERM: the daemon unmounts and exits.
            let pid = try #require(Self.daemonPID(mnt))
            kill(pid, SIGTERM)
            try Self.waitForExit(pid)
            #expect(Self.mountEntry(mnt) == nil)

            // SIGKILL: the mount stays, stale ("Transport endpoint is not connected").
            try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
            let killed = try #require(Self.daemonPID(mnt))
            kill(killed, SIGKILL)
            try Self.waitForExit(killed)
            var st = stat()
            #expect(stat(mnt + "/index.json", &st) != 0 && errno == ENOTCONN)
            try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
            #expect(FileManager.default.fileExists(atPath: mnt + "/index.json"))
            // And a stale mount is also cleaned by unmount.
            let again = try #require(Self.daemonPID(mnt))
            kill(again, SIGKILL)
            try Self.waitForExit(again)
            try Harness.runOK([Harness.binary, "unmount", mnt])
            #expect(Self.mountEntry(mnt) == nil)
        }
    }

    @Test("mounting an unknown image, or over a live mount, fails with a clear error and mounts nothing")
    func mountErrors() throws {
        try withMountedDemo { work, store, mnt in
            let twice = try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store, expectSuccess: false)
            #expect(twice.status != 0)
            #expect(twice.stderr.contains("already a mountpoint"), "\(twice.stderr)")
            let stacked = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { $0.split(separator: " ").count > 4 && $0.split(separator: " ")[4] == mnt }
            #expect(stacked.count == 1)
            let other = work + "/mnt2"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            let result = try Harness.layoutfs(["mount", "demo/nope:1", other], store: store, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("layoutfs: error: no image named docker.io/demo/nope:1"))
            #expect(result.stderr.contains("docker.io/demo/busybox:1.35"), "lists what is available")
            #expect(Self.mountEntry(other) == nil)
        }
    }

    @Test("a mountpoint inside the store or inside a layoutfs mount is refused (it would deadlock or hide the layout)")
    func selfReferentialMounts() throws {
        try withMountedDemo { _, store, mnt in
            for inside in [store + "/content", store + "/content/blobs", mnt + "/blobs"] {
                let result = try Harness.layoutfs(["mount", "demo/busybox:1.35", inside], store: store, expectSuccess: false)
                #expect(result.status != 0, "\(inside)")
                #expect(result.stderr.contains("inside the"), "\(result.stderr)")
                #expect(Self.mountEntry(inside) == nil)
            }
            let export = try Harness.layoutfs(["export", "demo/busybox:1.35", "--materialize", store + "/content/out"], store: store, expectSuccess: false)
            #expect(export.stderr.contains("inside the store"), "\(export.stderr)")
        }
    }

    @Test("a store blob that changes size under a mount is an I/O error, never a short file")
    func truncatedStoreBlob() throws {
        try withMountedDemo { _, store, mnt in
            let blobs = try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256")
            let victim = try #require(blobs.first)
            let path = store + "/content/blobs/sha256/" + victim
            chmod(path, 0o644)
            #expect(truncate(path, 10) == 0)
            let read = try Harness.run(["cat", mnt + "/blobs/sha256/" + victim])
            #expect(!read.succeeded)
            #expect(read.stderr.contains("Input/output error"), "\(read.stderr)")
            // The other blobs are still served.
            let other = try #require(blobs.last)
            #expect(other != victim)
            #expect(try Harness.sha256(ofFile: mnt + "/blobs/sha256/" + other) == other)
        }
    }

    /// The pid of the daemon serving `mountpoint` (from its command line).
    static func daemonPID(_ mountpoint: String) -> pid_t? {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let cmdline = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
            let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.contains("--foreground"), arguments.contains(mountpoint), arguments.contains("mount") { return pid }
        }
        return nil
    }

    /// True when process `pid` has exited: no /proc entry, or a zombie not yet reaped (its
    /// parent may be a subreaper such as the test runner).
    static func hasExited(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Waits (bounded: 30 s) for a process that is not our child to exit, by watching its
    /// /proc entry through pidfd_open + poll.
    static func waitForExit(_ pid: pid_t) throws {
        let fd = lfs_pidfd_open(pid)
        guard fd >= 0 else { return }  // already gone
        defer { close(fd) }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, 30_000)
        #expect(ready == 1, "process \(pid) did not exit within 30 s")
    }
}
