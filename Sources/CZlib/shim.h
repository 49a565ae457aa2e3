#include <zlib.h>

/* inflateInit2 is a macro: a function Swift can call. */
static inline int lfs_inflate_init(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
