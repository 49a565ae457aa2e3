/// The start of a sha256 digest, as `layoutfs images` and `docker images` print it: 12 to 63
/// lowercase hex digits (docker's short image IDs), given with or without `sha256:`.
/// A whole digest is a `Digest`, never a prefix.
public struct DigestPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The fewest hex digits a prefix may have (what `images` prints).
    public static let minimumLength = 12

    /// Lowercase hex, `minimumLength` to 63 characters.
    public let hex: String

    /// - Returns: nil unless `hex` is 12 to 63 lowercase hex digits.
    public init?(hex: String) {
        let utf8 = hex.utf8
        guard (Self.minimumLength..<Digest.Algorithm.sha256.encodedLength).contains(utf8.count),
            utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        self.hex = hex
    }

    /// True when `digest` is a sha256 digest starting with this prefix.
    public func matches(_ digest: Digest) -> Bool {
        digest.algorithm == .sha256 && digest.encoded.hasPrefix(hex)
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:\(hex)" }
}
