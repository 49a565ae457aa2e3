import OCISpec
import Testing

@testable import LayoutFSCommands

/// What `layoutfs inspect` prints, from plain values: the JSON key set (documented in the README,
/// kept stable) and the human lines.
@Suite("inspect output")
struct ImageInspectionTests {
    static func digest(_ c: Character) -> Digest { try! Digest(parsing: "sha256:" + String(repeating: c, count: 64)) }

    /// An index offering amd64 and arm64, showing the amd64 manifest with one local and one lazy layer.
    static var index: ImageInspection {
        let amd64 = Descriptor(mediaType: .ociManifest, digest: digest("a"), size: 500)
        let arm64 = Descriptor(mediaType: .ociManifest, digest: digest("b"), size: 501)
        var details = ImageInspection.Details(
            manifest: amd64, choice: .machine(Platform(os: "linux", architecture: "amd64")),
            config: Descriptor(mediaType: .ociConfig, digest: digest("c"), size: 1536))
        details.created = "2024-05-01T10:00:00Z"
        (details.os, details.architecture) = ("linux", "amd64")
        details.env = ["PATH=/bin", "A=b c"]
        details.cmd = ["/bin/sh", "-c", "echo hi"]
        details.workingDir = "/"
        details.labels = [.init(key: "org.example.team", value: "layoutfs")]
        details.layers = [
            .init(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: digest("d"), size: 3 << 20), state: .local),
            .init(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: digest("e"), size: 2048), state: .lazy(cachedBytes: 1024)),
        ]
        return ImageInspection(
            names: ["docker.io/demo/app:1"], root: Descriptor(mediaType: .ociIndex, digest: digest("f"), size: 300),
            platforms: [
                .init(platform: Platform(os: "linux", architecture: "amd64"), manifest: amd64),
                .init(platform: Platform(os: "linux", architecture: "arm64", variant: "v8"), manifest: arm64),
            ],
            details: details, machine: Platform(os: "linux", architecture: "amd64"))
    }

    static let keys = [
        "names", "digest", "mediaType", "size", "platforms", "manifest", "config", "platform", "created", "architecture", "os", "variant", "env",
        "entrypoint", "cmd", "workingDir", "user", "labels", "layers",
    ]

    @Test("--json: the documented keys in order, camelCase; layers carry state, and cachedBytes only when lazy")
    func json() throws {
        let json = Self.index.json
        #expect(json.objectMembers?.map(\.key) == Self.keys)
        #expect(json["platform"] == .string("linux/amd64"))
        #expect(json["variant"] == .null)
        #expect(json["size"] == .number("300"))
        #expect(json["entrypoint"] == .array([]))
        #expect(json["labels"] == .object([("org.example.team", .string("layoutfs"))]))
        let platforms = try #require(json["platforms"]?.arrayValue)
        #expect(platforms.map { $0["platform"] } == [.string("linux/amd64"), .string("linux/arm64/v8")])
        #expect(platforms[1].objectMembers?.map(\.key) == ["platform", "digest", "mediaType", "size"])
        let layers = try #require(json["layers"]?.arrayValue)
        #expect(layers[0].objectMembers?.map(\.key) == ["digest", "size", "mediaType", "state"])
        #expect(layers[0]["state"] == .string("local"))
        #expect(layers[1]["state"] == .string("lazy") && layers[1]["cachedBytes"] == .number("1024"))
    }

    @Test("--json without a chosen manifest, and of a manifest root: the same keys, null or empty values")
    func jsonWithoutDetails() {
        var inspection = Self.index
        inspection.details = nil
        let json = inspection.json
        #expect(json.objectMembers?.map(\.key) == Self.keys)
        #expect(json["manifest"] == .null && json["created"] == .null && json["layers"] == .array([]) && json["labels"] == .object([]))
        #expect(json["platforms"]?.arrayValue?.count == 2)

        var manifest = Self.index
        manifest.platforms = nil
        #expect(manifest.json["platforms"] == .null)
        #expect(manifest.json.objectMembers?.map(\.key) == Self.keys)
    }

    @Test("human lines: fields padded, lists continued, the machine's choice said, lazy bytes cached")
    func lines() {
        let lines = Self.index.lines
        #expect(lines.contains("Names:        docker.io/demo/app:1"), "\(lines)")
        #expect(lines.contains("Platforms:    linux/amd64     \(Self.digest("a"))"), "\(lines)")
        #expect(lines.contains("              linux/arm64/v8  \(Self.digest("b"))"), "\(lines)")
        #expect(lines.contains("Manifest:     \(Self.digest("a")) (linux/amd64: this machine's platform; --platform chooses another)"), "\(lines)")
        #expect(lines.contains("Cmd:          [\"/bin/sh\",\"-c\",\"echo hi\"]"), "\(lines)")
        #expect(lines.contains("Entrypoint:   -"), "\(lines)")
        #expect(lines.contains("Env:          PATH=/bin") && lines.contains("              A=b c"), "\(lines)")
        #expect(lines.contains("Labels:       org.example.team=layoutfs"), "\(lines)")
        #expect(
            lines.contains("Layers:       \(Self.digest("d"))  3.0 MiB  application/vnd.oci.image.layer.v1.tar+gzip  local"), "\(lines)")
        #expect(
            lines.contains("              \(Self.digest("e"))  2.0 KiB  application/vnd.oci.image.layer.v1.tar+gzip  lazy (1.0 KiB cached)"),
            "\(lines)")
    }

    @Test("human lines of an index without this machine's platform: the platforms, and to give --platform")
    func linesWithoutMachinePlatform() {
        var inspection = Self.index
        inspection.details = nil
        inspection.machine = Platform(os: "linux", architecture: "s390x")
        let lines = inspection.lines
        #expect(lines.last == "Manifest:     none for linux/s390x (this machine's platform): give --platform with one of the platforms above", "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("Layers:") })
    }
}
