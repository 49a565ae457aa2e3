import Foundation
import TestSupport
import Testing

/// Habits from docker and podman that cost little (issue 16): `images -q`, `images REPOSITORY`,
/// `version`, and "did you mean" for a mistyped subcommand or image name.
@Suite("docker habits")
struct DockerHabitsTests {
    /// A store with demo/busybox:1.35, also tagged demo/busybox:latest and other/tool:2.
    static func store(_ work: String) throws -> String {
        let store = work + "/store"
        try Harness.importDemo(work: work, store: store)
        try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/busybox:latest"], store: store)
        try Harness.layoutfs(["tag", "demo/busybox:1.35", "other/tool:2"], store: store)
        return store
    }

    @Test("images -q prints each digest once, short unless --no-trunc; -q with --json is refused")
    func quiet() throws {
        try Harness.withWorkDirectory { work in
            let store = try Self.store(work)
            let json = try Harness.layoutfs(["images", "--json"], store: store).stdout
            let digest = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first?["digest"] as? String)
            #expect(try Harness.layoutfs(["images", "-q"], store: store).stdout == String(digest.prefix("sha256:".count + 12)) + "\n")
            #expect(try Harness.layoutfs(["images", "--quiet", "--no-trunc"], store: store).stdout == digest + "\n")
            let refused = try Harness.layoutfs(["images", "-q", "--json"], store: store, expectSuccess: false)
            #expect(refused.status != 0 && refused.stderr.contains("cannot be combined with --json"), "\(refused.stderr)")
        }
    }

    @Test(
        "images REPOSITORY keeps that repository's names, REPOSITORY:TAG one name, and a pattern matches the full or familiar repository",
        arguments: [
            ("demo/busybox", ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:latest"]),
            ("docker.io/demo/busybox:latest", ["docker.io/demo/busybox:latest"]),
            ("demo/*", ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:latest"]),
            ("*/tool", ["docker.io/other/tool:2"]),
            ("docker.io/*/*", ["docker.io/demo/busybox:1.35", "docker.io/demo/busybox:latest", "docker.io/other/tool:2"]),
            ("busybox", []),
        ])
    func filter(_ argument: String, _ expected: [String]) throws {
        try Harness.withWorkDirectory { work in
            let store = try Self.store(work)
            let lines = try Harness.layoutfs(["images", argument], store: store).stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("NAME") == true)
            #expect(lines.dropFirst().map { String($0.split(separator: " ").first ?? "") } == expected)
        }
    }

    @Test("images with a filter that is not a name says so")
    func badFilter() throws {
        try Harness.withWorkDirectory { work in
            let refused = try Harness.layoutfs(["images", "Not!A:Name"], store: work + "/store", expectSuccess: false)
            #expect(refused.status != 0 && refused.stderr.contains("is not a repository or image name"), "\(refused.stderr)")
        }
    }

    @Test("version prints what --version prints")
    func version() throws {
        let subcommand = try Harness.runOK([Harness.binary, "version"]).stdout
        #expect(!subcommand.isEmpty)
        #expect(subcommand == (try Harness.runOK([Harness.binary, "--version"]).stdout))
    }

    @Test("a mistyped subcommand is named with the nearest one, exit status 64; a word near none is named alone")
    func mistypedSubcommand() throws {
        let mistyped = try Harness.run([Harness.binary, "mout", "x"])
        #expect(mistyped.status == 64)
        #expect(mistyped.stderr == "layoutfs: error: 'mout' is not a layoutfs command; did you mean 'mount'? (see layoutfs --help)\n", "\(mistyped.stderr)")
        // docker's and podman's words point to ours, before any near name.
        for (word, ours) in [("umount", "unmount"), ("ls", "images"), ("ps", "status"), ("save", "export"), ("load", "import")] {
            let said = try Harness.run([Harness.binary, word])
            #expect(said.status == 64 && said.stderr.contains("did you mean '\(ours)'?"), "\(word): \(said.stderr)")
        }
        // podman's habit of global options first.
        let rootFirst = try Harness.run([Harness.binary, "--root", "/tmp/x", "images"])
        #expect(rootFirst.stderr.contains("--root goes after the subcommand: layoutfs images --root"), "\(rootFirst.stderr)")
        let unknown = try Harness.run([Harness.binary, "frobnicate"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("'frobnicate' is not a layoutfs command") && !unknown.stderr.contains("did you mean"), "\(unknown.stderr)")
    }

    @Test("a mistyped image name is answered with the nearest name, by mount, export and rm")
    func mistypedImage() throws {
        try Harness.withWorkDirectory { work in
            let store = try Self.store(work)
            try FileManager.default.createDirectory(atPath: work + "/mnt", withIntermediateDirectories: true)
            for arguments in [
                ["mount", "demo/busybx:1.35", work + "/mnt"], ["export", "demo/busybox:1.53", "--materialize", work + "/out"], ["rm", "othr/tool:2"],
            ] {
                let result = try Harness.layoutfs(arguments, store: store, expectSuccess: false)
                #expect(result.status != 0)
                let wanted = arguments[1].hasPrefix("othr") ? "docker.io/other/tool:2" : "docker.io/demo/busybox:1.35"
                #expect(result.stderr.contains("(did you mean \(wanted)?)"), "\(arguments): \(result.stderr)")
            }
            let far = try Harness.layoutfs(["rm", "completely/different:9"], store: store, expectSuccess: false)
            #expect(!far.stderr.contains("did you mean"), "\(far.stderr)")
        }
    }

    @Test("import: a ref name outside the source's repository is warned about, moving a name says so, and --repo keeps it under the repository")
    func importNamesUnderRepo() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            try Harness.makeDemoImage(at: work + "/app", tag: "demo/busybox")
            let warned = try Harness.layoutfs(["import", work + "/app"], store: store)
            #expect(warned.stdout.contains("imported docker.io/demo/busybox:latest"), "\(warned.stdout)")
            #expect(
                warned.stderr.contains(#"layoutfs: warning: ref name "demo/busybox" named docker.io/demo/busybox:latest, outside this source's repository"#),
                "\(warned.stderr)")
            try Harness.layoutfs(["tag", "demo/busybox:1.35", "demo/busybox:latest"], store: store)
            let moved = try Harness.layoutfs(["import", work + "/app"], store: store)
            #expect(moved.stderr.contains("; it moved docker.io/demo/busybox:latest from sha256:"), "\(moved.stderr)")
            let kept = try Harness.layoutfs(["import", work + "/app", "--repo", "team/app"], store: store)
            #expect(kept.stdout.contains("imported docker.io/team/app/demo/busybox:latest"), "\(kept.stdout)")
            #expect(!kept.stderr.contains("warning"), "\(kept.stderr)")
        }
    }
}
