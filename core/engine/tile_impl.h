/* Internal: the tile structure and the engine vtable (DESIGN.md §6).
 *
 * tile.c owns the public rpu_tile_* API: it validates arguments, creates
 * the device through its plugin vtable, keeps the weights and counters and
 * dispatches to one engine (tile_fp.c, tile_analog.c, later
 * tile_inference.c).  checkpoint.c saves and restores all of it. */
#ifndef RPU_CORE_ENGINE_TILE_IMPL_H
#define RPU_CORE_ENGINE_TILE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/config.h"
#include "rpu/context.h"
#include "rpu/plugin.h"
#include "rpu/tile.h"

/* Largest out_size / in_size accepted (2^20). */
#define RPU__TILE_MAX_DIM (1 << 20)

/* Sub-streams of the UPDATE purpose that tile-level device hooks use, far
 * above any row / sample index the pulse engine uses as `sub`, so the
 * post-update noise never overlaps the pulse trains. */
#define RPU__SUB_POST_UPDATE 0xffffff00u
#define RPU__SUB_SET_WEIGHTS 0xffffff01u
/* rpu_tile_apply_pulses: row i draws from sub RPU__SUB_APPLY_PULSES + i
 * (rows < 2^20), apart from the pulse engine's per-row subs 0..rows-1. */
#define RPU__SUB_APPLY_PULSES 0x40000000u
/* Construction draws of the analog engine's IO pipelines (per-output
 * offsets, non-linearities, ...), apart from the device's sub 0. */
#define RPU__SUB_IO_CONSTRUCTION 0xffffff10u

/* Per-purpose RNG step counters: each counts the calls that drew (or may
 * draw) from its stream, and is the `step` of the next such call's
 * stream.  Saved in checkpoints so a restored tile continues the streams
 * exactly (DESIGN.md §7). */
typedef struct rpu__tile_steps {
  uint32_t update;      /* RPU_RNG_UPDATE: rpu_tile_update calls */
  uint32_t post_update; /* RPU_RNG_UPDATE, sub RPU__SUB_POST_UPDATE */
  uint32_t set_weights; /* RPU_RNG_UPDATE, sub RPU__SUB_SET_WEIGHTS */
  uint32_t read;        /* RPU_RNG_READ: forward + backward calls */
  uint32_t program;     /* RPU_RNG_PROGRAM: rpu_tile_program calls */
  uint32_t drift;       /* RPU_RNG_DRIFT: rpu_tile_drift calls */
  uint32_t modifier;    /* RPU_RNG_MODIFIER: weight-modifier draws */
  uint32_t apply_pulses; /* RPU_RNG_UPDATE, subs RPU__SUB_APPLY_PULSES + i */
} rpu__tile_steps;

typedef struct rpu__tile_engine rpu__tile_engine;

struct rpu_tile {
  rpu_context *ctx;
  rpu_config *cfg; /* owned clone (rpu_config_clone) */
  rpu_config_type type;
  int out_size, in_size;
  uint64_t seed;
  uint32_t tile_id; /* lower 24 bits */
  float *w;         /* out_size x in_size, row-major, owned by the core */

  /* The device: model, its typed parameters (borrowed from cfg), its
   * vtable and the state its plugin allocated. */
  const rpu_model_desc *dev_model;
  const void *dev_params;
  const rpu_device_spec *dev_spec;
  const rpu_device_vtable *dev_vt;
  void *dev_state;

  rpu_tile_counters counters;
  rpu__tile_steps steps;

  const rpu__tile_engine *engine;
  void *engine_state; /* owned by the engine */
};

/* The internal engine vtable.  tile.c has validated every argument before
 * a hook runs; hooks set the last error on failure and leave the tile
 * unchanged where they can.  NULL hooks mean "not supported" (tile.c
 * reports RPU_EUNSUPPORTED). */
