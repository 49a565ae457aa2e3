import Foundation
import TestSupport
import Testing

/// The command line itself: help, and how errors read.
@Suite("the command line")
struct CommandLineTests {
    @Test("--help, -h and help SUBCOMMAND print help and exit 0", arguments: [["--help"], ["mount", "--help"], ["export", "-h"], ["help", "pull"]])
    func help(_ arguments: [String]) throws {
        let result = try Harness.run([Harness.binary] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("OVERVIEW:") && result.stdout.contains("USAGE:"), "\(result.stdout)")
        #expect(!result.stderr.contains("CommandError"))
    }

    @Test("a command's own failure is one plain line: layoutfs: error: MESSAGE")
    func plainErrors() throws {
        try Harness.withWorkDirectory { work in
            try Harness.importDemo(work: work, store: work + "/store")
            let result = try Harness.layoutfs(["mount", "demo/busybox:1.35", work + "/missing-dir"], store: work + "/store", expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("is not an existing directory"), "\(result.stderr)")
            #expect(result.stderr.hasPrefix("layoutfs: error: "), "\(result.stderr)")
            #expect(!result.stderr.contains("Failure(") && !result.stderr.contains("Error("), "\(result.stderr)")
        }
    }

    @Test("the mountpoint given first, and --name on a name, say what to do instead")
    func argumentMistakes() throws {
        try Harness.withWorkDirectory { work in
            try Harness.importDemo(work: work, store: work + "/store")
            try FileManager.default.createDirectory(atPath: work + "/mnt", withIntermediateDirectories: true)
            let swapped = try Harness.layoutfs(["mount", work + "/mnt", "demo/busybox:1.35"], store: work + "/store", expectSuccess: false)
            #expect(swapped.status != 0)
            #expect(swapped.stderr.contains("the mountpoint comes last: layoutfs mount IMAGE... MOUNTPOINT"), "\(swapped.stderr)")
            let renamed = try Harness.layoutfs(
                ["export", "demo/busybox:1.35", "--name", "demo/other:1", "--materialize", work + "/out"], store: work + "/store", expectSuccess: false)
            #expect(renamed.status != 0)
            #expect(renamed.stderr.contains("docker.io/demo/busybox:1.35 is a name already (layoutfs tag adds another)"), "\(renamed.stderr)")
            #expect(!renamed.stderr.contains("1 images"), "\(renamed.stderr)")
        }
    }

