import ContentStore
import OCISpec

@testable import ImageStore
@testable import LazyBlobs

/// Drives a ``LazyBlobMachine`` as ``LazyBlob`` does, with the cache file, the chunks file and
/// the registry as arrays in memory and no threads: actions that do I/O are performed at once
/// and fed back as events; fetches, worker passes, timers and probes are recorded for the test
/// to run when it chooses.
struct MachineDriver {
    static let source = BlobSource(domain: "registry.test", repository: "team/app")
    static let mirror = BlobSource(domain: "mirror.test", repository: "team/app")

    var machine: LazyBlobMachine
    /// What the registry serves (the blob's right bytes, unless a test changes them).
    var registry: [UInt8]
    /// The cache file's bytes and the chunks file's (nil: never stored).
    var cacheFile: [UInt8]
    var chunksFile: [UInt8]?
    /// Writes of the cache file fail (disk full).
    var cacheFull = false
    /// The clock chunk arrivals and worker passes see.
    var now = ContinuousClock.now
    /// Keep dropped caches' forgetting of the chunks file for the test to finish
    /// (``finishForgets()``) instead of doing it at once.
    var deferForgets = false
    var pendingForgets: [LazyCorruption] = []

    /// Read answers by waiter, as the bytes the reader gets or the error.
    var answers: [LazyReadWaiterID: Result<[UInt8], ImagesError>] = [:]
    /// Fetches started, oldest first, not yet run.
    var fetches: [LazyFetchPlan] = []
    var workerPasses = 0
    var syncChecks: [Duration] = []
    var probes: [(epoch: UInt64, delay: Duration)] = []
    var backgroundAdds = 0
    var syncs = 0
    var hashedChunks: [Int64] = []
    var commits = 0
    var corruptions: [LazyCorruption] = []
    var evictions = 0
    /// Answers given as a cache file range (spliceable) rather than bytes.
    var fileAnswers = 0
    private var nextWaiter: LazyReadWaiterID = 0