struct rpu__tile_engine {
  const char *name; /* "floating_point", "analog", ... */
  /* Creates engine_state (the device already exists); may refuse the
   * config with RPU_EUNSUPPORTED. */
  int (*init)(rpu_tile *t);
  void (*destroy)(rpu_tile *t);
  int (*forward)(rpu_tile *t, const float *x, float *y, int batch);
  int (*backward)(rpu_tile *t, const float *d, float *dx, int batch);
  int (*update)(rpu_tile *t, const float *x, const float *d, int batch,
                float lr);
  int (*post_update)(rpu_tile *t);
  /* Called after the core has copied the new weights into t->w. */
  int (*set_weights)(rpu_tile *t);
  /* Called before the core copies t->w out. */
  int (*get_weights)(rpu_tile *t);
  int (*program)(rpu_tile *t);
  int (*drift)(rpu_tile *t, double t_seconds);
  /* Engine extras for checkpoints (NULL: none). */
  size_t (*extras_size)(const rpu_tile *t);
  int (*save_extras)(const rpu_tile *t, void *buf, size_t len);
  int (*load_extras)(rpu_tile *t, const void *buf, size_t len);
};

extern const rpu__tile_engine rpu__tile_engine_fp;
extern const rpu__tile_engine rpu__tile_engine_analog;
extern const rpu__tile_engine rpu__tile_engine_inference;

/* The analog engine's hooks (tile_analog.c) that the inference engine
 * shares: state with the IO pipelines of both directions (and the pulse
 * engine), forward / backward through them, the checkpoint extras. */
int rpu__analog_init(rpu_tile *t);
void rpu__analog_destroy(rpu_tile *t);
int rpu__analog_forward(rpu_tile *t, const float *x, float *y, int batch);
int rpu__analog_backward(rpu_tile *t, const float *d, float *dx, int batch);
size_t rpu__analog_extras_size(const rpu_tile *t);
int rpu__analog_save_extras(const rpu_tile *t, void *buf, size_t len);
int rpu__analog_load_extras(rpu_tile *t, const void *buf, size_t len);

/* True if the device vtable has hook `field` within its struct_size. */
#define RPU__DEV_HAS(vt, field)                                             \
  ((vt) != NULL &&                                                          \
   (vt)->struct_size >= offsetof(rpu_device_vtable, field) +                \
                            sizeof((vt)->field) &&                          \
   (vt)->field != NULL)

/* A view of the whole weight matrix for device hooks. */
rpu_weights rpu__tile_weights(rpu_tile *t);

/* A cursor at position 0 of stream (seed, tile id, purpose, step, sub). */
rpu_rng_cursor rpu__tile_cursor(const rpu_tile *t, uint32_t purpose,
                                uint32_t step, uint32_t sub);

/* Shared by the engines: the device post-update hook (diffusion, decay)
 * on the UPDATE stream, step = post-update count. */
int rpu__tile_device_post_update(rpu_tile *t);

/* Shared by the engines: the device set_weights hook (after the core
 * copied new weights into t->w; UPDATE stream, sub RPU__SUB_SET_WEIGHTS,
 * step = set_weights count) and get_weights hook (before a read). */
int rpu__tile_device_set_weights(rpu_tile *t);
int rpu__tile_device_get_weights(rpu_tile *t);

/* The device clip hook: c < 0 clips to the device bounds (SPEC.md §4.5). */
void rpu__tile_device_clip(rpu_tile *t, double c);

/* Shared by the engines: the device drift hook on the DRIFT stream, step
 * = drift count; a device without drift makes this a successful no-op. */
int rpu__tile_device_drift(rpu_tile *t, double t_seconds);

/* Shared exact MVMs on t->w (one sgemm for the whole batch):
 * y = x W^T, dx = d W, W -= lr d^T x (SPEC.md §1, §9.2 item 1). */
void rpu__tile_exact_forward(rpu_tile *t, const float *x, float *y, int batch);
void rpu__tile_exact_backward(rpu_tile *t, const float *d, float *dx,
                              int batch);
void rpu__tile_exact_update(rpu_tile *t, const float *x, const float *d,
                            int batch, float lr);

#endif
