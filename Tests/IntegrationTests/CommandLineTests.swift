import Foundation
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
}
