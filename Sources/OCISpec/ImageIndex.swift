/// An image index or Docker manifest list (image-spec image-index.md): the manifests it lists.
/// The JSON is kept whole for round trips; the bytes of a stored index are never re-encoded.
public struct ImageIndex: Sendable {
    public let schemaVersion: Int64
    public let mediaType: MediaType?
    public let manifests: [Descriptor]
    public let annotations: [String: String]
    public let json: JSONValue

    /// Parses an index blob or an `index.json`.
    /// - Throws: `OCISpecError.tooLarge` above `ImageLayout.maximumManifestSize` (checked before
    ///   parsing), `.invalidJSON`, `.invalidIndex` (not an object, schemaVersion not 2,
    ///   `manifests` missing or not an array), or a descriptor error naming the entry.
    /// - Parameter maximumSize: bytes; 4 MiB for anything read from a layout or registry.
    public init(bytes: some Collection<UInt8>, maximumSize: Int = Int(ImageLayout.maximumManifestSize)) throws(OCISpecError) {
        guard bytes.count <= maximumSize else {
            throw OCISpecError(.tooLarge, "index is \(bytes.count) bytes, more than the \(maximumSize >> 20) MiB limit")
        }
        try self.init(json: try JSONParser.parse(bytes))
    }

    public init(json: JSONValue) throws(OCISpecError) {
        guard case .object = json else { throw OCISpecError(.invalidIndex, "index is not a JSON object") }
        try json.checkFieldNames(["schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations"], in: "index")
        guard let schemaVersion = json["schemaVersion"]?.int64Value, schemaVersion == 2 else {
            throw OCISpecError(.invalidIndex, "index schemaVersion is not 2")
        }
        guard let entries = json["manifests"]?.arrayValue else {
            throw OCISpecError(.invalidIndex, "index has no manifests array")
        }
        var manifests: [Descriptor] = []
        for (i, entry) in entries.enumerated() {
            do {
                manifests.append(try Descriptor(json: entry))
            } catch {
                throw OCISpecError(error.code, "index entry \(i): \(error.message)")
            }
        }
        var annotations: [String: String] = [:]
        for member in json["annotations"]?.objectMembers ?? [] {
            if let s = member.value.stringValue { annotations[member.key] = s }
        }
        self.schemaVersion = schemaVersion
        self.mediaType = json["mediaType"]?.stringValue.map(MediaType.init(rawValue:))
        self.manifests = manifests
        self.annotations = annotations
        self.json = json
    }

    /// A new OCI index listing `manifests`.
    public init(manifests: [Descriptor]) {
        let json: JSONValue = .object([
            ("schemaVersion", .number("2")),
            ("mediaType", .string(MediaType.ociIndex.rawValue)),
            ("manifests", .array(manifests.map(\.json))),
        ])
        self = try! ImageIndex(json: json)
    }

    /// This index with its `manifests` replaced; every other member kept as it was.
    public func settingManifests(_ manifests: [Descriptor]) -> ImageIndex {
        try! ImageIndex(json: json.setting("manifests", to: .array(manifests.map(\.json))))
    }
}
