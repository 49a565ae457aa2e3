import LayerIndex
import Testing

/// Tar streams written by hand to mislead the indexer: sizes that overflow, names with a NUL,
/// headers that Go's archive/tar (containerd, BuildKit, umoci) reads otherwise, names no file
/// system holds, and tables that would fill memory. Each is refused with an error or read as Go
/// reads it; none crashes or shows a member another tool would not.
@Suite("hostile tar streams")
struct HostileTarTests {
    /// A ustar header block: `size` written in octal, or `sizeField` as given (GNU base-256).
    static func header(
        _ name: [UInt8], size: Int = 0, type: Character = "0", link: String = "", sizeField: [UInt8]? = nil
    ) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, byte) in bytes.enumerated() { block[offset + i] = byte } }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: width - 1 - digits.count) + digits).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(sizeField ?? octal(size, width: 12), at: 124)
        put(octal(1_700_000_000, width: 12), at: 136)
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        block[156] = type.asciiValue!
        put(Array(link.utf8.prefix(100)), at: 157)
        put(Array("ustar\u{0}00".utf8), at: 257)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [0x20], at: 148)
        return block
    }

    static func padded(_ data: [UInt8]) -> [UInt8] { data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512) }

    static func file(_ name: String, _ data: String = "", type: Character = "0") -> [UInt8] {
        header(Array(name.utf8), size: data.utf8.count, type: type) + padded(Array(data.utf8))
    }

    /// A PAX extended header (`x`, or `g` for a global one) of `records`.
    static func pax(_ records: [([UInt8], [UInt8])], type: Character = "x") -> [UInt8] {
        var body: [UInt8] = []
        for (key, value) in records {
            let rest = [0x20] + key + [UInt8(ascii: "=")] + value + [0x0a]
            var length = rest.count + 1
            while String(length).count + rest.count != length { length = String(length).count + rest.count }
            body += Array(String(length).utf8) + rest
        }
        return header(Array("PaxHeaders/x".utf8), size: body.count, type: type) + padded(body)
    }

    static func pax(_ records: [(String, String)], type: Character = "x") -> [UInt8] {
        pax(records.map { (Array($0.0.utf8), Array($0.1.utf8)) }, type: type)
    }

    static let end = [UInt8](repeating: 0, count: 1024)

    static func index(_ bytes: [UInt8]) throws -> [TarMember] {
        var indexer = TarIndexer()
        try indexer.consume(bytes)
        return try indexer.finish()
    }

    static func refusal(_ bytes: [UInt8]) -> LayerIndexError? {
        #expect(throws: LayerIndexError.self) { try index(bytes) }
    }

    @Test("a size near Int64.max (GNU base-256 or PAX) and a PAX mtime of Int64.min and a half are refused, not an overflow that kills the daemon")
    func overflows() throws {
        let baseTwoFiftySix: [UInt8] = [0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        let huge = Self.header(Array("huge".utf8), sizeField: baseTwoFiftySix) + [UInt8](repeating: 0, count: 512)
        #expect(Self.refusal(Self.file("ok", "fine") + huge)?.code == .invalidMember)
        let paxSize = Self.pax([("size", "9223372036854775807")]) + Self.header(Array("huge".utf8)) + Self.end
        #expect(Self.refusal(paxSize)?.code == .invalidMember)
        let mtime = Self.pax([("mtime", "-9223372036854775808.5")]) + Self.file("old", "x") + Self.end
        #expect(Self.refusal(mtime)?.code == .invalidMember)
    }

    @Test("a NUL in a PAX path or in an attribute's name is refused (as Go's reader): cut at the NUL it would list one name twice")
    func nulBytes() throws {
        let path = Self.file("a", "real") + Self.pax([(Array("path".utf8), Array("a\u{0}zzz".utf8))]) + Self.file("placeholder", "hostile") + Self.end
        #expect(Self.refusal(path)?.code == .invalidMember)
        let attribute = Self.pax([(Array("SCHILY.xattr.user.a\u{0}user.b".utf8), Array("v".utf8))]) + Self.file("f") + Self.end
        #expect(Self.refusal(attribute)?.code == .invalidMember)
        // A NUL in an attribute's value is data (security.capability has them).
        let value = Self.pax([(Array("SCHILY.xattr.security.capability".utf8), [1, 0, 0, 2])]) + Self.file("f") + Self.end
        #expect(try Self.index(value).first?.extendedAttributes["security.capability"] == [1, 0, 0, 2])
    }

    @Test("a type 0 member named d/ is a file whose data is skipped, as Go reads it: a header hidden in its data is no member")
    func regularFileWithSlash() throws {
        let hidden = Self.file("evil", "EVIL")
        let stream = Self.header(Array("d/".utf8), size: hidden.count) + hidden + Self.file("good", "good") + Self.end
        let members = try Self.index(stream)
        #expect(members.map(\.path) == ["d", "good"])
        #expect(members.first.map { $0.kind == .file && $0.size == Int64(hidden.count) } == true)
        // The old NUL type with a trailing slash is still a directory.
        #expect(try Self.index(Self.file("old/", type: "\u{0}") + Self.end).first?.kind == .directory)
    }

    @Test("a second PAX header before a member replaces the first, as in Go's reader")
    func secondExtendedHeader() throws {
        let stream = Self.pax([("path", "evil")]) + Self.pax([("mtime", "1")]) + Self.file("good", "good") + Self.end
        let members = try Self.index(stream)
        #expect(members.map(\.path) == ["good"] && members.first?.modificationTime == 1)
    }

    @Test("a global PAX header that sets path, linkpath or size for every later member is refused; other global records still apply")
    func globalHeaders() throws {
        for key in ["path", "linkpath", "size"] {
            let stream = Self.pax([(key, key == "size" ? "0" : "shadow")], type: "g") + Self.file("a", "A") + Self.file("b", "B") + Self.end
            #expect(Self.refusal(stream)?.code == .unsupported)
        }
        let gid = Self.pax([("gid", "42")], type: "g") + Self.file("a", "A") + Self.end
        #expect(try Self.index(gid).first?.gid == 42)
    }

    @Test("a name longer than 255 bytes is refused (a whiteout of a 255-byte name is not); one past FUSE's 1024 would break its directory's listing")
    func longNames() throws {
        let longLink = Self.header(Array("././@LongLink".utf8), size: 5001, type: "L") + Self.padded(Array(String(repeating: "b", count: 5000).utf8) + [0])
        #expect(Self.refusal(Self.file("a") + longLink + Self.file("p") + Self.end)?.code == .invalidMember)
        #expect(throws: LayerIndexError.self) { try TarPath.normalized("d/" + String(repeating: "x", count: 256)) }
        #expect(try TarPath.normalized("d/" + String(repeating: "x", count: 255)) != nil)
        #expect(try TarPath.normalized("d/.wh." + String(repeating: "x", count: 255)) != nil)
    }

    @Test("a layer whose names and attributes pass the metadata budget is refused, at the member that passes it")
    func metadataBudget() throws {
        let attributes = Self.pax([("SCHILY.xattr.user.big", String(repeating: "v", count: 600))])
        var indexer = TarIndexer(metadataBudget: 1000)
        try indexer.consume(attributes + Self.file("one"))
        let error = #expect(throws: LayerIndexError.self) { try indexer.consume(attributes + Self.file("two")) }
        #expect(error?.code == .unsupported && error?.message.contains("two") == true)
    }

    @Test("one member of a 140 KB path cannot imply 70,000 directories; a layer that names its directories or has a file in each is not limited")
    func impliedDirectories() throws {
        var builder = RootfsBuilder()
        let deep = String(repeating: "a/", count: 70_000) + "f"
        let error = #expect(throws: LayerIndexError.self) { try builder.apply(layer: 0, members: [TarMember(path: deep, kind: .file)]) }
        #expect(error?.code == .unsupported)
        var wide = RootfsBuilder()
        let files = (0..<70_000).map { TarMember(path: "d\($0)/f", kind: .file) }
        try wide.apply(layer: 0, members: files)
        #expect(wide.build().nodes.count == 140_001)
    }

    @Test(
        "names and link targets that are not UTF-8 (ustar, PAX and GNU long names) are refused, never shown as replacement characters that would merge two names into one"
    )
    func notUTF8() throws {
        let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xe9]  // "café" in Latin-1
        let longName = Self.header(Array("././@LongLink".utf8), size: latin1.count + 1, type: "L") + Self.padded(latin1 + [0])
        for stream in [
            Self.header(latin1) + Self.end, Self.pax([(Array("path".utf8), latin1)]) + Self.file("placeholder") + Self.end,
            longName + Self.file("placeholder") + Self.end,
        ] {
            let error = #expect(throws: LayerIndexError.self) { _ = try Self.index(stream) }
            #expect(error?.message.contains("not UTF-8") == true, "\(error?.message ?? "")")
        }
        // A real U+FFFD ("\u{FFFD}", valid UTF-8) is a name like any other.
        #expect(try Self.index(Self.file("\u{FFFD}") + Self.end).map(\.path) == ["\u{FFFD}"])
    }

}
