import Images
import OCISpec
import TestSupport
import Testing

private func descriptor(_ seed: String, ref: String? = nil, name: String? = nil, extra: String = "") throws -> Descriptor {
    let digest = ImageBuilder.digest(of: Array(seed.utf8))
    var annotations: [String] = []
    if let name { annotations.append(#""\#(AnnotationKey.containerdImageName)":"\#(name)""#) }
    if let ref { annotations.append(#""\#(AnnotationKey.refName)":"\#(ref)""#) }
    let annotationText = annotations.isEmpty ? "" : #","annotations":{\#(annotations.joined(separator: ","))}"#
    let text = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(digest)","size":1\#(annotationText)\#(extra)}"#
    return try Descriptor(json: JSONParser.parse(Array(text.utf8)))
}

private func index(_ entries: [Descriptor], extra: String = "") throws -> ImageIndex {
    let text = #"{"schemaVersion":2,"x-first":18446744073709551615,"manifests":[\#(entries.map { String(decoding: $0.encoded, as: UTF8.self) }.joined(separator: ","))],"annotations":{"keep":"me"}\#(extra)}"#
    return try ImageIndex(bytes: Array(text.utf8))
}

@Suite("IndexMerge")
struct IndexMergeTests {
    @Test("no existing index: a fresh OCI index of the new entries")
    func fresh() throws {
        let new = [try descriptor("a", ref: "1", name: "docker.io/x/a:1")]
        let merged = IndexMerge.merge(new, into: nil)
        #expect(merged.manifests == new)
        #expect(merged.mediaType == .ociIndex)
    }

    @Test("same ref name and same image name: replaced in place; everything else kept exactly")
    func replace() throws {
        let other = try descriptor("other", ref: "9", name: "docker.io/x/other:9", extra: #","x-entry":{"n":[1,2]}"#)
        let old = try descriptor("old", ref: "1", name: "docker.io/x/a:1")
        let last = try descriptor("last")
        let existing = try index([other, old, last], extra: #","x-last":"/path/""#)
        let new = try descriptor("new", ref: "1", name: "docker.io/x/a:1")
        let merged = IndexMerge.merge([new], into: existing)
        #expect(merged.manifests.map(\.digest) == [other.digest, new.digest, last.digest])
        let text = String(decoding: merged.json.encoded, as: UTF8.self)
        let expectedText = String(decoding: existing.json.encoded, as: UTF8.self)
            .replacingOccurrences(of: String(decoding: old.encoded, as: UTF8.self), with: String(decoding: new.encoded, as: UTF8.self))
        #expect(text == expectedText)
        #expect(text.contains(#""x-first":18446744073709551615"#))
        #expect(text.contains(#""x-entry":{"n":[1,2]}"#))
        #expect(text.contains(#""x-last":"/path/""#))
    }

    @Test(
        "a different ref name or a different image name appends",
        arguments: [
            ("1", "docker.io/x/b:1"),  // same tag, other image: two entries with one ref name
            ("2", "docker.io/x/a:2"),
            (nil, "docker.io/x/a:1"),
            ("1", nil),
        ] as [(String?, String?)])
    func append(ref: String?, name: String?) throws {
        let old = try descriptor("old", ref: "1", name: "docker.io/x/a:1")
        let existing = try index([old])
        let new = try descriptor("new", ref: ref, name: name)
        let merged = IndexMerge.merge([new], into: existing)
        #expect(merged.manifests == [old, new])
        #expect(merged.json["x-first"] == existing.json["x-first"])
    }

    @Test("unnamed entries: the same digest is replaced, another digest appended")
    func unnamed() throws {
        let old = try descriptor("same", extra: #","x":1"#)
        let existing = try index([old])
        let same = try descriptor("same")
        #expect(IndexMerge.merge([same], into: existing).manifests == [same])
        let different = try descriptor("different")
        #expect(IndexMerge.merge([different], into: existing).manifests == [old, different])
    }

    @Test("merging the same entries again changes nothing")
    func idempotent() throws {
        let entries = [try descriptor("a", ref: "1", name: "docker.io/x/a:1"), try descriptor("b", ref: "2", name: "docker.io/x/b:2")]
        let once = IndexMerge.merge(entries, into: try index([]))
        let twice = IndexMerge.merge(entries, into: once)
        #expect(once.json == twice.json)
    }
}
