import ImageStore
import Synchronization

/// The background fetches of lazy blobs (`--prefetch on-touch`, and the rest of a blob whose
/// last byte is read): at most `limit` at once over all blobs, taken round-robin, each planned
/// only when it starts, so that reads (fetched at once, outside this limit) always go first.
/// The fetches are tasks of the provider's ``ProviderLifetime``: none starts after shutdown.
final class BackgroundFetches: Sendable {
    private struct Queue {
        var blobs: [LazyBlob] = []
        var running = 0
    }

    private let queue = Mutex(Queue())
    private let limit: Int
    private let lifetime: ProviderLifetime

    init(limit: Int, lifetime: ProviderLifetime) {
        self.limit = max(1, limit)
        self.lifetime = lifetime
    }

    /// Adds `blob` (once) and starts what the limit allows.
    func add(_ blob: LazyBlob) {
        queue.withLock { queue in
            if !queue.blobs.contains(where: { $0 === blob }) { queue.blobs.append(blob) }
        }
        startWhatFits()
    }

    private func startWhatFits() {
        while true {
            let next = queue.withLock { queue -> (LazyBlob, Range<Int64>, UInt64)? in
                guard queue.running < limit else { return nil }
                while let blob = queue.blobs.first {
                    queue.blobs.removeFirst()
                    if let fetch = blob.nextBackgroundFetch() {
                        queue.blobs.append(blob)
                        queue.running += 1
                        return (blob, fetch.chunks, fetch.generation)
                    }
                }
                return nil
            }
            guard let (blob, chunks, generation) = next else { return }
            let started = lifetime.start {
                await blob.fetch(chunks, generation: generation)
                self.queue.withLock { $0.running -= 1 }
                self.startWhatFits()
            }
            guard started else {
                // Shut down: the planned chunks are given back and nothing more starts.
                queue.withLock { $0.running -= 1 }
                blob.fetchEnded(unfinished: Set(chunks), generation: generation, failure: LazyBlob.shutDown)
                return
            }
        }
    }
}
