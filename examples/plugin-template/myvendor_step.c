/* MyVendorStepDevice — a template for your own rpu device plugin.
 *
 * Copy this directory, rename "myvendor_step" / "MyVendorStepDevice" to
 * your own names (keep a vendor prefix on model names so they never clash
 * with the shipped ones), change the physics in pulse_row, and build with
 * `make`.  Only <rpu/plugin.h> is needed; the plugin never sees JSON: the
 * core validates the config against the schema below and hands the hooks a
 * filled `struct myvendor_params`.  See docs/plugin-abi.md.
 *
 * The model: a constant-step device with cycle-to-cycle noise (the
 * ConstantStepDevice of SPEC.md §4.6 without device-to-device variation):
 *   up pulse:   w += dw_min * (1 + dw_min_std * xi)
 *   down pulse: w -= dw_min * (1 + dw_min_std * xi)
 * with a fresh standard normal xi per pulse, and a clip to [w_min, w_max]
 * after every pulse.  A positive count means down pulses (SPEC.md §3.3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <rpu/plugin.h>

/* The typed parameters: one field per schema entry below. */
typedef struct myvendor_params {
  double dw_min;
  double dw_min_std;
  double w_min;
  double w_max;
} myvendor_params;

/* The schema: name, field, default, inclusive range, unit, one-line doc.
 * `rpu-plugins describe MyVendorStepDevice` prints exactly this. */
static const rpu_param_desc myvendor_schema[] = {
    RPU_PARAM_DEF_REAL("dw_min", myvendor_params, dw_min, 0.001, 1e-9, 1.0, "",
                       "mean weight change of one pulse"),
    RPU_PARAM_DEF_REAL("dw_min_std", myvendor_params, dw_min_std, 0.3, 0.0, 10.0, "",
                       "relative cycle-to-cycle spread of a step"),
    RPU_PARAM_DEF_REAL("w_min", myvendor_params, w_min, -0.6, -100.0, 100.0, "",
                       "lower weight bound, at most 0"),
    RPU_PARAM_DEF_REAL("w_max", myvendor_params, w_max, 0.6, -100.0, 100.0, "",
                       "upper weight bound, at least 0"),
};

/* Rules that involve several parameters; the core reports a failure as
 * "device.<param>: <msg>" with the config file name in front. */
static int myvendor_check(const void *params, const char **param, char *msg, size_t msg_len) {
  const myvendor_params *p = params;
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

/* Per-tile state: here just the parameters; a real device would also keep
 * per-element bounds or steps sampled from init->construction. */
typedef struct myvendor_state {
  myvendor_params p;
} myvendor_state;

static void clip_to(rpu_weights w, double lo, double hi) {
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    for (int j = 0; j < w.cols; j++) row[j] = (float)fmin(fmax(row[j], lo), hi);
  }
}

static int myvendor_create(void **state, const rpu_device_init *init, rpu_weights w) {
  myvendor_state *s = malloc(sizeof *s);
  if (s == NULL) return rpu_error_set(RPU_ENOMEM, "MyVendorStepDevice", "out of memory");
  s->p = *(const myvendor_params *)init->params;
  clip_to(w, s->p.w_min, s->p.w_max);
  *state = s;
  return 0;
}

static void myvendor_destroy(void *state) { free(state); }

/* Weight granularity (SPEC.md §4.3): the mean step. */
static double myvendor_granularity(const void *params) {
  return ((const myvendor_params *)params)->dw_min;
}

/* Random numbers come only from the cursor the engine passes in, in bulk:
 * that keeps results reproducible and independent of threads. */
static void myvendor_pulse_row(void *state, float *w_row, int row, const int *cols,
                               const int32_t *counts, int n, rpu_rng_cursor *rng) {
  const myvendor_params *p = &((const myvendor_state *)state)->p;
  float xi[64];
  int avail = 0;
  (void)row;
  for (int k = 0; k < n; k++) {
    double w = w_row[cols[k]];
    int32_t c = counts[k];
    double sign = c > 0 ? -1.0 : 1.0; /* c > 0: down pulses */
    for (int32_t m = c > 0 ? c : -c; m > 0; m--) {
      double step = p->dw_min;
      if (p->dw_min_std > 0) {
        if (avail == 0) {
          rpu_rng_cursor_normal(rng, xi, 64);
          avail = 64;
        }
        step *= 1.0 + p->dw_min_std * xi[64 - avail--];
      }
      w = fmin(fmax(w + sign * step, p->w_min), p->w_max);
    }
    w_row[cols[k]] = (float)w;
  }
}

/* c < 0: clip to the bounds; else to [-c, c] within them. */
static void myvendor_clip(void *state, rpu_weights w, double c) {
  const myvendor_params *p = &((const myvendor_state *)state)->p;
  clip_to(w, c >= 0 ? fmax(p->w_min, -c) : p->w_min, c >= 0 ? fmin(p->w_max, c) : p->w_max);
}

static int myvendor_set_weights(void *state, rpu_weights w, rpu_rng_cursor *rng) {
  myvendor_clip(state, w, -1.0);
  (void)rng;
  return 0;
}

/* Hooks left out are NULL: optional.  create, destroy, granularity and
 * pulse_row are mandatory for a pulsed device. */
static const rpu_device_vtable myvendor_vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = myvendor_create,
    .destroy = myvendor_destroy,
    .granularity = myvendor_granularity,
    .pulse_row = myvendor_pulse_row,
    .clip = myvendor_clip,
    .set_weights = myvendor_set_weights,
};

static const rpu_model_desc myvendor_device = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "MyVendorStepDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_PULSED,
    .summary = "constant steps with cycle-to-cycle noise between w_min and w_max",
    .params = myvendor_schema,
    .n_params = sizeof myvendor_schema / sizeof myvendor_schema[0],
    .param_desc_size = sizeof(rpu_param_desc),
    .params_size = sizeof(myvendor_params),
    .check = myvendor_check,
    .vtable = &myvendor_vtable,
};

static const rpu_model_desc *const myvendor_models[] = {&myvendor_device};

static const rpu_plugin_info myvendor_info = {
    RPU_PLUGIN_INFO_HEAD, /* ABI version and struct size: always first */
    "myvendor_step",      /* plugin name */
    "0.1.0",              /* your version */
    "MyVendor's devices", /* one line */
    myvendor_models,
    sizeof myvendor_models / sizeof myvendor_models[0]};

/* The first argument must equal the file's base name (myvendor_step.so). */
RPU_PLUGIN_DEFINE(myvendor_step, &myvendor_info)
