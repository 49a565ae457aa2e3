import BlockingWork
import ContentStore
import ImageStore
import OCISpec

extension LazyBlob {
    /// What a read's caller is told, exactly once.
    typealias ReadCompletion = @Sendable (Result<ReadResult, ImagesError>) -> Void

    /// What `core` guards: the machine, and the completions of the reads it has parked.
    struct Core: Sendable {
        var machine: LazyBlobMachine
        var completions: [LazyReadWaiterID: ReadCompletion] = [:]
        var nextWaiter: LazyReadWaiterID = 0

        /// Keeps `completion` until the machine answers the read; returns the read's id.
        mutating func park(_ completion: @escaping ReadCompletion) -> LazyReadWaiterID {
            nextWaiter += 1
            completions[nextWaiter] = completion
            return nextWaiter
        }

        /// The actions, each answer with the completion it calls (taken out: it runs once).
        mutating func take(_ actions: [LazyBlobAction]) -> [PendingAction] {
            actions.map { action in
                guard case .answer(let waiter, _) = action else { return PendingAction(action: action, completion: nil) }
                return PendingAction(action: action, completion: completions.removeValue(forKey: waiter))
            }
        }
    }

    /// An action taken from the machine, to perform outside the lock.
    struct PendingAction: Sendable {
        let action: LazyBlobAction
        /// For an answer: the read's completion.
        let completion: ReadCompletion?
    }

    /// Delivers one event under `core` and returns its actions.
    func deliver(_ event: (inout LazyBlobMachine) -> [LazyBlobAction]) -> [PendingAction] {
        core.withLock { core in
            let actions = event(&core.machine)
            return core.take(actions)
        }
    }

    /// Delivers one event and performs its actions.
    func run(_ event: (inout LazyBlobMachine) -> [LazyBlobAction]) {
        perform(deliver(event))
    }

    /// Performs actions in order, outside every lock; an action's follow-up events' actions are
    /// performed before the next one (depth first, as one sequential pass would).
    func perform(_ pending: [PendingAction]) {
        var stack = Array(pending.reversed())
        while let next = stack.popLast() {
            stack.append(contentsOf: perform(next).reversed())
        }
    }

    private func perform(_ pending: PendingAction) -> [PendingAction] {
        switch pending.action {
        case .answer(_, let answer):
            pending.completion?(result(of: answer))
        case .fetch(let chunks, let generation):
            guard provider.lifetime.start({ await self.fetch(chunks, generation: generation) }) else {
                return deliver { $0.fetchEnded(unfinished: Set(chunks), generation: generation, failure: Self.shutDown) }
            }
        case .addToBackgroundFetches:
            provider.scheduler.add(self)
        case .runWorkerPass:
            // Not started after shutdown: nothing more is made durable, hashed or committed.
            provider.lifetime.start { await self.workerPass() }
        case .scheduleSyncCheck(let delay):
            provider.lifetime.schedule(after: delay) { self.run { $0.syncCheckDue() } }
        case .syncData(let chunks, let generation):
            return syncData(chunks, generation: generation)
        case .storeChunkBits(let bits, let generation):
            storeChunkBits(bits, generation: generation)
        case .hash(let step):
            return hash(step)
        case .commit(let generation):
            commit(generation: generation)
        case .dropCache(let corruption):
            return dropCache(corruption)
        case .evictKernelPages:
            provider.reportCorruption(descriptor.digest)
        case .scheduleProbe(let epoch, let delay):
            scheduleProbe(epoch: epoch, after: delay)
        }
        return []
    }

    /// One worker pass on the blocking pool: syncing, hashing and committing, as the machine
    /// asks (it never asks for two passes of one blob at once). A pass cancelled before it
    /// started (shutdown) does nothing.
    private func workerPass() async {
        _ = try? await BlockingWork.run {
            self.run { $0.workerPassStarted(now: .now) }
            self.run { $0.workerPassEnded() }
        }
    }

