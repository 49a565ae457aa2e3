/// An image reference `[domain/]path[:tag][@digest]`, normalized as docker and containerd do
/// (distribution/reference): `alpine` -> `docker.io/library/alpine:latest`.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`.
    public let domain: String
    /// Repository path without the domain, e.g. `library/alpine`.
    public let path: String
    public let tag: String?
    public let digest: Digest?

    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    /// The limits of docker/distribution's reference grammar: a name (domain and path, as
    /// normalized) has at most 255 characters, a tag at most 128.
    public static let maximumNameLength = 255
    public static let maximumTagLength = 128

    /// Parses and normalizes a reference. A reference with neither tag nor digest gets `latest`.
    /// - Throws: `OCISpecError.invalidReference` (uppercase repository, bad characters, empty
    ///   components, a normalized name over 255 characters or a tag over 128, each saying which)
    ///   or `.invalidDigest`.
    public init(parsing text: String) throws(OCISpecError) {
        func fail(_ why: String) -> OCISpecError {
            OCISpecError(.invalidReference, "invalid image reference \"\(text.prefix(200))\(text.count > 200 ? "..." : "")\": \(why)")
        }
        guard !text.isEmpty else { throw fail("empty") }
        // Longer than any valid reference (name, tag and a sha512 digest): no need to look closer.
        guard text.utf8.count <= 1024 else {
            throw fail("\(text.utf8.count) characters; a name may have at most \(Self.maximumNameLength), a tag \(Self.maximumTagLength)")
        }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        if let tag, tag.utf8.count > Self.maximumTagLength {
            throw fail("the tag has \(tag.utf8.count) characters, more than the \(Self.maximumTagLength) a tag may have")
        }
        if let tag, !Self.isValidTag(tag) { throw fail("invalid tag \"\(tag)\"") }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain = Self.defaultDomain
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first
        {
            domain = first
            components.removeFirst()
            guard Self.isValidDomain(domain) else { throw fail("invalid registry host \"\(domain)\"") }
        }
        if domain == "index.docker.io" { domain = Self.defaultDomain }
        guard !components.isEmpty, components.allSatisfy(Self.isValidPathComponent) else {
            throw fail("repository must be lowercase letters, digits and separators (. _ __ -), components joined by /")
        }
        if domain == Self.defaultDomain, components.count == 1 { components.insert("library", at: 0) }
        if tag == nil, digest == nil { tag = Self.defaultTag }
        let nameLength = domain.utf8.count + 1 + components.reduce(components.count - 1) { $0 + $1.utf8.count }
        guard nameLength <= Self.maximumNameLength else {
            throw fail(
                "the name (registry and repository, \(domain)/...) has \(nameLength) characters, more than the \(Self.maximumNameLength) a name may have")
        }
        self.domain = domain
        self.path = components.joined(separator: "/")
        self.tag = tag
        self.digest = digest
    }

    public init(domain: String, path: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// `domain/path`.
    public var repository: String { "\(domain)/\(path)" }

    /// The full normalized form: `domain/path[:tag][@digest]`.
    public var description: String {
        var text = repository
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    /// This reference with another tag and no digest.
    public func withTag(_ tag: String) -> ImageReference {
        ImageReference(domain: domain, path: path, tag: tag, digest: nil)
    }

    /// True when `text` is a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isValidTag(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard (1...Self.maximumTagLength).contains(utf8.count) else { return false }
        func word(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == UInt8(ascii: "_")
        }
        return word(utf8[0]) && utf8.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    static func isValidPathComponent(_ text: String) -> Bool {
        // [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
        let utf8 = Array(text.utf8)
        func alnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x61...0x7A).contains(b) }
        guard let first = utf8.first, let last = utf8.last, alnum(first), alnum(last) else { return false }
        var i = 0
        while i < utf8.count {
            if alnum(utf8[i]) {
                i += 1
                continue
            }
            var j = i
            while j < utf8.count, !alnum(utf8[j]) { j += 1 }
            let separator = String(decoding: utf8[i..<j], as: UTF8.self)
            guard separator == "." || separator == "_" || separator == "__" || separator.allSatisfy({ $0 == "-" }) else { return false }
            i = j
        }
        return true
    }

    static func isValidDomain(_ text: String) -> Bool {
        let hostPart: Substring
        if let colon = text.lastIndex(of: ":"), !text.hasPrefix("[") || text[..<colon].hasSuffix("]") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return false }
            hostPart = text[..<colon]
        } else {
            hostPart = Substring(text)
        }
        guard !hostPart.isEmpty else { return false }
        return hostPart.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "[" || $0 == "]" || $0 == ":" }
            && hostPart.allSatisfy(\.isASCII)
    }
}
