import OCISpec
import Registry
import Testing

private let digest = try! Digest(parsing: "sha256:" + String(repeating: "0f", count: 32))

/// The one stall detector (pull, export's fetches, lazy fetches), driven with explicit instants.
@Suite("TransferWatch")
struct TransferWatchTests {
    let start = ContinuousClock.now

    @Test("a transfer that moves 1 MiB within each limit never stalls, however long it takes")
    func steadyProgress() throws {
        var watch = TransferWatch(digest, limit: .seconds(30), now: start)
        for second in 1...300 {
            try watch.record(1 << 17, at: start + .seconds(second * 3))  // 1 MiB per 24 s
        }
        #expect(!watch.stalled)
    }

    @Test("a trickle (bytes keep coming, under 1 MiB per limit) stalls: .timeout naming the blob")
    func trickle() throws {
        var watch = TransferWatch(digest, limit: .seconds(30), now: start)
        try watch.record(100, at: start + .seconds(10))
        try watch.record(100, at: start + .seconds(30))
        #expect(!watch.stalled)
        let error = #expect(throws: RegistryError.self) { try watch.record(100, at: start + .seconds(31)) }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains(digest.description) == true)
        #expect(watch.stalled)
    }

    @Test("the clock starts again with the response: time spent before it does not count")
    func restartAtResponse() throws {
        var watch = TransferWatch(digest, limit: .seconds(30), now: start)
        watch.restart(at: start + .seconds(100))
        try watch.record(10, at: start + .seconds(120))
        #expect(!watch.stalled)
        #expect(throws: RegistryError.self) { try watch.record(10, at: start + .seconds(131)) }
    }

    @Test("a unit of progress that arrives late still counts: the mark moves on")
    func lateButEnough() throws {
        var watch = TransferWatch(digest, limit: .seconds(30), now: start)
        try watch.record(Int(TransferWatch.progressUnit), at: start + .seconds(45))
        try watch.record(10, at: start + .seconds(70))
        #expect(!watch.stalled)
    }
}
