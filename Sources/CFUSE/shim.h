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

#endif
