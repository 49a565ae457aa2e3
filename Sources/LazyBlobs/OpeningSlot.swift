import ImageStore
import NIOConcurrencyHelpers
import Synchronization

/// One lazy blob being set up by its first opener (``LazyBlobProvider``): the other openers of
/// the same digest wait here, and only here, until it is filled once with the blob or the
/// error its set-up ended with.
final class OpeningSlot: Sendable {
    /// Whether the slot is filled; its mutex guards `result`.
    private let filled = ConditionLock(value: false)
    private let result = Mutex<Result<LazyBlob, ImagesError>?>(nil)

    /// Fills the slot (once) and wakes every waiter.
    func fill(_ outcome: Result<LazyBlob, ImagesError>) {
        filled.lock()
        result.withLock { $0 = outcome }
        filled.unlock(withValue: true)
    }

    /// Blocks until the slot is filled, then returns what it holds.
    func wait() -> Result<LazyBlob, ImagesError> {
        filled.lock(whenValue: true)
        defer { filled.unlock() }
        return result.withLock { $0! }
    }
}
