import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `scripts/install` into a temporary prefix, with the binary under test (no release build
/// here), judged by `man` and bash; then `--uninstall`.
@Suite("scripts/install")
struct InstallTests {
    /// swift-argument-parser's generate-manual: `$LAYOUTFS_GENERATE_MANUAL` (set by scripts/test),
    /// else the one built next to the tests (`swift build --product generate-manual`).
    static func generateManual() throws -> String {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["LAYOUTFS_GENERATE_MANUAL"], !path.isEmpty { candidates.append(path) }
        if let tests = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: tests).deletingLastPathComponent().path + "/generate-manual")
        }
        candidates.append(Harness.repositoryRoot + "/.build/debug/generate-manual")
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("generate-manual is not built (looked at \(candidates)): run swift build --product generate-manual (scripts/test does)")
            throw HarnessError("no generate-manual")
        }
        return found
    }

    @Test("install puts the binary, man pages man finds and loadable completions under PREFIX; --uninstall removes exactly those")
    func installAndUninstall() throws {
        try Harness.require("man", "bash")
        let generate = try Self.generateManual()
        try Harness.withWorkDirectory { work in
            let prefix = work + "/prefix"
            let manDirectory = prefix + "/share/man"
            // Files that were there before: kept by --uninstall, with their directories.
            try FileManager.default.createDirectory(atPath: manDirectory + "/man1", withIntermediateDirectories: true)
            try "not ours\n".write(toFile: manDirectory + "/man1/other.1", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
            try "#!/bin/sh\n".write(toFile: prefix + "/bin/other-tool", atomically: true, encoding: .utf8)

            let script = Harness.repositoryRoot + "/scripts/install"
            let environment = ["LAYOUTFS_BIN": Harness.binary, "GENERATE_MANUAL": generate]
            let installed = try Harness.runOK([script, prefix], environment: environment)
            #expect(installed.stdout.contains("scripts/install --uninstall \(prefix)"), "\(installed.stdout)")

            // The binary, and its man pages as man looks them up.
            let version = try Harness.runOK([prefix + "/bin/layoutfs", "--version"]).stdout
            #expect(!version.isEmpty)
            let manFiles = try FileManager.default.contentsOfDirectory(atPath: manDirectory + "/man1")
            for command in ["import", "pull", "images", "mount", "unmount", "export", "tag", "rm", "prune", "check", "status"] {
                #expect(manFiles.contains("layoutfs-\(command).1"), "\(manFiles)")
            }
            #expect(!manFiles.contains("layoutfs-help.1") && !manFiles.contains { $0.hasPrefix("layoutfs.") && $0 != "layoutfs.1" }, "\(manFiles)")
            let found = try Harness.runOK(["man", "-M", manDirectory, "-w", "layoutfs-mount", "layoutfs"]).stdout
            #expect(found == "\(manDirectory)/man1/layoutfs-mount.1\n\(manDirectory)/man1/layoutfs.1\n", "\(found)")
            let page = try Harness.runOK(["man", "-M", manDirectory, "layoutfs-mount"], environment: ["MANPAGER": "cat", "MANWIDTH": "200"]).stdout
            #expect(page.contains("LAYOUTFS-MOUNT(1)"), "\(page.prefix(400))")
            #expect(page.contains("Mount images as a live, read-only OCI layout directory."), "\(page.prefix(400))")
            #expect(page.contains("--read-timeout"), "\(page.prefix(400))")
            let main = try Harness.runOK(["man", "-M", manDirectory, "layoutfs"], environment: ["MANPAGER": "cat", "MANWIDTH": "200"]).stdout
            #expect(main.contains("layoutfs-mount(1)"), "the main page points to the subcommands' pages: \(main.suffix(600))")

            // Completions where bash-completion, zsh and fish look for them; bash's loads.
            let bashFile = prefix + "/share/bash-completion/completions/layoutfs"
            for file in [bashFile, prefix + "/share/zsh/site-functions/_layoutfs", prefix + "/share/fish/vendor_completions.d/layoutfs.fish"] {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                #expect(text.contains("layoutfs"), "\(file)")
            }
            let loaded = try Harness.runOK(["bash", "--norc", "--noprofile", "-c", "source \"$1\" && complete -p layoutfs", "bash", bashFile])
            #expect(loaded.stdout.contains("-F _layoutfs layoutfs"), "\(loaded.stdout)")

            // Installing again over it records the same files, and keeps the directories the
            // first install created as its own.
            try Harness.runOK([script, prefix], environment: environment)
            let manifest = try String(contentsOfFile: prefix + "/share/layoutfs/installed-files", encoding: .utf8)
            #expect(manifest.contains("d \(prefix)/share/zsh\n"), "\(manifest)")
            #expect(!manifest.contains("other"), "\(manifest)")

            // A record edited to name files outside PREFIX never makes uninstall remove them.
            let outside = [work + "/outside-file", prefix + "/../outside-dotdot"]
            for file in outside { try "keep\n".write(toFile: file, atomically: false, encoding: .utf8) }
            let record = try FileHandle(forWritingTo: URL(fileURLWithPath: prefix + "/share/layoutfs/installed-files"))
            try record.seekToEnd()
            try record.write(contentsOf: Data(outside.map { "f \($0)\n" }.joined().utf8))
            try record.close()

            let removed = try Harness.runOK([script, "--uninstall", prefix])
            #expect(removed.stdout.contains("removed \(prefix)/bin/layoutfs"), "\(removed.stdout)")
            for file in outside {
                #expect(FileManager.default.fileExists(atPath: file), "\(file) was removed")
                #expect(removed.stderr.contains("left \(file): not under \(prefix)"), "\(removed.stderr)")
            }
            let left = try Harness.runOK(["find", prefix, "-mindepth", "1"]).stdout.split(separator: "\n").map(String.init).sorted()
            #expect(
                left == [prefix + "/bin", prefix + "/bin/other-tool", prefix + "/share", manDirectory, manDirectory + "/man1", manDirectory + "/man1/other.1"],
                "\(left)")
            #expect(try String(contentsOfFile: manDirectory + "/man1/other.1", encoding: .utf8) == "not ours\n")

            // Nothing recorded, nothing removed: a clear error.
            let again = try Harness.run([script, "--uninstall", prefix])
            #expect(again.status != 0)
            #expect(again.stderr.contains("nothing to uninstall"), "\(again.stderr)")
        }
    }

    @Test("a prefix the user cannot write is refused before anything is built or written, saying what to do")
    func unwritablePrefix() throws {
        try Harness.require("setpriv")
        let generate = try Self.generateManual()
        try Harness.withWorkDirectory { work in
            let prefix = work + "/locked"
            try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
            #expect(chmod(prefix, 0o555) == 0 && chmod(work, 0o755) == 0)
            // Root may write anywhere: run as nobody then.
            let user = geteuid() == 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
            let result = try Harness.run(
                user + [Harness.repositoryRoot + "/scripts/install", prefix], environment: ["LAYOUTFS_BIN": Harness.binary, "GENERATE_MANUAL": generate])
            #expect(result.status != 0)
            #expect(result.stderr.contains("install: error: cannot write to \(prefix)"), "\(result.stderr)")
            #expect(result.stderr.contains("give a PREFIX you own"), "\(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: prefix).isEmpty)
        }
    }
}
