/* Test plugin: a valid plugin with one model of each kind, used by the
 * positive tests (tests/check_plugin.c, check_models.c, the tile tests):
 *   TestGoodDevice         pulsed device, constant step (SPEC.md §4.6
 *                          ConstantStepDevice without noise), bounds clip;
 *                          its vtable is shorter than the host's (below)
 *   TestNoiseModel         noise model that programs and drifts exactly
 *   TestDriftCompensation  drift compensation without parameters
 * Everything is deterministic so tests can predict the weights by hand. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "rpu/plugin.h"

/* ----- TestGoodDevice ------------------------------------------------------ */

typedef struct good_params {
  double dw_min;
  double w_min;
  double w_max;
} good_params;

static const rpu_param_desc good_param_table[] = {
    RPU_PARAM_DEF_REAL("dw_min", good_params, dw_min, 0.01, 0.0, 1.0, "",
                       "weight change of one pulse"),
    RPU_PARAM_DEF_REAL("w_min", good_params, w_min, -1.0, -INFINITY, 0.0, "",
                       "lower weight bound"),
    RPU_PARAM_DEF_REAL("w_max", good_params, w_max, 1.0, 0.0, INFINITY, "",
                       "upper weight bound"),
};

static void clip_view(const good_params *p, rpu_weights w, double lo, double hi) {
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    for (int j = 0; j < w.cols; j++) {
      if (row[j] < lo) row[j] = (float)lo;
      if (row[j] > hi) row[j] = (float)hi;
    }
  }
  (void)p;
}

static int good_create(void **state, const rpu_device_init *init, rpu_weights w) {
  good_params *s = malloc(sizeof *s);
  if (s == NULL) return rpu_error_set(RPU_ENOMEM, "TestGoodDevice", "out of memory");
  *s = *(const good_params *)init->params;
  clip_view(s, w, s->w_min, s->w_max);
  *state = s;
  return 0;
}

static void good_destroy(void *state) { free(state); }

static double good_granularity(const void *params) {
  return ((const good_params *)params)->dw_min;
}

/* A positive count is that many down pulses (SPEC.md §3.3): w -= n dw_min,
 * then clip to the bounds. */
static void good_pulse_row(void *state, float *w_row, int row, const int *cols,
                           const int32_t *counts, int n, rpu_rng_cursor *rng) {
  const good_params *s = state;
  (void)row;
  (void)rng;
  for (int k = 0; k < n; k++) {
    double v = w_row[cols[k]] - counts[k] * s->dw_min;
    if (v < s->w_min) v = s->w_min;
    if (v > s->w_max) v = s->w_max;
    w_row[cols[k]] = (float)v;
  }
}

static void good_clip(void *state, rpu_weights w, double c) {
  const good_params *s = state;
  double lo = s->w_min, hi = s->w_max;
  if (c >= 0) {
    if (-c > lo) lo = -c;
    if (c < hi) hi = c;
  }
  clip_view(s, w, lo, hi);
}

static int good_set_weights(void *state, rpu_weights w, rpu_rng_cursor *rng) {
  const good_params *s = state;
  (void)rng;
  clip_view(s, w, s->w_min, s->w_max);
  return 0;
}

/* Exercises "hooks beyond struct_size are absent" (DESIGN.md §4): the
 * vtable declares a size that ends before get_weights, as if built against
 * an older ABI minor, yet the slot holds a hook that would poison every
 * weight.  The host must see get_weights as NULL and never call it. */
static int good_get_weights_beyond_size(void *state, rpu_weights w) {
  (void)state;
  for (int i = 0; i < w.rows; i++)
    for (int j = 0; j < w.cols; j++) w.w[(size_t)i * w.ld + j] = NAN;
  return RPU_EINTERNAL;
}

static const rpu_device_vtable good_vtable = {
    .struct_size = offsetof(rpu_device_vtable, get_weights),
    .create = good_create,
    .destroy = good_destroy,
    .granularity = good_granularity,
    .pulse_row = good_pulse_row,
    .clip = good_clip,
    .set_weights = good_set_weights,
    .get_weights = good_get_weights_beyond_size, /* beyond struct_size: absent */
};

static int good_check(const void *params, const char **param, char *msg, size_t msg_len) {
  const good_params *p = params;
  if (p->dw_min <= 0) {
    *param = "dw_min";
    snprintf(msg, msg_len, "must be positive, got %g", p->dw_min);
    return RPU_ERANGE;
  }
  return 0;
}

