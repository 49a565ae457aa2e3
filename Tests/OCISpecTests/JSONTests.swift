import Foundation
import OCISpec
import Testing

private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }
private func text(_ value: JSONValue) -> String { String(decoding: value.encoded, as: UTF8.self) }

@Suite("JSON parser and encoder")
struct JSONTests {
    @Test(
        "compact JSON round-trips byte for byte, unknown members and member order included",
        arguments: [
            #"{"schemaVersion":2,"x-unknown":{"nested":[1,-0.5,2.5e10,1E-7,true,false,null]},"a":"b"}"#,
            #"{"z":1,"a":2,"m":3}"#,
            #"{"big":18446744073709551615,"bigger":123456789012345678901234567890,"neg":-9223372036854775809}"#,
            #"[]"#,
            #"{}"#,
            #""application/vnd.oci.image.manifest.v1+json""#,
            #"{"unicode":"é中😀","quote":"\"","backslash":"\\","nl":"\n","tab":"\t","cr":"\r","ctl":"\u0001"}"#,
            #"0"#,
            #"-0"#,
        ])
    func roundTrip(json: String) throws {
        let value = try parse(json)
        #expect(text(value) == json)
        #expect(try JSONParser.parse(value.prettyEncoded) == value)
    }

    @Test(
        "a member named twice is refused at any depth, naming its path",
        arguments: [
            (#"{"dup":1,"dup":2}"#, "dup"),
            (#"{"layers":[],"config":{},"layers":[]}"#, "layers"),
            (#"{"manifests":[{"digest":"a"},{"annotations":{"x":"1","x":"1"}}]}"#, "manifests[1].annotations.x"),
            (#"[[{"a":{"b":1,"b":1}}]]"#, "[0][0].a.b"),
            (#"{"a":1,"a":2}"#, "a"),
        ])
    func duplicateMembers(json: String, path: String) throws {
        let error = #expect(throws: OCISpecError.self) { try parse(json) }
        #expect(error?.code == .duplicateMember)
        #expect(error?.message.contains("\"\(path)\"") == true, "\(error?.message ?? "")")
    }

    @Test("names that differ only in Unicode normalization are two members, as in Go (compared as bytes)")
    func canonicallyEquivalentNames() throws {
        let value = try parse(#"{"annotations":{"caf\u00e9":"1","cafe\u0301":"2"}}"#)
        guard case .object(let members)? = value["annotations"] else {
            Issue.record("no annotations object")
            return
        }
        #expect(members.count == 2)
    }

    @Test(
        "a known field spelled with other case (as Go readers fold it) is refused; other members are kept",
        arguments: [
            (#"{"schemaVersion":2,"config":CONFIG,"Layers":[]}"#, "Layers"),
            (#"{"schemaVersion":2,"config":CONFIG,"layers":[],"LAYERS":[]}"#, "LAYERS"),
            (#"{"schemaVersion":2,"config":CONFIG,"layer\u017f":[]}"#, "layer\u{017F}"),
            (#"{"schemaVersion":2,"config":{"mediaType":"m","digest":"sha256:DIGEST","size":1,"\u212Aind":1,"Size":2},"layers":[]}"#, "Size"),
        ])
    func foldedFieldNames(json: String, member: String) throws {
        let digest = String(repeating: "a", count: 64)
        let config = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(digest)","size":2}"#
        let text = json.replacingOccurrences(of: "CONFIG", with: config).replacingOccurrences(of: "DIGEST", with: digest)
        let error = #expect(throws: OCISpecError.self) { try ImageManifest(bytes: Array(text.utf8)) }
        #expect(error?.code == .duplicateMember)
        #expect(error?.message.contains("\"\(member)\"") == true, "\(error?.message ?? "")")
        // Unknown members that fold to no field stay (round trip of what we do not understand).
        let kept = #"{"schemaVersion":2,"config":\#(config),"layers":[],"x-Layers":[],"\u212Aind":1}"#
        #expect(try ImageManifest(bytes: Array(kept.utf8)).json["x-Layers"] != nil)
    }

    @Test("an integer above 2^53 keeps its exact digits")
    func largeInteger() throws {
        let value = try parse(#"{"size":18446744073709551615,"n":9007199254740993}"#)
        #expect(value["size"] == .number("18446744073709551615"))
        #expect(value["n"] == .number("9007199254740993"))
        #expect(text(value).contains("18446744073709551615"))
        #expect(text(value).contains("9007199254740993"))
        #expect(value["n"]?.int64Value == 9_007_199_254_740_993)
        #expect(value["size"]?.int64Value == nil)
    }

    @Test("whitespace around and inside is accepted; the compact encoding drops it")
    func whitespace() throws {
        let value = try parse(" \n\t{ \"a\" : [ 1 , 2 ] }\r\n ")
        #expect(text(value) == #"{"a":[1,2]}"#)
    }

    @Test("/ is never escaped, and an escaped \\/ is read as /")
    func slashes() throws {
        let value = JSONValue.object([("mediaType", .string("application/vnd.oci.image.index.v1+json")), ("u", .string("https://a/b"))])
        #expect(!text(value).contains("\\/"))
        #expect(!String(decoding: value.prettyEncoded, as: UTF8.self).contains("\\/"))
        let parsed = try parse(#"{"u":"https:\/\/example.com\/x"}"#)
        #expect(parsed["u"] == .string("https://example.com/x"))
        #expect(text(parsed) == #"{"u":"https://example.com/x"}"#)
    }

    @Test("escapes decode, surrogate pairs included")
    func escapes() throws {
        let value = try parse(#"["\u00e9","\ud83d\ude00","\b\f","\u0000"]"#)
        #expect(value == .array([.string("é"), .string("😀"), .string("\u{8}\u{c}"), .string("\u{0}")]))
        #expect(text(value) == #"["é","😀","\u0008\u000c","\u0000"]"#)
    }

    @Test(
        "invalid JSON is rejected",
        arguments: [
            "", " ", "{", "}", "[", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, "[1 2]", "{} x", "{}{}", "01", "1.", ".5", "+1", "-", "1e",
            "1e+", "tru", "nul", "True", "NaN", "Infinity", "'a'", "{a:1}", #""abc"#, #""\x""#, #""\u12""#, #""\ud800""#,
            #""\udc00x""#, "\"a\u{1}b\"", "\"a\nb\"", "[1,,2]", #"{"a":}"#, #"{,}"#, "nulll", "[]]",
        ])
    func invalid(json: String) {
        let error = #expect(throws: OCISpecError.self) { try parse(json) }
        #expect(error?.code == .invalidJSON)
    }

    @Test("bytes that are not UTF-8 inside a string are rejected")
    func invalidUTF8() {
        let error = #expect(throws: OCISpecError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(error?.code == .invalidJSON)
        #expect(throws: OCISpecError.self) { try JSONParser.parse([0x22, 0xC3, 0x22]) }
    }

    @Test("nesting up to the limit parses; deeper is an error, not a crash")
    func depth() throws {
        let limit = JSONParser.maximumDepth
        let atLimit = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try parse(atLimit) }
        let over = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: OCISpecError.self) { try parse(over) }
        let objects = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        #expect(throws: OCISpecError.self) { try parse(objects) }
        let hostile = String(repeating: "[", count: 200_000)
        let error = #expect(throws: OCISpecError.self) { try parse(hostile) }
        #expect(error?.message.contains("nesting") == true)
    }

    @Test("the error says at which byte the problem is")
    func errorOffset() {
        let error = #expect(throws: OCISpecError.self) { try parse(#"{"a":1,"b":x}"#) }
        #expect(error?.message.contains("byte 11") == true)
    }

    @Test("subscript finds a member; setting replaces in place or appends")
    func members() throws {
        let value = try parse(#"{"a":1,"b":2,"c3":3}"#)
        #expect(value["a"] == .number("1"))
        #expect(value["missing"] == nil)
        #expect(text(value.setting("b", to: .string("x"))) == #"{"a":1,"b":"x","c3":3}"#)
        #expect(text(value.setting("c", to: .null)) == #"{"a":1,"b":2,"c3":3,"c":null}"#)
        #expect(text(value.setting("b", to: nil)) == #"{"a":1,"c3":3}"#)
        #expect(JSONValue.array([]).setting("a", to: .null) == .array([]))
    }

    @Test("object equality depends on member order")
    func equality() throws {
        #expect(try parse(#"{"a":1,"b":2}"#) != parse(#"{"b":2,"a":1}"#))
        #expect(try parse(#"{"a":1.0}"#) != parse(#"{"a":1}"#))
    }
}
