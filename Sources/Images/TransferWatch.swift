import OCISpec
import Registry

/// Catches a registry that trickles bytes (never silent long enough for a read timeout): a
/// whole-blob transfer must move 1 MiB within each `limit`, counted from the response.
struct TransferWatch {
    private let digest: Digest
    private let limit: Duration
    private var markTime = ContinuousClock.now
    private var markBytes: Int64 = 0
    private var bytes: Int64 = 0

    init(_ digest: Digest, limit: Duration) {
        self.digest = digest
        self.limit = limit
    }

    /// The response arrived: the clock starts (retries of the request are the client's).
    mutating func restart() {
        markTime = .now
        markBytes = bytes
    }

    /// Counts `count` more bytes.
    /// - Throws: `RegistryError.timeout` when less than 1 MiB moved in `limit`.
    mutating func record(_ count: Int) throws(RegistryError) {
        bytes += Int64(count)
        if bytes - markBytes >= 1 << 20 {
            restart()
        } else if markTime.duration(to: .now) > limit {
            throw RegistryError(.timeout, "blob \(digest) moved less than 1 MiB in \(limit)")
        }
    }
}
