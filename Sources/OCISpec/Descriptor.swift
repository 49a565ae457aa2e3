/// An OCI content descriptor (image-spec descriptor.md): media type, digest, size, and optional
/// platform, annotations, urls and artifact type.
///
/// The whole JSON object is kept in `json`, so fields we do not know survive a rewrite; the
/// typed properties are read from it when parsed and written back by the `setting...` methods.
public struct Descriptor: Sendable, Equatable {
    public let mediaType: MediaType
    public let digest: Digest
    /// Size of the blob in bytes, 0 ... `ImageLayout.maximumBlobSize`.
    public let size: Int64
    public let platform: Platform?
    public let annotations: [String: String]
    /// Alternate locations (non-distributable layers). Not fetched unless asked.
    public let urls: [String]
    public let artifactType: String?
    /// The descriptor as a JSON object, unknown members included.
    public let json: JSONValue

    /// Reads a descriptor object.
    /// - Throws: `OCISpecError.invalidDescriptor` when a required field is missing or of the
    ///   wrong type, the size is negative or above `ImageLayout.maximumBlobSize`, or the digest
    ///   is invalid (`.invalidDigest`).
    /// The members image-spec descriptor.md defines.
    static let fields = ["mediaType", "digest", "size", "urls", "annotations", "data", "artifactType", "platform"]

    public init(json: JSONValue) throws(OCISpecError) {
        guard case .object = json else { throw OCISpecError(.invalidDescriptor, "descriptor is not a JSON object") }
        try json.checkFieldNames(Self.fields, in: "descriptor")
        guard let mediaType = json["mediaType"]?.stringValue else {
            throw OCISpecError(.invalidDescriptor, "descriptor has no mediaType string")
        }
        guard let digestText = json["digest"]?.stringValue else {
            throw OCISpecError(.invalidDescriptor, "descriptor has no digest string")
        }
        let digest = try Digest(parsing: digestText)
        guard let sizeValue = json["size"] else { throw OCISpecError(.invalidDescriptor, "descriptor of \(digest) has no size") }
        guard let size = sizeValue.int64Value, size >= 0, size <= ImageLayout.maximumBlobSize else {
            throw OCISpecError(
                .invalidDescriptor, "descriptor of \(digest) has an invalid size \(Self.text(of: sizeValue)) (must be an integer from 0 to 1 TiB)")
        }
        var annotations: [String: String] = [:]
        if let value = json["annotations"], value != .null {
            guard let members = value.objectMembers else { throw OCISpecError(.invalidDescriptor, "annotations of \(digest) are not an object") }
            for member in members {
                guard let s = member.value.stringValue else {
                    throw OCISpecError(.invalidDescriptor, "annotation \(member.key) of \(digest) is not a string")
                }
                annotations[member.key] = s
            }
        }
        var urls: [String] = []
        if let value = json["urls"], value != .null {
            guard let array = value.arrayValue else { throw OCISpecError(.invalidDescriptor, "urls of \(digest) are not an array") }
            urls = array.compactMap(\.stringValue)
        }
        var platform: Platform?
        if let value = json["platform"], value != .null { platform = try Platform(json: value) }
        self.mediaType = MediaType(mediaType)
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
        self.urls = urls
        self.artifactType = json["artifactType"]?.stringValue
        self.json = json
    }

    /// A new descriptor with members in the spec's order.
    public init(mediaType: MediaType, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String] = [:]) {
        var members: [(key: String, value: JSONValue)] = [
            ("mediaType", .string(mediaType.rawValue)),
            ("digest", .string(digest.description)),
            ("size", .number(String(size))),
        ]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        if let platform { members.append(("platform", platform.json)) }
        // Cannot fail: every field was built from validated values.
        self = try! Descriptor(json: .object(members))
    }

    /// This descriptor with annotation `key` set (or removed when `value` is nil); other members kept.
    public func settingAnnotation(_ key: String, to value: String?) -> Descriptor {
        var members = json["annotations"]?.objectMembers ?? []
        if let index = members.firstIndex(where: { $0.key == key }) {
            if let value { members[index].value = .string(value) } else { members.remove(at: index) }
        } else if let value {
            members.append((key, .string(value)))
        }
        let updated = json.setting("annotations", to: members.isEmpty ? nil : .object(members))
        return try! Descriptor(json: updated)
    }

    /// This descriptor with `platform` set (or removed); other members kept.
    public func settingPlatform(_ platform: Platform?) -> Descriptor {
        try! Descriptor(json: json.setting("platform", to: platform?.json))
    }

    /// The descriptor's JSON text (compact).
    public var encoded: [UInt8] { json.encoded }

    private static func text(of value: JSONValue) -> String {
        String(decoding: value.encoded.prefix(40), as: UTF8.self)
    }
}
