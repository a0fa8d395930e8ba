/* rpu — tiles: simulated crossbar arrays (DESIGN.md §6).
 *
 * A tile holds W of out_size x in_size (row-major, row = output).  All
 * buffers are row-major float arrays with one row per batch sample:
 * x: batch x in_size, y: batch x out_size.  The engine (floating point,
 * analog or inference) is chosen by the config.
 */
#ifndef RPU_TILE_H
#define RPU_TILE_H

#include <stdint.h>

#include "rpu/common.h"
#include "rpu/config.h"
#include "rpu/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rpu_tile rpu_tile;

/* Creates a tile for `cfg` (the tile keeps its own copy) with tile id 0.
 * All random draws of the tile are keyed by (seed, tile id, purpose). */
RPU_API int rpu_tile_new(rpu_tile **out, rpu_context *ctx,
                         const rpu_config *cfg, int out_size, int in_size,
                         uint64_t seed);

/* As rpu_tile_new with an explicit tile id (lower 24 bits used), so the
 * tiles of one network draw independent streams from one seed. */
RPU_API int rpu_tile_new_with_id(rpu_tile **out, rpu_context *ctx,
                                 const rpu_config *cfg, int out_size,
                                 int in_size, uint64_t seed, uint32_t tile_id);

RPU_API void rpu_tile_free(rpu_tile *t);

RPU_API int rpu_tile_out_size(const rpu_tile *t);
RPU_API int rpu_tile_in_size(const rpu_tile *t);
RPU_API const rpu_config *rpu_tile_config(const rpu_tile *t);

/* y = W x for each of `batch` samples. */
RPU_API int rpu_tile_forward(rpu_tile *t, const float *x, float *y, int batch);

/* dx = W^T d for each of `batch` samples (d: batch x out, dx: batch x in). */
RPU_API int rpu_tile_backward(rpu_tile *t, const float *d, float *dx,
                              int batch);

/* SGD update: W -= lr * d^T x (in expectation for pulsed devices).  NaN or
 * Inf in x or d is refused with RPU_EINVAL and the tile left unchanged. */
RPU_API int rpu_tile_update(rpu_tile *t, const float *x, const float *d,
                            int batch, float lr);

/* Once per mini-batch after the update: diffusion, then decay (SPEC.md
 * §1.2), and for inference tiles clip, remap and modifier. */
RPU_API int rpu_tile_post_update_step(rpu_tile *t);

/* Copies w (out_size x in_size, row-major) into the tile; the device may
 * clip it to its bounds.  NaN or Inf is refused with RPU_EINVAL and the
 * tile is left unchanged. */
RPU_API int rpu_tile_set_weights(rpu_tile *t, const float *w);

/* Copies the tile's weights into w (out_size x in_size). */
RPU_API int rpu_tile_get_weights(rpu_tile *t, float *w);

/* Applies counts[i*in_size + j] signed pulses to element (i, j) through the
 * device's pulse hook (positive = down, negative = up; SPEC.md §3.3), the
 * way rpu-response probes a device.  Pulsed devices only (RPU_EUNSUPPORTED
 * otherwise). */
RPU_API int rpu_tile_apply_pulses(rpu_tile *t, const int32_t *counts);

/* Inference tiles: applies programming noise (SPEC.md §6.1). */
RPU_API int rpu_tile_program(rpu_tile *t);

/* Inference tiles: weights t_seconds after programming; devices with a
 * drift section: advances their drift by t_seconds. */
RPU_API int rpu_tile_drift(rpu_tile *t, double t_seconds);

/* Event counters of a tile. */
typedef struct rpu_tile_counters {
  uint64_t forward_mvms;  /* vectors through forward */
  uint64_t backward_mvms; /* vectors through backward */
  uint64_t updates;       /* vectors through update */
  uint64_t pulses;        /* device pulses applied */
  uint64_t saturations;   /* ADC outputs that hit the bound */
  uint64_t bm_repeats;    /* bound-management re-runs of a vector */
} rpu_tile_counters;

RPU_API int rpu_tile_get_counters(const rpu_tile *t, rpu_tile_counters *out);

/* Writes a checkpoint (DESIGN.md §9): written to a temporary file, flushed
 * and renamed, so a crash never leaves a half-written file. */
RPU_API int rpu_tile_save(rpu_tile *t, const char *path);

/* Loads a checkpoint into an existing tile of the same config type and
 * shape.  A truncated, corrupted or incompatible file is refused and the
 * tile is left exactly as it was. */
RPU_API int rpu_tile_load(rpu_tile *t, const char *path);

/* Creates a new tile from a checkpoint (config and shape from its header). */
RPU_API int rpu_tile_load_new(rpu_tile **out, rpu_context *ctx,
                              const char *path);

/* The checkpoint of rpu_tile_save as bytes in memory, for containers that
 * hold several tiles (rpu_trainer_save).  *buf is malloc'ed (free with
 * rpu_free); the format is the file's, byte for byte. */
RPU_API int rpu_tile_save_buffer(rpu_tile *t, unsigned char **buf, size_t *len);

/* rpu_tile_load from `len` bytes; `origin` names the source in messages
 * ("run/checkpoint.rpu: model[0] tile (0,1)").  Same checks and the same
 * all-or-nothing guarantee as rpu_tile_load. */
RPU_API int rpu_tile_load_buffer(rpu_tile *t, const unsigned char *buf, size_t len,
                                 const char *origin);

#ifdef __cplusplus
}
#endif

#endif /* RPU_TILE_H */
