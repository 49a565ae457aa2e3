import ImageStore
import LazyBlobs
import Synchronization

/// Bytes and blobs done across concurrent downloads, reported as they change.
package final class ProgressCounter: Sendable {
    private let state: Mutex<Puller.Progress>
    private let report: @Sendable (Puller.Progress) -> Void

    package init(total: Int64, blobs: Int, report: @escaping @Sendable (Puller.Progress) -> Void) {
        state = Mutex(Puller.Progress(bytesDone: 0, bytesTotal: total, blobsDone: 0, blobsTotal: blobs))
        self.report = report
    }

    func add(bytes: Int64) {
        report(
            state.withLock {
                $0.bytesDone += bytes
                return $0
            })
    }

    func finishBlob() {
        report(
            state.withLock {
                $0.blobsDone += 1
                return $0
            })
    }
}
