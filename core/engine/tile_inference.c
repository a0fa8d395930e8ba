/* The inference engine (InferenceRPUConfig, SPEC.md §1, §1.2, §6): the
 * forward pass runs through the non-ideal IO pipeline of the `forward`
 * section, the backward pass is perfect (the config fixes it), and the
 * update is the exact SGD step W -= lr d^T x (aihwkit computes the plain
 * gradient and lets the optimizer apply it).  Post-update: the device's
 * decay / diffusion.
 *
 * Not yet: programming and drift (rpu_tile_program / rpu_tile_drift) need
 * the noise-model and drift-compensation plugins, and the weight clip,
 * modifier and remap of SPEC.md §6.7-§6.9 are not applied yet — a config
 * that switches one of them on is refused when the tile is created, never
 * run without it. */
#include "core/config/config_impl.h"
#include "core/engine/tile_impl.h"
#include "core/util/error.h"

static int inference_init(rpu_tile *t);
static int inference_update(rpu_tile *t, const float *x, const float *d, int batch,
                            float lr);
static int inference_program(rpu_tile *t);
static int inference_drift(rpu_tile *t, double t_seconds);

const rpu__tile_engine rpu__tile_engine_inference = {
    .name = "inference",
    .init = inference_init,
    .destroy = rpu__analog_destroy,
    .extras_size = rpu__analog_extras_size,
    .save_extras = rpu__analog_save_extras,
    .load_extras = rpu__analog_load_extras,
    .forward = rpu__analog_forward,
    .backward = rpu__analog_backward,
    .update = inference_update,
    .post_update = rpu__tile_device_post_update,
    .set_weights = rpu__tile_device_set_weights,
    .get_weights = rpu__tile_device_get_weights,
    .program = inference_program,
    .drift = inference_drift,
};

static int inference_init(rpu_tile *t) {
  static const char fn[] = "rpu_tile_new";
  const struct rpu_config *c = t->cfg;
  /* COPY with pdrop <= 0 leaves the weights as they are (SPEC.md §1.2). */
  int modifier_on = c->modifier.type != RPU__MOD_NONE &&
                    !(c->modifier.type == RPU__MOD_COPY && c->modifier.pdrop <= 0);
  const char *section = c->clip.type != RPU__CLIP_NONE    ? "clip"
                        : modifier_on                     ? "modifier"
                        : c->remap.type != RPU__REMAP_NONE ? "remap"
                                                          : NULL;
  if (section != NULL)
    return rpu__error_set(RPU_EUNSUPPORTED, section,
                          "%s: InferenceRPUConfig: %s.type other than NONE is not "
                          "implemented yet (SPEC.md §6.7-§6.9)",
                          fn, section);
  return rpu__analog_init(t);
}

static int inference_update(rpu_tile *t, const float *x, const float *d, int batch,
                            float lr) {
  rpu__tile_exact_update(t, x, d, batch, lr);
  return 0;
}

static int inference_program(rpu_tile *t) {
  (void)t;
  return rpu__error_set(RPU_EUNSUPPORTED, "rpu_tile_program",
                        "programming an inference tile needs its noise model "
                        "(SPEC.md §6.1), which is not implemented yet");
}

static int inference_drift(rpu_tile *t, double t_seconds) {
  (void)t;
  (void)t_seconds;
  return rpu__error_set(RPU_EUNSUPPORTED, "rpu_tile_drift",
                        "drifting an inference tile needs its noise model "
                        "(SPEC.md §6.1), which is not implemented yet");
}
