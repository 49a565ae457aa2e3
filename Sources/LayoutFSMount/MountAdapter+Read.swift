import ContentStore
import FUSE
import LayoutFS

extension MountAdapter {
    /// Reads through `LayoutTree.read`. A completion before the call returns is answered at
    /// once; a later one answers the request parked meanwhile (see ``PendingRead``).
    package func read(_ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, byteCount: Int) {
        let pending = PendingRead(registry: parkedReads, inode: inode)
        tree.read(inode: inode, handle: fileHandle, offset: offset, byteCount: byteCount) { [self] result in
            pending.complete(result) { request, result in answer(request, with: result, inode: inode) }
        }
        // A hit is a read answered with bytes without waiting (not one refused at once).
        var served = false
        let parked = pending.finishCall(request) { request, result in
            if case .success = result { served = true }
            answer(request, with: result, inode: inode)
        }
        if !parked && served { MountCounters.add(counters.cacheHits) }
    }

    /// Answers every read still waiting for the tree with `EIO`: the session is about to unmount.
    package func sessionWillEnd() {
        let answered = parkedReads.answerAll(with: .ioError)
        if answered > 0 {
            MountCounters.add(counters.errors, Int64(answered))
            logger.warning("answered \(answered) waiting reads with EIO at shutdown")
        }
    }

    /// Replies smaller than this (bytes) are copied, not spliced: with 16 readers of 4 KiB,
    /// copying served 666 MiB/s against splicing's 515 (scripts/bench, O_DIRECT random reads).
    static let spliceMinimum = 64 << 10

    /// Sends a read result: a file range by `fuse_reply_data` (spliced when negotiated), keeping
    /// the blob file open until the reply is sent; bytes by `fuse_reply_buf`.
    func answer(_ request: consuming Request, with result: Result<ReadResult, LayoutFSError>, inode: UInt64) {
        MountCounters.add(counters.reads)
        switch result {
        case .success(.file(let file, let offset, let byteCount)):
            request.reply(fileDescriptor: file.fileDescriptor, offset: offset, byteCount: byteCount, splice: byteCount >= Self.spliceMinimum)
            withExtendedLifetime(file) {}
            MountCounters.add(counters.bytesServed, Int64(byteCount))
        case .success(.bytes(let bytes)):
            request.reply(bytes: bytes)
            MountCounters.add(counters.bytesServed, Int64(bytes.count))
        case .failure(let error):
            MountCounters.add(counters.errors)
            fail(request, error, "read \(inode)")
        }
    }
}
