import OCISpec
import Testing

@testable import Images

/// The failing state of a lazy blob (issue 12, case 3): a pure value, driven by hand.
@Suite("lazy blobs: the failing state")
struct FetchFailureTests {
    let mib: Int64 = 1 << 20

    private func state() -> LazyBlobState {
        LazyBlobState(size: 4 * mib, algorithm: .sha256, chunks: ChunkBitmap(size: 4 * mib), maximumRangeSize: 4 * mib, memoryOnly: true)
    }

    private func waiter(_ range: Range<Int64>) -> LazyReadWaiter {
        LazyReadWaiter(range: range, needsVerification: false) { _ in }
    }

    @Test("entering fails every waiter and schedules one probe; again while scheduled, none; after a probe ran, a doubled one")
    func enterAndBackoff() {
        var state = state()
        state.waiters = [waiter(0..<10), waiter(2 * mib..<2 * mib + 10)]
        let first = state.enterFailing(ImagesError(.io, "connection refused"))
        #expect(first.waiters.count == 2 && state.waiters.isEmpty)
        #expect(first.probe?.delay == .seconds(1))
        let epoch = first.probe?.epoch
        #expect(state.enterFailing(ImagesError(.io, "still refused")).probe == nil, "a probe is scheduled already")
        #expect(state.failing?.error.message == "still refused")
        // The probe ran and its fetch failed: the next wait doubles, up to 8 s.
        var delays: [Duration] = []
        for _ in 0..<5 {
            state.failing?.probeScheduled = false
            let again = state.enterFailing(ImagesError(.io, "refused"))
            #expect(again.probe?.epoch == epoch)
            delays.append(again.probe?.delay ?? .zero)
        }
        #expect(delays == [.seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
    }

    @Test("while failing, a read of missing bytes is refused at once with the fetch error and remembered for the probe; a chunk ends it")
    func refuseAndClear() {
        var state = state()
        #expect(state.refuse(0..<10) == nil, "not failing: the read waits")
        _ = state.enterFailing(ImagesError(.io, "fetching sha256:ab failed: connection refused"))
        let refusal = state.refuse(mib..<mib + 100)
        #expect(refusal?.message.contains("connection refused") == true)
        #expect(refusal?.message.contains("retrying in the background") == true)
        #expect(state.failing?.refusedRange == mib..<mib + 100)
        state.lastFetchError = "connection refused"
        state.clearFailure()
        #expect(state.failing == nil && state.lastFetchError == nil)
        #expect(state.refuse(0..<10) == nil)
        // A new episode gets a new epoch: an old episode's probe finds nothing to do.
        let next = state.enterFailing(ImagesError(.io, "x"))
        #expect(next.probe?.epoch == 2)
    }
}
