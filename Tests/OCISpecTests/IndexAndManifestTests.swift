import OCISpec
import Testing

private let digestText = "sha256:" + hex64
private let layerText = "sha256:" + String(repeating: "a", count: 64)
private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private let manifestText = """
    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(digestText)","size":3},\
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\(layerText)","size":10}],\
    "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(layerText)","size":99},\
    "annotations":{"a":"b"},"x-unknown":true}
    """

private let indexText = """
    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",\
    "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(digestText)","size":5,\
    "platform":{"architecture":"amd64","os":"linux"}}],"annotations":{"k":"v"},"x-unknown":{"n":18446744073709551615}}
    """

/// `text` padded with spaces (valid JSON whitespace) to exactly `size` bytes.
private func padded(_ text: String, to size: Int) -> [UInt8] {
    bytes(text) + [UInt8](repeating: 0x20, count: size - text.utf8.count)
}

@Suite("ImageIndex and ImageManifest")
struct IndexAndManifestTests {
    @Test("an index parses; unknown members survive settingManifests")
    func index() throws {
        let index = try ImageIndex(bytes: bytes(indexText))
        #expect(index.schemaVersion == 2)
        #expect(index.mediaType == .ociIndex)
        #expect(index.manifests.count == 1)
        #expect(index.manifests[0].platform?.os == "linux")
        #expect(index.annotations == ["k": "v"])
        #expect(String(decoding: index.json.encoded, as: UTF8.self) == indexText)
        let same = index.settingManifests(index.manifests)
        #expect(String(decoding: same.json.encoded, as: UTF8.self) == indexText)
        let emptied = index.settingManifests([])
        #expect(emptied.json["x-unknown"] == index.json["x-unknown"])
        #expect(emptied.json["annotations"] == index.json["annotations"])
        #expect(emptied.manifests.isEmpty)
    }

    @Test("a new index is an OCI index of schemaVersion 2")
    func newIndex() throws {
        let index = try ImageIndex(bytes: bytes(indexText))
        let fresh = ImageIndex(manifests: index.manifests)
        let reparsed = try ImageIndex(bytes: fresh.json.encoded)
        #expect(reparsed.mediaType == .ociIndex)
        #expect(reparsed.schemaVersion == 2)
        #expect(reparsed.manifests == index.manifests)
    }

    @Test("a Docker manifest list parses as an index")
    func dockerList() throws {
        let text = #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#
        let index = try ImageIndex(bytes: bytes(text))
        #expect(index.mediaType?.isIndex == true)
        #expect(index.mediaType?.isDocker == true)
    }

    @Test(
        "invalid indexes are rejected",
        arguments: [
            "{}", "[]", #"{"schemaVersion":2}"#, #"{"schemaVersion":1,"manifests":[]}"#, #"{"schemaVersion":"2","manifests":[]}"#,
            #"{"schemaVersion":2.0,"manifests":[]}"#, #"{"schemaVersion":2,"manifests":{}}"#, #"{"manifests":[]}"#,
        ])
    func invalidIndex(text: String) {
        let error = #expect(throws: OCISpecError.self) { try ImageIndex(bytes: bytes(text)) }
        #expect(error?.code == .invalidIndex)
    }

    @Test("a bad entry is reported with its position")
    func badEntry() {
        let text =
            #"{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"\#(digestText)","size":1},{"mediaType":"a/b","digest":"\#(digestText)","size":-1}]}"#
        let error = #expect(throws: OCISpecError.self) { try ImageIndex(bytes: bytes(text)) }
        #expect(error?.code == .invalidDescriptor)
        #expect(error?.message.contains("entry 1") == true)
    }

