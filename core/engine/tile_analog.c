/* The analog engine (SingleRPUConfig, UnitCellRPUConfig,
 * DigitalRankUpdateRPUConfig) — skeleton until the IO pipeline
 * (io_pipeline.c) and the pulse engine (pulse.c) land.  What works now is
 * the noise-free corner of SPEC.md §9.2 items 1-2: forward / backward
 * exact when the direction's IO parameters are perfect, and the update
 * exact for pulse_type NONE (SPEC.md §1.3: one GEMM), followed by the
 * device clip for NONE_WITH_DEVICE.  Everything else is refused with
 * RPU_EUNSUPPORTED rather than silently computed wrong. */
#include "core/engine/tile_impl.h"
#include "core/util/error.h"

static int analog_forward(rpu_tile *t, const float *x, float *y, int batch);
static int analog_backward(rpu_tile *t, const float *d, float *dx, int batch);
static int analog_update(rpu_tile *t, const float *x, const float *d,
                         int batch, float lr);
static int io_unsupported(const char *section);
static const char *pulse_type_name(int type);

const rpu__tile_engine rpu__tile_engine_analog = {
    .name = "analog",
    .forward = analog_forward,
    .backward = analog_backward,
    .update = analog_update,
    .post_update = rpu__tile_device_post_update,
    .set_weights = rpu__tile_device_set_weights,
    .get_weights = rpu__tile_device_get_weights,
    .program = NULL, /* only inference tiles program */
    .drift = rpu__tile_device_drift,
};

static int analog_forward(rpu_tile *t, const float *x, float *y, int batch) {
  const rpu_io_params *io = rpu_config_forward(t->cfg);
  if (io == NULL || !io->is_perfect) return io_unsupported("forward");
  rpu__tile_exact_forward(t, x, y, batch);
  return 0;
}

static int analog_backward(rpu_tile *t, const float *d, float *dx,
                           int batch) {
  const rpu_io_params *io = rpu_config_backward(t->cfg);
  if (io == NULL || !io->is_perfect) return io_unsupported("backward");
  rpu__tile_exact_backward(t, d, dx, batch);
  return 0;
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
  default:
    return rpu__error_set(RPU_EUNSUPPORTED, "update.pulse_type",
                          "update.pulse_type %s: pulsed updates are not "
                          "implemented yet (use NONE or NONE_WITH_DEVICE)",
                          pulse_type_name(type));
  }
}

static int io_unsupported(const char *section) {
  return rpu__error_set(RPU_EUNSUPPORTED, section,
                        "non-ideal %s IO is not implemented yet (set "
                        "%s.is_perfect to true)",
                        section, section);
}

static const char *pulse_type_name(int type) {
  switch (type) {
  case RPU_PULSE_STOCHASTIC_COMPRESSED:
    return "STOCHASTIC_COMPRESSED";
  case RPU_PULSE_STOCHASTIC:
    return "STOCHASTIC";
  case RPU_PULSE_MEAN_COUNT:
    return "MEAN_COUNT";
  case RPU_PULSE_DETERMINISTIC_IMPLICIT:
    return "DETERMINISTIC_IMPLICIT";
  default:
    return "?";
  }
}
