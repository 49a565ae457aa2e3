#include <isa-l/igzip_lib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A checkpoint of ISA-L's inflate (igzip_lib.h, struct inflate_state) is the state up to its
   output buffer, then the valid part of that buffer: the history (up to 32 KiB) and any output
   not yet delivered. The state holds no pointers but next_in and next_out, which the caller
   sets again after a restore. */

/* Bytes of the state before tmp_out_buffer. */
static inline size_t lfs_isal_state_head(void) {
    return offsetof(struct inflate_state, tmp_out_buffer);
}

/* Bytes a checkpoint of `state` takes now. */
static inline size_t lfs_isal_checkpoint_size(const struct inflate_state *state) {
    return lfs_isal_state_head() + (size_t)state->tmp_out_valid;
}

/* Writes a checkpoint of `state` (lfs_isal_checkpoint_size bytes) to `out`. */
static inline void lfs_isal_save(const struct inflate_state *state, uint8_t *out) {
    memcpy(out, state, lfs_isal_checkpoint_size(state));
}

/* Restores `state` from a checkpoint of `size` bytes; -1 when the bytes cannot be one. */
static inline int lfs_isal_restore(struct inflate_state *state, const uint8_t *in, size_t size) {
    size_t head = lfs_isal_state_head();
    if (size < head || size - head > sizeof(state->tmp_out_buffer)) return -1;
    memcpy(state, in, size);
    if ((size_t)state->tmp_out_valid != size - head || state->tmp_out_processed < 0
        || state->tmp_out_processed > state->tmp_out_valid) return -1;
    return 0;
}

/* Compresses in[0..<count) as one gzip member (level 1) into out, which holds `capacity` bytes
   (count + count / 8 + 1024 always suffices). Returns the bytes written, or -1. */
static inline long lfs_isal_gzip(const uint8_t *in, size_t count, uint8_t *out, size_t capacity) {
    if (count > UINT32_MAX || capacity > UINT32_MAX) return -1;
    struct isal_zstream stream;
    isal_deflate_stateless_init(&stream);
    uint8_t *level = malloc(ISAL_DEF_LVL1_DEFAULT);
    if (level == NULL) return -1;
    stream.level = 1;
    stream.level_buf = level;
    stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    stream.gzip_flag = IGZIP_GZIP;
    stream.end_of_stream = 1;
    stream.flush = NO_FLUSH;
    stream.next_in = (uint8_t *)in;
    stream.avail_in = (uint32_t)count;
    stream.next_out = out;
    stream.avail_out = (uint32_t)capacity;
    int result = isal_deflate_stateless(&stream);
    free(level);
    return result == COMP_OK ? (long)stream.total_out : -1;
}

/* Decompresses one gzip member in[0..<count) into out, which must come out exactly `expected`
   bytes long (CRC-32 and length checked). Returns 0, or -1. */
static inline int lfs_isal_gunzip(const uint8_t *in, size_t count, uint8_t *out, size_t expected) {
    if (count > UINT32_MAX || expected > UINT32_MAX) return -1;
    struct inflate_state *state = malloc(sizeof(struct inflate_state));
    if (state == NULL) return -1;
    isal_inflate_init(state);
    state->crc_flag = ISAL_GZIP;
    state->next_in = (uint8_t *)in;
    state->avail_in = (uint32_t)count;
    state->next_out = out;
    state->avail_out = (uint32_t)expected;
    int result = isal_inflate_stateless(state);
    int done = result == ISAL_DECOMP_OK && state->avail_out == 0 && state->avail_in == 0;
    free(state);
    return done ? 0 : -1;
}
