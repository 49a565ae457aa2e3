#include <zlib.h>

/* inflateInit2 is a macro: a function Swift can call. */
static inline int lfs_inflate_init(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

/* The bits of a deflate stream's data_type at a block boundary (zlib.h, inflate with Z_BLOCK):
   bit 7 set at the end of a block, bit 6 set when it was the last one, bits 0-2 the unused bits
   of the last byte consumed. */
static inline int lfs_inflate_data_type(const z_stream *stream) {
    return stream->data_type;
}
