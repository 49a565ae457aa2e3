import OCISpec

/// The one stall detector of blob transfers (pull, export's fetches, the mount's lazy
/// fetches): catches a registry that trickles bytes, never silent long enough for the read
/// timeout. A transfer must move ``progressUnit`` bytes within each `limit`, the clock starting
/// when the response arrives (retries of the request itself are the client's).
package struct TransferWatch: Sendable {
    /// Bytes that count as progress: 1 MiB (the lazy fetch's chunk size).
    package static let progressUnit: Int64 = 1 << 20

    private let digest: Digest
    private let limit: Duration
    private var markTime: ContinuousClock.Instant
    private var markBytes: Int64 = 0
    private var bytes: Int64 = 0
    /// True once ``record(_:at:)`` has thrown: the transfer stalled.
    package private(set) var stalled = false

    /// - Parameters:
    ///   - digest: the blob, for the error message.
    ///   - limit: longest time to move ``progressUnit`` bytes.
    ///   - now: when the watch starts (until ``restart(at:)``).
    package init(_ digest: Digest, limit: Duration, now: ContinuousClock.Instant = .now) {
        self.digest = digest
        self.limit = limit
        markTime = now
    }

    /// The response arrived (or a unit of progress was made): the clock starts again.
    package mutating func restart(at now: ContinuousClock.Instant = .now) {
        markTime = now
        markBytes = bytes
    }

    /// Counts `byteCount` more bytes, received at `now`.
    /// - Throws: `RegistryError` `.timeout` when less than ``progressUnit`` bytes moved within
    ///   `limit` since the last mark (and sets ``stalled``).
    package mutating func record(_ byteCount: Int, at now: ContinuousClock.Instant = .now) throws(RegistryError) {
        bytes += Int64(byteCount)
        if bytes - markBytes >= Self.progressUnit {
            restart(at: now)
        } else if markTime.duration(to: now) > limit {
            stalled = true
            throw RegistryError(.timeout, "blob \(digest) moved less than 1 MiB in \(limit)")
        }
    }
}
