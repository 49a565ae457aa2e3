import ImageStore

extension LazyBlobMachine {
    /// A read of up to `byteCount` bytes at `offset` (bytes) by a file opened at `openedAt`.
    ///
    /// Answered at once when its bytes are present (and, for the read that covers the last byte
    /// or every read with `--verify strict`, the blob is verified), refused at once while failing
    /// (``FetchFailure``) or when the file was opened at a dropped generation (`.corruptBlob`);
    /// else `waiter` waits, the chunks neither present nor in flight are fetched (adjacent ones
    /// as one fetch) and the rest of the blob is queued for background fetching when wanted.
    package mutating func readRequested(offset: Int64, byteCount: Int, openedAt: UInt64, waiter: LazyReadWaiterID) -> [LazyBlobAction] {
        if generation != openedAt {
            let error = ImagesError(.corruptBlob, "blob \(digest) turned out corrupt while this file was open (it is fetched again): open it again")
            return [.answer(waiter, .failure(error))]
        }
        let end = min(size, offset + Int64(max(0, byteCount)))
        guard offset < end else { return [.answer(waiter, .pieces([]))] }
        let range = offset..<end
        let needsVerification = options.verification == .strict || end == size
        if let answer = answer(range, needsVerification: needsVerification) { return [.answer(waiter, answer)] }
        if let refusal = refuse(range) { return [.answer(waiter, .failure(refusal))] }
        waiters.append(LazyReadWaiter(id: waiter, range: range, needsVerification: needsVerification))
        let plans = planner.plan(read: range)
        activeFetches += plans.count
        prefetchBlocked = false
        var actions: [LazyBlobAction] = plans.map { .fetch(chunks: $0, generation: generation) }
        let wantsBackground = (options.prefetch == .onTouch && hasCacheFile) || (needsVerification && !verified)
        if wantsBackground, !prefetching {
            prefetching = true
            actions.append(.addToBackgroundFetches)
        }
        // Everything may be present already and only the digest missing (a restart).
        return actions + queueWorkerPass()
    }

    /// The answer to a read of `range` if it can be given now: a cache file range when no chunk
    /// of it is held in memory, else the pieces to assemble.
    func answer(_ range: Range<Int64>, needsVerification: Bool) -> LazyReadAnswer? {
        guard planner.isReadable(range), !needsVerification || verified else { return nil }
        let chunks = planner.bitmap.chunks(covering: range)
        if hasCacheFile, !chunks.contains(where: { memory[$0] != nil }) { return .file(range) }
        var pieces: [LazyReadPiece] = []
        for chunk in chunks {
            let chunkRange = planner.bitmap.byteRange(of: chunk)
            let lower = max(range.lowerBound, chunkRange.lowerBound)
            let upper = min(range.upperBound, chunkRange.upperBound)
            if let held = memory[chunk] {
                pieces.append(.held(held[Int(lower - chunkRange.lowerBound)..<Int(upper - chunkRange.lowerBound)]))
            } else if hasCacheFile {
                if case .file(let previous) = pieces.last, previous.upperBound == lower {
                    pieces[pieces.count - 1] = .file(previous.lowerBound..<upper)
                } else {
                    pieces.append(.file(lower..<upper))
                }
            } else {
                return nil
            }
        }
        return .pieces(pieces)
    }

    /// Removes the waiters that can be answered now and returns their answers.
    mutating func answerSatisfiedWaiters() -> [LazyBlobAction] {
        var actions: [LazyBlobAction] = []
        var waiting: [LazyReadWaiter] = []
        for waiter in waiters {
            if let answer = answer(waiter.range, needsVerification: waiter.needsVerification) {
                actions.append(.answer(waiter.id, answer))
            } else {
                waiting.append(waiter)
            }
        }
        waiters = waiting
        return actions
    }

    /// Removes and returns the waiters nothing under way will satisfy (after a failed fetch).
    mutating func takeStrandedWaiters() -> [LazyReadWaiter] {
        let verificationStuck = !verified && (!prefetching || prefetchBlocked) && planner.hasUnplannedChunk(in: hashedUpTo..<size)
        let planner = self.planner
        let isStranded = { (waiter: LazyReadWaiter) in
            planner.hasUnplannedChunk(in: waiter.range) || (waiter.needsVerification && verificationStuck)
        }
        let stranded = waiters.filter(isStranded)
        waiters.removeAll(where: isStranded)
        return stranded
    }
}
