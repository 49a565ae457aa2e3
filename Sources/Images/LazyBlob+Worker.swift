import ContentStore
import Dispatch
import OCISpec

extension LazyBlob {
    /// Queues a worker pass (coalesced: at most one waiting).
    func kickWorker() {
        let schedule = state.withLock { state -> Bool in
            defer { state.workScheduled = true }
            return !state.workScheduled
        }
        if schedule { worker.async { self.work() } }
    }

    /// One pass: sync a due batch, then hash the prefix as far as it is present.
    private func work() {
        state.withLock { $0.workScheduled = false }
        syncIfDue()
        hashPrefix()
    }

    /// `fdatasync` of the data, then the batch's bits into the chunks file, once the batch
    /// holds `syncBytes` or is `syncInterval` old (or the blob is complete); a timer otherwise.
    private func syncIfDue() {
        guard let cache else { return }
        let options = provider.options
        var wait: Duration?
        let due = state.withLock { state -> (chunks: [Int64], generation: UInt64)? in
            guard !state.unsynced.isEmpty, let since = state.unsyncedSince, !state.committed else { return nil }
            let age = since.duration(to: .now)
            let bytes = Int64(state.unsynced.count) * state.chunkSize
            guard bytes >= options.syncBytes || age >= options.syncInterval || state.planner.bitmap.isComplete else {
                if !state.syncTimerArmed {
                    state.syncTimerArmed = true
                    wait = options.syncInterval - age
                }
                return nil
            }
            defer {
                state.unsynced = []
                state.unsyncedSince = nil
            }
            return (state.unsynced, state.generation)
        }
        if let wait {
            worker.asyncAfter(deadline: .now() + max(.milliseconds(1), wait).dispatchInterval) {
                self.state.withLock { $0.syncTimerArmed = false }
                self.kickWorker()
            }
        }
        guard let due else { return }
        do {
            try cache.syncData()
            guard let bits = state.withLock({ state -> [UInt8]? in
                guard state.generation == due.generation else { return nil }
                for chunk in due.chunks { state.durable.markPresent(chunk) }
                return state.durable.bytes
            }) else { return }
            try writes.withLock { gate throws(ContentStoreError) in
                guard gate.generation == due.generation else { return }
                try cache.storeChunks(bits)
            }
        } catch {
            provider.logger.error("cannot make fetched chunks durable; they will be fetched again after a restart", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
        }
    }

    /// Hashes present chunks in order from the end of the hashed prefix; at the end of the blob,
    /// verifies.
    private func hashPrefix() {
        while true {
            let step = state.withLock { state -> (hasher: DigestHasher, chunk: Int64, held: [UInt8]?, generation: UInt64)? in
                guard !state.verified, state.hashedUpTo < state.size, let hasher = state.hasher else { return nil }
                let chunk = state.hashedUpTo / state.chunkSize
                guard state.planner.bitmap.isPresent(chunk) else { return nil }
                state.hasher = nil
                return (hasher, chunk, state.memory[chunk], state.generation)
            }
            guard var step else { return }
            let range = state.withLock { $0.planner.bitmap.byteRange(of: step.chunk) }
            var bytes = step.held ?? []
            if step.held == nil, let cache {
                bytes = (try? cache.data.read(offset: range.lowerBound, byteCount: Int(range.count))) ?? []
            }
            let complete = bytes.count == range.count
            if complete { step.hasher.update(bytes) }
            let finished = state.withLock { state -> DigestHasher? in
                guard state.generation == step.generation else { return nil }
                if complete { state.hashedUpTo = range.upperBound }
                state.hasher = step.hasher
                return complete && state.hashedUpTo == state.size ? step.hasher : nil
            }
            if !complete {
                provider.logger.error("cannot read back a cached chunk to hash it", metadata: ["digest": "\(descriptor.digest)", "chunk": "\(step.chunk)"])
                return
            }
            if let finished {
                verify(finished.finalize(), generation: step.generation)
                return
            }
        }
    }

    private func verify(_ actual: Digest, generation: UInt64) {
        guard actual == descriptor.digest else {
            dropCorrupt(actual: actual, generation: generation)
            return
        }
        let answered = state.withLock { state -> [(LazyReadWaiter, Result<ReadResult, ImagesError>)] in
            guard state.generation == generation else { return [] }
            state.verified = true
            return state.takeSatisfiedWaiters(cache: cache)
        }
        for (waiter, result) in answered { waiter.completion(result) }
        // Pages of a dropped generation may have reached the kernel's cache after it was told
        // to evict them: evict once more now that the good bytes are known.
        if generation > 0 { provider.reportCorruption(descriptor.digest) }
        commit(generation: generation)
    }

    /// Moves a verified, fully cached blob into the store (it becomes local).
    private func commit(generation: UInt64) {
        guard let cache, state.withLock({ $0.generation == generation && !$0.memoryOnly && $0.memory.isEmpty }) else { return }
        do {
            let committed = try writes.withLock { gate throws(ContentStoreError) -> Bool in
                guard gate.generation == generation, gate.caching else { return false }
                try cache.commit(into: provider.store.content)
                return true
            }
            guard committed else { return }
            state.withLock { state in
                state.committed = true
                state.unsynced = []
            }
            provider.logger.info("lazy blob complete and committed to the store", metadata: ["digest": "\(descriptor.digest)", "size": "\(descriptor.size)"])
        } catch {
            provider.logger.error("cannot commit a verified lazy blob into the store", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
        }
    }

    /// The bytes did not match (the blob's digest, or `what` when a part was checked): drop the
    /// cache, fail every waiting read, have the kernel's pages evicted, and say which source sent
    /// what.
    func dropCorrupt(actual: Digest, generation: UInt64, what: String = "blob") {
        let source = state.withLock { sources[$0.sourceIndex % sources.count] }
        let stranded = writes.withLock { gate -> [LazyReadWaiter] in
            guard gate.generation == generation else { return [] }
            gate.generation += 1
            if let cache {
                do {
                    try cache.forgetChunks()
                } catch {
                    gate.caching = false
                    provider.logger.error("cannot drop a corrupt cache entry; serving from memory", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
                }
            }
            return state.withLock { state in
                let waiters = state.reset(algorithm: descriptor.digest.algorithm, sourceCount: sources.count)
                if !gate.caching { state.memoryOnly = true }
                return waiters
            }
        }
        provider.logger.error(
            "\(what) does not match its digest: cache dropped, readers get EIO",
            metadata: ["digest": "\(descriptor.digest)", "actual": "\(actual)", "source": "\(source)"])
        let error = ImagesError(.corruptBlob, "\(what == "blob" ? "blob" : "\(what) of blob") \(descriptor.digest) from \(source) does not match its digest (got \(actual))")
        for waiter in stranded { waiter.completion(.failure(error)) }
        provider.reportCorruption(descriptor.digest)
    }
}
