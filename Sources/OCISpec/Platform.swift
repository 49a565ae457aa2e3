/// An image platform (image-spec image-index.md `platform`): os, architecture, variant,
/// os.version, os.features. Parsed from `os/arch[/variant]` on the command line, with
/// `x86_64` -> `amd64` and `aarch64` -> `arm64` as containerd normalizes them.
public struct Platform: Sendable, Equatable, CustomStringConvertible {
    public let os: String
    public let architecture: String
    public let variant: String?
    public let osVersion: String?
    /// The platform as JSON, unknown members included.
    public let json: JSONValue

    /// - Throws: `OCISpecError.invalidPlatform` when `os` or `architecture` is missing;
    ///   `.duplicateMember` for a field spelled with other case.
    public init(json: JSONValue) throws(OCISpecError) {
        try json.checkFieldNames(["architecture", "os", "os.version", "os.features", "variant", "features"], in: "platform")
        guard let os = json["os"]?.stringValue, let architecture = json["architecture"]?.stringValue else {
            throw OCISpecError(.invalidPlatform, "platform needs os and architecture strings")
        }
        self.os = os
        self.architecture = architecture
        self.variant = json["variant"]?.stringValue
        self.osVersion = json["os.version"]?.stringValue
        self.json = json
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        var members: [(key: String, value: JSONValue)] = [("architecture", .string(architecture)), ("os", .string(os))]
        if let variant { members.append(("variant", .string(variant))) }
        self = try! Platform(json: .object(members))
    }

    /// Parses `os/architecture[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`, `linux/aarch64`.
    /// - Throws: `OCISpecError.invalidPlatform` for another shape.
    public init(parsing text: String) throws(OCISpecError) {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw OCISpecError(.invalidPlatform, "invalid platform \"\(text)\": expected os/architecture[/variant], e.g. linux/amd64")
        }
        let (architecture, variant) = Self.normalize(architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
        self.init(os: parts[0], architecture: architecture, variant: variant)
    }

    /// The platform this process runs on (linux and the machine's architecture).
    public static var current: Platform {
        #if arch(arm64)
        Platform(os: "linux", architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        Platform(os: "linux", architecture: "arm", variant: "v7")
        #else
        Platform(os: "linux", architecture: "amd64")
        #endif
    }

    static func normalize(architecture: String, variant: String?) -> (String, String?) {
        switch architecture {
        case "x86_64", "x86-64": return ("amd64", variant)
        case "aarch64", "arm64": return ("arm64", variant == "8" ? "v8" : variant)
        case "armhf": return ("arm", variant ?? "v7")
        case "armel": return ("arm", variant ?? "v6")
        case "i386", "386": return ("386", variant)
        default: return (architecture, variant)
        }
    }

    /// True when an image built for `candidate` matches this wanted platform: same os and
    /// normalized architecture; a wanted variant must match (an offered arm64 without variant
    /// is v8, arm without variant is v7).
    public func matches(_ candidate: Platform) -> Bool {
        let wanted = Self.normalize(architecture: architecture, variant: variant)
        let offered = Self.normalize(architecture: candidate.architecture, variant: candidate.variant)
        guard os == candidate.os, wanted.0 == offered.0 else { return false }
        guard let wantedVariant = wanted.1 else { return true }
        // containerd's defaults: arm64 without a variant is v8, arm without one is v7.
        let offeredVariant = offered.1 ?? (offered.0 == "arm64" ? "v8" : offered.0 == "arm" ? "v7" : nil)
        return wantedVariant == offeredVariant
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }
}
