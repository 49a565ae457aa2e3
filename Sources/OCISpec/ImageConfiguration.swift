/// The parts of an image config (image-spec config.md) that layoutfs needs: the platform and
/// the layers' diff_ids.
public struct ImageConfiguration: Sendable {
    /// `rootfs.diff_ids`: the digests of the uncompressed layers, in order (nil when absent or
    /// not an array of digests).
    public let diffIDs: [Digest]?
    public let os: String?
    public let architecture: String?
    public let variant: String?
    public let osVersion: String?

    /// - Throws: `OCISpecError.tooLarge` above 4 MiB, `.invalidJSON`, `.duplicateMember` (a
    ///   member named twice, or a field of config.md spelled with other case).
    public init(bytes: some Collection<UInt8>) throws(OCISpecError) {
        guard bytes.count <= ImageLayout.maximumManifestSize else {
            throw OCISpecError(.tooLarge, "config is \(bytes.count) bytes, more than the 4 MiB limit")
        }
        let json = try JSONParser.parse(bytes)
        try json.checkFieldNames(
            ["created", "author", "architecture", "os", "os.version", "os.features", "variant", "config", "rootfs", "history"], in: "config")
        try json["rootfs"]?.checkFieldNames(["type", "diff_ids"], in: "config rootfs")
        os = json["os"]?.stringValue
        architecture = json["architecture"]?.stringValue
        variant = json["variant"]?.stringValue
        osVersion = json["os.version"]?.stringValue
        let ids = json["rootfs"]?["diff_ids"]?.arrayValue?.compactMap { $0.stringValue.flatMap { try? Digest(parsing: $0) } }
        diffIDs = ids?.count == json["rootfs"]?["diff_ids"]?.arrayValue?.count ? ids : nil
    }

    /// The config's platform, when it names both os and architecture.
    public var platform: Platform? {
        guard let os, let architecture, !os.isEmpty, !architecture.isEmpty else { return nil }
        var members: [(key: String, value: JSONValue)] = [("architecture", .string(architecture)), ("os", .string(os))]
        if let osVersion { members.append(("os.version", .string(osVersion))) }
        if let variant, !variant.isEmpty { members.append(("variant", .string(variant))) }
        return try? Platform(json: .object(members))
    }
}