    @Test("more than 4 MiB is rejected before parsing; exactly 4 MiB is read")
    func sizeLimit() throws {
        let limit = Int(ImageLayout.maximumManifestSize)
        #expect(limit == 4 * 1024 * 1024)
        // Not JSON at all: a parser would say invalidJSON, the size check says tooLarge first.
        let garbage = [UInt8](repeating: UInt8(ascii: "x"), count: limit + 1)
        #expect((#expect(throws: OCISpecError.self) { try ImageIndex(bytes: garbage) })?.code == .tooLarge)
        #expect((#expect(throws: OCISpecError.self) { try ImageManifest(bytes: garbage) })?.code == .tooLarge)
        #expect((#expect(throws: OCISpecError.self) { try ImageConfiguration(bytes: garbage) })?.code == .tooLarge)
        // Valid JSON one byte over the limit is still refused.
        #expect((#expect(throws: OCISpecError.self) { try ImageIndex(bytes: padded(indexText, to: limit + 1)) })?.code == .tooLarge)
        #expect((#expect(throws: OCISpecError.self) { try ImageManifest(bytes: padded(manifestText, to: limit + 1)) })?.code == .tooLarge)
        #expect(try ImageIndex(bytes: padded(indexText, to: limit)).manifests.count == 1)
        #expect(try ImageManifest(bytes: padded(manifestText, to: limit)).layers.count == 1)
    }

    @Test("a manifest parses config, layers and subject; subject is not a layer")
    func manifest() throws {
        let manifest = try ImageManifest(bytes: bytes(manifestText))
        #expect(manifest.schemaVersion == 2)
        #expect(manifest.mediaType == .ociManifest)
        #expect(manifest.config.digest.description == digestText)
        #expect(manifest.layers.map(\.digest.description) == [layerText])
        #expect(manifest.subject?.size == 99)
        #expect(manifest.annotations == ["a": "b"])
        #expect(manifest.json["x-unknown"] == .bool(true))
    }

    @Test("a manifest without layers has none")
    func noLayers() throws {
        let text = #"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(digestText)","size":2}}"#
        #expect(try ImageManifest(bytes: bytes(text)).layers.isEmpty)
    }

    @Test(
        "invalid manifests are rejected",
        arguments: [
            ("{}", OCISpecError.Code.invalidManifest),
            ("[]", .invalidManifest),
            ("not json", .invalidJSON),
            ("", .invalidJSON),
            (#"{"schemaVersion":1,"config":{"mediaType":"a/b","digest":"\#(digestText)","size":2}}"#, .invalidManifest),
            (#"{"config":{"mediaType":"a/b","digest":"\#(digestText)","size":2}}"#, .invalidManifest),
            (#"{"schemaVersion":2}"#, .invalidManifest),
            (#"{"schemaVersion":2,"manifests":[]}"#, .invalidManifest),
            (#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(digestText)","size":2},"layers":{}}"#, .invalidManifest),
            (#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(digestText)","size":-2}}"#, .invalidDescriptor),
            (#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:AB","size":2}}"#, .invalidDigest),
            (
                #"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(digestText)","size":2},"layers":[{"mediaType":"a/b","size":1}]}"#,
                .invalidDescriptor
            ),
        ])
    func invalidManifest(text: String, code: OCISpecError.Code) {
        let error = #expect(throws: OCISpecError.self) { try ImageManifest(bytes: bytes(text)) }
        #expect(error?.code == code)
    }

    @Test("an image config gives its platform")
    func configuration() throws {
        let config = try ImageConfiguration(bytes: bytes(#"{"architecture":"arm64","os":"linux","variant":"v8","os.version":"1","config":{}}"#))
        #expect(config.platform?.description == "linux/arm64/v8")
        #expect(config.platform?.osVersion == "1")
        #expect(try ImageConfiguration(bytes: bytes(#"{"os":"linux"}"#)).platform == nil)
        #expect(try ImageConfiguration(bytes: bytes(#"{"os":"","architecture":"amd64"}"#)).platform == nil)
    }

    @Test("media types classify indexes and manifests")
    func mediaTypes() {
        #expect(MediaType.ociIndex.isIndex && MediaType.dockerManifestList.isIndex)
        #expect(MediaType.ociManifest.isManifest && MediaType.dockerManifest.isManifest)
        #expect(!MediaType.ociConfig.isIndex && !MediaType.ociLayer.isManifest)
        #expect(ImageLayout.layoutFileContents == Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
    }
}
