import Dispatch
import LayerIndex
import OCISpec

/// Hashes a layer's uncompressed stream on a serial queue of its own, so that SHA-256 (a third
/// of a layer's indexing time here) overlaps decompression and tar parsing. At most
/// ``inFlight`` pieces wait; the scanner waits beyond that.
final class BackgroundHasher: StreamHasher, @unchecked Sendable {
    /// Pieces (up to 1 MiB each from the inflater) queued at most.
    static let inFlight = 8

    private let queue = DispatchQueue(label: "layoutfs.diff-id")
    private let room = DispatchSemaphore(value: inFlight)
    // Touched only on `queue`.
    private var hasher = DigestHasher(.sha256)

    func update(_ piece: [UInt8]) {
        room.wait()
        queue.async { [self] in
            hasher.update(piece)
            room.signal()
        }
    }

    func finalize() -> Digest {
        queue.sync { hasher.finalize() }
    }
}
