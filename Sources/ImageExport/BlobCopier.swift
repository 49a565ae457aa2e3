import BlockingWork
import CLinuxShims
import ContentStore
import Dispatch
import ImagePull
import ImageStore
import OCISpec
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Copies one blob into a destination directory, verified and invisible until complete.
///
/// Data path: `FICLONE` (reflink), else `copy_file_range` looped over short counts, else
/// read/write; `EXDEV`/`EOPNOTSUPP`/`EINVAL`/`ENOSYS` mean "fall back". When the kernel moves
/// the bytes (copy_file_range) the source is hashed on the blocking pool (`BlockingWork`) while
/// the copy runs on the caller's thread; after a reflink it is hashed on the caller's thread;
/// with read/write the buffer is hashed. Blocks: never call it on a thread of the blocking
/// pool (it would wait for the pool). The file is an `O_TMPFILE` given its name with
/// `linkat` once complete and synced (or a unique temp + rename where `O_TMPFILE` is missing).
enum BlobCopier {
    /// How the bytes were moved.
    enum Method: String {
        case reflink
        case copyFileRange = "copy_file_range"
        case readWrite = "read/write"
    }

    /// Copies `source` (a blob of `descriptor`) to `directory/<hex>`, replacing what is there
    /// when `replace` is set.
    /// - Throws: `.corruptBlob` when the source does not hash to the digest (nothing is
    ///   written), `.noSpace` (the temp is removed), `.io`.
    @discardableResult
    static func copy(_ source: BlobFile, descriptor: Descriptor, into directory: DestinationDirectory, replace: Bool) throws(ImagesError) -> Method {
        let file = try NewBlobFile(named: descriptor.digest.encoded, in: directory)
        let method = try copyData(from: source, to: file.fileDescriptor, descriptor: descriptor)
        try file.commit(replace: replace)
        return method
    }

    /// Bytes per `copy_file_range` call; writeback of each step is started at once.
    static let copyStep: Int64 = 32 << 20

    static func failure(_ code: Int32, _ what: String) -> ImagesError {
        if ImagesError.Code(errno: code) == .noSpace {
            return ImagesError(.noSpace, "\(what): the disk is full (free space and run the command again)")
        }
        return ImagesError(.io, "\(what): \(String(cString: strerror(code)))")
    }

    private static func copyData(from source: BlobFile, to fd: Int32, descriptor: Descriptor) throws(ImagesError) -> Method {
        let size = descriptor.size
        guard source.size == size else {
            throw ImagesError(.corruptBlob, "store blob \(descriptor.digest) has \(source.size) bytes, its descriptor says \(size)")
        }
        // Reflink or copy_file_range: the kernel moves the bytes; hash the source meanwhile.
        var method: Method?
        var copyError: Int32 = 0
        let hashed = HashOutcome()
        let group = DispatchGroup()
        if size > 0 {
            if lfs_ficlone(fd, source.fileDescriptor) == 0 {
                method = .reflink
            } else {
                var inOffset: Int64 = 0
                var outOffset: Int64 = 0
                let first = lfs_copy_file_range(source.fileDescriptor, &inOffset, fd, &outOffset, Int(min(size, Self.copyStep)))
                if first > 0 || (first == 0 && size == 0) {
                    method = .copyFileRange
                    group.enter()
                    BlockingWork.submit {
                        hashed.result = hashFile(source, descriptor: descriptor)
                        group.leave()
                    }
                    // The disk writes start while the source is still being hashed, so the
                    // final fdatasync has little left to wait for.
                    _ = lfs_start_writeback(fd, 0, outOffset)
                    while inOffset < size {
                        let start = outOffset
                        let n = lfs_copy_file_range(source.fileDescriptor, &inOffset, fd, &outOffset, Int(min(size - inOffset, Self.copyStep)))
                        if n < 0 {
                            if errno == EINTR { continue }
                            copyError = errno
                            break
                        }
                        if n == 0 {
                            copyError = EIO
                            break
                        }
                        _ = lfs_start_writeback(fd, start, outOffset - start)
                    }
                } else if first < 0, ![EXDEV, EOPNOTSUPP, EINVAL, ENOSYS, EBADF].contains(errno) {
                    throw failure(errno, "cannot copy blob \(descriptor.digest)")
                }
            }
            if method == .reflink { hashed.result = hashFile(source, descriptor: descriptor) }
        }
        group.wait()
        if copyError != 0 { throw failure(copyError, "cannot copy blob \(descriptor.digest)") }
        guard let method else {
            try readWrite(source, to: fd, descriptor: descriptor)
            return .readWrite
        }
        let digest = try hashed.result.get()
        guard digest == descriptor.digest else {
            throw ImagesError(.corruptBlob, "store blob \(descriptor.digest) is corrupt: it hashes to \(digest)")
        }
        return method
    }

    static func hashFile(_ source: BlobFile, descriptor: Descriptor) -> Result<Digest, ImagesError> {
        Result { () throws(ImagesError) in try stream(source, descriptor: descriptor, to: nil) }
    }

    private static func readWrite(_ source: BlobFile, to fd: Int32, descriptor: Descriptor) throws(ImagesError) {
        let digest = try stream(source, descriptor: descriptor, to: fd)
        guard digest == descriptor.digest else {
            throw ImagesError(.corruptBlob, "store blob \(descriptor.digest) is corrupt: it hashes to \(digest)")
        }
    }

    /// Reads the source in 1 MiB `pread`s, hashing each buffer and writing it to `fd` when given.
    private static func stream(_ source: BlobFile, descriptor: Descriptor, to fd: Int32?) throws(ImagesError) -> Digest {
        var hasher = DigestHasher(descriptor.digest.algorithm)
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        let input = FileDescriptor(rawValue: source.fileDescriptor)
        while offset < descriptor.size {
            let n: Int
            do {
                n = try input.read(fromAbsoluteOffset: offset, into: buffer)
            } catch {
                throw failure(Errno(thrownBy: error).rawValue, "cannot read store blob \(descriptor.digest)")
            }
            if n == 0 { throw ImagesError(.corruptBlob, "store blob \(descriptor.digest) is truncated") }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(slice)
            if let fd {
                do {
                    _ = try FileDescriptor(rawValue: fd).writeAll(slice)
                } catch {
                    throw failure(Errno(thrownBy: error).rawValue, "cannot write blob \(descriptor.digest)")
                }
            }
            offset += Int64(n)
        }
        return hasher.finalize()
    }
}

/// The hashing job's result; written before `DispatchGroup.leave`, read after `wait`.
private final class HashOutcome: @unchecked Sendable {
    var result: Result<Digest, ImagesError> = .failure(ImagesError(.io, "not hashed"))
}
