/// The records of a PAX extended header (`x`, for the next member; `g`, for every later one):
/// `"%d %s=%s\n"`, the length counting the whole record (POSIX.1-2001, pax "Extended header").
struct PAXRecords {
    private(set) var values: [String: [UInt8]] = [:]

    /// Parses `data`; a record with an empty value deletes the key (POSIX).
    /// - Throws: ``LayerIndexError/Code/invalidMember`` for a malformed record.
    init(_ data: [UInt8], at offset: Int64) throws(LayerIndexError) {
        var index = 0
        while index < data.count {
            // Trailing NUL padding ends the records.
            if data[index] == 0 { break }
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")), space - index <= 20,
                let length = Int(String(decoding: data[index..<space], as: UTF8.self)), length > space - index + 1, index + length <= data.count,
                data[index + length - 1] == UInt8(ascii: "\n"), let equals = data[(space + 1)..<(index + length)].firstIndex(of: UInt8(ascii: "="))
            else {
                throw LayerIndexError(.invalidMember, "the PAX extended header at offset \(offset) has a malformed record")
            }
            let key = String(decoding: data[(space + 1)..<equals], as: UTF8.self)
            let value = Array(data[(equals + 1)..<(index + length - 1)])
            // As Go's archive/tar (validPAXRecord): a NUL in a key, or in a path, would be cut
            // where FUSE and listxattr read C strings, and show another entry or attribute.
            guard !key.isEmpty, !key.utf8.contains(0), !(Self.pathKeys.contains(key) && value.contains(0)) else {
                throw LayerIndexError(.invalidMember, "the PAX extended header at offset \(offset) has a record with a NUL byte in its name or path")
            }
            values[key] = value.isEmpty ? nil : value
            index += length
        }
    }

    init() {}

    /// Records whose values are names, where a NUL cannot be.
    private static let pathKeys: Set<String> = ["path", "linkpath", "uname", "gname"]

    /// `other`'s records over these.
    func merging(_ other: PAXRecords) -> PAXRecords {
        var merged = self
        merged.values.merge(other.values) { _, new in new }
        return merged
    }

    func string(_ key: String) -> String? { values[key].map { String(decoding: $0, as: UTF8.self) } }

    /// Whether `key`'s value is valid UTF-8 (true when absent).
    func isUTF8(_ key: String) -> Bool { values[key].map { String(validating: $0, as: UTF8.self) != nil } ?? true }

    /// A decimal integer record.
    func integer(_ key: String, at offset: Int64) throws(LayerIndexError) -> Int64? {
        guard let text = string(key) else { return nil }
        guard let value = Int64(text) else {
            throw LayerIndexError(.invalidMember, "the PAX record \(key) at offset \(offset) is not a number: \(TarPath.quoted(text))")
        }
        return value
    }

    /// A time record, `seconds[.fraction]`: seconds and nanoseconds.
    func time(_ key: String, at offset: Int64) throws(LayerIndexError) -> (seconds: Int64, nanoseconds: UInt32)? {
        guard let text = string(key) else { return nil }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]) else {
            throw LayerIndexError(.invalidMember, "the PAX record \(key) at offset \(offset) is not a time: \(TarPath.quoted(text))")
        }
        guard parts.count == 2 else { return (seconds, 0) }
        let digits = String(parts[1].prefix(9))
        guard digits.allSatisfy(\.isASCII), let fraction = UInt32(digits + String(repeating: "0", count: 9 - digits.count)) else {
            throw LayerIndexError(.invalidMember, "the PAX record \(key) at offset \(offset) is not a time: \(TarPath.quoted(text))")
        }
        guard seconds > Int64.min else {
            throw LayerIndexError(.invalidMember, "the PAX record \(key) at offset \(offset) is not a time: \(TarPath.quoted(text))")
        }
        // A negative time's fraction counts back from the second (-1.5 is 1.5 s before the epoch).
        return seconds < 0 || parts[0].hasPrefix("-") ? (seconds - (fraction > 0 ? 1 : 0), fraction > 0 ? 1_000_000_000 - fraction : 0) : (seconds, fraction)
    }

    /// `SCHILY.xattr.NAME` records: extended attributes by name.
    var extendedAttributes: [String: [UInt8]] {
        var attributes: [String: [UInt8]] = [:]
        for (key, value) in values where key.hasPrefix("SCHILY.xattr.") { attributes[String(key.dropFirst("SCHILY.xattr.".count))] = value }
        return attributes
    }

    /// Whether any record describes a GNU sparse file.
    var isSparse: Bool { values.keys.contains { $0.hasPrefix("GNU.sparse.") } }
}
