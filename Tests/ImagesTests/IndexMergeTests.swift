import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
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
    let text =
        #"{"schemaVersion":2,"x-first":18446744073709551615,"manifests":[\#(entries.map { String(decoding: $0.encoded, as: UTF8.self) }.joined(separator: ","))],"annotations":{"keep":"me"}\#(extra)}"#
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
            .replacingOccurrences(of: #"{"schemaVersion":2,"#, with: #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","#)
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

    @Test("the merged index says it is an OCI image index: mediaType added after schemaVersion, or a wrong one replaced in place")
    func mediaType() throws {
        let entry = try descriptor("a", ref: "1", name: "docker.io/x/a:1")
        let absent = try index([])
        #expect(absent.mediaType == nil)
        let added = IndexMerge.merge([entry], into: absent)
        #expect(added.mediaType == .ociIndex)
        #expect(added.json.objectMembers?.map(\.key) == ["schemaVersion", "mediaType", "x-first", "manifests", "annotations"])
        let wrong = try index([], extra: #","mediaType":"application/vnd.docker.distribution.manifest.list.v2+json""#)
        let replaced = IndexMerge.merge([entry], into: wrong)
        #expect(replaced.mediaType == .ociIndex)
        #expect(replaced.json.objectMembers?.map(\.key) == ["schemaVersion", "x-first", "manifests", "annotations", "mediaType"])
        let (_, warnings) = try IndexMerge.existingIndex(wrong.json.encoded, path: "/d/index.json")
        #expect(warnings.contains { $0.contains("/d/index.json has mediaType application/vnd.docker.distribution.manifest.list.v2+json") })
        // A right one is left alone, and so is the index when nothing changes.
        let right = IndexMerge.merge([entry], into: added)
        #expect(right.json == added.json)
        #expect(try IndexMerge.existingIndex(added.json.encoded, path: "/d/index.json").warnings.isEmpty)
    }

    @Test(
        "0 bytes, white space, {} and an empty manifests list are an empty index, with a warning",
        arguments: [("", "0 bytes"), (" \n", "only white space"), ("{}", "({})"), (#"{"schemaVersion":2,"manifests":[]}"#, "no manifests")])
    func emptyForms(text: String, why: String) throws {
        let (existing, warnings) = try IndexMerge.existingIndex(Array(text.utf8), path: "/d/index.json")
        #expect(existing.manifests.isEmpty)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("/d/index.json is an empty index") == true)
        #expect(warnings.first?.contains(why) == true)
        let entry = try descriptor("a", ref: "1", name: "docker.io/x/a:1")
        let merged = IndexMerge.merge([entry], into: existing)
        #expect(merged.manifests == [entry])
        #expect(merged.schemaVersion == 2)
        #expect(merged.mediaType == .ociIndex)
    }

    @Test("anything else that is not an index is refused", arguments: ["garbage", #"{"foo":1}"#, #"{"schemaVersion":2}"#, "[]", #"{"manifests":[]}"#])
    func notAnIndex(text: String) {
        #expect(throws: OCISpecError.self) { try IndexMerge.existingIndex(Array(text.utf8), path: "/d/index.json") }
    }
}
