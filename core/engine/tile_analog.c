/* The analog engine (SingleRPUConfig, UnitCellRPUConfig,
 * DigitalRankUpdateRPUConfig).  Updates: exact for pulse_type NONE
 * (SPEC.md §1.3: one GEMM), exact then clipped to the device bounds for
 * NONE_WITH_DEVICE, otherwise pulsed through the pulse engine (pulse.c,
 * SPEC.md §3).  Forward / backward: through the IO pipeline of the
 * direction (io_pipeline.c, SPEC.md §2), which is exact when is_perfect. */
#include <stdlib.h>
#include <string.h>

#include "core/engine/io_pipeline.h"
#include "core/engine/pulse.h"
#include "core/engine/tile_impl.h"
#include "core/util/error.h"

/* The analog engine's own state. */
typedef struct analog_state {
  rpu__io *fwd, *bwd; /* the IO pipelines of both directions (io_pipeline.c) */
  float nm_running;   /* AVERAGE_ABS_MAX value shared by fwd and bwd (§2.3) */
  rpu__pulse *pulse;  /* pulse trains and coincidence counting (pulse.c) */
} analog_state;

static int analog_mvm(rpu_tile *t, rpu__io *io, const float *x, float *y,
                      int batch);

static int analog_update(rpu_tile *t, const float *x, const float *d,
                         int batch, float lr);

const rpu__tile_engine rpu__tile_engine_analog = {
    .name = "analog",
    .init = rpu__analog_init,
    .destroy = rpu__analog_destroy,
    .extras_size = rpu__analog_extras_size,
    .save_extras = rpu__analog_save_extras,
    .load_extras = rpu__analog_load_extras,
    .forward = rpu__analog_forward,
    .backward = rpu__analog_backward,
    .update = analog_update,
    .post_update = rpu__tile_device_post_update,
    .set_weights = rpu__tile_device_set_weights,
    .get_weights = rpu__tile_device_get_weights,
    .program = NULL, /* only inference tiles program */
    .drift = rpu__tile_device_drift,
};

int rpu__analog_forward(rpu_tile *t, const float *x, float *y, int batch) {
  return analog_mvm(t, ((analog_state *)t->engine_state)->fwd, x, y, batch);
}

int rpu__analog_backward(rpu_tile *t, const float *d, float *dx,
                           int batch) {
  return analog_mvm(t, ((analog_state *)t->engine_state)->bwd, d, dx, batch);
}

/* One direction through its IO pipeline (SPEC.md §2); draws from the READ
 * stream with step = the tile's read-call count. */
static int analog_mvm(rpu_tile *t, rpu__io *io, const float *x, float *y,
                      int batch) {
  rpu_rng_stream rs = rpu_rng_stream_make(t->seed, t->tile_id, RPU_RNG_READ);
  rs.step = t->steps.read;
  /* w_version 0: the pipeline recomputes its |W| caches on every call, so
   * no mutation path of the weights can leave them stale. */
  return rpu__io_mvm(io, t->w, (size_t)t->in_size, 0, x, y, batch, &rs,
                     &t->counters);
}

static int analog_update(rpu_tile *t, const float *x, const float *d,
                         int batch, float lr) {
  const rpu_update_params *up = rpu_config_update(t->cfg);
  int type = up != NULL ? up->pulse_type : -1;
  switch (type) {
  case RPU_PULSE_NONE:
    rpu__tile_exact_update(t, x, d, batch, lr);
    return 0;
  case RPU_PULSE_NONE_WITH_DEVICE:
    /* Exact update, then the device keeps its weights within its bounds. */
    rpu__tile_exact_update(t, x, d, batch, lr);
    rpu__tile_device_clip(t, -1.0);
    return 0;
  default: {
    /* Pulsed update, sample by sample (SPEC.md §1.3, §3); the sample
     * counter keys the random streams so results do not depend on how a
     * run is split into batches. */
    analog_state *st = t->engine_state;
    rpu__pulse_device dev = {t->dev_vt, t->dev_state, t->dev_params,
                             t->dev_model->name};
    return rpu__pulse_update(st->pulse, up, &dev, rpu__tile_weights(t), x, d,
                             batch, lr,
                             rpu__tile_cursor(t, RPU_RNG_UPDATE, 0, 0).stream,
                             t->counters.updates, &t->counters.pulses);
  }
  }
}



int rpu__analog_init(rpu_tile *t) {
  analog_state *st = calloc(1, sizeof *st);
  if (st == NULL)
    return rpu__error_set(RPU_ENOMEM, "rpu_tile_new", "out of memory");
  t->engine_state = st;
  st->nm_running = RPU__IO_NM_UNSET;
  /* Created after the device, on their own construction sub-stream, so
   * the device's draws are the same whatever the IO parameters. */
  rpu_rng_cursor c =
      rpu__tile_cursor(t, RPU_RNG_CONSTRUCTION, 0, RPU__SUB_IO_CONSTRUCTION);
  int rc = rpu__io_new(&st->fwd, rpu_config_forward(t->cfg), t->out_size,
                       t->in_size, 0, &c, &st->nm_running);
  if (rc >= 0)
    rc = rpu__io_new(&st->bwd, rpu_config_backward(t->cfg), t->in_size,
                     t->out_size, 1, &c, &st->nm_running);
  if (rc >= 0) rc = rpu__pulse_new(&st->pulse, t->out_size, t->in_size);
  if (rc < 0) rpu__analog_destroy(t);
  return rc;
}

void rpu__analog_destroy(rpu_tile *t) {
  analog_state *st = t->engine_state;
  if (st == NULL) return;
  rpu__io_free(st->fwd);
  rpu__io_free(st->bwd);
  rpu__pulse_free(st->pulse);
  free(st);
  t->engine_state = NULL;
}

/* Checkpoint extras: the AVERAGE_ABS_MAX running value (the per-output
 * samples of the pipelines are re-drawn identically from the construction
 * stream when the tile is recreated). */
size_t rpu__analog_extras_size(const rpu_tile *t) {
  (void)t;
  return sizeof(float);
}

int rpu__analog_save_extras(const rpu_tile *t, void *buf, size_t len) {
  const analog_state *st = t->engine_state;
  if (len != sizeof st->nm_running)
    return rpu__error_set(RPU_EINTERNAL, "checkpoint", "analog extras: size %zu", len);
  memcpy(buf, &st->nm_running, sizeof st->nm_running);
  return 0;
}

int rpu__analog_load_extras(rpu_tile *t, const void *buf, size_t len) {
  analog_state *st = t->engine_state;
  float v;
  if (len != sizeof v)
    return rpu__error_set(RPU_ECORRUPT, "checkpoint", "analog extras: %zu bytes, expected %zu",
                          len, sizeof v);
  memcpy(&v, buf, sizeof v);
  if (!(v == RPU__IO_NM_UNSET || (v >= 0 && v <= 3.4e38f)))
    return rpu__error_set(RPU_ECORRUPT, "checkpoint",
                          "analog extras: AVERAGE_ABS_MAX value %g is invalid", (double)v);
  st->nm_running = v;
  return 0;
}
