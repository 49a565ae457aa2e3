import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OCISpec

/// What a blob GET delivered.
public enum BlobFetchOutcome: Sendable, Equatable {
    /// The requested range (206 with a matching `Content-Range`).
    case range
    /// The whole blob (200): a registry may ignore `Range` (it is a SHOULD).
    case whole
}

extension RegistryClient {
    /// Streams a blob (or one byte range of it) to `sink`, in order, as bytes arrive.
    ///
    /// With `range`, sends a single `Range: bytes=a-b` (never multi-range) and checks that a 206
    /// carries `Content-Range: bytes a-b/size`; a 200 is legal and delivers the whole blob from
    /// byte 0 (`.whole`). The byte count is checked against the descriptor or the range; the
    /// digest is the caller's to check (the store's ingest does, as bytes are written). Where the
    /// registry redirected the blob is remembered and asked directly until it answers 4xx.
    /// - Parameters:
    ///   - range: half-open byte offsets into the blob.
    ///   - onOutcome: called once the status is checked, before the first byte reaches `sink`:
    ///     with `.whole`, the bytes start at offset 0 of the blob whatever the range asked.
    ///   - sink: called with each chunk; a thrown error stops the transfer.
    /// - Throws: `.notFound`, `.protocolViolation` (wrong `Content-Range` or length), transport errors.
    @discardableResult
    public func fetchBlob(
        _ descriptor: Descriptor, repository: ImageReference, range: Range<Int64>? = nil,
        onOutcome: (BlobFetchOutcome) throws -> Void = { _ in },
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) async throws -> BlobFetchOutcome {
        try await streamBlob(descriptor, repository: repository, range: range, onOutcome: onOutcome) { bytes in
            try bytes.withUnsafeBytes { try sink($0) }
        }
    }

    /// Streams a blob (or one byte range of it) as ``fetchBlob(_:repository:range:onOutcome:sink:)``
    /// does, to a `receive` that may suspend: it gets each piece of the body as it arrives
    /// (no copy) and the next one is not read until it returns, so it can hand the bytes to a
    /// thread that may block (a write, an `fdatasync`) and wait for it.
    /// - Parameters:
    ///   - range: half-open byte offsets into the blob.
    ///   - onOutcome: called once the status is checked, before the first byte reaches `receive`.
    ///   - receive: called with each piece of the body, in order; a thrown error stops the transfer.
    /// - Throws: as ``fetchBlob(_:repository:range:onOutcome:sink:)``; what `receive` throws, untouched.
    @discardableResult
    public func streamBlob(
        _ descriptor: Descriptor, repository: ImageReference, range: Range<Int64>? = nil,
        onOutcome: (BlobFetchOutcome) throws -> Void = { _ in },
        receive: (BlobBytes) async throws -> Void
    ) async throws -> BlobFetchOutcome {
        var headers: [(String, String)] = []
        if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")) }
        let response: Response
        if let remembered = await sendToRememberedLocation(of: descriptor.digest, headers: headers) {
            response = remembered
        } else {
            response = try await send(
                .GET, domain: repository.domain, repository: repository.path, path: "\(repository.path)/blobs/\(descriptor.digest)", headers: headers,
                rememberLocationOf: descriptor.digest)
        }
        var outcome = BlobFetchOutcome.whole
        var expected = descriptor.size
        if let range, response.status == 206 {
            let contentRange = response.header("Content-Range") ?? ""
            guard
                contentRange == "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(descriptor.size)"
                    || contentRange == "bytes \(range.lowerBound)-\(range.upperBound - 1)/*"
            else {
                try await drain(response)
                throw RegistryError(
                    .protocolViolation, "\(response.url) answered Content-Range \"\(contentRange)\" for bytes \(range.lowerBound)-\(range.upperBound - 1)")
            }
            outcome = .range
            expected = range.upperBound - range.lowerBound
        } else if response.status != 200 {
            try await drain(response)
            throw RegistryError(.protocolViolation, "\(response.url) answered \(response.status) to a blob GET")
        }
        // A refusal here drops the body unread, as a failing sink does.
        try onOutcome(outcome)
        var received: Int64 = 0
        do {
            for try await chunk in response.body {
                received += Int64(chunk.readableBytes)
                guard received <= expected else {
                    throw RegistryError(.protocolViolation, "\(response.url) sent more than the \(expected) bytes expected")
                }
                do {
                    try await receive(BlobBytes(buffer: chunk))
                } catch {
                    throw SinkFailure(error: error)
                }
            }
        } catch let failure as SinkFailure {
            throw failure.error
        } catch {
            // A reset or timeout mid-body: a transport failure the caller may retry.
            throw Self.transportFailure(error, url: response.url)
        }
        guard received == expected else {
            throw RegistryError(.protocolViolation, "\(response.url) ended after \(received) of \(expected) bytes")
        }
        return outcome
    }
}

/// A piece of a blob's body as it arrived from the registry (``RegistryClient/streamBlob(_:repository:range:onOutcome:receive:)``).
public struct BlobBytes: Sendable {
    let buffer: ByteBuffer

    /// Its size in bytes.
    public var count: Int { buffer.readableBytes }

    /// Runs `body` with the bytes (valid only during the call).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try buffer.withUnsafeReadableBytes(body)
    }
}

/// An error thrown by the caller's sink, passed through untouched.
private struct SinkFailure: Error {
    var error: any Error
}
