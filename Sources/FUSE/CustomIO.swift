import CFUSE
import Glibc
import Synchronization

/// The session's reads and writes of /dev/fuse when it mounted the device itself
/// (`fuse_session_custom_io`, libfuse 3.14): plain read(2), writev(2) and splice(2), except that
/// `FUSE_INIT` is looked at on its way in (does the kernel offer `FUSE_PASSTHROUGH`?) and its
/// reply amended on its way out (libfuse 3.14 never asks for passthrough): `FUSE_PASSTHROUGH`
/// in `flags2` and `max_stack_depth` 1 (backing files on a file system that stacks none, such
/// as ext4 or xfs; the mount itself can still be an overlayfs lower layer). Kernel:
/// fs/fuse/inode.c `process_init_reply`; protocol: include/uapi/linux/fuse.h 7.40.
enum CustomIO {
    /// Requests read-only: replies are written with writev (and splice for file-descriptor
    /// replies), requests read with read(2), so that `FUSE_INIT` is always seen here.
    static func make() -> fuse_custom_io {
        var io = fuse_custom_io()
        io.read = { fd, buffer, length, userdata in
            let count = Glibc.read(fd, buffer, length)
            if count >= 40 + 20, let buffer, let userdata, buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == UInt32(LFS_FUSE_INIT) {
                let context = Unmanaged<SessionContext>.fromOpaque(userdata).takeUnretainedValue()
                let flags = buffer.loadUnaligned(fromByteOffset: 40 + Int(LFS_INIT_IN_FLAGS), as: UInt32.self)
                let flags2 = flags & LFS_FUSE_INIT_EXT != 0 ? buffer.loadUnaligned(fromByteOffset: 40 + Int(LFS_INIT_IN_FLAGS2), as: UInt32.self) : 0
                context.passthrough.sawInit(
                    unique: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self), offered: flags2 & LFS_FUSE_PASSTHROUGH_FLAGS2 != 0)
            }
            return count
        }
        io.writev = { fd, vectors, count, userdata in
            if let vectors, let userdata, count >= 2 {
                let context = Unmanaged<SessionContext>.fromOpaque(userdata).takeUnretainedValue()
                if let unique = context.passthrough.pendingInitUnique, vectors[0].iov_len >= 16,
                    vectors[0].iov_base.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == unique
                {
                    context.passthrough.amendInitReply(vectors[1])
                }
            }
            return Glibc.writev(fd, vectors, count)
        }
        io.splice_send = { fdIn, offsetIn, fdOut, offsetOut, length, flags, _ in
            lfs_splice(fdIn, offsetIn, fdOut, offsetOut, length, flags)
        }
        return io
    }
}

/// What ``CustomIO`` learnt of `FUSE_INIT` and did to its reply.
final class PassthroughNegotiation: Sendable {
    /// Asked for by the file system (``FileSystemConfiguration/passthrough``).
    let wanted: Bool
    private let initUnique = Atomic<UInt64>(0)
    private let offered = Atomic<Bool>(false)
    private let requested = Atomic<Bool>(false)

    init(wanted: Bool) {
        self.wanted = wanted
    }

    /// The kernel's `FUSE_INIT` came in: its id, and whether it offers passthrough.
    func sawInit(unique: UInt64, offered: Bool) {
        self.offered.store(offered, ordering: .relaxed)
        initUnique.store(unique, ordering: .releasing)
    }

    /// The id of the `FUSE_INIT` whose reply is not sent yet (nil after it, or before).
    var pendingInitUnique: UInt64? {
        let unique = initUnique.load(ordering: .acquiring)
        return unique == 0 ? nil : unique
    }

    /// Sets `FUSE_PASSTHROUGH` and `max_stack_depth` in the `fuse_init_out` that `body` holds,
    /// when wanted, offered and the reply is long enough (7.40's layout).
    func amendInitReply(_ body: iovec) {
        initUnique.store(0, ordering: .relaxed)
        guard wanted, offered.load(ordering: .relaxed), let base = body.iov_base, body.iov_len >= Int(LFS_INIT_OUT_MAX_STACK_DEPTH) + 4 else { return }
        let flags = base.loadUnaligned(fromByteOffset: Int(LFS_INIT_OUT_FLAGS), as: UInt32.self)
        guard flags & LFS_FUSE_INIT_EXT != 0 else { return }
        let flags2 = base.loadUnaligned(fromByteOffset: Int(LFS_INIT_OUT_FLAGS2), as: UInt32.self)
        base.storeBytes(of: flags2 | LFS_FUSE_PASSTHROUGH_FLAGS2, toByteOffset: Int(LFS_INIT_OUT_FLAGS2), as: UInt32.self)
        base.storeBytes(of: UInt32(1), toByteOffset: Int(LFS_INIT_OUT_MAX_STACK_DEPTH), as: UInt32.self)
        requested.store(true, ordering: .relaxed)
    }

    /// Whether the connection has passthrough: asked for in the `FUSE_INIT` reply (the kernel
    /// grants what it offered and was asked).
    var negotiated: Bool { requested.load(ordering: .relaxed) }
}