    /// A blob of `content` with chunks of `chunkSize` bytes.
    init(
        content: [UInt8], chunkSize: Int64 = 4, options: (inout LazyReadOptions) -> Void = { _ in }, hasCacheFile: Bool = true,
        cacheFile: [UInt8]? = nil, storedChunks: [UInt8] = [], sources: [BlobSource] = [Self.source]
    ) {
        var readOptions = LazyReadOptions(chunkSize: chunkSize, maximumRangeSize: 4 * chunkSize, syncBytes: 2 * chunkSize, memoryLimit: 2 * chunkSize)
        options(&readOptions)
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: DigestHasher.digest(of: content), size: Int64(content.count))
        machine = LazyBlobMachine(descriptor: descriptor, sources: sources, options: readOptions, hasCacheFile: hasCacheFile, storedChunks: storedChunks)
        registry = content
        self.cacheFile = cacheFile ?? [UInt8](repeating: 0, count: content.count)
        if !storedChunks.isEmpty { chunksFile = storedChunks }
    }

    var chunkSize: Int64 { machine.options.chunkSize }

    /// Starts the blob (a restart hashes a stored prefix).
    mutating func start() { perform(machine.started()) }

    /// A read; returns its waiter id and the actions the machine returned.
    @discardableResult
    mutating func read(_ offset: Int64, _ byteCount: Int, openedAt: UInt64? = nil) -> (waiter: LazyReadWaiterID, actions: [LazyBlobAction]) {
        nextWaiter += 1
        let actions = machine.readRequested(offset: offset, byteCount: byteCount, openedAt: openedAt ?? machine.generation, waiter: nextWaiter)
        perform(actions)
        return (nextWaiter, actions)
    }

    /// Chunk `chunk` arrives from the registry for a fetch of `generation` (default: current),
    /// written or held as the machine says (a full cache holds it). False: superseded.
    @discardableResult
    mutating func arrive(_ chunk: Int64, generation: UInt64? = nil) -> Bool {
        let generation = generation ?? machine.generation
        let range = Int(chunk * chunkSize)..<Int(min(Int64(registry.count), (chunk + 1) * chunkSize))
        let bytes = Array(registry[range])
        var written = false
        switch machine.disposition(ofChunkFrom: generation) {
        case .superseded: return false
        case .holdInMemory: break
        case .writeToCache:
            if cacheFull {
                machine.cacheWriteFailed()
            } else {
                cacheFile.replaceSubrange(range, with: bytes)
                written = true
            }
        }
        let storage: LazyChunkStorage = written ? .cached : .held(bytes, DigestHasher.digest(of: bytes))
        perform(machine.chunkArrived(chunk, byteCount: bytes.count, generation: generation, storage: storage, now: now))
        return machine.generation == generation
    }

    /// Runs the oldest recorded fetch: every chunk arrives, then it ends.
    mutating func runFetch() {
        let fetch = fetches.removeFirst()
        var unfinished = Set(fetch.chunks)
        for chunk in fetch.chunks {
            guard arrive(chunk, generation: fetch.generation) else { return }
            unfinished.remove(chunk)
        }
        perform(machine.fetchEnded(unfinished: unfinished, generation: fetch.generation, failure: nil))
    }

    /// Runs every recorded fetch, and the ones they lead to.
    mutating func runFetches() {
        while !fetches.isEmpty { runFetch() }
    }

    /// The newest recorded fetch fails with `message` having delivered nothing.
    mutating func failFetch(_ message: String) {
        let fetch = fetches.removeLast()
        perform(machine.fetchEnded(unfinished: Set(fetch.chunks), generation: fetch.generation, failure: ImagesError(.io, message)))
    }

    /// One queued worker pass (if any) at `now`.
    mutating func runWorker() {
        guard workerPasses > 0 else { return }
        workerPasses -= 1
        perform(machine.workerPassStarted(now: now))
        perform(machine.workerPassEnded())
    }

    /// The background scheduler's turn: starts the fetch the machine wants, if any.
    @discardableResult
    mutating func backgroundTurn() -> LazyFetchPlan? {
        let plan = machine.backgroundFetchWanted()
        if let plan { fetches.append(plan) }
        return plan
    }

    mutating func perform(_ actions: [LazyBlobAction]) {
        for action in actions { perform(action) }
    }

    private mutating func perform(_ action: LazyBlobAction) {
        switch action {
        case .answer(let waiter, let answer):
            precondition(answers[waiter] == nil, "waiter \(waiter) answered twice")
            answers[waiter] = bytes(of: answer)
        case .fetch(let chunks, let generation):
            fetches.append(LazyFetchPlan(chunks: chunks, generation: generation))
        case .addToBackgroundFetches:
            backgroundAdds += 1
        case .runWorkerPass:
            workerPasses += 1
        case .scheduleSyncCheck(let delay):
            syncChecks.append(delay)
        case .syncData(let chunks, let generation):
            syncs += 1
            perform(machine.dataSynced(chunks, generation: generation, succeeded: true))
        case .storeChunkBits(let bits, let generation):
            if generation == machine.generation { chunksFile = bits }
        case .hash(var step):
            let bytes = step.held ?? Array(cacheFile[Int(step.byteRange.lowerBound)..<Int(step.byteRange.upperBound)])
            step.hasher.update(bytes)
            hashedChunks.append(step.chunk)
            perform(machine.hashStepDone(step, succeeded: true))
        case .commit(let generation):
            commits += 1
            machine.committed(generation: generation)
        case .dropCache(let corruption):
            corruptions.append(corruption)
            pendingForgets.append(corruption)
            if !deferForgets { finishForgets() }
        case .evictKernelPages:
            evictions += 1
        case .scheduleProbe(let epoch, let delay):
            probes.append((epoch, delay))
        }
    }

    /// Empties the chunks file for each dropped cache, as the driver does under its write lock.
    mutating func finishForgets() {
        for corruption in pendingForgets where corruption.generation == machine.generation {
            chunksFile = []
            perform(machine.storedChunksForgotten(generation: corruption.generation, succeeded: true))
        }
        pendingForgets = []
    }

    private mutating func bytes(of answer: LazyReadAnswer) -> Result<[UInt8], ImagesError> {
        switch answer {
        case .failure(let error):
            return .failure(error)
        case .file(let range):
            fileAnswers += 1
            return .success(Array(cacheFile[Int(range.lowerBound)..<Int(range.upperBound)]))
        case .pieces(let pieces):
            var bytes: [UInt8] = []
            for piece in pieces {
                switch piece {
                case .held(let held): bytes += held
                case .file(let range): bytes += cacheFile[Int(range.lowerBound)..<Int(range.upperBound)]
                }
            }
            return .success(bytes)
        }
    }

    /// The bytes a waiter got; nil when it is unanswered or failed.
    func bytes(_ waiter: LazyReadWaiterID) -> [UInt8]? { try? answers[waiter]?.get() }

    /// The error a waiter got; nil when it is unanswered or got bytes.
    func error(_ waiter: LazyReadWaiterID) -> ImagesError? {
        guard case .failure(let error) = answers[waiter] else { return nil }
        return error
    }
}

extension [LazyBlobAction] {
    /// The fetches among the actions, as chunk ranges.
    var fetchedChunks: [Range<Int64>] {
        compactMap { if case .fetch(let chunks, _) = $0 { chunks } else { nil } }
    }
}
