import BlockingWork
import ImageStore
import OCISpec
import Registry

extension LazyBlob {
    /// Fetches `chunks` (claimed in the planner by the caller) with one single-range GET, storing
    /// each chunk as it completes (written on the blocking pool, one write at a time). A
    /// transfer that breaks is resumed from the first chunk not stored (3 attempts); a source
    /// that does not have the blob passes to the next source. A `200` instead of `206` streams
    /// the whole blob: every chunk not yet claimed is claimed and stored as it passes.
    ///
    /// Cancelled (the provider's ``LazyBlobProvider/shutdown()``), it stops at once: the chunks
    /// not stored are not stored (no partial chunk is ever written), and its waiting reads fail.
    func fetch(_ chunks: Range<Int64>, generation: UInt64) async {
        let chunkSize = provider.options.chunkSize
        let size = descriptor.size
        var claimed = Set(chunks)
        var stored: Set<Int64> = []
        var failure: ImagesError?
        var attempts = 0
        var sourceOffset = 0
        let firstSource = firstSourceIndex
        while true {
            let remaining = claimed.subtracting(stored)
            guard let first = remaining.min(), let last = remaining.max() else {
                failure = nil
                break
            }
            guard !Task.isCancelled else {
                failure = Self.shutDown
                break
            }
            let byteRange = first * chunkSize..<min(size, (last + 1) * chunkSize)
            let source = sources[(firstSource + sourceOffset) % sources.count]
            let repository = ImageReference(domain: source.domain, path: source.repository, tag: nil, digest: nil)
            attempts += 1
            var position = byteRange.lowerBound
            var buffer: [UInt8] = []
            var watch = TransferWatch(descriptor.digest, limit: provider.options.stallTimeout)
            do {
                try await provider.client.streamBlob(
                    descriptor, repository: repository, range: byteRange == 0..<size ? nil : byteRange,
                    onOutcome: { outcome in
                        watch.restart()
                        guard outcome == .whole, byteRange != 0..<size else { return }
                        position = 0
                        claimed.formUnion(claimRemaining(generation: generation))
                        provider.logger.debug(
                            "registry ignored Range: streaming the whole blob", metadata: ["digest": "\(descriptor.digest)", "source": "\(source)"])
                    }
                ) { bytes in
                    try watch.record(bytes.count)
                    var complete: [(chunk: Int64, bytes: [UInt8])] = []
                    bytes.withUnsafeBytes { bytes in
                        var index = 0
                        while index < bytes.count {
                            let chunk = position / chunkSize
                            let chunkEnd = min(size, (chunk + 1) * chunkSize)
                            let take = Int(min(Int64(bytes.count - index), chunkEnd - position))
                            let wanted = claimed.contains(chunk) && !stored.contains(chunk)
                            if wanted { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<index + take])) }
                            position += Int64(take)
                            index += take
                            if position == chunkEnd, wanted {
                                complete.append((chunk, buffer))
                                buffer = []
                                buffer.reserveCapacity(Int(chunkSize))
                            }
                        }
                    }
                    for (chunk, bytes) in complete {
                        try await BlockingWork.run { try self.store(chunk: chunk, bytes: bytes, generation: generation) }
                        stored.insert(chunk)
                    }
                }
            } catch is Superseded {
                return
            } catch  where Task.isCancelled {
                failure = Self.shutDown
                break
            } catch let error as RegistryError where watch.stalled {
                failure = ImagesError(.io, "fetching \(descriptor.digest) from \(source) stalled: \(error.message)", underlying: error)
                provider.logger.error("lazy fetch stalled; abandoned", metadata: ["digest": "\(descriptor.digest)", "source": "\(source)"])
                break
            } catch let error as RegistryError {
                failure = ImagesError(.io, "fetching \(descriptor.digest) from \(source) failed: \(error)", underlying: error)
                noteFetchError(failure!)
                if [.notFound, .denied, .unauthorized].contains(error.code), sourceOffset + 1 < sources.count {
                    sourceOffset += 1
                    continue
                }
                if error.isRetryable || error.code == .protocolViolation, attempts < 3 {
                    provider.logger.warning(
                        "lazy fetch broke; resuming", metadata: ["digest": "\(descriptor.digest)", "source": "\(source)", "error": "\(error)"])
                    continue
                }
                provider.logger.error("lazy fetch failed", metadata: ["digest": "\(descriptor.digest)", "source": "\(source)", "error": "\(error)"])
                break
            } catch {
                failure = ImagesError(.io, "fetching \(descriptor.digest) from \(source) failed: \(error)", underlying: error)
                break
            }
        }
        fetchEnded(unfinished: claimed.subtracting(stored), generation: generation, failure: failure)
    }
}
