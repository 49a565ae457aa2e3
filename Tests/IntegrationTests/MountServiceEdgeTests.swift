import CLinuxShims
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The mount daemon at its edges: what it inherits from the command, a request it did not
/// write, a daemon that does not answer, a full disk.
@Suite("mount service edges", .serialized)
struct MountServiceEdgeTests {
    @Test("the daemon keeps no descriptor its command inherited and no working directory; a relative --root still works")
    func daemonLeavesCallerAlone() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            try Harness.importDemo(work: work, store: work + "/store")
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            // A pipe the caller's caller reads to its end (bats' fd 3, a CI log): the command
            // gets its write end as fd 7.
            let fifo = work + "/fifo"
            #expect(mkfifo(fifo, 0o600) == 0)
            let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            #expect(reader >= 0)
            defer { close(reader) }
            try Harness.runOK([
                "sh", "-c", #"cd "$1" && exec "$0" mount demo/busybox:1.35 mnt --root store 7>"$2""#, Harness.binary, work, fifo,
            ])
            #expect(FileManager.default.fileExists(atPath: mnt + "/index.json"))
            // The command has exited: no writer is left, so the reader sees the end at once.
            var byte: UInt8 = 0
            let n = read(reader, &byte, 1)
            #expect(n == 0, "the daemon still holds the caller's pipe (read returned \(n), errno \(errno))")
            let daemon = try #require(MountTests.daemonPID("mnt"))
            let cwd = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon)/cwd")
            #expect(cwd == "/", "the daemon keeps \(cwd) busy")
            try Harness.runOK([Harness.binary, "unmount", mnt])
            try MountTests.waitForExit(daemon)
        }
    }

    @Test("the daemon refuses a request that names another mountpoint than its command line")
    func requestForAnotherMountpoint() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let (mnt, other) = (work + "/mnt", work + "/other")
            for directory in [mnt, other] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            defer { _ = try? Harness.run([Harness.binary, "unmount", other, "--lazy"]) }
            let request = """
                {"mountpoint":"\(other)","images":[{"specifier":"demo/busybox:1.35","root":{"mediaType":"application/vnd.oci.image.manifest.v1+json",\
                "digest":"sha256:\(String(repeating: "0", count: 64))","size":2},"pinned":false,"name":"docker.io/demo/busybox:1.35"}],\
                "shape":{"oci":false,"dockerManifest":false}}
                """
            try request.write(toFile: work + "/request.json", atomically: true, encoding: .utf8)
            let result = try Harness.run([
                "sh", "-c", #"exec "$0" mount demo/busybox:1.35 "$1" --root "$2" --foreground --request-fd 5 5<"$3""#, Harness.binary, mnt,
                work + "/store", work + "/request.json",
            ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("the mount request names the mountpoint \(other), the command line \(mnt)"), "\(result.stderr)")
        }
    }

    @Test("unmount of a mount whose daemon is stopped says so (not 'a file is open'), and --lazy detaches it")
    func stoppedDaemon() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let (store, mnt) = try Harness.demoStore(work)
            try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
            let daemon = try #require(MountTests.daemonPID(mnt))
            kill(daemon, SIGSTOP)
            defer {
                kill(daemon, SIGCONT)
                _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"])
            }
            let refused = try Harness.run([Harness.binary, "unmount", mnt])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("does not answer"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("has a file open"), "\(refused.stderr)")
            #expect(refused.stderr.contains("layoutfs unmount --lazy \(mnt)"), "\(refused.stderr)")
            try Harness.runOK([Harness.binary, "unmount", "--lazy", mnt])
            kill(daemon, SIGCONT)
            try MountTests.waitForExit(daemon)
        }
    }

    /// Fills the file system holding `directory` (a small tmpfs).
    private static func fill(_ directory: String) {
        let fd = open(directory + "/filler", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 4096)
        while write(fd, block, block.count) > 0 {}
        // The last partial block.
        while write(fd, block, 1) > 0 {}
    }

    @Test("a full disk: a lease that cannot be written leaves no temp file behind")
    func fullLeasesDirectory() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let (store, mnt) = try Harness.demoStore(work)
            let leases = store + "/leases"
            try FileManager.default.createDirectory(atPath: leases, withIntermediateDirectories: true)
            try Harness.runOK(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", leases])
            defer { _ = try? Harness.run(["umount", leases]) }
            Self.fill(leases)
            let result = try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("cannot create a lease"), "\(result.stderr)")
            #expect(result.stderr.contains("disk is full"), "\(result.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: leases).filter { $0 != "filler" }
            #expect(left.isEmpty, "left in \(leases): \(left)")
        }
    }

    @Test("a full disk: opening meta.db says the disk is full, not 'disk I/O error' alone")
    func fullStoreDisk() throws {
        try Harness.withWorkDirectory { work in
            let small = work + "/small"
            try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
            try Harness.runOK(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small])
            defer { _ = try? Harness.run(["umount", small]) }
            let store = small + "/store"
            // Creates meta.db; SQLite removes -wal and -shm when the last connection closes.
            try Harness.layoutfs(["images"], store: store)
            Self.fill(small)
            let result = try Harness.layoutfs(["images"], store: store, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("disk is full"), "\(result.stderr)")
        }
    }
}
