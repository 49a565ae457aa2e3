/// What a user names on the command line as IMAGE (DESIGN.md "The command line"), tried in
/// this order: a bare digest, a digest prefix, `docker://REF`, `NAME@digest` (pinned),
/// `NAME[:TAG]` (followed).
///
/// Bare hex follows docker's rule for image IDs: 64 hex digits are always a digest
/// (`sha256:` implied), never the repository `docker.io/library/<hex>`; 12 to 63 are a digest
/// prefix tried first, and a name only when no image's digest starts with them.
public enum ImageSpecifier: Sendable, Equatable, CustomStringConvertible {
    /// `sha256:<hex>` (or 64 bare hex digits), `sha512:<hex>`: a root blob in the store, unnamed.
    case digest(Digest)
    /// `sha256:<12 to 63 hex>` or bare `<12 to 63 hex>`: the one root whose digest starts with
    /// it. Bare hex is also a valid name (`orName`), used when no digest matches.
    case digestPrefix(DigestPrefix, orName: ImageReference?)
    /// `docker://REF`: pull lazily first, then use REF.
    case registry(ImageReference)
    /// `NAME[:TAG]` or `NAME@digest` (then the image must be bound to that digest).
    case name(ImageReference)

    /// - Throws: `OCISpecError` for an invalid digest (`.invalidDigest`, also for a `sha256:`
    ///   prefix shorter than 12 hex digits) or reference.
    public init(parsing text: String) throws(OCISpecError) {
        if text.hasPrefix("sha256:") || text.hasPrefix("sha512:") {
            let hex = String(text.dropFirst("sha256:".count))
            if text.hasPrefix("sha256:"), hex.utf8.count < Digest.Algorithm.sha256.encodedLength {
                guard let prefix = DigestPrefix(hex: hex) else {
                    throw OCISpecError(
                        .invalidDigest,
                        "invalid digest \"\(text.prefix(80))\": give a whole digest, or at least its first \(DigestPrefix.minimumLength) lowercase hex digits")
                }
                self = .digestPrefix(prefix, orName: nil)
                return
            }
            self = .digest(try Digest(parsing: text))
        } else if let digest = try? Digest(algorithm: .sha256, encoded: text) {
            self = .digest(digest)
        } else if let prefix = DigestPrefix(hex: text) {
            self = .digestPrefix(prefix, orName: try? ImageReference(parsing: text))
        } else if text.hasPrefix("docker://") {
            self = .registry(try ImageReference(parsing: String(text.dropFirst("docker://".count))))
        } else {
            self = .name(try ImageReference(parsing: text))
        }
    }

    public var description: String {
        switch self {
        case .digest(let d): return d.description
        case .digestPrefix(let prefix, let name): return name == nil ? prefix.description : prefix.hex
        case .registry(let r): return "docker://\(r)"
        case .name(let r): return r.description
        }
    }
}
