/// A content digest, `algorithm:encoded`, validated against OCI image-spec descriptor.md.
///
/// Only the registered algorithms are accepted: `sha256` (64 lowercase hex) and `sha512`
/// (128 lowercase hex). A `Digest` can therefore be used to build a path
/// (`blobs/<algorithm>/<encoded>`) without further checks: it never contains `/`, `..` or
/// uppercase letters.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256, sha512

        /// Length of the hex-encoded part, in characters.
        public var encodedLength: Int { self == .sha256 ? 64 : 128 }
    }

    public let algorithm: Algorithm
    /// Lowercase hex.
    public let encoded: String

    /// Parses `sha256:<64 hex>` or `sha512:<128 hex>`.
    /// - Throws: `OCISpecError.invalidDigest` for anything else (unknown algorithm, wrong length,
    ///   uppercase or non-hex characters, path characters).
    public init(parsing text: String) throws(OCISpecError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw OCISpecError(.invalidDigest, "invalid digest \(Self.quoted(text)): expected <algorithm>:<hex>")
        }
        let algorithmText = String(text[..<colon])
        let encoded = String(text[text.index(after: colon)...])
        guard let algorithm = Algorithm(rawValue: algorithmText) else {
            throw OCISpecError(.invalidDigest, "invalid digest \(Self.quoted(text)): unsupported algorithm (use sha256 or sha512)")
        }
        try self.init(algorithm: algorithm, encoded: encoded)
    }

    /// - Throws: `OCISpecError.invalidDigest` when `encoded` is not lowercase hex of the right length.
    public init(algorithm: Algorithm, encoded: String) throws(OCISpecError) {
        let utf8 = encoded.utf8
        guard utf8.count == algorithm.encodedLength,
            utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw OCISpecError(
                .invalidDigest,
                "invalid digest \(Self.quoted("\(algorithm.rawValue):\(encoded)")): expected \(algorithm.encodedLength) lowercase hex characters")
        }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// True when `text` is a valid digest.
    public static func isValid(_ text: String) -> Bool { (try? Digest(parsing: text)) != nil }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    /// `blobs/<algorithm>/<encoded>`, relative to a layout or store root.
    public var blobPath: String { "blobs/\(algorithm.rawValue)/\(encoded)" }

    /// A short form for tables (`sha256:0123456789ab`).
    public var short: String { "\(algorithm.rawValue):\(encoded.prefix(12))" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    private static func quoted(_ text: String) -> String {
        let clipped = text.count > 80 ? String(text.prefix(80)) + "..." : text
        return "\"" + clipped.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "?" }.joined() + "\""
    }
}
