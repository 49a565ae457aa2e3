import ContainerdAPI
import OCISpec

extension ContainerdClient {
    /// A blob's size and labels (content service Info), or nil when containerd lacks it.
    /// - Throws: ``ContainerdError`` other than not found.
    package func contentInfo(_ digest: Digest) async throws(ContainerdError) -> ContainerdContentInfo? {
        let service = Containerd_Services_Content_V1_Content.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Content_V1_InfoRequest()
        request.digest = digest.description
        do throws(ContainerdError) {
            let info = try await calling("asking containerd for blob \(digest)") {
                try await service.info(request, metadata: metadata, options: options)
            }.info
            return try Self.contentInfo(info)
        } catch  where error.code == .notFound {
            return nil
        }
    }

    /// Every blob of the namespace (content service List, a stream of batches).
    /// - Throws: ``ContainerdError``; `.timeout` when containerd sends nothing for ``callTimeout``.
    package func contentList() async throws(ContainerdError) -> [ContainerdContentInfo] {
        let service = Containerd_Services_Content_V1_Content.Client(wrapping: grpc)
        let (metadata, options) = (metadata, streamOptions)
        let what = "listing containerd's blobs in namespace \(namespace)"
        let infos = try await calling(what) {
            try await Self.failingWhenSilent(for: callTimeout, what, socket: socket) { heard in
                try await service.list(.init(), metadata: metadata, options: options) { response in
                    var infos: [Containerd_Services_Content_V1_Info] = []
                    for try await batch in response.messages {
                        heard()
                        infos += batch.info
                    }
                    return infos
                }
            }
        }
        var result: [ContainerdContentInfo] = []
        for info in infos { result.append(try Self.contentInfo(info)) }
        return result
    }

    /// Streams `count` bytes of a blob from `offset` (content service Read; `count` 0 reads to
    /// the end), handing each chunk to `chunk` in order. containerd sends chunks of up to 1 MiB.
    /// - Throws: `.notFound`, `.protocolViolation` when a chunk is not at the offset that
    ///   follows the previous one or more bytes arrive than asked for, `.timeout` when containerd
    ///   sends nothing for ``callTimeout`` (a stopped containerd), or what `chunk` throws.
    package func read(
        _ digest: Digest, offset: Int64 = 0, count: Int64 = 0, chunk: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws(ContainerdError) -> Int64 {
        let service = Containerd_Services_Content_V1_Content.Client(wrapping: grpc)
        let (metadata, options) = (metadata, streamOptions)
        var request = Containerd_Services_Content_V1_ReadContentRequest()
        request.digest = digest.description
        request.offset = offset
        request.size = count
        let what = "reading blob \(digest) from containerd at \(socket)"
        let asked = request
        return try await calling(what) {
            try await Self.failingWhenSilent(for: callTimeout, what, socket: socket) { heard in
                try await service.read(asked, metadata: metadata, options: options) { response in
                    // containerd 1.6 numbers chunks from 0 whatever the offset asked for
                    // (services/content's readResponseWriter); the API says the blob's offset:
                    // either is taken, from the first chunk on.
                    var received: Int64 = 0
                    var base: Int64?
                    for try await message in response.messages {
                        heard()
                        if base == nil, message.offset == 0 || message.offset == offset { base = message.offset }
                        guard let base, message.offset == base + received else {
                            throw ContainerdError(.protocolViolation, "\(what): a chunk at offset \(message.offset) after \(received) bytes from \(offset)")
                        }
                        received += Int64(message.data.count)
                        if count > 0, received > count {
                            throw ContainerdError(.protocolViolation, "\(what): more than the \(count) bytes asked for")
                        }
                        try await chunk(Array(message.data))
                        heard()
                    }
                    return received
                }
            }
        }
    }

    /// `count` bytes of a blob from `offset`, fewer at its end (content service Read).
    /// - Throws: as ``read(_:offset:count:chunk:)``.
    /// A read that meets a closed connection (`.unavailable`: containerd's HTTP/2 server closes
    /// a connection that has carried a few hundred streams, and the channel reconnects) is made
    /// again, up to 7 more times, 10, 20, 40 ... ms apart.
    package func read(_ digest: Digest, offset: Int64, count: Int) async throws(ContainerdError) -> [UInt8] {
        guard count > 0 else { return [] }
        do {
            return try await Self.retryingClosedConnections {
                let collected = Collected()
                _ = try await read(digest, offset: offset, count: Int64(count)) { bytes in collected.append(bytes) }
                return collected.bytes
            }
        } catch let error as ContainerdError {
            throw error
        } catch {
            throw ContainerdError(.failed, "reading blob \(digest) from containerd at \(socket) was cancelled", underlying: error)
        }
    }

    static func contentInfo(_ info: Containerd_Services_Content_V1_Info) throws(ContainerdError) -> ContainerdContentInfo {
        let digest: Digest
        do {
            digest = try Digest(parsing: info.digest)
        } catch {
            throw ContainerdError(.protocolViolation, "containerd listed a blob with an invalid digest \"\(info.digest.prefix(80))\"", underlying: error)
        }
        return ContainerdContentInfo(digest: digest, size: info.size, labels: info.labels)
    }
}
