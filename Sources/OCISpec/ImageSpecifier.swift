/// What a user names on the command line as IMAGE (DESIGN.md "The command line"), tried in
/// this order: a bare digest, `docker://REF`, `NAME@digest` (pinned), `NAME[:TAG]` (followed).
public enum ImageSpecifier: Sendable, Equatable, CustomStringConvertible {
    /// `sha256:<hex>`: a root blob in the store, unnamed.
    case digest(Digest)
    /// `docker://REF`: pull lazily first, then use REF.
    case registry(ImageReference)
    /// `NAME[:TAG]` or `NAME@digest` (then the image must be bound to that digest).
    case name(ImageReference)

    /// - Throws: `OCISpecError` for an invalid digest or reference.
    public init(parsing text: String) throws(OCISpecError) {
        if text.hasPrefix("sha256:") || text.hasPrefix("sha512:") {
            self = .digest(try Digest(parsing: text))
        } else if text.hasPrefix("docker://") {
            self = .registry(try ImageReference(parsing: String(text.dropFirst("docker://".count))))
        } else {
            self = .name(try ImageReference(parsing: text))
        }
    }

    public var description: String {
        switch self {
        case .digest(let d): return d.description
        case .registry(let r): return "docker://\(r)"
        case .name(let r): return r.description
        }
    }
}