    /// The reply for an answer: a range of the cache file, or bytes assembled from held chunks
    /// and `pread`s of the cache file.
    private func result(of answer: LazyReadAnswer) -> Result<ReadResult, ImagesError> {
        switch answer {
        case .failure(let error):
            return .failure(error)
        case .file(let range):
            guard let cache else { return .failure(ImagesError(.io, "no cache entry for \(descriptor.digest)")) }
            return .success(.file(cache.data, offset: range.lowerBound, byteCount: Int(range.count)))
        case .pieces(let pieces):
            var bytes: [UInt8] = []
            for piece in pieces {
                switch piece {
                case .held(let held):
                    bytes += held
                case .file(let range):
                    guard let cache else { return .failure(ImagesError(.io, "no cache entry for \(descriptor.digest)")) }
                    do {
                        bytes += try cache.data.read(offset: range.lowerBound, byteCount: Int(range.count))
                    } catch {
                        return .failure(ImagesError(error, "cannot read the cache of \(cache.digest)"))
                    }
                }
            }
            return .success(.bytes(bytes))
        }
    }

    /// True when `generation` is the machine's and it still caches (checked under `cacheWrites`).
    private func cachesGeneration(_ generation: UInt64) -> Bool {
        core.withLock { $0.machine.generation == generation && $0.machine.caching }
    }

    /// `fdatasync` of the cache file; then the batch's bits are stored.
    private func syncData(_ chunks: [Int64], generation: UInt64) -> [PendingAction] {
        var succeeded = true
        do {
            try cache?.syncData()
        } catch {
            succeeded = false
            logNotDurable(error)
        }
        return deliver { $0.dataSynced(chunks, generation: generation, succeeded: succeeded) }
    }

    private func storeChunkBits(_ bits: [UInt8], generation: UInt64) {
        guard let cache else { return }
        do {
            try cacheWrites.withLock { _ throws(ContentStoreError) in
                guard core.withLock({ $0.machine.generation == generation }) else { return }
                try cache.storeChunks(bits)
            }
        } catch {
            logNotDurable(error)
        }
    }

    private func logNotDurable(_ error: ContentStoreError) {
        provider.logger.error(
            "cannot make fetched chunks durable; they will be fetched again after a restart", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
    }

    /// Feeds one chunk of the prefix to the hasher.
    private func hash(_ step: LazyHashStep) -> [PendingAction] {
        var step = step
        var bytes = step.held ?? []
        if step.held == nil, let cache {
            bytes = (try? cache.data.read(offset: step.byteRange.lowerBound, byteCount: Int(step.byteRange.count))) ?? []
        }
        let complete = bytes.count == step.byteRange.count
        if complete {
            step.hasher.update(bytes)
        } else {
            provider.logger.error("cannot read back a cached chunk to hash it", metadata: ["digest": "\(descriptor.digest)", "chunk": "\(step.chunk)"])
        }
        return deliver { [step] in $0.hashStepDone(step, succeeded: complete) }
    }

    /// Moves a verified, fully cached blob into the store (it becomes local).
    private func commit(generation: UInt64) {
        guard let cache else { return }
        do {
            let committed = try cacheWrites.withLock { _ throws(ContentStoreError) -> Bool in
                guard cachesGeneration(generation) else { return false }
                try cache.commit(into: provider.store.content)
                return true
            }
            guard committed else { return }
            core.withLock { $0.machine.committed(generation: generation) }
            provider.logger.info("lazy blob complete and committed to the store", metadata: ["digest": "\(descriptor.digest)", "size": "\(descriptor.size)"])
        } catch {
            provider.logger.error("cannot commit a verified lazy blob into the store", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
        }
    }

    /// Says which source sent what, and empties the chunks file so a restart does not trust it.
    private func dropCache(_ corruption: LazyCorruption) -> [PendingAction] {
        provider.logger.error(
            "\(corruption.what) does not match its digest: cache dropped, readers get EIO",
            metadata: ["digest": "\(descriptor.digest)", "actual": "\(corruption.actual)", "source": "\(corruption.source)"])
        guard let cache else { return [] }
        var failure: ContentStoreError?
        let current = cacheWrites.withLock { _ -> Bool in
            guard core.withLock({ $0.machine.generation == corruption.generation }) else { return false }
            do throws(ContentStoreError) {
                try cache.forgetChunks()
            } catch {
                failure = error
            }
            return true
        }
        guard current else { return [] }
        if let failure {
            provider.logger.error(
                "cannot drop a corrupt cache entry; serving from memory", metadata: ["digest": "\(descriptor.digest)", "error": "\(failure)"])
        }
        return deliver { $0.storedChunksForgotten(generation: corruption.generation, succeeded: failure == nil) }
    }
}
