import CFUSE
import SystemPackage

extension Request {
    /// Answers `read`, `readdir`, `getxattr` or `listxattr` with bytes (`fuse_reply_buf`). The
    /// bytes are copied before this returns.
    public consuming func reply(bytes: UnsafeRawBufferPointer) {
        finish { fuse_reply_buf($0, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count) }
    }

    /// Answers with bytes (`fuse_reply_buf`); see ``reply(bytes:)-(UnsafeRawBufferPointer)``.
    public consuming func reply(bytes: [UInt8]) {
        finish { raw in
            bytes.withUnsafeBytes { buffer in
                _ = fuse_reply_buf(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
            }
        }
    }

    /// Answers `read` with `byteCount` bytes of an open file at `offset` (`fuse_reply_data` with
    /// one `FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK` buffer).
    ///
    /// libfuse splices the bytes from `fileDescriptor` to the kernel when `FUSE_CAP_SPLICE_WRITE`
    /// was negotiated and the reply is at least two pages, else `pread`s them. Fewer bytes are
    /// sent if the file ends first. If reading the file fails, libfuse answers that error. The
    /// descriptor is only used during this call; keep it open until the call returns. The file
    /// position is not used or changed.
    ///
    /// - Parameters:
    ///   - offset: byte offset in the file.
    ///   - byteCount: bytes to send, at most the request's `byteCount`.
    ///   - splice: false sends by `pread` even when splicing was negotiated
    ///     (`FUSE_BUF_NO_SPLICE`): for small replies the two splices and the pipe cost more than
    ///     the copy.
    public consuming func reply(fileDescriptor: Int32, offset: Int64, byteCount: Int, splice: Bool = true) {
        var bufvec = cfuse_bufvec_fd(fileDescriptor, off_t(offset), max(0, byteCount))
        let flags = fuse_buf_copy_flags(rawValue: splice ? 0 : FUSE_BUF_NO_SPLICE.rawValue)
        finish { fuse_reply_data($0, &bufvec, flags) }
    }

    /// Answers a size probe of `getxattr` or `listxattr` (`fuse_reply_xattr`): the number of
    /// bytes the value or name list has.
    public consuming func reply(xattrSize: Int) {
        finish { fuse_reply_xattr($0, xattrSize) }
    }

    /// Answers `getxattr` with the value, following the `getxattr(2)` protocol: `requestedSize`
    /// 0 gets the value's size (``reply(xattrSize:)``), a `requestedSize` smaller than the value
    /// gets `ERANGE`, else the value (`fuse_reply_buf`).
    public consuming func reply(xattrValue: [UInt8], requestedSize: Int) {
        if requestedSize == 0 {
            reply(xattrSize: xattrValue.count)
        } else if xattrValue.count > requestedSize {
            reply(error: .outOfRange)
        } else {
            reply(bytes: xattrValue)
        }
    }

    /// Answers `listxattr` with `names` (each sent NUL-terminated), following the `listxattr(2)`
    /// protocol as ``reply(xattrValue:requestedSize:)`` does. An empty list is an empty reply.
    public consuming func reply(xattrNames names: [String], requestedSize: Int) {
        var list: [UInt8] = []
        for name in names {
            list.append(contentsOf: name.utf8)
            list.append(0)
        }
        reply(xattrValue: list, requestedSize: requestedSize)
    }
}
