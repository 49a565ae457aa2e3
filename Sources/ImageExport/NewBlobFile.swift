import CLinuxShims
import ImagePull
import ImageStore

#if canImport(Glibc)
import Glibc
#endif

/// A blob file being written into a destination directory, invisible until ``commit(replace:)``:
/// an `O_TMPFILE` given its name with `linkat`, or (where `O_TMPFILE` is missing) a uniquely
/// named, flock'ed temp `.<hex>.<random>.tmp` renamed into place. Dropped uncommitted, nothing
/// stays behind.
final class NewBlobFile {
    /// Open read-write; write the blob's bytes here.
    let fileDescriptor: Int32
    private let name: String
    private let directory: DestinationDirectory
    private var temporaryName: String?

    /// - Throws: `.noSpace`, `.io`.
    init(named name: String, in directory: DestinationDirectory) throws(ImagesError) {
        self.name = name
        self.directory = directory
        var fd = lfs_open_tmpfile(directory.fileDescriptor, 0o644)
        if fd < 0 {
            let candidate = ".\(name).\(UInt64.random(in: 0...UInt64.max)).tmp"
            fd = directory.openFile(candidate, O_RDWR | O_CREAT | O_EXCL, mode: 0o644)
            guard fd >= 0 else { throw BlobCopier.failure(errno, "cannot create a file in \(directory.path)") }
            flock(fd, LOCK_EX)
            temporaryName = candidate
        }
        fileDescriptor = fd
    }

    deinit {
        close(fileDescriptor)
        if let temporaryName { unlinkat(directory.fileDescriptor, temporaryName, 0) }
    }

    /// Syncs the data and gives the file its name, replacing what is there when `replace` is
    /// set (else another writer's file of the same name wins: same blob).
    /// - Throws: `.noSpace`, `.io`.
    func commit(replace: Bool) throws(ImagesError) {
        guard fdatasync(fileDescriptor) == 0 else { throw BlobCopier.failure(errno, "cannot sync \(directory.path)/\(name)") }
        if let temporary = temporaryName {
            guard renameat(directory.fileDescriptor, temporary, directory.fileDescriptor, name) == 0 else {
                throw BlobCopier.failure(errno, "cannot name \(directory.path)/\(name)")
            }
            temporaryName = nil
            return
        }
        if replace {
            let staged = ".\(name).\(UInt64.random(in: 0...UInt64.max)).tmp"
            guard lfs_link_tmpfile(fileDescriptor, directory.fileDescriptor, staged) == 0 else {
                throw BlobCopier.failure(errno, "cannot name \(directory.path)/\(name)")
            }
            guard renameat(directory.fileDescriptor, staged, directory.fileDescriptor, name) == 0 else {
                let e = errno
                unlinkat(directory.fileDescriptor, staged, 0)
                throw BlobCopier.failure(e, "cannot replace \(directory.path)/\(name)")
            }
        } else if lfs_link_tmpfile(fileDescriptor, directory.fileDescriptor, name) != 0 && errno != EEXIST {
            // EEXIST: another materialization committed the same blob meanwhile.
            throw BlobCopier.failure(errno, "cannot name \(directory.path)/\(name)")
        }
    }
}
