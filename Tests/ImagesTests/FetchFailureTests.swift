import OCISpec
import Testing

@testable import ImageStore
@testable import LazyBlobs

/// The failing state of a lazy blob (issue 12, case 3), through the state machine's events:
/// a read deadline or a failed fetch, refused reads, probes and their back-off, recovery.
@Suite("lazy blobs: the failing state")
struct FetchFailureTests {
    static let ten = LazyBlobMachineTests.ten

    private func blob() -> MachineDriver {
        MachineDriver(content: Self.ten, options: LazyBlobMachineTests.noPrefetch)
    }

    @Test("entering fails every waiter and schedules one probe; again while scheduled, none; after a probe ran, a doubled one")
    func enterAndBackoff() {
        var blob = blob()
        let one = blob.read(0, 4)
        let two = blob.read(4, 4)
        blob.perform(blob.machine.readTimedOut(ImagesError(.io, "connection refused")))
        #expect(blob.error(one.waiter)?.message == "connection refused")
        #expect(blob.error(two.waiter)?.message == "connection refused")
        #expect(blob.machine.waiters.isEmpty)
        #expect(blob.probes.map(\.delay) == [.seconds(1)])
        let epoch = blob.probes.first?.epoch
        blob.perform(blob.machine.readTimedOut(ImagesError(.io, "still refused")))
        #expect(blob.probes.count == 1, "a probe is scheduled already")
        #expect(blob.machine.failing?.error.message == "still refused")
        // Each probe fetches the refused read's chunks, the fetch fails: the next wait doubles, up to 8 s.
        for _ in 0..<5 {
            blob.read(8, 1)
            blob.perform(blob.machine.probeDue(epoch: epoch!))
            #expect(blob.fetches.last?.chunks == 2..<3)
            blob.failFetch("refused")
        }
        #expect(blob.probes.allSatisfy { $0.epoch == epoch })
        #expect(blob.probes.map(\.delay) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
    }

    @Test("while failing, a read of missing bytes is refused at once with the fetch error and remembered for the probe; a chunk ends it")
    func refuseAndClear() {
        var blob = blob()
        let waits = blob.read(0, 4)
        #expect(blob.answers[waits.waiter] == nil, "not failing: the read waits")
        blob.failFetch("fetching sha256:ab failed: connection refused")
        #expect(blob.error(waits.waiter)?.message.contains("connection refused") == true, "the failed fetch fails its reader")
        #expect(blob.machine.lastFetchError?.contains("connection refused") == true)
        let refused = blob.read(5, 2)
        #expect(refused.actions.fetchedChunks.isEmpty && blob.machine.waiters.isEmpty, "refused at once, nothing fetched")
        let refusal = blob.error(refused.waiter)
        #expect(refusal?.message.contains("connection refused") == true)
        #expect(refusal?.message.contains("retrying in the background") == true)
        #expect(blob.machine.failing?.refusedRange == 5..<7)
        // The probe fetches the refused read's chunk; it arrives: fetching works again.
        blob.perform(blob.machine.probeDue(epoch: 1))
        #expect(blob.fetches.map(\.chunks) == [1..<2])
        blob.runFetches()
        #expect(blob.machine.failing == nil && blob.machine.lastFetchError == nil)
        let after = blob.read(8, 1)
        #expect(blob.answers[after.waiter] == nil && after.actions.fetchedChunks == [2..<3], "the read waits for its fetch")
        // A new episode gets a new epoch: an old episode's probe finds nothing to do.
        blob.perform(blob.machine.readTimedOut(ImagesError(.io, "x")))
        #expect(blob.probes.last?.epoch == 2)
        let oldProbe = blob.machine.probeDue(epoch: 1)
        #expect(oldProbe.isEmpty)
        #expect(blob.machine.failing?.epoch == 2)
    }

    @Test(
        "a read deadline: waiters fail at once, new reads of missing bytes are refused at once, present bytes still read; a probe with no refused read since ends the episode"
    )
    func readDeadline() {
        var blob = blob()
        blob.read(0, 4)
        blob.runFetches()
        let stuck = blob.read(4, 4)
        blob.perform(blob.machine.readTimedOut(ImagesError(.io, "no bytes arrived within 3 s: the registry has not answered")))
        #expect(blob.error(stuck.waiter)?.message.contains("has not answered") == true)
        let present = blob.read(0, 4)
        #expect(blob.bytes(present.waiter) == Array("0123".utf8), "present bytes are served while failing")
        let missing = blob.read(4, 4)
        #expect(blob.error(missing.waiter)?.message.contains("retrying in the background") == true)
        // The probe fetches; the stalled fetch of chunk 1 is still in flight, so it looks again later.
        blob.perform(blob.machine.probeDue(epoch: 1))
        #expect(blob.fetches.count == 1, "chunk 1 is in flight already: no second fetch")
        #expect(blob.probes.map(\.delay) == [.seconds(1), .seconds(1)])
        blob.perform(blob.machine.probeDue(epoch: 1))
        #expect(blob.machine.failing == nil, "nobody asked since the last probe: the episode ends")
        let next = blob.read(4, 4)
        #expect(blob.answers[next.waiter] == nil, "the next read waits again")
        blob.runFetches()
        #expect(blob.bytes(next.waiter) == Array("4567".utf8))
    }
}
