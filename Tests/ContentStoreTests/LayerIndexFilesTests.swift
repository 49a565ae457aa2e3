import ContentStore
import Dispatch
import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The store's layer index files: what stands where one goes and is not one is ignored at once
/// (the mount builds the index again), never waited on.
@Suite("layer index files")
struct LayerIndexFilesTests {
    @Test("a FIFO, a directory or a symlink where an index goes loads as none, without blocking; a kept index loads")
    func notRegularFiles() throws {
        try withTemporaryDirectory { root in
            let files = LayerIndexFiles(location: StoreLocation(root: root))
            let layer = digest(Array("layer".utf8))
            try files.store([1, 2, 3], for: layer)
            #expect(files.load(layer) == [1, 2, 3])
            let path = "\(root)/layer-index/sha256/\(layer.encoded)"
            unlink(path)
            #expect(mkfifo(path, 0o600) == 0)
            // Without O_NONBLOCK the open waits for a writer: the test opens one after 10 s so
            // that the loading thread ends either way.
            let done = DispatchSemaphore(value: 0)
            let loaded = LoadResult()
            Thread.detachNewThread {
                loaded.bytes = files.load(layer)
                done.signal()
            }
            let returned = done.wait(timeout: .now() + 10) == .success
            if !returned {
                let writer = open(path, O_WRONLY | O_NONBLOCK)
                done.wait()
                close(writer)
            }
            #expect(returned, "load waited on a FIFO")
            #expect(loaded.bytes == nil)
            unlink(path)
            #expect(mkdir(path, 0o700) == 0)
            #expect(files.load(layer) == nil)
            rmdir(path)
            #expect(symlink("/etc/hostname", path) == 0)
            #expect(files.load(layer) == nil)
        }
    }
}

/// What the loading thread read, handed to the test after its semaphore.
private final class LoadResult: @unchecked Sendable {
    var bytes: [UInt8]?
}
