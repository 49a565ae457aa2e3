import ImageStore
import OCISpec

extension LazyBlob {
    /// What a fetch refused or cancelled at shutdown answers its waiting reads.
    static let shutDown = ImagesError(.io, "the mount is shutting down: lazy blobs are no longer fetched")

    /// A read of this blob waited `deadline` for its bytes and is being answered `EIO`: the
    /// blob enters the failing state (``FetchFailure``), so every other waiting read fails now
    /// and the kernel's re-send of the same read fails at once instead of waiting again.
    ///
    /// - Returns: why, for the mount's log line: the last fetch error, else the registry
    ///   client's last retry, else that the registry has not answered.
    package func readTimedOut(after deadline: Duration) -> String {
        let lastError = core.withLock { $0.machine.lastFetchError }
        let reason =
            lastError ?? provider.client.latestRetry(within: deadline).map { "the registry client is retrying: \($0)" }
            ?? "the registry has not answered (a fetch is under way)"
        let error = ImagesError(.io, "no bytes of \(descriptor.digest) arrived within \(deadline.components.seconds) s: \(reason)")
        run { $0.readTimedOut(error) }
        return error.message
    }

    /// Delivers ``LazyBlobMachine/probeDue(epoch:)`` after `delay`, off the FUSE threads, on
    /// the timer thread (it only starts fetches); not after shutdown.
    func scheduleProbe(epoch: UInt64, after delay: Duration) {
        provider.lifetime.schedule(after: delay) { [self] in
            let pending = deliver { $0.probeDue(epoch: epoch) }
            if pending.contains(where: { if case .fetch = $0.action { true } else { false } }) {
                provider.logger.info("retrying a failing lazy blob in the background", metadata: ["digest": "\(descriptor.digest)"])
            }
            perform(pending)
        }
    }
}
