import ImageStore

/// A lazy blob whose fetches fail (a dead, stopped or refusing registry): reads of its missing
/// bytes are refused at once instead of each waiting a deadline, while a probe retries in the
/// background after `backoff` (1, 2, 4, 8 s) if a read was refused meanwhile.
package struct FetchFailure: Sendable {
    /// What the last fetch, or the read that timed out, said.
    var error: ImagesError
    var backoff: Duration
    /// Tells this episode's probes from a later one's.
    var epoch: UInt64
    /// The last read refused: the next probe fetches its chunks. Nil: nobody asked since the
    /// last probe, and the episode ends at the next one.
    var refusedRange: Range<Int64>?
    var probeScheduled = true

    static let firstBackoff = Duration.seconds(1)
    static let maximumBackoff = Duration.seconds(8)
}

extension LazyBlobMachine {
    /// A read waited its deadline and was answered `EIO` by the mount with `error`: the blob
    /// enters the failing state, so every other waiting read fails now and the kernel's re-send
    /// of the same read fails at once instead of waiting again.
    package mutating func readTimedOut(_ error: ImagesError) -> [LazyBlobAction] {
        enterFailing(error)
    }

    /// The probe of failing episode `epoch` is due: it fetches the chunks of the last refused
    /// read. It ends the episode when no read was refused since the last probe (the next read
    /// fetches afresh); a chunk arriving ends it too, a failed fetch doubles the back-off.
    /// Ignored for an episode that ended.
    package mutating func probeDue(epoch: UInt64) -> [LazyBlobAction] {
        guard var failure = failing, failure.epoch == epoch else { return [] }
        failure.probeScheduled = false
        guard let range = failure.refusedRange else {
            failing = nil
            return []
        }
        failure.refusedRange = nil
        let plans = planner.plan(read: range)
        var actions: [LazyBlobAction] = plans.map { .fetch(chunks: $0, generation: generation) }
        if plans.isEmpty {
            // Its chunks are in flight already: look again after the same back-off.
            failure.probeScheduled = true
            actions.append(.scheduleProbe(epoch: epoch, after: failure.backoff))
        }
        activeFetches += plans.count
        failing = failure
        return actions
    }

    /// Enters (or stays in) the failing state with `error`: every waiter fails now, and a probe
    /// is scheduled unless one is already (1 s at first, then doubled after each probe, at most 8 s).
    mutating func enterFailing(_ error: ImagesError) -> [LazyBlobAction] {
        var actions = waiters.map { LazyBlobAction.answer($0.id, .failure(error)) }
        waiters = []
        if var failure = failing {
            failure.error = error
            if !failure.probeScheduled {
                failure.backoff = min(failure.backoff * 2, FetchFailure.maximumBackoff)
                failure.probeScheduled = true
                actions.append(.scheduleProbe(epoch: failure.epoch, after: failure.backoff))
            }
            failing = failure
        } else {
            failureEpochs += 1
            failing = FetchFailure(error: error, backoff: FetchFailure.firstBackoff, epoch: failureEpochs)
            actions.append(.scheduleProbe(epoch: failureEpochs, after: FetchFailure.firstBackoff))
        }
        return actions
    }

    /// The refusal of a read of missing bytes while failing (remembered for the next probe);
    /// nil when not failing.
    mutating func refuse(_ range: Range<Int64>) -> ImagesError? {
        guard var failure = failing else { return nil }
        failure.refusedRange = range
        failing = failure
        return ImagesError(
            .io, "\(failure.error.message) (reads of the bytes not fetched yet fail at once; retrying in the background)", underlying: failure.error)
    }

    /// A chunk arrived: fetching works again.
    mutating func clearFailure() {
        failing = nil
        lastFetchError = nil
    }
}
