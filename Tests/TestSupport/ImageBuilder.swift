import Crypto
import Foundation
import OCISpec

/// Writes real OCI image layout directories (OCI image-spec image-layout.md) for tests:
/// `oci-layout`, `index.json` and `blobs/<alg>/<hex>`, every blob named by its real digest
/// (computed with swift-crypto, independently of the code under test).
///
/// Typical use:
/// ```swift
/// try withTemporaryDirectory { tmp in
///     let layout = try ImageBuilder(path: tmp + "/layout")
///     let image = try layout.addImage(platform: .init(os: "linux", architecture: "amd64"))
///     try layout.writeIndex([ImageBuilder.entry(image.manifest, refName: "1.0")])
///     // import tmp/layout ...
/// }
/// ```
/// A multi-platform image: `let built = try layout.addMultiPlatformImage(platforms: [...])`,
/// then `writeIndex([ImageBuilder.entry(built.index, refName: "1.0")])`.
///
/// Default layers are valid uncompressed tar archives holding one file of random bytes, so
/// unpackers (umoci, skopeo) can read them; pass `layers:` for exact bytes (for example
/// `ImageBuilder.tarArchive([("etc/hostname", Array("demo\n".utf8))])`). With
/// `mediaType: .dockerManifest` the layers are labelled `tar.gzip` but are still plain tar:
/// fine for layoutfs, not for tools that unpack them.
public struct ImageBuilder: Sendable {
    /// The layout directory.
    public let path: String

