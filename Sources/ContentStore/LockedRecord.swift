import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A small record that lives exactly as long as the process holding it (DESIGN.md "On disk":
/// `leases/<id>`, `mounts/<id>`): `<id>.lock` is `flock`ed by the holder, and the kernel frees
/// it when the holder dies, however it dies; `<id>.json` holds the content, replaced atomically
/// (temp + rename) so readers never see half of it.
///
/// A record whose lock nobody holds is stale: ``live(in:)`` removes it.
package final class LockedRecord: Sendable {
    /// The directory holding the record.
    package let directory: String
    /// Random hex.
    package let id: String
    private let lockFD: Int32
    private let removed = Atomic(false)

    /// Creates and holds a record with `contents` in `directory` (created 0700 when missing).
    /// - Throws: `.io` (`.noSpace` on a full disk).
    package init(in directory: String, contents: [UInt8]) throws(ContentStoreError) {
        try FileSystemCalls.makeDirectories(directory)
        id = FileSystemCalls.randomHex()
        self.directory = directory
        // The lock first, held before it gets its name: a reader never finds it unheld while
        // its holder lives, and a reader that sees the content file always finds its lock.
        let temporary = "\(directory)/.\(id).lock.tmp"
        lockFD = try FileSystemCalls.openFile(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW)
        flock(lockFD, LOCK_EX)
        guard rename(temporary, "\(directory)/\(id).lock") == 0 else {
            let e = errno
            unlink(temporary)
            close(lockFD)
            throw ContentStoreError(.io, "cannot create \(directory)/\(id).lock", errno: e)
        }
        do {
            try update(contents)
        } catch {
            unlink("\(directory)/\(id).lock")
            close(lockFD)
            throw error
        }
    }

    deinit {
        remove()
        close(lockFD)
    }

    /// Removes the record's files now (idempotent; the lock stays held until deinit). A holder
    /// about to exit calls it: the last reference may go on another thread after the process
    /// ended, and then the files stay behind, unlocked, until ``live(in:)`` removes them.
    package func remove() {
        guard !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        unlink("\(directory)/\(id).json")
        unlink("\(directory)/\(id).lock")
    }

    /// Replaces the content atomically.
    /// - Throws: `.io`, `.noSpace`.
    package func update(_ contents: [UInt8]) throws(ContentStoreError) {
        let temporary = "\(directory)/.\(id).json.tmp"
        let fd = try FileSystemCalls.openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW)
        defer { close(fd) }
        let failure = contents.withUnsafeBytes { raw -> ContentStoreError? in
            do throws(ContentStoreError) {
                try FileSystemCalls.writeAll(fd, raw, what: temporary)
                return nil
            } catch {
                return error
            }
        }
        // A failed write (a full disk) leaves no temp behind: nothing else removes it.
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, "\(directory)/\(id).json") == 0 else {
            let e = errno
            unlink(temporary)
            throw ContentStoreError(.io, "cannot write \(directory)/\(id).json", errno: e)
        }
    }

    /// The content of every live record in `directory` (id, bytes, or nil when a live record's
    /// content cannot be read: a caller that relies on it must stop). Stale records (no holder)
    /// are removed on the way unless `removeStale` is false; what is not a regular file is
    /// skipped (a FIFO must not hang the reader).
    package static func live(in directory: String, removeStale: Bool = true) -> [(id: String, contents: [UInt8]?)] {
        var records: [(id: String, contents: [UInt8]?)] = []
        for name in FileSystemCalls.listDirectory(directory) where name.hasSuffix(".lock") && !name.hasPrefix(".") {
            let id = String(name.dropLast(".lock".count))
            let fd = open("\(directory)/\(name)", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard isRegularFile(fd) else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                // Nobody holds it: its holder died.
                if removeStale {
                    unlink("\(directory)/\(id).json")
                    unlink("\(directory)/\(name)")
                }
                continue
            }
            let contentFD = open("\(directory)/\(id).json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard contentFD >= 0, isRegularFile(contentFD) else {
                if contentFD >= 0 { close(contentFD) }
                records.append((id, nil))
                continue
            }
            var st = stat()
            fstat(contentFD, &st)
            let file = BlobFile(fileDescriptor: contentFD, size: Int64(st.st_size))
            records.append((id, st.st_size <= 64 << 20 ? try? file.readAll() : nil))
        }
        return records
    }

    private static func isRegularFile(_ fd: Int32) -> Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}
