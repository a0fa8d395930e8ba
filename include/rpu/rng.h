/* rpu — the counter-based random number generator (DESIGN.md §7).
 *
 * One generator, Philox4x32-10, keyed by the 64-bit seed.  The 128-bit
 * counter encodes where a number sits:
 *
 *   ctr[0] = block        position inside the stream (4 uint32 per block)
 *   ctr[1] = sub          sub-stream, e.g. a row, column or sample index
 *   ctr[2] = step         e.g. the update / read / drift call count
 *   ctr[3] = purpose<<24 | (tile & 0xffffff)
 *
 * A draw is therefore a pure function of (seed, tile, purpose, step, sub,
 * position): it does not depend on the order in which rows are processed or
 * on the number of threads, and switching on one kind of noise does not
 * shift the numbers another purpose sees.
 */
#ifndef RPU_RNG_H
#define RPU_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a stream of numbers is for; each purpose is an independent stream. */
typedef enum rpu_rng_purpose {
  RPU_RNG_CONSTRUCTION = 1, /* device-to-device sampling at tile creation */
  RPU_RNG_UPDATE = 2,       /* pulse trains and cycle-to-cycle noise */
  RPU_RNG_READ = 3,         /* forward / backward noise */
  RPU_RNG_PROGRAM = 4,      /* programming noise of inference tiles */
  RPU_RNG_DRIFT = 5,        /* drift and read noise at inference time */
  RPU_RNG_MODIFIER = 6,     /* hardware-aware training weight modifiers */
  RPU_RNG_DATA = 7,         /* data shuffling, weight initialisation */
  RPU_RNG_USER = 8          /* free for plugins and applications */
} rpu_rng_purpose;

/* One stream: plain data, cheap to copy.  Fill functions never modify it;
 * the caller chooses step and sub for each independent set of draws. */
typedef struct rpu_rng_stream {
  uint64_t seed;
  uint32_t tile;    /* tile id (lower 24 bits used) */
  uint32_t purpose; /* rpu_rng_purpose (lower 8 bits used) */
  uint32_t step;
  uint32_t sub;
} rpu_rng_stream;

/* Builds a stream; step and sub start at 0. */
RPU_API rpu_rng_stream rpu_rng_stream_make(uint64_t seed, uint32_t tile,
                                           uint32_t purpose);

/* One Philox4x32-10 block: out = philox(ctr, key).  Exposed for tests and
 * for plugins that need raw bits. */
RPU_API void rpu_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                               uint32_t out[4]);

/* Raw 32-bit words: n words starting at word index `first` (4 per block). */
RPU_API void rpu_rng_fill_u32(const rpu_rng_stream *s, uint64_t first,
                              uint32_t *out, size_t n);

/* Uniforms in the open interval (0, 1): never exactly 0 or 1.  Value k is
 * derived from word first+k alone. */
RPU_API void rpu_rng_fill_uniform(const rpu_rng_stream *s, uint64_t first,
                                  float *out, size_t n);

/* Standard normals by Box–Muller; value k uses words 2*floor((first+k)/2)
 * and the next one, so the same (stream, index) always gives the same
 * number, whatever n is. */
RPU_API void rpu_rng_fill_normal(const rpu_rng_stream *s, uint64_t first,
                                 float *out, size_t n);

/* Double-precision variants (53-bit uniforms from two words each; normals
 * from two such uniforms).  Index k uses words 2(first+k) and 2(first+k)+1
 * for uniforms, 4*floor((first+k)/2).. for normals. */
RPU_API void rpu_rng_fill_uniform_d(const rpu_rng_stream *s, uint64_t first,
                                    double *out, size_t n);
RPU_API void rpu_rng_fill_normal_d(const rpu_rng_stream *s, uint64_t first,
                                   double *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* RPU_RNG_H */
