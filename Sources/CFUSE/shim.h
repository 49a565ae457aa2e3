#ifndef LAYOUTFS_CFUSE_SHIM_H
#define LAYOUTFS_CFUSE_SHIM_H
// libfuse 3.14 low-level API. FUSE_USE_VERSION must be a literal: Swift cannot evaluate macros.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <fuse.h>

// Function-like macros are invisible to Swift: wrap each one we use.

/// `fuse_session_loop_mt` is a macro (versioned symbol) in 3.12+.
static inline int cfuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

/// `fuse_session_new` is a macro in some versions; wrap it so Swift sees one function.
static inline struct fuse_session *cfuse_session_new(struct fuse_args *args,
                                                     const struct fuse_lowlevel_ops *op,
                                                     void *userdata) {
    return fuse_session_new(args, op, sizeof(*op), userdata);
}

/// `FUSE_BUFVEC_INIT(size)` for one file-descriptor-backed buffer read at `pos`
/// (`FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK`): libfuse splices it when `FUSE_CAP_SPLICE_WRITE`
/// was negotiated, else `pread`s it.
static inline struct fuse_bufvec cfuse_bufvec_fd(int fd, off_t pos, size_t size) {
    struct fuse_bufvec bufvec = FUSE_BUFVEC_INIT(size);
    bufvec.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    bufvec.buf[0].fd = fd;
    bufvec.buf[0].pos = pos;
    return bufvec;
}

// FUSE passthrough (Linux 6.9+, protocol 7.40), which libfuse 3.14 does not know: the values
// below follow the kernel's include/uapi/linux/fuse.h, so that the session can negotiate it
// through fuse_session_custom_io and answer opens with a backing file (ARCHITECTURE.md,
// "FUSE passthrough"). libfuse 3.17's own API (fuse_passthrough_open, FUSE_CAP_PASSTHROUGH)
// replaces all of it.
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <unistd.h>

/// splice(2), which glibc declares only under _GNU_SOURCE.
static inline ssize_t lfs_splice(int fd_in, off_t *off_in, int fd_out, off_t *off_out, size_t len, unsigned int flags) {
    return syscall(SYS_splice, fd_in, off_in, fd_out, off_out, len, flags);
}

/// `FUSE_INIT`'s opcode.
#define LFS_FUSE_INIT 26
/// `FUSE_INIT_EXT` in `flags`: `flags2` holds flags 32-63.
#define LFS_FUSE_INIT_EXT (1u << 30)
/// `FUSE_PASSTHROUGH` (`1ULL << 37`), as a bit of `flags2`.
#define LFS_FUSE_PASSTHROUGH_FLAGS2 (1u << 5)
/// `FOPEN_PASSTHROUGH` in `fuse_open_out.open_flags`.
#define LFS_FOPEN_PASSTHROUGH (1u << 7)
/// Byte offsets in `struct fuse_init_in` and `struct fuse_init_out` (after their headers).
#define LFS_INIT_IN_FLAGS 12
#define LFS_INIT_IN_FLAGS2 16
#define LFS_INIT_OUT_FLAGS 12
#define LFS_INIT_OUT_FLAGS2 32
#define LFS_INIT_OUT_MAX_STACK_DEPTH 36

/// `struct fuse_backing_map`.
struct lfs_fuse_backing_map {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};

/// `FUSE_DEV_IOC_BACKING_OPEN` on the session's /dev/fuse descriptor: registers `fd` as a
/// backing file; returns its id (> 0), or -1 with errno (EPERM without CAP_SYS_ADMIN, ELOOP
/// when its file system stacks too deep, EOPNOTSUPP when passthrough was not negotiated).
static inline int lfs_fuse_backing_open(int device, int fd) {
    struct lfs_fuse_backing_map map = {fd, 0, 0};
    return ioctl(device, _IOW(229, 1, struct lfs_fuse_backing_map), &map);
}

/// `FUSE_DEV_IOC_BACKING_CLOSE`: forgets a backing id (files opened with it keep their file).
static inline int lfs_fuse_backing_close(int device, int32_t id) {
    uint32_t value = (uint32_t)id;
    return ioctl(device, _IOW(229, 2, uint32_t), &value);
}

/// `struct fuse_open_out` with the 7.40 `backing_id` (what was padding before).
struct lfs_fuse_open_out {
    uint64_t fh;
    uint32_t open_flags;
    int32_t backing_id;
};

/// Answers `open` in passthrough mode: the kernel reads the backing file `backing_id` itself.
static inline int lfs_reply_open_passthrough(fuse_req_t req, uint64_t fh, uint32_t open_flags, int32_t backing_id) {
    struct lfs_fuse_open_out out = {fh, open_flags | LFS_FOPEN_PASSTHROUGH, backing_id};
    return fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

#endif
