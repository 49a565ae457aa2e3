import Dispatch
import OCISpec

extension LazyBlob {
    /// A read of this blob waited `deadline` for its bytes and is being answered `EIO`: the
    /// blob enters the failing state (``FetchFailure``), so every other waiting read fails now
    /// and the kernel's re-send of the same read fails at once instead of waiting again.
    ///
    /// - Returns: why, for the mount's log line: the last fetch error, else the registry
    ///   client's last retry, else that the registry has not answered.
    public func readTimedOut(after deadline: Duration) -> String {
        let lastError = state.withLock { $0.lastFetchError }
        let reason =
            lastError ?? provider.client.latestRetry(within: deadline).map { "the registry client is retrying: \($0)" }
            ?? "the registry has not answered (a fetch is under way)"
        let error = ImagesError(.io, "no bytes of \(descriptor.digest) arrived within \(deadline.components.seconds) s: \(reason)")
        let (waiters, probe) = state.withLock { $0.enterFailing(error) }
        if let probe { scheduleProbe(probe) }
        for waiter in waiters { waiter.completion(.failure(error)) }
        return error.message
    }

    /// Records a failed attempt of a fetch (it may be resumed or retried).
    func noteFetchError(_ error: ImagesError) {
        state.withLock { $0.lastFetchError = error.message }
    }

    /// Runs ``probe(epoch:)`` after `delay`, off the FUSE threads.
    func scheduleProbe(_ probe: (epoch: UInt64, delay: Duration)) {
        DispatchQueue.global().asyncAfter(deadline: .now() + probe.delay.dispatchInterval) { [self] in
            self.probe(epoch: probe.epoch)
        }
    }

    /// The background retry of a failing blob: fetches the chunks of the last refused read. It
    /// ends the episode when no read was refused since the last probe (the next read fetches
    /// afresh); a chunk arriving ends it too (``LazyBlobState/clearFailure()``), a failed fetch
    /// doubles the back-off.
    private func probe(epoch: UInt64) {
        var plans: [Range<Int64>] = []
        var generation: UInt64 = 0
        var again: (epoch: UInt64, delay: Duration)?
        state.withLock { state in
            guard var failure = state.failing, failure.epoch == epoch else { return }
            failure.probeScheduled = false
            guard let range = failure.refusedRange else {
                state.failing = nil
                return
            }
            failure.refusedRange = nil
            plans = state.planner.plan(read: range)
            if plans.isEmpty {
                // Its chunks are in flight already: look again after the same back-off.
                failure.probeScheduled = true
                again = (epoch, failure.backoff)
            }
            state.activeFetches += plans.count
            generation = state.generation
            state.failing = failure
        }
        if !plans.isEmpty {
            provider.logger.info("retrying a failing lazy blob in the background", metadata: ["digest": "\(descriptor.digest)"])
        }
        let fetchGeneration = generation
        for plan in plans {
            Task { await self.fetch(plan, generation: fetchGeneration) }
        }
        if let again { scheduleProbe(again) }
    }
}
