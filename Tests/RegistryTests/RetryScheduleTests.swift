import Testing

@testable import Registry

@Suite("retry schedule and announcements")
struct RetryScheduleTests {
    @Test("a refused connection waits 0.5, 1, 2, 4 s by default: 7.5 s in all, well under 10 s")
    func defaultConnectionSchedule() {
        let configuration = RegistryConfiguration()
        #expect(configuration.maximumAttempts == 5)
        let delays = (1..<configuration.maximumAttempts).map { configuration.connectionRetryDelay(after: $0) }
        #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4)])
        #expect(delays.reduce(.zero, +) == .milliseconds(7500))
    }

    @Test("longer schedules are capped at maximumBackoff per wait")
    func capped() {
        let configuration = RegistryConfiguration(retries: 10)
        #expect(configuration.connectionRetryDelay(after: 5) == .seconds(8))
        #expect(configuration.connectionRetryDelay(after: 6) == .seconds(10))
        #expect(configuration.connectionRetryDelay(after: 10) == .seconds(10))
        #expect(RegistryConfiguration(retries: 0).maximumAttempts == 1)
    }

    @Test(
        "an announcement reads as the CLI prints it",
        arguments: [
            (Duration.seconds(2), "retrying in 2 s (attempt 2 of 5): connection refused (127.0.0.1:5999)"),
            (.milliseconds(500), "retrying in 0.5 s (attempt 2 of 5): connection refused (127.0.0.1:5999)"),
            (.milliseconds(1254), "retrying in 1.25 s (attempt 2 of 5): connection refused (127.0.0.1:5999)"),
            (.milliseconds(203), "retrying in 0.2 s (attempt 2 of 5): connection refused (127.0.0.1:5999)"),
        ])
    func announcement(delay: Duration, expected: String) {
        let retry = RegistryRetry(attempt: 2, maximumAttempts: 5, delay: delay, reason: "connection refused (127.0.0.1:5999)")
        #expect(retry.description == expected)
    }
}
