import OCISpec
import Testing

private func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }
private let digestText = "sha256:" + hex64

@Suite("Descriptor")
struct DescriptorTests {
    @Test("a descriptor parses its typed fields and keeps its JSON")
    func parses() throws {
        let text = """
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(digestText)","size":7682,\
            "platform":{"architecture":"arm64","os":"linux","variant":"v8","os.version":"10.0.1","x-unknown":1},\
            "annotations":{"org.opencontainers.image.ref.name":"1.0"},"urls":["https://example.com/l"],\
            "artifactType":"application/x","x-vendor":{"deep":[18446744073709551615]}}
            """
        let descriptor = try Descriptor(json: json(text))
        #expect(descriptor.mediaType == .ociManifest)
        #expect(descriptor.digest.description == digestText)
        #expect(descriptor.size == 7682)
        #expect(descriptor.platform?.architecture == "arm64")
        #expect(descriptor.platform?.variant == "v8")
        #expect(descriptor.platform?.osVersion == "10.0.1")
        #expect(descriptor.annotations == ["org.opencontainers.image.ref.name": "1.0"])
        #expect(descriptor.urls == ["https://example.com/l"])
        #expect(descriptor.artifactType == "application/x")
        #expect(String(decoding: descriptor.encoded, as: UTF8.self) == text)
    }

    @Test(
        "sizes from 0 to 1 TiB are accepted",
        arguments: ["0", "1", "4194304", "1099511627776"])
    func validSizes(size: String) throws {
        let descriptor = try Descriptor(json: json(#"{"mediaType":"a/b","digest":"\#(digestText)","size":\#(size)}"#))
        #expect(descriptor.size == Int64(size))
    }

    @Test(
        "negative, absurd, fractional and non-numeric sizes are rejected",
        arguments: [
            "-1", "-9223372036854775808", "1099511627777", "9223372036854775807", "18446744073709551615", "1.5", "1e3", "\"10\"",
            "null", "true", "[1]",
        ])
    func invalidSizes(size: String) {
        let error = #expect(throws: OCISpecError.self) {
            try Descriptor(json: json(#"{"mediaType":"a/b","digest":"\#(digestText)","size":\#(size)}"#))
        }
        #expect(error?.code == .invalidDescriptor)
    }

    @Test(
        "missing or mistyped required fields are rejected",
        arguments: [
            #"{"digest":"\#(digestText)","size":1}"#,
            #"{"mediaType":"a/b","size":1}"#,
            #"{"mediaType":"a/b","digest":"\#(digestText)"}"#,
            #"{"mediaType":1,"digest":"\#(digestText)","size":1}"#,
            #"{"mediaType":"a/b","digest":5,"size":1}"#,
            #"{"mediaType":"a/b","digest":"\#(digestText)","size":1,"annotations":{"k":1}}"#,
            #"{"mediaType":"a/b","digest":"\#(digestText)","size":1,"annotations":[]}"#,
            #"{"mediaType":"a/b","digest":"\#(digestText)","size":1,"urls":"x"}"#,
            "[]",
            "\"descriptor\"",
            "{}",
        ])
    func missingFields(text: String) {
        let error = #expect(throws: OCISpecError.self) { try Descriptor(json: json(text)) }
        #expect(error?.code == .invalidDescriptor)
    }

    @Test("an invalid digest is reported as such")
    func invalidDigest() {
        let error = #expect(throws: OCISpecError.self) {
            try Descriptor(json: json(#"{"mediaType":"a/b","digest":"sha256:../../etc/passwd","size":1}"#))
        }
        #expect(error?.code == .invalidDigest)
    }

    @Test("a platform without os or architecture is rejected")
    func invalidPlatform() {
        let error = #expect(throws: OCISpecError.self) {
            try Descriptor(json: json(#"{"mediaType":"a/b","digest":"\#(digestText)","size":1,"platform":{"os":"linux"}}"#))
        }
        #expect(error?.code == .invalidPlatform)
    }

    @Test("the memberwise initializer writes members in the spec's order")
    func memberwise() throws {
        let digest = try Digest(parsing: digestText)
        let descriptor = Descriptor(
            mediaType: .ociManifest, digest: digest, size: 12, platform: Platform(os: "linux", architecture: "amd64"),
            annotations: ["b": "2", "a": "1"])
        #expect(
            String(decoding: descriptor.encoded, as: UTF8.self)
                == #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(digestText)","size":12,"annotations":{"a":"1","b":"2"},"platform":{"architecture":"amd64","os":"linux"}}"#
        )
    }

    @Test("setting an annotation or the platform keeps every other member, unknown ones included")
    func settingKeepsUnknownMembers() throws {
        let text = #"{"mediaType":"a/b","digest":"\#(digestText)","size":1,"x-first":18446744073709551615,"annotations":{"keep":"me","x":"y"},"x-last":[1]}"#
        let descriptor = try Descriptor(json: json(text))
        let updated = descriptor.settingAnnotation("x", to: "z").settingAnnotation("new", to: "n").settingAnnotation("keep", to: nil)
        #expect(
            String(decoding: updated.encoded, as: UTF8.self)
                == #"{"mediaType":"a/b","digest":"\#(digestText)","size":1,"x-first":18446744073709551615,"annotations":{"x":"z","new":"n"},"x-last":[1]}"#
        )
        #expect(updated.annotations == ["x": "z", "new": "n"])
        let cleared = updated.settingAnnotation("x", to: nil).settingAnnotation("new", to: nil)
        #expect(cleared.json["annotations"] == nil)
        let withPlatform = descriptor.settingPlatform(Platform(os: "linux", architecture: "arm64", variant: "v8"))
        #expect(withPlatform.platform?.variant == "v8")
        #expect(withPlatform.json["x-last"] == .array([.number("1")]))
        #expect(withPlatform.settingPlatform(nil).json == descriptor.json)
    }
}
