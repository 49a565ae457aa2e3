/// An image manifest, OCI or Docker schema 2 (image-spec manifest.md): config and layers.
public struct ImageManifest: Sendable {
    public let schemaVersion: Int64
    public let mediaType: MediaType?
    public let config: Descriptor
    public let layers: [Descriptor]
    /// An upward link (referrers); never followed by the closure walk.
    public let subject: Descriptor?
    public let annotations: [String: String]
    public let json: JSONValue

    /// - Throws: `OCISpecError.tooLarge` above 4 MiB (checked before parsing), `.invalidJSON`,
    ///   `.invalidManifest` (schemaVersion not 2, no config, layers not an array), or a
    ///   descriptor error naming the field.
    public init(bytes: some Collection<UInt8>) throws(OCISpecError) {
        guard bytes.count <= ImageLayout.maximumManifestSize else {
            throw OCISpecError(.tooLarge, "manifest is \(bytes.count) bytes, more than the 4 MiB limit")
        }
        let json = try JSONParser.parse(bytes)
        guard case .object = json else { throw OCISpecError(.invalidManifest, "manifest is not a JSON object") }
        try json.checkFieldNames(["schemaVersion", "mediaType", "artifactType", "config", "layers", "subject", "annotations"], in: "manifest")
        guard json["schemaVersion"]?.int64Value == 2 else { throw OCISpecError(.invalidManifest, "manifest schemaVersion is not 2") }
        guard let configJSON = json["config"] else { throw OCISpecError(.invalidManifest, "manifest has no config") }
        do {
            config = try Descriptor(json: configJSON)
        } catch {
            throw OCISpecError(error.code, "manifest config: \(error.message)")
        }
        let layerValues: [JSONValue]
        switch json["layers"] {
        case nil, .null?: layerValues = []
        case .array(let values)?: layerValues = values
        default: throw OCISpecError(.invalidManifest, "manifest layers is not an array")
        }
        var layers: [Descriptor] = []
        for (i, value) in layerValues.enumerated() {
            do {
                layers.append(try Descriptor(json: value))
            } catch {
                throw OCISpecError(error.code, "manifest layer \(i): \(error.message)")
            }
        }
        self.layers = layers
        if let value = json["subject"], value != .null { subject = try? Descriptor(json: value) } else { subject = nil }
        var annotations: [String: String] = [:]
        for member in json["annotations"]?.objectMembers ?? [] {
            if let s = member.value.stringValue { annotations[member.key] = s }
        }
        self.annotations = annotations
        self.schemaVersion = 2
        self.mediaType = json["mediaType"]?.stringValue.map(MediaType.init(rawValue:))
        self.json = json
    }
}
