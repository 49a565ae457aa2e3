import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OCISpec

extension RegistryClient {
    /// Media types we accept for manifests and indexes, OCI first.
    static let manifestAccept = [
        MediaType.ociIndex, .ociManifest, .dockerManifestList, .dockerManifest,
    ].map(\.rawValue).joined(separator: ", ")

    /// Resolves a reference to its root descriptor (distribution spec §pull "checking if content
    /// exists"): HEAD of the manifest, then GET when the HEAD gives no digest. A reference with a
    /// digest resolves to that digest (the manifest is fetched to learn its type and size).
    /// - Throws: `.notFound`, `.unauthorized`, `.digestMismatch` when the body does not match
    ///   `Docker-Content-Digest`, `.protocolViolation`, transport errors.
    public func resolve(_ reference: ImageReference) async throws(RegistryError) -> Descriptor {
        if reference.digest == nil {
            let head = try await send(
                .HEAD, domain: reference.domain, repository: reference.path, path: "\(reference.path)/manifests/\(reference.tag ?? "latest")",
                headers: [("Accept", Self.manifestAccept)])
            try await drain(head)
            if let digestText = head.header("Docker-Content-Digest"), let digest = try? Digest(parsing: digestText),
                let type = head.header("Content-Type"), let length = head.header("Content-Length").flatMap({ Int64($0) })
            {
                return Descriptor(mediaType: MediaType(Self.mediaType(type)), digest: digest, size: length)
            }
        }
        let (descriptor, _) = try await fetchManifest(reference)
        return descriptor
    }

    /// Fetches a manifest or index by tag or digest, at most 4 MiB, verified: against the
    /// reference's digest when it has one, else against `Docker-Content-Digest` when sent.
    /// - Returns: its descriptor and exact bytes.
    public func fetchManifest(_ reference: ImageReference) async throws(RegistryError) -> (Descriptor, [UInt8]) {
        let tagOrDigest = reference.digest?.description ?? reference.tag ?? "latest"
        let response = try await send(
            .GET, domain: reference.domain, repository: reference.path, path: "\(reference.path)/manifests/\(tagOrDigest)",
            headers: [("Accept", Self.manifestAccept)])
        if let length = response.header("Content-Length").flatMap({ Int64($0) }), length > ImageLayout.maximumManifestSize {
            try await drain(response)
            throw RegistryError(.tooLarge, "manifest \(reference) is \(length) bytes, more than the 4 MiB limit")
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in response.body {
                bytes += chunk.readableBytesView
                if bytes.count > ImageLayout.maximumManifestSize {
                    throw RegistryError(.tooLarge, "manifest \(reference) is more than the 4 MiB limit")
                }
            }
        } catch {
            throw Self.transportFailure(error, url: response.url)
        }
        let expected = reference.digest ?? response.header("Docker-Content-Digest").flatMap { try? Digest(parsing: $0) }
        let algorithm = expected?.algorithm ?? .sha256
        let actual = DigestHasher.digest(of: bytes, algorithm: algorithm)
        if let expected, expected != actual {
            throw RegistryError(.digestMismatch, "manifest \(reference) from \(reference.domain) hashes to \(actual), expected \(expected)")
        }
        var mediaType = response.header("Content-Type").map(Self.mediaType)
        if mediaType == nil || !(MediaType(mediaType!).isIndex || MediaType(mediaType!).isManifest) {
            // Fall back to the document's own mediaType field.
            mediaType = (try? JSONParser.parse(bytes))?["mediaType"]?.stringValue ?? mediaType
        }
        return (Descriptor(mediaType: MediaType(mediaType ?? MediaType.ociManifest.rawValue), digest: actual, size: Int64(bytes.count)), bytes)
    }

    /// `Content-Type` without parameters.
    static func mediaType(_ contentType: String) -> String {
        String(contentType.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces)
    }
}
