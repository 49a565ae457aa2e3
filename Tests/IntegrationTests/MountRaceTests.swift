import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Mounts racing for one mountpoint, and mounts whose daemon died (issue 12, cases 1 and 5).
@Suite("mount races and stale mounts", .serialized)
struct MountRaceTests {
    /// The fuse.layoutfs entries stacked at `mountpoint`, from the kernel's mount table.
    static func stacked(_ mountpoint: String) -> Int {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == mountpoint
        }.count
    }

    @Test("10 mounts started at once on one directory, from two stores, through a symlink too: exactly one wins, 20 rounds")
    func concurrentMounts() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let stores = [work + "/store-a", work + "/store-b"]
            try Harness.makeDemoImage(at: work + "/src")
            for store in stores { try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store) }
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            // One mountpoint, four spellings: the kernel mounts on a symlink's target.
            try FileManager.default.createSymbolicLink(atPath: work + "/link", withDestinationPath: mnt)
            let spellings = [mnt, mnt + "/", work + "/link", work + "/link/"]
            for round in 1...20 {
                let children = try (0..<10).map { i in
                    try Harness.spawn([Harness.binary, "mount", "demo/busybox:1.35", spellings[(i + round) % 4], "--root", stores[i % 2]])
                }
                let results = children.map { child in
                    let status = Harness.wait(child.pid)
                    defer {
                        unlink(child.outputPath)
                        unlink(child.errorPath)
                    }
                    return RunResult(status: status, stdout: child.readOutput(), stderr: child.readError())
                }
                let winners = results.filter(\.succeeded)
                #expect(winners.count == 1, "round \(round): \(winners.count) mounts succeeded: \(winners.map(\.stdout))")
                for loser in results where !loser.succeeded {
                    #expect(loser.stderr.contains("already a mountpoint"), "round \(round): \(loser.stderr)")
                }
                #expect(Self.stacked(mnt) == 1, "round \(round): the kernel has \(Self.stacked(mnt)) mounts at \(mnt)")
                #expect(FileManager.default.fileExists(atPath: mnt + "/index.json"))
                try Harness.runOK([Harness.binary, "unmount", mnt])
                #expect(Self.stacked(mnt) == 0)
                if winners.count != 1 || Self.stacked(mnt) != 0 { break }
            }
        }
    }

    /// Starts a shell whose working directory is `directory` and waits (bounded: 10 s) until
    /// the kernel shows it there.
    private static func shell(in directory: String) throws -> Harness.Child {
        let child = try Harness.spawn(["sh", "-c", "cd \"$0\" && exec sleep 600", directory])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child.pid)/cwd")) == directory { return child }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid { break }
            usleep(10_000)
        }
        kill(child.pid, SIGKILL)
        _ = Harness.wait(child.pid)
        throw HarnessError("the shell did not enter \(directory): \(child.readError())")
    }

    @Test("after ls and a shell inside, a SIGKILLed daemon's mount is detached by the next mount at once, and by unmount")
    func staleMountWithShellInside() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let (store, mnt) = try Harness.demoStore(work)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }

            for way in ["mount", "unmount"] {
                try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
                // ls fills the kernel's attribute and entry caches: a stat of MNT keeps answering.
                try Harness.runOK(["ls", "-la", mnt, mnt + "/blobs/sha256"])
                let shell = try Self.shell(in: mnt + "/blobs/sha256")
                defer {
                    kill(shell.pid, SIGKILL)
                    _ = Harness.wait(shell.pid)
                }
                let daemon = try #require(MountTests.daemonPID(mnt))
                kill(daemon, SIGKILL)
                try MountTests.waitForExit(daemon)
                #expect(Self.stacked(mnt) == 1)

                if way == "mount" {
                    let again = try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
                    #expect(again.stderr.contains("removed the stale mount at \(mnt)"), "\(again.stderr)")
                    #expect(Self.stacked(mnt) == 1, "the stale mount is detached, the new one alone")
                    #expect(FileManager.default.fileExists(atPath: mnt + "/index.json"))
                    try Harness.runOK([Harness.binary, "unmount", mnt])
                } else {
                    // Through a symlink, with a trailing slash: the same mount point.
                    try? FileManager.default.createSymbolicLink(atPath: work + "/link", withDestinationPath: mnt)
                    let unmounted = try Harness.runOK([Harness.binary, "unmount", work + "/link/"])
                    #expect(unmounted.stdout.contains("removed the stale mount at"), "\(unmounted.stdout)")
                }
                #expect(Self.stacked(mnt) == 0)
            }
        }
    }
}
