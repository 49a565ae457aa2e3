/// One 512-byte tar header block (POSIX ustar; GNU's `ustar  ` magic and base-256 numbers),
/// its fields as written, before PAX or GNU long-name records apply.
struct TarHeader {
    static let blockSize = 512
    /// Largest member size read (4 EiB): a size near `Int64.max` would overflow the arithmetic
    /// of its padding, and no stream holds it.
    static let maximumSize: Int64 = 1 << 62

    var name: String
    /// Whether the name fields are valid UTF-8.
    var nameIsUTF8: Bool
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var modificationTime: Int64
    var typeflag: UInt8
    var linkName: String
    /// Whether the link name field is valid UTF-8.
    var linkNameIsUTF8: Bool
    var deviceMajor: UInt32
    var deviceMinor: UInt32

    /// True for a block of zeros (the end of the archive).
    static func isZero(_ block: ArraySlice<UInt8>) -> Bool { block.allSatisfy { $0 == 0 } }

    /// Parses a 512-byte block at `offset` of the stream (for messages).
    /// - Throws: ``LayerIndexError/Code/notTar`` for a wrong checksum, `.invalidMember` for a
    ///   field that is not a number.
    init(_ block: ArraySlice<UInt8>, at offset: Int64) throws(LayerIndexError) {
        let b = Array(block)
        precondition(b.count == Self.blockSize)
        // The checksum: the sum of the block's bytes with its own field read as spaces, unsigned
        // (POSIX) or signed (old Sun and GNU writers).
        var unsigned = 0
        var signed = 0
        for (i, byte) in b.enumerated() {
            let value = (148..<156).contains(i) ? 0x20 : byte
            unsigned += Int(value)
            signed += Int(Int8(bitPattern: value))
        }
        let recorded = try? Self.number(b[148..<156], "checksum", at: offset)
        guard recorded == Int64(unsigned) || recorded == Int64(signed) else {
            throw LayerIndexError(
                .notTar, "no tar header at offset \(offset) of the layer (its checksum is wrong): the layer is not a tar archive, or it is corrupt")
        }
        let isUstar = b[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar && !b[257..<265].elementsEqual("ustar  \0".utf8) ? Self.string(b[345..<500]) : ""
        let name = Self.string(b[0..<100])
        self.name = prefix.isEmpty ? name : prefix + "/" + name
        nameIsUTF8 = Self.isUTF8(b[0..<100]) && (prefix.isEmpty || Self.isUTF8(b[345..<500]))
        mode = UInt32(truncatingIfNeeded: try Self.number(b[100..<108], "mode", at: offset))
        uid = UInt32(truncatingIfNeeded: try Self.number(b[108..<116], "uid", at: offset))
        gid = UInt32(truncatingIfNeeded: try Self.number(b[116..<124], "gid", at: offset))
        size = try Self.number(b[124..<136], "size", at: offset)
        modificationTime = try Self.number(b[136..<148], "mtime", at: offset)
        typeflag = b[156]
        linkName = Self.string(b[157..<257])
        linkNameIsUTF8 = Self.isUTF8(b[157..<257])
        deviceMajor = isUstar ? UInt32(truncatingIfNeeded: try Self.number(b[329..<337], "devmajor", at: offset)) : 0
        deviceMinor = isUstar ? UInt32(truncatingIfNeeded: try Self.number(b[337..<345], "devminor", at: offset)) : 0
        guard size >= 0 else { throw LayerIndexError(.invalidMember, "the tar header at offset \(offset) has a negative size") }
        guard size <= Self.maximumSize else {
            throw LayerIndexError(.invalidMember, "the tar header at offset \(offset) has a size of \(size) bytes, more than a layer can hold")
        }
    }

    /// A NUL-terminated string field (bytes that are not UTF-8 kept as replacement characters).
    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Whether a NUL-terminated field is valid UTF-8 (``string(_:)`` then lost nothing).
    static func isUTF8(_ field: ArraySlice<UInt8>) -> Bool {
        String(validating: field.prefix { $0 != 0 }, as: UTF8.self) != nil
    }

    /// A numeric field: octal ASCII (spaces and NULs around it), empty for 0, or GNU's base-256
    /// (the first byte's high bit set; two's complement when the next bit is set too).
    static func number(_ field: ArraySlice<UInt8>, _ what: String, at offset: Int64) throws(LayerIndexError) -> Int64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            var value: Int64 = first & 0x40 != 0 ? -1 : 0
            for (i, byte) in field.enumerated() {
                let bits = i == 0 ? Int64(byte & 0x7f) | (first & 0x40 != 0 ? ~0x7f : 0) : Int64(byte)
                guard i == 0 || value >> 55 == 0 || value >> 55 == -1 else {
                    throw LayerIndexError(.invalidMember, "the tar header at offset \(offset) has a \(what) too large to read")
                }
                value = i == 0 ? bits : (value << 8) | bits
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false
        var ended = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7") where !ended:
                guard value <= Int64.max >> 3 else {
                    throw LayerIndexError(.invalidMember, "the tar header at offset \(offset) has a \(what) too large to read")
                }
                value = value << 3 | Int64(byte - UInt8(ascii: "0"))
                seenDigit = true
            case 0, UInt8(ascii: " "):
                if seenDigit { ended = true }
            default:
                throw LayerIndexError(.invalidMember, "the tar header at offset \(offset) has a \(what) that is not an octal number")
            }
        }
        return value
    }
}