static const rpu_model_desc good_device = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestGoodDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_PULSED,
    .summary = "test device: constant steps of dw_min between w_min and w_max",
    .params = good_param_table,
    .n_params = sizeof good_param_table / sizeof good_param_table[0],
    .param_desc_size = sizeof(rpu_param_desc),
    .params_size = sizeof(good_params),
    .check = good_check,
    .vtable = &good_vtable,
};

/* ----- TestNoiseModel ------------------------------------------------------ */

typedef struct noise_params {
  double g_max;
} noise_params;

static const rpu_param_desc noise_param_table[] = {
    RPU_PARAM_DEF_REAL("g_max", noise_params, g_max, 25.0, 0.0, INFINITY, "uS",
                       "conductance of the largest weight"),
};

static int noise_create(void **state, const void *params) {
  *state = malloc(sizeof(noise_params));
  if (*state == NULL) return rpu_error_set(RPU_ENOMEM, "TestNoiseModel", "out of memory");
  *(noise_params *)*state = *(const noise_params *)params;
  return 0;
}

static void noise_destroy(void *state) { free(state); }

/* Exact programming, no drift: w_prog = w_ref, nu = 0. */
static int noise_program(void *state, const float *w_ref, float *w_prog, float *nu, size_t n,
                         rpu_rng_cursor *rng) {
  (void)state;
  (void)rng;
  for (size_t i = 0; i < n; i++) {
    w_prog[i] = w_ref[i];
    nu[i] = 0.0f;
  }
  return 0;
}

static int noise_drift(void *state, const float *w_prog, const float *nu, float *w_out,
                       size_t n, double t, rpu_rng_cursor *rng) {
  (void)state;
  (void)nu;
  (void)t;
  (void)rng;
  for (size_t i = 0; i < n; i++) w_out[i] = w_prog[i];
  return 0;
}

static const rpu_noise_model_vtable noise_vtable = {
    .struct_size = sizeof(rpu_noise_model_vtable),
    .create = noise_create,
    .destroy = noise_destroy,
    .program = noise_program,
    .drift = noise_drift,
};

static const rpu_model_desc noise_model = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestNoiseModel",
    .kind = RPU_MODEL_NOISE_MODEL,
    .device_class = RPU_DEVICE_CLASS_NONE,
    .summary = "test noise model: exact programming, no drift",
    .params = noise_param_table,
    .n_params = 1,
    .param_desc_size = sizeof(rpu_param_desc),
    .params_size = sizeof(noise_params),
    .vtable = &noise_vtable,
};

/* ----- TestDriftCompensation (no parameters) ------------------------------ */

static int comp_create(void **state, const void *params) {
  (void)params;
  *state = NULL;
  return 0;
}

static void comp_destroy(void *state) { (void)state; }

/* Every reference value is mean |y| over the read-out. */
static int comp_readout(void *state, const float *y, int rows, int cols, float *ref,
                        int n_out) {
  double sum = 0;
  (void)state;
  for (int i = 0; i < rows * cols; i++) sum += fabs(y[i]);
  for (int k = 0; k < n_out; k++)
    ref[k] = rows * cols > 0 ? (float)(sum / (rows * cols)) : 0.0f;
  return 0;
}

static const rpu_drift_compensation_vtable comp_vtable = {
    .struct_size = sizeof(rpu_drift_compensation_vtable),
    .create = comp_create,
    .destroy = comp_destroy,
    .readout = comp_readout,
};

static const rpu_model_desc drift_compensation = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestDriftCompensation",
    .kind = RPU_MODEL_DRIFT_COMPENSATION,
    .device_class = RPU_DEVICE_CLASS_NONE,
    .summary = "test drift compensation: mean absolute read-out",
    .params = NULL,
    .n_params = 0,
    .param_desc_size = sizeof(rpu_param_desc),
    .params_size = 0,
    .vtable = &comp_vtable,
};

static const rpu_model_desc *const models[] = {&good_device, &noise_model,
                                               &drift_compensation};

static const rpu_plugin_info info = {
    RPU_PLUGIN_INFO_HEAD, "good_extra", "1.0", "models for the positive tests",
    models, sizeof models / sizeof models[0]};

RPU_PLUGIN_DEFINE(good_extra, &info)
