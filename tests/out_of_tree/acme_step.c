/* AcmeStepDevice — a third-party pulsed device built the way an outside
 * vendor builds one: against the *installed* headers, found with
 * pkg-config, compiled with a plain `cc -shared -fPIC` (no libtool, no
 * access to the rpu source tree).  tests/out_of_tree/run.sh builds it,
 * lists, describes and checks it with the installed rpu-plugins.
 *
 * Physics: the constant-step device of SPEC.md §4.6 without any noise —
 * every pulse moves the weight by dw_min (a positive count means down
 * pulses, SPEC.md §3.3), then the weight is clipped to [w_min, w_max]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <rpu/plugin.h>

typedef struct acme_params {
  double dw_min;
  double w_min;
  double w_max;
} acme_params;

static const rpu_param_desc acme_param_table[] = {
    RPU_PARAM_DEF_REAL("dw_min", acme_params, dw_min, 0.001, 1e-9, 1.0, "",
                       "weight change of one pulse"),
    RPU_PARAM_DEF_REAL("w_min", acme_params, w_min, -0.6, -100.0, 100.0, "",
                       "lower weight bound, at most 0"),
    RPU_PARAM_DEF_REAL("w_max", acme_params, w_max, 0.6, -100.0, 100.0, "",
                       "upper weight bound, at least 0"),
};

/* Cross-field rule the ranges cannot express: w_min <= 0 <= w_max. */
static int acme_check(const void *params, const char **param, char *msg, size_t msg_len) {
  const acme_params *p = params;
  if (p->w_min > 0) {
    *param = "w_min";
    snprintf(msg, msg_len, "%g must be at most 0", p->w_min);
    return RPU_ERANGE;
  }
  if (p->w_max < 0) {
    *param = "w_max";
    snprintf(msg, msg_len, "%g must be at least 0", p->w_max);
    return RPU_ERANGE;
  }
  return 0;
}

static void clip_to(rpu_weights w, double lo, double hi) {
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    for (int j = 0; j < w.cols; j++) {
      if (row[j] < lo) row[j] = (float)lo;
      if (row[j] > hi) row[j] = (float)hi;
    }
  }
}

static int acme_create(void **state, const rpu_device_init *init, rpu_weights w) {
  acme_params *s = malloc(sizeof *s);
  if (s == NULL) return rpu_error_set(RPU_ENOMEM, "AcmeStepDevice", "out of memory");
  *s = *(const acme_params *)init->params;
  clip_to(w, s->w_min, s->w_max);
  *state = s;
  return 0;
}

static void acme_destroy(void *state) { free(state); }

static double acme_granularity(const void *params) {
  return ((const acme_params *)params)->dw_min;
}

static void acme_pulse_row(void *state, float *w_row, int row, const int *cols,
                           const int32_t *counts, int n, rpu_rng_cursor *rng) {
  const acme_params *s = state;
  (void)row;
  (void)rng; /* noise-free */
  for (int k = 0; k < n; k++) {
    double v = w_row[cols[k]] - counts[k] * s->dw_min;
    w_row[cols[k]] = (float)(v < s->w_min ? s->w_min : v > s->w_max ? s->w_max : v);
  }
}

static void acme_clip(void *state, rpu_weights w, double c) {
  const acme_params *s = state;
  double lo = s->w_min, hi = s->w_max;
  if (c >= 0) {
    lo = lo > -c ? lo : -c;
    hi = hi < c ? hi : c;
  }
  clip_to(w, lo, hi);
}

static int acme_set_weights(void *state, rpu_weights w, rpu_rng_cursor *rng) {
  const acme_params *s = state;
  (void)rng;
  clip_to(w, s->w_min, s->w_max);
  return 0;
}

/* Hooks not listed stay NULL: optional for a pulsed device. */
static const rpu_device_vtable acme_vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = acme_create,
    .destroy = acme_destroy,
    .granularity = acme_granularity,
    .pulse_row = acme_pulse_row,
    .clip = acme_clip,
    .set_weights = acme_set_weights,
};

static const rpu_model_desc acme_model = {
    sizeof(rpu_model_desc),
    "AcmeStepDevice",
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "Acme constant-step device: steps of dw_min between w_min and w_max",
    RPU_MODEL_PARAMS(acme_param_table, acme_params),
    acme_check,
    &acme_vtable};

static const rpu_model_desc *const acme_models[] = {&acme_model};

static const rpu_plugin_info acme_info = {RPU_PLUGIN_INFO_HEAD, "acme_step", "1.0.0",
                                          "Acme Corp. devices", acme_models, 1};

RPU_PLUGIN_DEFINE(acme_step, &acme_info)
