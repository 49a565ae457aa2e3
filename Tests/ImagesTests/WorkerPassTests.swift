import Testing

@testable import ImageStore
@testable import LazyBlobs

/// The machine runs one worker pass (sync, hash, commit) of a blob at a time, whatever thread
/// its driver runs passes on: a pass asked for while one runs is queued when it ends.
@Suite("lazy blobs: one worker pass at a time")
struct WorkerPassTests {
    static func isRunWorkerPass(_ actions: [LazyBlobAction]) -> Bool {
        actions.count == 1 && actions.allSatisfy { if case .runWorkerPass = $0 { true } else { false } }
    }

    @Test("a chunk that arrives during a pass queues no second pass until the first ends, then exactly one")
    func passesNeverOverlap() {
        var blob = MachineDriver(content: LazyBlobMachineTests.ten, options: LazyBlobMachineTests.noPrefetch)
        blob.read(0, 8)
        blob.arrive(0)
        #expect(blob.workerPasses == 1, "the arrival queued a pass")
        // The pass starts (its actions are not performed yet: it is running).
        let pass = blob.machine.workerPassStarted(now: blob.now)
        blob.workerPasses -= 1
        blob.arrive(1)
        #expect(blob.workerPasses == 0, "a pass runs: no second one is queued beside it")
        blob.perform(pass)
        #expect(Self.isRunWorkerPass(blob.machine.workerPassEnded()), "the arrival's pass is queued once the first ended")
        #expect(blob.machine.workerPassEnded().isEmpty, "no pass runs: nothing to end")
        let second = blob.machine.workerPassStarted(now: blob.now)
        blob.perform(second)
        #expect(blob.machine.workerPassEnded().isEmpty, "nothing asked for a pass meanwhile")
        #expect(blob.hashedChunks == [0, 1])
    }

    @Test("while a pass is queued and not started, more arrivals queue nothing more")
    func queuedOnce() {
        var blob = MachineDriver(content: LazyBlobMachineTests.ten, options: LazyBlobMachineTests.noPrefetch)
        blob.read(0, 10)
        blob.arrive(0)
        blob.arrive(1)
        blob.arrive(2)
        #expect(blob.workerPasses == 1)
        blob.runWorker()
        #expect(blob.workerPasses == 0)
        #expect(blob.hashedChunks == [0, 1, 2])
    }
}