    /// Creates `path` (with parents), `blobs/sha256/` and `oci-layout`
    /// (`{"imageLayoutVersion":"1.0.0"}`). An existing directory is reused.
    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path + "/blobs/sha256", withIntermediateDirectories: true)
        try write(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: "oci-layout")
    }

    // MARK: Blobs

    /// Writes `bytes` as a blob named by its digest and returns its descriptor.
    @discardableResult
    public func addBlob(
        _ bytes: [UInt8], mediaType: MediaType, algorithm: OCISpec.Digest.Algorithm = .sha256,
        annotations: [String: String] = [:]
    ) throws -> Descriptor {
        let digest = Self.digest(of: bytes, algorithm: algorithm)
        try FileManager.default.createDirectory(atPath: "\(path)/blobs/\(algorithm.rawValue)", withIntermediateDirectories: true)
        try write(bytes, to: digest.blobPath)
        return Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count), annotations: annotations)
    }

    /// Writes a layer: `bytes` when given, else a tar archive holding one file of `randomSize`
    /// random bytes. The default media type is the uncompressed OCI layer, so the layer's
    /// digest is also its diff ID.
    public func addLayer(_ bytes: [UInt8]? = nil, randomSize: Int = 1000, mediaType: MediaType = .ociLayer) throws -> Descriptor {
        let content = bytes ?? Self.tarArchive([("file-\(Self.randomHex(4))", Self.randomBytes(randomSize))])
        return try addBlob(content, mediaType: mediaType)
    }

    /// Writes an image config with `os`, `architecture` (and `variant`), `rootfs.diff_ids`
    /// equal to the layer digests (right for uncompressed layers) and an empty `config`.
    public func addConfig(platform: Platform, layers: [Descriptor] = [], mediaType: MediaType = .ociConfig) throws -> Descriptor {
        var members: [(key: String, value: JSONValue)] = [
            ("architecture", .string(platform.architecture)),
            ("os", .string(platform.os)),
        ]
        if let variant = platform.variant { members.append(("variant", .string(variant))) }
        members.append(("config", .object([])))
        members.append(
            ("rootfs", .object([("type", .string("layers")), ("diff_ids", .array(layers.map { .string($0.digest.description) }))])))
        return try addBlob(JSONValue.object(members).encoded, mediaType: mediaType)
    }

    /// Writes a complete single-platform image: layers, config and manifest.
    /// - Parameters:
    ///   - layers: exact layer bytes; nil: `layerCount` random tar layers.
    ///   - annotations: the manifest's own annotations.
    ///   - subject: a `subject` descriptor (an upward link, not part of the closure).
    ///   - mediaType: `.ociManifest` or `.dockerManifest`.
    /// - Returns: the descriptors; `manifest` carries `platform`.
    public func addImage(
        platform: Platform = Platform(os: "linux", architecture: "amd64"),
        layers: [[UInt8]]? = nil, layerCount: Int = 2,
        annotations: [String: String] = [:], subject: Descriptor? = nil,
        mediaType: MediaType = .ociManifest
    ) throws -> BuiltImage {
        let docker = mediaType == .dockerManifest
        let layerBytes: [[UInt8]?] = layers.map { $0.map { Optional($0) } } ?? Array(repeating: nil, count: layerCount)
        let layerDescriptors: [Descriptor] = try layerBytes.map { bytes in
            try addLayer(bytes, mediaType: docker ? .dockerLayerGzip : .ociLayer)
        }
        let config = try addConfig(platform: platform, layers: layerDescriptors, mediaType: docker ? .dockerConfig : .ociConfig)
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .number("2")),
            ("mediaType", .string(mediaType.rawValue)),
            ("config", config.json),
            ("layers", .array(layerDescriptors.map(\.json))),
        ]
        if let subject { members.append(("subject", subject.json)) }
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        let bytes = JSONValue.object(members).encoded
        let manifest = try addBlob(bytes, mediaType: mediaType).settingPlatform(platform)
        return BuiltImage(manifest: manifest, config: config, layers: layerDescriptors, manifestBytes: bytes)
    }

    /// Writes a BuildKit-style attestation manifest for `image`: an in-toto layer, platform
    /// `unknown/unknown`, annotations `vnd.docker.reference.type: attestation-manifest` and
    /// `vnd.docker.reference.digest: <image manifest digest>` on its descriptor.
    public func addAttestation(for image: BuiltImage) throws -> BuiltImage {
        let statement = JSONValue.object([
            ("_type", .string("https://in-toto.io/Statement/v0.1")),
            ("subject", .array([.object([("digest", .object([("sha256", .string(image.manifest.digest.encoded))]))])])),
            ("nonce", .string(Self.randomHex(8))),
        ]).encoded
        let layer = try addBlob(
            statement, mediaType: "application/vnd.in-toto+json",
            annotations: ["in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"])
        let config = try addBlob(
            JSONValue.object([
                ("architecture", .string("unknown")), ("os", .string("unknown")), ("config", .object([])),
                ("rootfs", .object([("type", .string("layers")), ("diff_ids", .array([.string(layer.digest.description)]))])),
            ]).encoded, mediaType: .ociConfig)
        let bytes = JSONValue.object([
            ("schemaVersion", .number("2")),
            ("mediaType", .string(MediaType.ociManifest.rawValue)),
            ("config", config.json),
            ("layers", .array([layer.json])),
        ]).encoded
        let manifest = try addBlob(
            bytes, mediaType: .ociManifest,
            annotations: [
                AnnotationKey.dockerReferenceDigest: image.manifest.digest.description,
                AnnotationKey.dockerReferenceType: "attestation-manifest",
            ]
        ).settingPlatform(Platform(os: "unknown", architecture: "unknown"))
        return BuiltImage(manifest: manifest, config: config, layers: [layer], manifestBytes: bytes)
    }

    /// Writes an image index listing `manifests` (their descriptors as given, platforms included).
    /// - Parameter extraMembers: more top-level members (e.g. unknown fields), appended.
    public func addIndex(
        _ manifests: [Descriptor], mediaType: MediaType = .ociIndex, annotations: [String: String] = [:],
        extraMembers: [(key: String, value: JSONValue)] = []
    ) throws -> Descriptor {
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .number("2")),
            ("mediaType", .string(mediaType.rawValue)),
            ("manifests", .array(manifests.map(\.json))),
        ]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        members += extraMembers
        return try addBlob(JSONValue.object(members).encoded, mediaType: mediaType)
    }

    /// Writes one image per platform and an index listing them, each image followed by its
    /// attestation manifest when `attestations` is set (as BuildKit does).
    public func addMultiPlatformImage(
        platforms: [Platform] = [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64", variant: "v8")],
        layerCount: Int = 2, attestations: Bool = true
    ) throws -> BuiltIndex {
        var images: [BuiltImage] = []
        var attestationImages: [BuiltImage] = []
        for platform in platforms {
            images.append(try addImage(platform: platform, layerCount: layerCount))
        }
        if attestations {
            for image in images { attestationImages.append(try addAttestation(for: image)) }
        }
        let listed = images.map(\.manifest) + attestationImages.map(\.manifest)
        let index = try addIndex(listed)
        return BuiltIndex(index: index, images: images, attestations: attestationImages)
    }

    // MARK: index.json

    /// Writes `index.json` listing `entries` (an OCI image index, compact JSON).
    public func writeIndex(_ entries: [Descriptor], extraMembers: [(key: String, value: JSONValue)] = []) throws {
        let json = JSONValue.object(
            [
                ("schemaVersion", .number("2")),
                ("mediaType", .string(MediaType.ociIndex.rawValue)),
                ("manifests", .array(entries.map(\.json))),
            ] + extraMembers)
        try write(json.encoded, to: "index.json")
    }

    /// An `index.json` entry: `descriptor` with `org.opencontainers.image.ref.name` and
    /// `io.containerd.image.name` annotations when given.
    public static func entry(_ descriptor: Descriptor, refName: String? = nil, imageName: String? = nil) -> Descriptor {
        var entry = descriptor
        if let imageName { entry = entry.settingAnnotation(AnnotationKey.containerdImageName, to: imageName) }
        if let refName { entry = entry.settingAnnotation(AnnotationKey.refName, to: refName) }
        return entry
    }

    // MARK: Files and damage

    /// `path/blobs/<alg>/<hex>`.
    public func blobPath(_ digest: OCISpec.Digest) -> String { "\(path)/\(digest.blobPath)" }

    /// Removes a blob file (to make a layout that lacks a blob).
    public func removeBlob(_ digest: OCISpec.Digest) throws { try FileManager.default.removeItem(atPath: blobPath(digest)) }

    /// Changes the blob's bytes, keeping its size (the first byte is flipped).
    public func corruptBlob(_ digest: OCISpec.Digest) throws {
        var bytes = try read(digest.blobPath)
        guard !bytes.isEmpty else { throw TestSupportError("cannot corrupt the empty blob \(digest)") }
        bytes[0] ^= 0xFF
        try write(bytes, to: digest.blobPath)
    }

    /// Writes (replacing) `path/relativePath`.
    public func write(_ bytes: [UInt8], to relativePath: String) throws {
        try writeFile(path + "/" + relativePath, bytes)
    }

    /// Reads `path/relativePath`.
    public func read(_ relativePath: String) throws -> [UInt8] {
        try readFile(path + "/" + relativePath)
    }

    // MARK: Values

    /// The digest of `bytes` (swift-crypto).
    public static func digest(of bytes: [UInt8], algorithm: OCISpec.Digest.Algorithm = .sha256) -> OCISpec.Digest {
        let hex: String
        switch algorithm {
        case .sha256: hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        case .sha512: hex = SHA512.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        }
        return try! OCISpec.Digest(algorithm: algorithm, encoded: hex)
    }

    /// `count` random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func randomHex(_ byteCount: Int) -> String { randomBytes(byteCount).map { String(format: "%02x", $0) }.joined() }

    /// A POSIX ustar archive of regular files (mode 0644, uid/gid 0), with the two zero blocks
    /// that end an archive. Names must be at most 100 bytes.
    public static func tarArchive(_ files: [(name: String, contents: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for file in files {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) {
                for (i, b) in text.utf8.enumerated() { header[offset + i] = b }
            }
            func octal(_ value: Int, width: Int) -> String {
                let digits = String(value, radix: 8)
                return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            }
            put(String(file.name.prefix(100)), at: 0)
            put(octal(0o644, width: 8), at: 100)
            put(octal(0, width: 8), at: 108)
            put(octal(0, width: 8), at: 116)
            put(octal(file.contents.count, width: 12), at: 124)
            put(octal(0, width: 12), at: 136)
            put("        ", at: 148)
            put("0", at: 156)
            put("ustar", at: 257)
            put("00", at: 263)
            let checksum = header.reduce(0) { $0 + Int($1) }
            put(octal(checksum, width: 7), at: 148)
            header[155] = 0x20
            out += header
            out += file.contents
            out += [UInt8](repeating: 0, count: (512 - file.contents.count % 512) % 512)
        }
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }
}

/// The blobs of one image written by `ImageBuilder`.
public struct BuiltImage: Sendable {
    /// The manifest's descriptor, with `platform` (and the attestation annotations for an
    /// attestation manifest).
    public let manifest: Descriptor
    public let config: Descriptor
    public let layers: [Descriptor]
    /// The manifest's exact bytes.
    public let manifestBytes: [UInt8]

    /// Every blob, children first: config, layers, manifest.
    public var blobs: [Descriptor] { [config] + layers + [manifest] }
}

/// A multi-platform image written by `ImageBuilder.addMultiPlatformImage`.
public struct BuiltIndex: Sendable {
    /// The index's descriptor (no platform).
    public let index: Descriptor
    /// One image per platform, in the order given.
    public let images: [BuiltImage]
    /// The attestation manifests, one per image (empty when not asked for).
    public let attestations: [BuiltImage]

    /// Every blob, children first, the index last.
    public var blobs: [Descriptor] { images.flatMap(\.blobs) + attestations.flatMap(\.blobs) + [index] }
}

/// Writes `bytes` to `path`, replacing it.
public func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Reads the file at `path`.
public func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// True when something (file, directory or symlink, even dangling) is at `path`.
public func pathExists(_ path: String) -> Bool {
    (try? FileManager.default.attributesOfItem(atPath: path)) != nil
}
