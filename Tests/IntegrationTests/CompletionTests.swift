import Foundation
import Testing

/// The generated completion scripts, run as a shell runs them on TAB (bash for real; zsh and
/// fish are checked to generate), against a real store and a real mount.
@Suite("shell completion", .serialized)
struct CompletionTests {
    /// A work directory with the bash completion set up in it.
    func withCompletion(_ body: (_ work: String, _ bash: BashCompletion) throws -> Void) throws {
        try Harness.require("bash")
        try Harness.withWorkDirectory { work in
            try body(work, try BashCompletion(directory: work + "/completion"))
        }
    }

    /// Makes `files` (empty) and `directories` under `work`.
    func make(files: [String] = [], directories: [String] = [], in work: String) throws {
        for directory in directories { try FileManager.default.createDirectory(atPath: work + "/" + directory, withIntermediateDirectories: true) }
        for file in files { #expect(FileManager.default.createFile(atPath: work + "/" + file, contents: Data())) }
    }

    @Test("import's path and --tar offer files and directories; --materialize, --root and --content only directories")
    func paths() throws {
        try withCompletion { work, bash in
            try make(files: ["pod.tar", "podcast.txt", "out-file"], directories: ["podman-layout", "out-dir"], in: work)
            #expect(try bash.complete("layoutfs import ./pod", cwd: work).sorted() == ["./pod.tar", "./podcast.txt", "./podman-layout"])
            #expect(try bash.complete("layoutfs import pod", cwd: work).sorted() == ["pod.tar", "podcast.txt", "podman-layout"])
            #expect(try bash.complete("layoutfs export demo/app:1 --tar ./pod", cwd: work).sorted() == ["./pod.tar", "./podcast.txt", "./podman-layout"])
            #expect(try bash.complete("layoutfs export demo/app:1 --materialize ./out", cwd: work) == ["./out-dir"])
            #expect(try bash.complete("layoutfs images --root out", cwd: work) == ["out-dir"])
            #expect(try bash.complete("layoutfs mount --content ./out", cwd: work) == ["./out-dir"])
            #expect(try bash.complete("layoutfs images --content ./out", cwd: work) == ["./out-dir"])
        }
    }

    @Test(
        "--format, --log-level, --prefetch and --verify offer their values, not the working directory's entries",
        arguments: [
            ("layoutfs mount --format ", ["oci", "docker"]),
            ("layoutfs export demo/app:1 --format d", ["docker"]),
            ("layoutfs mount --format=", ["oci", "docker"]),
            ("layoutfs mount --log-level ", ["trace", "debug", "info", "notice", "warning", "error", "critical"]),
            ("layoutfs pull --log-level w", ["warning"]),
            ("layoutfs export demo/app:1 --log-level e", ["error"]),
            ("layoutfs check --log-level t", ["trace"]),
            ("layoutfs mount --prefetch ", ["on-touch", "none"]),
            ("layoutfs mount --verify ", ["eof", "strict"]),
        ])
    func values(_ line: String, _ expected: [String]) throws {
        try withCompletion { work, bash in
            try make(directories: ["oci", "docker", "debug"], in: work)
            #expect(try bash.complete(line, cwd: work) == expected)
        }
    }

    @Test("image names come from the store --root names (or $LAYOUTFS_ROOT): full as images lists them, short when typed short, after a colon")
    func images() throws {
        try withCompletion { work, bash in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/busybox:stable"], store: store)
            try make(directories: ["mnt", "demo-dir"], in: work)
            let full = ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:stable"]
            let short = ["demo/busybox:1.35", "demo/busybox:stable"]
            for command in ["export", "rm", "check", "tag", "inspect"] {
                #expect(try bash.complete("layoutfs \(command) --root \(store) ", cwd: work) == full, "\(command)")
                #expect(try bash.complete("layoutfs \(command) --root \(store) dem", cwd: work) == short, "\(command)")
            }
            #expect(try bash.complete("layoutfs export --root=\(store) docker.io/demo/busybox:", cwd: work) == ["1.35", "stable"])
            #expect(try bash.complete("layoutfs rm --root \(store) demo/busybox:s", cwd: work) == ["stable"])
            #expect(try bash.complete("layoutfs check --root \(store) docker.io/demo/busybox:1", cwd: work) == ["1.35"])
            // What bash inserts itself for `dem<TAB>` (-o filenames escapes the colon) completes on.
            #expect(try bash.complete("layoutfs rm --root \(store) demo/busybox\\:s", cwd: work) == ["demo/busybox:stable"])
            #expect(try bash.complete("layoutfs rm ", cwd: work, environment: ["LAYOUTFS_ROOT": store]) == full)
            // mount: images, and directories for the mountpoint.
            #expect(try bash.complete("layoutfs mount --root \(store) dem", cwd: work) == short + ["demo-dir"])
            #expect(try bash.complete("layoutfs mount --root \(store) demo/busybox:1.35 ./m", cwd: work) == ["./mnt"])
            // A store that cannot be opened gives nothing, quietly, and is not created.
            #expect(try bash.complete("layoutfs rm --root \(work)/none ", cwd: work).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: work + "/none"))
            try make(files: ["not-a-store/meta.db"], directories: ["not-a-store"], in: work)
            try "not sqlite".write(toFile: work + "/not-a-store/meta.db", atomically: true, encoding: .utf8)
            #expect(try bash.complete("layoutfs rm --root \(work)/not-a-store ", cwd: work).isEmpty)
        }
    }

    @Test("unmount offers the mountpoints of layoutfs mounts, absolute, or relative when typed so, and no other mount")
    func unmount() throws {
        try Harness.requireFUSE()
        try withCompletion { work, bash in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try make(directories: ["mnt", "mnt-unmounted"], in: work)
            let mnt = work + "/mnt"
            try Harness.layoutfs(["mount", "demo/busybox:1.35", mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            #expect(try bash.complete("layoutfs unmount ", cwd: work).contains(mnt))
            #expect(try bash.complete("layoutfs unmount \(work)/m", cwd: "/") == [mnt])
            #expect(try bash.complete("layoutfs unmount m", cwd: work) == ["mnt"])
            #expect(try bash.complete("layoutfs unmount ./m", cwd: work) == ["./mnt"])
            #expect(try bash.complete("layoutfs unmount /pro", cwd: work).isEmpty, "/proc is not a layoutfs mount")
            try Harness.layoutfs(["unmount", mnt], store: store)
            #expect(try bash.complete("layoutfs unmount \(work)/m", cwd: "/").isEmpty)
        }
    }

    @Test("the zsh and fish scripts generate, name the binary and call it back for image names", arguments: ["zsh", "fish"])
    func otherShells(_ shell: String) throws {
        let script = try Harness.runOK([Harness.binary, "--generate-completion-script", shell]).stdout
        #expect(script.contains(shell == "zsh" ? "#compdef layoutfs" : "complete -c 'layoutfs'"), "\(script.prefix(300))")
        #expect(script.contains("---completion rm -- positional@0"), "the image names of rm come from the binary")
        #expect(script.contains("---completion unmount -- positional@0"), "the mountpoints of unmount come from the binary")
        for path in ["/usr/bin/", "/bin/"] where FileManager.default.isExecutableFile(atPath: path + shell) {
            try Harness.withWorkDirectory { work in
                try script.write(toFile: work + "/script", atomically: true, encoding: .utf8)
                try Harness.runOK([path + shell, "-n", work + "/script"])
            }
            break
        }
    }
}
