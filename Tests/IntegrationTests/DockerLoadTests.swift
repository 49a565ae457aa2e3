import Foundation
import TestSupport
import Testing

/// `layoutfs export IMAGE --tar - | docker load` with the docker Debian ships (20.10, which reads
/// only docker's manifest.json): the archive carries it whenever every image is one platform
/// (issue 16's decision, README "Archives").
@Suite("docker load")
struct DockerLoadTests {
    @Test(
        "an export --tar of a one-platform image loads into docker 20.10 with its name and the source's diff_ids; --format oci leaves manifest.json out, and that docker refuses it"
    )
    func loadsWithoutFormat() throws {
        try Harness.require("skopeo", "jq")
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            try Harness.importDemo(work: work, store: store)
            let docker = try DockerServer(directory: work + "/docker")
            let archive = work + "/image.tar"
            let exported = try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", archive], store: store)
            #expect(exported.stderr.contains("with docker's manifest.json"), "\(exported.stderr)")
            let members = try Harness.runOK(["tar", "tf", archive]).stdout.split(separator: "\n")
            #expect(members.contains("manifest.json") && members.contains("index.json") && members.contains("oci-layout"), "\(members)")

            let loaded = try docker.run(["load"], input: archive)
            #expect(loaded.succeeded && loaded.stdout.contains("Loaded image: demo/busybox:1.35"), "\(loaded.stdout)\(loaded.stderr)")
            let layers = try docker.run(["image", "inspect", "--format", "{{json .RootFS.Layers}}", "demo/busybox:1.35"])
            let expected = try ArchiveTests.diffIDs("oci:\(work)/src:1.35")
            #expect(try JSONSerialization.jsonObject(with: Data(layers.stdout.utf8)) as? [String] == expected, "\(layers.stdout)\(layers.stderr)")
            // The same archive is still an oci-archive for the OCI readers.
            try Harness.runOK(["skopeo", "copy", "oci-archive:\(archive):1.35", "oci:\(work)/back:1"])
            #expect(try ArchiveTests.diffIDs("oci:\(work)/back:1") == expected)

            // --format oci: a plain oci-archive, which docker 20.10 cannot load.
            let plain = work + "/plain.tar"
            try Harness.layoutfs(["export", "demo/busybox:1.35", "--tar", plain, "--format", "oci"], store: store)
            #expect(!(try Harness.runOK(["tar", "tf", plain]).stdout.contains("manifest.json")))
            #expect(!(try docker.run(["load"], input: plain)).succeeded)
        }
    }

    @Test("a multi-platform image: no manifest.json unless --format docker or --platform, and a note that says which to use")
    func multiPlatformSaysWhich() throws {
        try Harness.withWorkDirectory { work in
            let store = work + "/store"
            let layout = try ImageBuilder(path: work + "/multi")
            let built = try layout.addMultiPlatformImage()
            try layout.writeIndex([ImageBuilder.entry(built.index, imageName: "demo/multi:1")])
            try Harness.layoutfs(["import", layout.path], store: store)
            let archive = work + "/multi.tar"
            let exported = try Harness.layoutfs(["export", "demo/multi:1", "--tar", archive], store: store)
            #expect(
                exported.stderr.contains("no manifest.json, since docker.io/demo/multi:1 offers 2 platforms (linux/amd64, linux/arm64/v8)")
                    && exported.stderr.contains("add --format docker"), "\(exported.stderr)")
            #expect(!(try Harness.runOK(["tar", "tf", archive]).stdout.contains("manifest.json")))
            for options in [["--format", "docker"], ["--platform", "linux/arm64/v8"]] {
                let chosen = try Harness.layoutfs(["export", "demo/multi:1", "--tar", archive] + options, store: store)
                #expect(!chosen.stderr.contains("note:"), "\(chosen.stderr)")
                let manifest = try Harness.runOK(["tar", "xOf", archive, "manifest.json"]).stdout
                #expect(manifest.contains(#""RepoTags":["docker.io/demo/multi:1"]"#), "\(options): \(manifest)")
            }
        }
    }
}
