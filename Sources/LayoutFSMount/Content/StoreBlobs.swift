import ContentStore
import ImageStore
import LayoutFS
import LazyBlobs
import OCISpec

/// The blobs of a mount of the store: local blobs from the store's files (or the content
/// directory read beside it, `--content`), the others through a ``LazyBlobProvider`` that
/// fetches them from the registry `pull --lazy` recorded. The ``BlobProvider`` the mount gives
/// its ``LayoutTree``.
///
/// Local blob files stay open in an LRU cache (``BlobFileCache``), so reopening one costs no
/// `open` call; a file that changed size is refused (the store was modified), and a file
/// replaced in the store (`layoutfs check --repair`) is noticed at the next open and by
/// ``LocalBlobContent/replacement()``.
package final class StoreBlobs: BlobProvider {
    private let store: Store
    private let lazy: LazyBlobProvider?
    private let remote: (any RemoteBlobReader)?
    private let files: BlobFileCache
    private let remoteReads = RemoteReads()

    /// - Parameters:
    ///   - lazy: serves blobs that are not local; nil for a mount that shows local blobs only.
    ///   - remote: reads the store's remote blobs (``Store/remoteBlobs``) that are not local.
    ///   - openFileLimit: how many blob files stay open in the LRU cache.
    package init(store: Store, lazy: LazyBlobProvider?, remote: (any RemoteBlobReader)? = nil, openFileLimit: Int = 1024) {
        self.store = store
        self.lazy = lazy
        self.remote = remote
        self.files = BlobFileCache(capacity: openFileLimit)
    }

    package func open(_ descriptor: Descriptor) throws(LayoutFSError) -> any FileContent {
        let digest = descriptor.digest
        // A cached file whose path now names another file (or none) was replaced by a repair:
        // its bytes are bad, open the new one.
        if let file = files.cached(digest), !file.isReplaced() {
            return LocalBlobContent(file: try checked(file, descriptor), keepsPages: mayKeepPages(of: file, digest), descriptor: descriptor, blobs: self)
        }
        files.evict(digest)
        if let remote, store.isRemoteOnly(digest) {
            return RemoteBlobContent(reader: remote, descriptor: descriptor, reads: remoteReads)
        }
        let opened: OpenedBlob
        do {
            if let lazy {
                opened = try lazy.open(descriptor)
            } else {
                opened = .local(try store.openBlob(digest))
            }
        } catch {
            throw LayoutFSError(.io, "cannot open blob \(digest): \(error)")
        }
        switch opened {
        case .local(let file):
            let replaced = files.insert(file, for: digest)
            return LocalBlobContent(
                file: try checked(file, descriptor), keepsPages: !replaced && mayKeepPages(of: file, digest), descriptor: descriptor, blobs: self)
        case .lazy(let blob):
            return LazyBlobContent(blob: blob, generation: blob.generation)
        }
    }

    package func state(of descriptor: Descriptor) -> String {
        if remote != nil, store.isRemoteOnly(descriptor.digest) { return "remote" }
        if let lazy { return lazy.state(of: descriptor) }
        return store.hasBlob(descriptor.digest) ? "local" : "missing"
    }

    package func onInvalidate(_ handler: @escaping @Sendable (Digest) -> Void) {
        lazy?.onCorruption(handler)
    }

    package var bytesFetched: Int64 { lazy?.bytesFetched ?? 0 }

    package func readTimedOut(_ digest: Digest, after deadline: Duration) -> String? {
        if remote != nil, let why = remoteReads.timedOut(digest, after: deadline) { return why }
        return lazy?.readTimedOut(digest, after: deadline)
    }

    /// The blob's file opened anew after the one a handle reads was replaced in the store; nil
    /// when it cannot be opened or is not the blob's size yet.
    func reopen(_ descriptor: Descriptor) -> LocalBlobContent? {
        guard let fresh = try? store.openBlob(descriptor.digest), fresh.currentSize() == descriptor.size else { return nil }
        files.evict(descriptor.digest)
        files.insert(fresh, for: descriptor.digest)
        return LocalBlobContent(file: fresh, keepsPages: false, descriptor: descriptor, blobs: self)
    }

    /// The kernel may keep pages of a local blob unless this mount served it unverified while
    /// it was lazy (it may have been committed by someone else since).
    private func mayKeepPages(of file: BlobFile, _ digest: Digest) -> Bool {
        file.size == 0 || lazy?.mayHoldUnverifiedPages(digest) != true
    }

    /// The store's file must still be the blob: one that changed size under us (truncated,
    /// replaced) would be served short, so it is an I/O error instead.
    private func checked(_ file: BlobFile, _ descriptor: Descriptor) throws(LayoutFSError) -> BlobFile {
        let size = file.currentSize()
        guard size == descriptor.size else {
            files.evict(descriptor.digest)
            throw LayoutFSError(
                .io, "blob \(descriptor.digest) in the store has \(size.map(String.init) ?? "no") bytes, expected \(descriptor.size): the store was modified")
        }
        return file
    }
}
