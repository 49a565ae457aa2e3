import ImageStore
import OCISpec

extension LazyBlobMachine {
    /// A queued worker pass starts at `now`: sync the pending batch when it holds `syncBytes`,
    /// is `syncInterval` old or the blob is complete (else check again when it will be due),
    /// then hash the prefix as far as it is present. The driver performs the actions (and
    /// those of the events they lead to) and then delivers ``workerPassEnded()``.
    package mutating func workerPassStarted(now: ContinuousClock.Instant) -> [LazyBlobAction] {
        workerPass = .running(again: false)
        var actions = syncStep(now: now)
        if let step = nextHashStep() { actions.append(.hash(step)) }
        return actions
    }

    /// The worker pass that started last, and everything it led to, is done: another one is
    /// queued if an event asked for it meanwhile.
    package mutating func workerPassEnded() -> [LazyBlobAction] {
        guard case .running(let again) = workerPass else { return [] }
        workerPass = .idle
        return again ? queueWorkerPass() : []
    }

    /// The scheduled sync check is due: a worker pass looks at the batch.
    package mutating func syncCheckDue() -> [LazyBlobAction] {
        syncCheckScheduled = false
        return queueWorkerPass()
    }

    /// The provider shuts down (its timers are cancelled, its tasks ended): the batch not yet
    /// synced is synced now, however young or small, so that a restart finds every chunk this
    /// mount fetched (the design's rule: a restart never fetches again what is cached).
    package mutating func shuttingDown() -> [LazyBlobAction] {
        guard hasCacheFile, !unsynced.isEmpty, !committed, !storedChunksStale else { return [] }
        defer {
            unsynced = []
            unsyncedSince = nil
        }
        return [.syncData(chunks: unsynced, generation: generation)]
    }

    private mutating func syncStep(now: ContinuousClock.Instant) -> [LazyBlobAction] {
        guard hasCacheFile, !unsynced.isEmpty, let since = unsyncedSince, !committed, !storedChunksStale else { return [] }
        let age = since.duration(to: now)
        let bytes = Int64(unsynced.count) * chunkSize
        guard bytes >= options.syncBytes || age >= options.syncInterval || planner.bitmap.isComplete else {
            guard !syncCheckScheduled else { return [] }
            syncCheckScheduled = true
            return [.scheduleSyncCheck(after: max(.milliseconds(1), options.syncInterval - age))]
        }
        defer {
            unsynced = []
            unsyncedSince = nil
        }
        return [.syncData(chunks: unsynced, generation: generation)]
    }

    /// The cache file was synced (`succeeded`) for a batch of `generation`: its chunks are named
    /// in the chunks file. A failed sync is only logged: those chunks are fetched again after a
    /// restart.
    package mutating func dataSynced(_ chunks: [Int64], generation: UInt64, succeeded: Bool) -> [LazyBlobAction] {
        guard succeeded, generation == self.generation else { return [] }
        for chunk in chunks { durable.markPresent(chunk) }
        return [.storeChunkBits(durable.bytes, generation: generation)]
    }

    /// The chunks file was emptied for `generation` after a corrupt blob (`succeeded`), so the
    /// new generation's chunks may be stored into it. When it could not be, nothing more is
    /// cached (chunks are held in memory).
    package mutating func storedChunksForgotten(generation: UInt64, succeeded: Bool) -> [LazyBlobAction] {
        guard generation == self.generation else { return [] }
        guard succeeded else {
            caching = false
            return []
        }
        storedChunksStale = false
        return unsynced.isEmpty ? [] : queueWorkerPass()
    }

    /// The next chunk of the contiguous prefix to hash, if it is present and no step is under way.
    private mutating func nextHashStep() -> LazyHashStep? {
        guard !verified, hashedUpTo < size, let hasher else { return nil }
        let chunk = hashedUpTo / chunkSize
        guard planner.bitmap.isPresent(chunk) else { return nil }
        self.hasher = nil
        return LazyHashStep(hasher: hasher, chunk: chunk, byteRange: planner.bitmap.byteRange(of: chunk), held: memory[chunk], generation: generation)
    }

    /// A hash step ended: `succeeded` when the chunk's bytes were fed to `step.hasher` (false:
    /// they could not be read back; the prefix stays where it was until the next pass). At the
    /// end of the blob the digest decides: a match verifies the blob (waiters of the digest are
    /// answered, a fully cached blob is committed), a mismatch drops it as corrupt.
    package mutating func hashStepDone(_ step: LazyHashStep, succeeded: Bool) -> [LazyBlobAction] {
        guard step.generation == generation else { return [] }
        hasher = step.hasher
        guard succeeded else { return [] }
        hashedUpTo = step.byteRange.upperBound
        guard hashedUpTo == size else { return nextHashStep().map { [.hash($0)] } ?? [] }
        let actual = step.hasher.finalize()
        guard actual == digest else { return dropCorrupt(actual: actual) }
        verified = true
        var actions = answerSatisfiedWaiters()
        // Pages of a dropped generation may have reached the kernel's cache after it was told
        // to evict them: evict once more now that the good bytes are known.
        if generation > 0 { actions.append(.evictKernelPages) }
        if caching, memory.isEmpty { actions.append(.commit(generation: generation)) }
        return actions
    }

    /// The verified blob of `generation` was committed into the store: it is local now.
    package mutating func committed(generation: UInt64) {
        guard generation == self.generation else { return }
        committed = true
        unsynced = []
    }
}
