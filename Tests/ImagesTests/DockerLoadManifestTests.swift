import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import Testing

@Suite("DockerLoadManifest")
struct DockerLoadManifestTests {
    private func entry(_ config: String, _ tags: [String]) -> JSONValue {
        .object([("Config", .string(config)), ("RepoTags", .array(tags.map { .string($0) })), ("Layers", .array([]))])
    }

    private func parse(_ bytes: [UInt8]) throws -> [(config: String, tags: [String])] {
        try #require(try JSONParser.parse(bytes).arrayValue).map {
            ($0["Config"]?.stringValue ?? "", $0["RepoTags"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
    }

    @Test("merge: the same Config is replaced keeping its other tags, a moved tag leaves its old image, an image left without tags goes, others stay in order")
    func merge() throws {
        let existing = JSONValue.array([
            entry("blobs/sha256/a", ["x/a:1"]), entry("blobs/sha256/b", ["x/b:1", "x/moved:1"]), entry("blobs/sha256/c", ["x/moved:2"]),
            entry("blobs/sha256/d", []),
        ]).encoded
        let merged = try parse(
            DockerLoadManifest.merge([entry("blobs/sha256/a", ["x/a:2"]), entry("blobs/sha256/e", ["x/moved:1", "x/moved:2"])], into: existing))
        #expect(merged.map(\.config) == ["blobs/sha256/b", "blobs/sha256/d", "blobs/sha256/a", "blobs/sha256/e"])
        #expect(merged[0].tags == ["x/b:1"])
        #expect(merged[2].tags == ["x/a:2", "x/a:1"])
    }

    @Test("merge into nothing or into garbage: just the new entries")
    func mergeIntoNothing() throws {
        for existing in [nil, Array("not json".utf8), Array("{}".utf8)] {
            #expect(try parse(DockerLoadManifest.merge([entry("blobs/sha256/a", ["x/a:1"])], into: existing)).map(\.config) == ["blobs/sha256/a"])
        }
    }
}