    @Test("a mount that libfuse refuses (a user without access to /dev/fuse or the mountpoint) shows libfuse's own message and the log")
    func libfuseRefusal() throws {
        try Harness.requireFUSE()
        try Harness.require("setpriv")
        try Harness.withWorkDirectory { work in
            try Harness.importDemo(work: work, store: work + "/store")
            // The user nobody runs its own copy of the binary on its own store, at a mountpoint
            // root owns: libfuse refuses either /dev/fuse (mode 0600) or, through fusermount3,
            // the mountpoint.
            let binary = work + "/layoutfs"
            // cp, not FileManager: a file this process held open for writing could be inherited
            // by a child that another test forks meanwhile, and exec would fail with ETXTBSY.
            try Harness.runOK(["cp", Harness.binary, binary])
            try FileManager.default.createDirectory(atPath: work + "/mnt", withIntermediateDirectories: true)
            try Harness.runOK(["chmod", "755", work, binary])
            try Harness.runOK(["chown", "-R", "65534:65534", work + "/store"])
            let refused = try Harness.run([
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "LAYOUTFS_ROOT=\(work)/store", binary, "mount", "demo/busybox:1.35",
                work + "/mnt",
            ])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("cannot mount \(work)/mnt"), "\(refused.stderr)")
            let libfuse = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("fuse:") || $0.hasPrefix("fusermount") }
            #expect(!libfuse.isEmpty, "libfuse's message is not in: \(refused.stderr)")
            #expect(refused.stderr.contains("(full log: \(work)/store/logs/mount-"), "\(refused.stderr)")
        }
    }

    @Test("images --json gives every name with digest, media type, size and platforms")
    func imagesJSON() throws {
        try Harness.withWorkDirectory { work in
            try Harness.importDemo(work: work, store: work + "/store")
            let output = try Harness.layoutfs(["images", "--json"], store: work + "/store").stdout
            let images = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            #expect(images.count == 1)
            let image = try #require(images.first)
            #expect(image["name"] as? String == "docker.io/demo/busybox:1.35")
            #expect((image["digest"] as? String ?? "").hasPrefix("sha256:"))
            #expect(image["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
            var total = 0
            for blob in try FileManager.default.contentsOfDirectory(atPath: work + "/store/content/blobs/sha256") {
                total += try Data(contentsOf: URL(fileURLWithPath: work + "/store/content/blobs/sha256/" + blob)).count
            }
            #expect(image["size"] as? Int == total)
            #expect(image["lazyBytes"] as? Int == 0)
        }
    }

    @Test("images lists the platforms of an index nested two levels deep, the ones --platform resolves")
    func nestedIndexPlatforms() throws {
        try Harness.withWorkDirectory { work in
            let layout = try ImageBuilder(path: work + "/nested")
            let built = try layout.addMultiPlatformImage()
            let middle = try layout.addIndex([built.index])
            let outer = try layout.addIndex([middle])
            try layout.writeIndex([ImageBuilder.entry(outer, imageName: "demo/nested:1")])
            try Harness.layoutfs(["import", layout.path], store: work + "/store")
            let table = try Harness.layoutfs(["images"], store: work + "/store").stdout
            let row = try #require(table.split(separator: "\n").first { $0.hasPrefix("docker.io/demo/nested:1") })
            #expect(row.hasSuffix("linux/amd64,linux/arm64/v8"), "\(table)")
            let output = try Harness.layoutfs(["images", "--json"], store: work + "/store").stdout
            let images = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            #expect(images.first?["platforms"] as? [String] == ["linux/amd64", "linux/arm64/v8"], "\(output)")
            // What is listed is what --platform resolves.
            let out = work + "/out"
            try Harness.layoutfs(["export", "demo/nested:1", "--platform", "linux/arm64/v8", "--materialize", out], store: work + "/store")
            let index = try String(contentsOfFile: out + "/index.json", encoding: .utf8)
            #expect(index.contains(built.images[1].manifest.digest.description), "\(index)")
        }
    }

    @Test("IMAGE by the digest prefix images prints, with or without sha256:, wherever an IMAGE is taken; an unknown one says so")
    func digestPrefix() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            let table = try Harness.layoutfs(["images"], store: store).stdout
            let row = try #require(table.split(separator: "\n").first { $0.hasPrefix("docker.io/demo/busybox:1.35") })
            let short = try #require(row.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init), "\(table)")
            #expect(short.hasPrefix("sha256:") && short.count == "sha256:".count + 12, "\(table)")
            let full = try #require(
                (try JSONSerialization.jsonObject(with: Data(Harness.layoutfs(["images", "--json"], store: store).stdout.utf8)) as? [[String: Any]])?
                    .first?["digest"] as? String)
            #expect(full.hasPrefix(short))
            for (i, image) in [short, String(short.dropFirst("sha256:".count))].enumerated() {
                try Harness.layoutfs(["export", image, "--materialize", work + "/out\(i)"], store: store)
                let index = try String(contentsOfFile: work + "/out\(i)/index.json", encoding: .utf8)
                #expect(index.contains(full), "\(index)")
            }
            let tagged = try Harness.layoutfs(["tag", short, "demo/busybox:short"], store: store)
            #expect(tagged.stdout.contains("tagged docker.io/demo/busybox:short \(full)"), "\(tagged.stdout)")
            let unknown = try Harness.layoutfs(["export", "000000000000", "--materialize", work + "/none"], store: store, expectSuccess: false)
            #expect(unknown.status != 0)
            #expect(
                unknown.stderr.contains("no image digest starts with 000000000000, and no image named docker.io/library/000000000000:latest"),
                "\(unknown.stderr)")
            let tooShort = try Harness.layoutfs(["export", "sha256:0000", "--materialize", work + "/none"], store: store, expectSuccess: false)
            #expect(tooShort.stderr.contains("at least its first 12 lowercase hex digits"), "\(tooShort.stderr)")
        }
    }
}
