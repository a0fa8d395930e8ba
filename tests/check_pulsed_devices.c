/* Suite "pulsed_devices": the models of the pulsed plugin (SPEC.md §4),
 * driven through the public API only: a SingleRPUConfig from JSON gives the
 * device spec, and the tests call the model's vtable hooks directly on
 * their own weight buffer with their own cursors (no tile engine).
 *
 * Expected values are derived by hand from the SPEC equations (each test
 * says how).  Statistical checks use fixed seeds; a mean of N samples of
 * spread s is compared with tolerance 5 s / sqrt(N), a sample standard
 * deviation with 5 s / sqrt(2N) (its standard error for normal data), i.e.
 * five standard errors (two-sided false-alarm rate about 6e-7). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/rpu.h"
#include "tests/suites.h"
#include "tests/testutil.h"

/* No device-to-device or cycle-to-cycle variation. */
#define QUIET                                                               \
  "\"w_max_dtod\":0,\"w_min_dtod\":0,\"dw_min_dtod\":0,\"dw_min_std\":0,"   \
  "\"up_down_dtod\":0"

static rpu_context *ctx;

static void setup(void) { ctx = tu_context(); }
static void teardown(void) {
  rpu_context_free(ctx);
  ctx = NULL;
}

/* ----- a device on a weight buffer of the test's own ---------------------- */

typedef struct dev {
  rpu_config *cfg;
  const rpu_model_desc *m;
  const rpu_device_vtable *vt;
  const void *params;
  void *st;
  float *w;
  int rows, cols;
  rpu_rng_cursor upd; /* stream for pulses and the tile-level hooks */
} dev;

static rpu_weights view(dev *d) {
  rpu_weights v = {d->w, d->rows, d->cols, (size_t)d->cols};
  return v;
}

static int dev_try(dev *d, const char *device_json, int rows, int cols,
                   uint64_t seed) {
  char cfg[4096];
  snprintf(cfg, sizeof cfg, "{\"rpu_config\":\"SingleRPUConfig\",\"device\":%s}",
           device_json);
  memset(d, 0, sizeof *d);
  d->cfg = tu_config(ctx, cfg);
  const rpu_device_spec *spec = rpu_config_device(d->cfg);
  ck_assert_ptr_nonnull(spec);
  d->m = rpu_device_spec_model(spec);
  ck_assert_ptr_nonnull(d->m);
  ck_assert_uint_eq(d->m->device_class, RPU_DEVICE_PULSED);
  d->params = rpu_device_spec_params(spec);
  d->vt = d->m->vtable;
  d->rows = rows;
  d->cols = cols;
  d->w = calloc((size_t)rows * (size_t)cols, sizeof(float));
  ck_assert_ptr_nonnull(d->w);
  rpu_rng_cursor c = {rpu_rng_stream_make(seed, 0, RPU_RNG_CONSTRUCTION), 0};
  rpu_device_init init = {sizeof init, d->params, spec, rows, cols, &c};
  d->upd.stream = rpu_rng_stream_make(seed, 0, RPU_RNG_UPDATE);
  d->upd.pos = 0;
  return d->vt->create(&d->st, &init, view(d));
}

static void dev_open(dev *d, const char *device_json, int rows, int cols,
                     uint64_t seed) {
  int rc = dev_try(d, device_json, rows, cols, seed);
  ck_assert_msg(rc == 0, "create %s: %s", device_json,
                rpu_error_last()->message);
}

static void dev_close(dev *d) {
  if (d->st) d->vt->destroy(d->st);
  free(d->w);
  rpu_config_free(d->cfg);
}

/* All weights to v through the set_weights hook (clips to the bounds). */
static void dev_set(dev *d, float v) {
  for (int k = 0; k < d->rows * d->cols; k++) d->w[k] = v;
  ck_assert_int_eq(d->vt->set_weights(d->st, view(d), &d->upd), 0);
}

/* `count` signed pulses (negative = up, SPEC.md §3.3) on every element,
 * one pulse_row call per row. */
static void dev_pulse_all(dev *d, int32_t count) {
  int *cols = malloc((size_t)d->cols * sizeof(int));
  int32_t *cnt = malloc((size_t)d->cols * sizeof(int32_t));
  ck_assert_ptr_nonnull(cols);
  ck_assert_ptr_nonnull(cnt);
  for (int j = 0; j < d->cols; j++) {
    cols[j] = j;
    cnt[j] = count;
  }
  for (int i = 0; i < d->rows; i++)
    d->vt->pulse_row(d->st, d->w + (size_t)i * d->cols, i, cols, cnt, d->cols,
                     &d->upd);
  free(cols);
  free(cnt);
}

static void dev_pulse_one(dev *d, int row, int col, int32_t count) {
  d->vt->pulse_row(d->st, d->w + (size_t)row * d->cols, row, &col, &count, 1,
                   &d->upd);
}

/* Each element's bounds through the clip hook on a scratch buffer
 * (clip(-1) of +-1e30 gives b_max / b_min).  Only for devices without
 * persistent weights, whose clip acts on the buffer it is given. */
static void dev_bounds(dev *d, float *bmin, float *bmax) {
  size_t n = (size_t)d->rows * d->cols;
  rpu_weights v = {bmax, d->rows, d->cols, (size_t)d->cols};
  for (size_t k = 0; k < n; k++) bmax[k] = 1e30f;
  d->vt->clip(d->st, v, -1.0);
  v.w = bmin;
  for (size_t k = 0; k < n; k++) bmin[k] = -1e30f;
  d->vt->clip(d->st, v, -1.0);
}

static void stats(const float *x, size_t n, double *mean, double *sd) {
  double s = 0, q = 0;
  for (size_t k = 0; k < n; k++) s += x[k];
  double m = s / (double)n;
  for (size_t k = 0; k < n; k++) q += (x[k] - m) * (x[k] - m);
  *mean = m;
  *sd = sqrt(q / (double)(n - 1));
}

/* five standard errors of a mean / of a standard deviation */
static double tol_mean(double s, size_t n) { return 5.0 * s / sqrt((double)n); }
static double tol_sd(double s, size_t n) {
  return 5.0 * s / sqrt(2.0 * (double)n);
}

/* ----- noise-free traces (SPEC.md §4.6, §4.5) ------------------------------ */

/* SoftBounds, dw_min 0.1, b_max 1, b_min -1, no noise (SPEC.md §4.6):
 * up from 0: w_n = 1 - 0.9^n (0.1, 0.19, 0.271, 0.3439, 0.40951); then
 * down w <- w - 0.1 (1 - w / (-1)) = 0.9 w - 0.1. */
START_TEST(test_soft_bounds_trace) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsDevice\",\"dw_min\":0.1,\"w_max\":1,"
               "\"w_min\":-1," QUIET "}",
           1, 2, 1);
  const double up[5] = {0.1, 0.19, 0.271, 0.3439, 0.40951};
  for (int p = 0; p < 5; p++) {
    dev_pulse_one(&d, 0, 0, -1);
    ck_assert_double_eq_tol(d.w[0], up[p], 1e-6);
  }
  double w = 0.40951;
  for (int p = 0; p < 5; p++) {
    w = 0.9 * w - 0.1;
    dev_pulse_one(&d, 0, 0, +1);
    ck_assert_double_eq_tol(d.w[0], w, 1e-6);
  }
  /* five pulses in one call are applied one after the other */
  dev_pulse_one(&d, 0, 1, -5);
  ck_assert_double_eq_tol(d.w[1], 0.40951, 1e-6);
  dev_close(&d);
}
END_TEST

/* PowStep, pow_gamma 2, no spread, bounds +-1, dw 0.1 (SPEC.md §4.6):
 * from 0.2 up: 0.2 + 0.1 ((1 - 0.2)/2)^2 = 0.216; down:
 * 0.2 - 0.1 ((0.2 + 1)/2)^2 = 0.164. */
START_TEST(test_pow_step_trace) {
  dev d;
  dev_open(&d, "{\"type\":\"PowStepDevice\",\"dw_min\":0.1,\"w_max\":1,"
               "\"w_min\":-1,\"pow_gamma\":2,\"pow_gamma_dtod\":0," QUIET "}",
           1, 2, 1);
  dev_set(&d, 0.2f);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], 0.216, 1e-6);
  ck_assert_double_eq_tol(d.w[1], 0.164, 1e-6);
  dev_close(&d);
}
END_TEST

/* ExpStep, dw 0.1, bounds +-1, default shape (SPEC.md §4.6 [verified]):
 * z = 2 0.244 0.2 / 2 + 0.2425 = 0.2913, y = 1 - 0.00081 e^{12.44625 z},
 * w = 0.2 + 0.1 y = 0.296959. */
START_TEST(test_exp_step_trace) {
  dev d;
  dev_open(&d, "{\"type\":\"ExpStepDevice\",\"dw_min\":0.1,\"w_max\":1,"
               "\"w_min\":-1," QUIET "}",
           1, 1, 1);
  dev_set(&d, 0.2f);
  dev_pulse_one(&d, 0, 0, -1);
  double z = 2 * 0.244 * 0.2 / 2 + 0.2425;
  ck_assert_double_eq_tol(d.w[0], 0.2 + 0.1 * (1 - 0.00081 * exp(12.44625 * z)),
                          1e-6);
  ck_assert_double_eq_tol(d.w[0], 0.296959, 1e-6);
  /* down: y = 1 - 0.36833 e^{-12.78785 z} */
  dev_set(&d, 0.2f);
  dev_pulse_one(&d, 0, 0, +1);
  ck_assert_double_eq_tol(d.w[0],
                          0.2 - 0.1 * (1 - 0.36833 * exp(-12.78785 * z)), 1e-6);
  dev_close(&d);
}
END_TEST

/* PiecewiseStep, nodes up [0.5, 1, 2], down [2, 1, 0.5], bounds +-1, dw
 * 0.1 (SPEC.md §4.6): at w = 0.25, t = 1.25/2 * 2 = 1.25, k = 1,
 * q = 0.25: up factor 0.75*1 + 0.25*2 = 1.25 -> 0.375; down factor
 * 0.75*1 + 0.25*0.5 = 0.875 -> 0.1625.  At w = -1 (t = 0): up factor 0.5. */
START_TEST(test_piecewise_trace) {
  dev d;
  dev_open(&d, "{\"type\":\"PiecewiseStepDevice\",\"dw_min\":0.1,"
               "\"w_max\":1,\"w_min\":-1,\"piecewise_up\":[0.5,1,2],"
               "\"piecewise_down\":[2,1,0.5]," QUIET "}",
           1, 3, 1);
  dev_set(&d, 0.25f);
  d.w[2] = -1.0f;
  ck_assert_int_eq(d.vt->set_weights(d.st, view(&d), &d.upd), 0);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  dev_pulse_one(&d, 0, 2, -1);
  ck_assert_double_eq_tol(d.w[0], 0.375, 1e-6);
  ck_assert_double_eq_tol(d.w[1], 0.1625, 1e-6);
  ck_assert_double_eq_tol(d.w[2], -0.95, 1e-6);
  dev_close(&d);
}
END_TEST

/* LinearStep, gamma_up 0.5, gamma_down 0.25, mean-bound reference +-1,
 * dw 0.1 (SPEC.md §4.6, step dw (1 - gamma w / r)): from 0.4 up
 * 0.1 (1 - 0.5*0.4/1) = 0.08 -> 0.48; down 0.1 (1 - 0.25*0.4/(-1)) = 0.11
 * -> 0.29. */
START_TEST(test_linear_step_slopes) {
  dev d;
  dev_open(&d, "{\"type\":\"LinearStepDevice\",\"dw_min\":0.1,\"w_max\":1,"
               "\"w_min\":-1,\"gamma_up\":0.5,\"gamma_down\":0.25,"
               "\"gamma_up_dtod\":0,\"gamma_down_dtod\":0," QUIET "}",
           1, 2, 1);
  dev_set(&d, 0.4f);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], 0.48, 1e-6);
  ck_assert_double_eq_tol(d.w[1], 0.29, 1e-6);
  dev_close(&d);
}
END_TEST

/* SoftBoundsPmax, range +-1, p_max 1000, alpha 5e-4 (SPEC.md §4.6):
 * B = 2 / (1 - e^{-0.5}) = 5.0829..., w_min = -1, w_max = -1 + B,
 * dw_min = B alpha, up_down = 1 - 2/B = e^{-0.5} > 0 so dw_up = dw_min,
 * dw_down = (1 - up_down) dw_min = 2 alpha = 0.001.  From 0 the soft-bounds
 * factor is 1: one up pulse gives B alpha, one down pulse -0.001. */
START_TEST(test_soft_bounds_pmax_derived) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsPmaxDevice\",\"p_max\":1000,"
               "\"alpha\":0.0005,\"range_min\":-1,\"range_max\":1,"
               "\"w_max_dtod\":0,\"w_min_dtod\":0,\"dw_min_dtod\":0,"
               "\"dw_min_std\":0,\"up_down_dtod\":0}",
           1, 2, 1);
  const double B = 2.0 / (1.0 - exp(-0.5));
  ck_assert_double_eq_tol(d.vt->granularity(d.params), B * 0.0005, 1e-12);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], B * 0.0005, 1e-7);
  ck_assert_double_eq_tol(d.w[1], -0.001, 1e-7);
  float bmin[2], bmax[2];
  dev_bounds(&d, bmin, bmax);
  ck_assert_double_eq_tol(bmax[0], -1.0 + B, 1e-5);
  ck_assert_double_eq_tol(bmin[0], -1.0, 1e-7);
  dev_close(&d);
}
END_TEST

/* SoftBoundsReference with reference_mean 0.1, bounds +-1, dw 0.1 (SPEC.md
 * §4.6): v = w + 0.1.  From w = 0 up: v = 0.1 + 0.1 (1 - 0.1) = 0.19,
 * w = 0.09; down: v = 0.1 - 0.1 (1 - 0.1/(-1)) = -0.01, w = -0.11. */
START_TEST(test_soft_bounds_reference_trace) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsReferenceDevice\",\"dw_min\":0.1,"
               "\"w_max\":1,\"w_min\":-1,\"reference_mean\":0.1," QUIET "}",
           1, 2, 1);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], 0.09, 1e-6);
  ck_assert_double_eq_tol(d.w[1], -0.11, 1e-6);
  dev_close(&d);
}
END_TEST

/* Symmetry point (SPEC.md §4.6), up_down 0.2 so dw_up = 0.1, dw_down =
 * 0.08, bounds +-1: w* = (0.1 - 0.08)/(0.1/1 + 0.08/1) = 1/9.  At w = 0
 * (v = w*) up and down steps are equal: 0.1 (1 - 1/9) = 0.08 (1 + 1/9) =
 * 0.0888...  The bounds and the reset bias move with it, so w decays
 * towards 0 (reset 0, lifetime 10: 0.5 -> 0.45). */
START_TEST(test_soft_bounds_reference_symmetry) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsReferenceDevice\",\"dw_min\":0.1,"
               "\"w_max\":1,\"w_min\":-1,\"up_down\":0.2,\"lifetime\":10,"
               "\"subtract_symmetry_point\":true," QUIET "}",
           1, 3, 1);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], 0.08 / 0.9, 1e-6);
  ck_assert_double_eq_tol(d.w[1], -0.08 / 0.9, 1e-6);
  float bmin[3], bmax[3];
  dev_bounds(&d, bmin, bmax);
  ck_assert_double_eq_tol(bmax[2], 1.0 - 1.0 / 9, 1e-6);
  ck_assert_double_eq_tol(bmin[2], -1.0 - 1.0 / 9, 1e-6);
  d.w[2] = 0.5f;
  ck_assert_int_eq(d.vt->post_update(d.st, view(&d), &d.upd), 0);
  ck_assert_double_eq_tol(d.w[2], 0.45, 1e-6);
  dev_close(&d);
}
END_TEST

/* PowStepReference, gamma 1 (no spread), dw_up 0.1, dw_down 0.08, bounds
 * +-1, R = 2: F(s) = s - 0.04 (s + 1) + 0.05 (1 - s) = 0.91 s + 0.01, so
 * s_n = (1/9)(1 - 0.91^n).  Default n = round(10 * 2 / 0.08) = 250:
 * s = 1/9 (to 1e-10) and steps at w = 0 are 0.05 (1 - 1/9) both ways;
 * n_estimation_steps 5: s_5 = (1/9)(1 - 0.91^5), up step 0.05 (1 - s_5). */
START_TEST(test_pow_step_reference_symmetry) {
  dev d;
  dev_open(&d, "{\"type\":\"PowStepReferenceDevice\",\"dw_min\":0.1,"
               "\"w_max\":1,\"w_min\":-1,\"up_down\":0.2,\"pow_gamma\":1,"
               "\"pow_gamma_dtod\":0,\"subtract_symmetry_point\":true," QUIET
               "}",
           1, 2, 1);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], 0.05 * (1 - 1.0 / 9), 1e-6);
  ck_assert_double_eq_tol(d.w[1], -0.05 * (1 - 1.0 / 9), 1e-6);
  dev_close(&d);

  dev_open(&d, "{\"type\":\"PowStepReferenceDevice\",\"dw_min\":0.1,"
               "\"w_max\":1,\"w_min\":-1,\"up_down\":0.2,\"pow_gamma\":1,"
               "\"pow_gamma_dtod\":0,\"subtract_symmetry_point\":true,"
               "\"n_estimation_steps\":5," QUIET "}",
           1, 1, 1);
  dev_pulse_one(&d, 0, 0, -1);
  double s5 = (1.0 / 9) * (1 - pow(0.91, 5));
  ck_assert_double_eq_tol(d.w[0], 0.05 * (1 - s5), 1e-6);
  dev_close(&d);
}
END_TEST

/* Decay with reset bias (SPEC.md §4.5 [verified]): reset 0.2, lifetime 10
 * (delta = 0.9): w = (w - 0.2) 0.9 + 0.2: 0.8 -> 0.74, 0.686, 0.6374
 * (w_max 1 so that 0.8 is inside the bounds). */
START_TEST(test_decay_reset_bias) {
  dev d;
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"reset\":0.2,"
               "\"lifetime\":10,\"w_max\":1," QUIET "}",
           2, 2, 1);
  dev_set(&d, 0.8f);
  const double trace[3] = {0.74, 0.686, 0.6374};
  for (int p = 0; p < 3; p++) {
    ck_assert_int_eq(d.vt->post_update(d.st, view(&d), &d.upd), 0);
    for (int k = 0; k < 4; k++) ck_assert_double_eq_tol(d.w[k], trace[p], 1e-6);
  }
  dev_close(&d);
}
END_TEST

/* Reset (SPEC.md §4.5): w = b_reset (+ reset_std xi), clipped; columns
 * start..start+n-1 wrap around. */
START_TEST(test_reset) {
  dev d;
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"reset\":0.2,"
               "\"reset_std\":0," QUIET "}",
           3, 10, 1);
  dev_set(&d, -0.5f);
  d.vt->reset_cols(d.st, view(&d), 8, 4, 1.0, &d.upd); /* 8, 9, 0, 1 */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 10; j++) {
      int hit = j >= 8 || j <= 1;
      ck_assert_double_eq_tol(d.w[i * 10 + j], hit ? 0.2 : -0.5, 1e-7);
    }
  dev_close(&d);

  /* reset_std 0.05 on 100 x 100: mean 0.2, spread 0.05; probability 0.5:
   * the number reset is binomial(10000, 0.5), 5000 +- 5 * 50. */
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"reset\":0.2,"
               "\"reset_std\":0.05," QUIET "}",
           100, 100, 3);
  d.vt->reset_cols(d.st, view(&d), 0, 100, 1.0, &d.upd);
  double m, s;
  stats(d.w, 10000, &m, &s);
  ck_assert_double_le(fabs(m - 0.2), tol_mean(0.05, 10000));
  ck_assert_double_le(fabs(s - 0.05), tol_sd(0.05, 10000));
  dev_set(&d, -0.5f);
  d.vt->reset_cols(d.st, view(&d), 0, 100, 0.5, &d.upd);
  int changed = 0;
  for (int k = 0; k < 10000; k++) changed += d.w[k] != -0.5f;
  ck_assert_int_le(abs(changed - 5000), 250);
  dev_close(&d);
}
END_TEST

/* Diffusion (SPEC.md §4.5): one post_update adds 0.01 xi to each weight. */
START_TEST(test_diffusion) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsDevice\",\"diffusion\":0.01," QUIET "}",
           100, 100, 5);
  ck_assert_int_eq(d.vt->post_update(d.st, view(&d), &d.upd), 0);
  double m, s;
  stats(d.w, 10000, &m, &s);
  ck_assert_double_le(fabs(m), tol_mean(0.01, 10000));
  ck_assert_double_le(fabs(s - 0.01), tol_sd(0.01, 10000));
  dev_close(&d);
}
END_TEST

/* Drift (SPEC.md §4.7, §6.6, §9.2 item 5): nu 0.1, t_0 1.  First call
 * (dt 2): T = 2, w = w0 2^-0.1; second (dt 2): w0 4^-0.1.  An element
 * that moved restarts: no drift in that call, then w0' (T - t_start)^-nu. */
START_TEST(test_drift) {
  dev d;
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"dw_min\":0.01,"
               "\"drift\":{\"nu\":0.1}," QUIET "}",
           1, 2, 1);
  d.w[0] = 0.5f;
  d.w[1] = -0.3f;
  ck_assert_int_eq(d.vt->set_weights(d.st, view(&d), &d.upd), 0);
  ck_assert_int_eq(d.vt->drift(d.st, view(&d), 2.0, &d.upd), 0);
  ck_assert_double_eq_tol(d.w[0], 0.5 * pow(2, -0.1), 1e-6);
  ck_assert_double_eq_tol(d.w[1], -0.3 * pow(2, -0.1), 1e-6);
  ck_assert_int_eq(d.vt->drift(d.st, view(&d), 2.0, &d.upd), 0);
  ck_assert_double_eq_tol(d.w[0], 0.5 * pow(4, -0.1), 1e-6);
  dev_pulse_one(&d, 0, 0, -1); /* +0.01 */
  float moved = d.w[0];
  ck_assert_int_eq(d.vt->drift(d.st, view(&d), 2.0, &d.upd), 0); /* T = 6 */
  ck_assert_float_eq(d.w[0], moved);
  ck_assert_double_eq_tol(d.w[1], -0.3 * pow(6, -0.1), 1e-6);
  ck_assert_int_eq(d.vt->drift(d.st, view(&d), 2.0, &d.upd), 0); /* T = 8 */
  ck_assert_double_eq_tol(d.w[0], moved * pow(2, -0.1), 1e-6);
  ck_assert_int_eq(d.vt->drift(d.st, view(&d), -1.0, &d.upd), RPU_EINVAL);
  dev_close(&d);

  /* nu_ij = 0.1 + 0.2 * 0.1 xi (§4.7): one call with T = e gives
   * w = w0 e^-nu, so -ln(w / w0) has mean 0.1 and spread 0.02. */
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"drift\":{\"nu\":0.1,"
               "\"nu_dtod\":0.2}," QUIET "}",
           100, 100, 9);
  dev_set(&d, 0.5f);
  ck_assert_int_eq(d.vt->drift(d.st, view(&d), exp(1.0), &d.upd), 0);
  float *nu = malloc(10000 * sizeof(float));
  ck_assert_ptr_nonnull(nu);
  for (int k = 0; k < 10000; k++) nu[k] = (float)-log(d.w[k] / 0.5);
  double m, s;
  stats(nu, 10000, &m, &s);
  ck_assert_double_le(fabs(m - 0.1), tol_mean(0.02, 10000));
  ck_assert_double_le(fabs(s - 0.02), tol_sd(0.02, 10000));
  free(nu);
  dev_close(&d);
}
END_TEST

/* ----- bounds, corrupt devices, write noise -------------------------------- */

static const char *const walk_models[] = {
    "{\"type\":\"ConstantStepDevice\",\"dw_min\":0.05}",
    "{\"type\":\"LinearStepDevice\",\"dw_min\":0.05,\"gamma_up\":0.3}",
    "{\"type\":\"SoftBoundsDevice\",\"dw_min\":0.05}",
    "{\"type\":\"SoftBoundsPmaxDevice\",\"alpha\":0.05,\"p_max\":20}",
    "{\"type\":\"SoftBoundsReferenceDevice\",\"dw_min\":0.05,"
    "\"reference_std\":0.1,\"slope_up_dtod\":0.2}",
    "{\"type\":\"ExpStepDevice\",\"dw_min\":0.05}",
    "{\"type\":\"PowStepDevice\",\"dw_min\":0.05}",
    "{\"type\":\"PowStepReferenceDevice\",\"dw_min\":0.05,"
    "\"reference_std\":0.1}",
    "{\"type\":\"PiecewiseStepDevice\",\"dw_min\":0.05,"
    "\"piecewise_up\":[2,1,0.5],\"piecewise_down\":[0.5,1,2]}",
    /* the ReRamES preset shape (negative amplitudes: steps grow towards a
     * bound), write noise off so the clip hook reads the bounds */
    "{\"type\":\"ExpStepDevice\",\"dw_min\":0.05,\"up_down\":0.259359,"
    "\"w_max\":1,\"w_min\":-1,\"a\":-0.5,\"b\":-0.5,\"gamma_up\":5,"
    "\"gamma_down\":5,\"A_up\":-1.18445,\"A_down\":-0.081404,"
    "\"dw_min_dtod\":0.2,\"up_down_dtod\":0.05,\"dw_min_std\":5}",
};

/* Random walks of many pulses with the default variations (SPEC.md §4.4:
 * clip after every pulse): after every pulse_row call every weight lies
 * within its element's bounds.  Counts in [-8, 8] per element (single
 * pulses included), 300 rounds, steps of 0.05 so the walks hit the bounds. */
START_TEST(test_bounds_random_walk) {
  dev d;
  dev_open(&d, walk_models[_i], 8, 16, 11 + (uint64_t)_i);
  float bmin[128], bmax[128];
  dev_bounds(&d, bmin, bmax);
  int cols[16];
  int32_t cnt[16];
  uint32_t lcg = 12345u + (uint32_t)_i;
  int hit_top = 0, hit_bottom = 0;
  for (int round = 0; round < 300; round++)
    for (int i = 0; i < 8; i++) {
      int n = 0;
      for (int j = 0; j < 16; j++) {
        lcg = lcg * 1664525u + 1013904223u;
        int32_t c = (int32_t)((lcg >> 24) % 17u) - 8;
        if (round % 60 >= 30) c -= 6; /* push down for a while */
        else c += 6;
        if (c == 0) continue;
        cols[n] = j;
        cnt[n++] = -c; /* negative = up */
      }
      d.vt->pulse_row(d.st, d.w + i * 16, i, cols, cnt, n, &d.upd);
      for (int j = 0; j < 16; j++) {
        float x = d.w[i * 16 + j];
        ck_assert_msg(x >= bmin[i * 16 + j] && x <= bmax[i * 16 + j],
                      "%s: w[%d][%d] = %g outside [%g, %g]", walk_models[_i], i,
                      j, x, bmin[i * 16 + j], bmax[i * 16 + j]);
        hit_top += x == bmax[i * 16 + j];
        hit_bottom += x == bmin[i * 16 + j];
      }
    }
  /* ConstantStep must reach its hard bounds on these walks */
  if (_i == 0) ck_assert(hit_top > 0 && hit_bottom > 0);
  dev_close(&d);
}
END_TEST

/* Corrupt devices (SPEC.md §4.2 step 6): stuck at a value uniform in
 * [-range, range] (bounds +-0.6 > range 0.1): mean 0, spread 0.2/sqrt(12)
 * (for uniform data the sample spread has standard error
 * sqrt(0.2/N) times the spread); pulses, decay, diffusion and reset leave
 * them there.  With probability
 * 0.25 the number stuck is binomial(10000, 0.25): 2500 +- 5 * 43.3. */
START_TEST(test_corrupt_devices) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsDevice\",\"corrupt_devices_prob\":1,"
               "\"corrupt_devices_range\":0.1,\"lifetime\":5,\"reset\":0.3,"
               "\"diffusion\":0.05,\"w_max_dtod\":0,\"w_min_dtod\":0}",
           100, 100, 21);
  float *bmin = malloc(10000 * sizeof(float)), *bmax = malloc(10000 * sizeof(float));
  ck_assert_ptr_nonnull(bmin);
  ck_assert_ptr_nonnull(bmax);
  dev_bounds(&d, bmin, bmax);
  for (int k = 0; k < 10000; k++) {
    ck_assert_float_eq(bmin[k], bmax[k]);
    ck_assert(fabsf(bmin[k]) <= 0.1f);
  }
  double m, s;
  stats(bmax, 10000, &m, &s);
  const double sd = 0.2 / sqrt(12.0);
  ck_assert_double_le(fabs(m), tol_mean(sd, 10000));
  ck_assert_double_le(fabs(s - sd), 5 * sd * sqrt(0.2 / 10000));
  /* the initial (zero) weights were clipped to the stuck values */
  for (int k = 0; k < 10000; k++) ck_assert_float_eq(d.w[k], bmax[k]);
  dev_pulse_all(&d, -7);
  dev_pulse_all(&d, 3);
  ck_assert_int_eq(d.vt->post_update(d.st, view(&d), &d.upd), 0);
  d.vt->reset_cols(d.st, view(&d), 0, 100, 1.0, &d.upd);
  for (int k = 0; k < 10000; k++) ck_assert_float_eq(d.w[k], bmax[k]);
  dev_close(&d);

  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"corrupt_devices_prob\":0.25}",
           100, 100, 22);
  dev_bounds(&d, bmin, bmax);
  int stuck = 0;
  for (int k = 0; k < 10000; k++) stuck += bmin[k] == bmax[k];
  ck_assert_int_le(abs(stuck - 2500), 217);
  dev_set(&d, 0.0f);
  float *before = malloc(10000 * sizeof(float));
  ck_assert_ptr_nonnull(before);
  memcpy(before, d.w, 10000 * sizeof(float));
  dev_pulse_all(&d, -5);
  for (int k = 0; k < 10000; k++)
    if (bmin[k] == bmax[k])
      ck_assert_float_eq(d.w[k], before[k]);
    else
      ck_assert(d.w[k] != before[k]);
  free(before);
  free(bmin);
  free(bmax);
  dev_close(&d);
}
END_TEST

/* Write noise (SPEC.md §4.4): LinearStep with gamma 0 (constant step 0.01,
 * no variation) and write_noise_std 2, i.e. apparent = hidden + 0.02 xi.
 * After set_weights(0.1) the apparent weights have mean 0.1, spread 0.02.
 * Ten single up pulses move the hidden weight to exactly 0.2; the apparent
 * weight is redrawn around it, so the spread stays 0.02 (noise acting on
 * the stored weight would have grown it to 0.02 sqrt(11)). */
START_TEST(test_write_noise) {
  dev d;
  dev_open(&d, "{\"type\":\"LinearStepDevice\",\"dw_min\":0.01,"
               "\"gamma_up_dtod\":0,\"gamma_down_dtod\":0,"
               "\"write_noise_std\":2," QUIET "}",
           100, 100, 31);
  const size_t n = 10000;
  double m, s;
  dev_set(&d, 0.1f);
  stats(d.w, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.1), tol_mean(0.02, n));
  ck_assert_double_le(fabs(s - 0.02), tol_sd(0.02, n));
  for (int p = 0; p < 10; p++) dev_pulse_all(&d, -1);
  stats(d.w, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.2), tol_mean(0.02, n));
  ck_assert_double_le(fabs(s - 0.02), tol_sd(0.02, n));
  /* a clip to [-0.15, 0.15] clips the hidden weights (0.2 -> 0.15) */
  d.vt->clip(d.st, view(&d), 0.15);
  stats(d.w, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.15), tol_mean(0.02, n));
  ck_assert_double_le(fabs(s - 0.02), tol_sd(0.02, n));
  dev_close(&d);

  /* apply_write_noise_on_set false: the set weights show exactly */
  dev_open(&d, "{\"type\":\"SoftBoundsDevice\",\"write_noise_std\":2,"
               "\"apply_write_noise_on_set\":false," QUIET "}",
           4, 4, 32);
  dev_set(&d, 0.1f);
  for (int k = 0; k < 16; k++) ck_assert_float_eq(d.w[k], 0.1f);
  dev_close(&d);
}
END_TEST

/* set_weights clips to each element's bounds (SPEC.md §4.4). */
START_TEST(test_set_weights_clips) {
  dev d;
  dev_open(&d, "{\"type\":\"ConstantStepDevice\"}", 10, 10, 41);
  float bmin[100], bmax[100];
  dev_bounds(&d, bmin, bmax);
  dev_set(&d, 5.0f);
  for (int k = 0; k < 100; k++) ck_assert_float_eq(d.w[k], bmax[k]);
  dev_set(&d, -5.0f);
  for (int k = 0; k < 100; k++) ck_assert_float_eq(d.w[k], bmin[k]);
  dev_close(&d);
}
END_TEST

/* perfect_bias (SPEC.md §4.2 step 7): the last column has nominal steps
 * (up = down = dw_min) and bounds 100 w_min, 100 w_max despite the
 * default variations. */
START_TEST(test_perfect_bias) {
  dev d;
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"perfect_bias\":true,"
               "\"dw_min_std\":0}",
           20, 3, 43);
  float bmin[60], bmax[60];
  dev_bounds(&d, bmin, bmax);
  dev_pulse_all(&d, -1);
  for (int i = 0; i < 20; i++) {
    ck_assert_double_eq_tol(bmax[i * 3 + 2], 60.0, 1e-5);
    ck_assert_double_eq_tol(bmin[i * 3 + 2], -60.0, 1e-5);
    ck_assert_double_eq_tol(d.w[i * 3 + 2], 0.001, 1e-9);
  }
  dev_close(&d);
}
END_TEST

/* ----- device-to-device sampling (SPEC.md §4.2) ---------------------------- */

/* ConstantStep defaults on 200 x 200 (N = 40000):
 * b_max = |0.6 (1 + 0.3 xi)|: mean 0.6, spread 0.18 (the |.| changes the
 * mean by ~2e-5, far below the tolerance); b_min likewise around -0.6.
 * Steps (measured as one noise-free pulse from 0): dw_up = (1 + 0.3 xi +
 * 0.01 xi') 0.001, dw_down = (1 + 0.3 xi - 0.01 xi') 0.001: mean 0.001,
 * spread 0.001 sqrt(0.0901); their difference 0.02 xi' 0.001 has spread
 * 2e-5 (up_down_dtod). */
START_TEST(test_d2d_sampling) {
  dev d;
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"dw_min_std\":0}", 200, 200,
           51);
  const size_t n = 40000;
  float *bmin = malloc(n * sizeof(float)), *bmax = malloc(n * sizeof(float));
  float *up = malloc(n * sizeof(float)), *down = malloc(n * sizeof(float));
  ck_assert(bmin && bmax && up && down);
  dev_bounds(&d, bmin, bmax);
  double m, s;
  stats(bmax, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.6), tol_mean(0.18, n));
  ck_assert_double_le(fabs(s - 0.18), tol_sd(0.18, n));
  stats(bmin, n, &m, &s);
  ck_assert_double_le(fabs(m + 0.6), tol_mean(0.18, n));
  ck_assert_double_le(fabs(s - 0.18), tol_sd(0.18, n));
  /* Steps are read off one pulse from 0, which a bound closer than 0.01
   * would clip (about one element in 40000 has |1 + 0.3 xi| < 0.017);
   * such elements are left out (nu counts the rest). */
  dev_set(&d, 0.0f);
  dev_pulse_all(&d, -1);
  size_t nu = 0;
  for (size_t k = 0; k < n; k++)
    if (bmax[k] >= 0.01f && bmin[k] <= -0.01f) up[nu++] = d.w[k];
  dev_set(&d, 0.0f);
  dev_pulse_all(&d, +1);
  nu = 0;
  for (size_t k = 0; k < n; k++)
    if (bmax[k] >= 0.01f && bmin[k] <= -0.01f) down[nu++] = -d.w[k];
  ck_assert_uint_ge(nu, n - 20);
  const double sd = 0.001 * sqrt(0.0901);
  stats(up, nu, &m, &s);
  ck_assert_double_le(fabs(m - 0.001), tol_mean(sd, nu));
  ck_assert_double_le(fabs(s - sd), tol_sd(sd, nu));
  stats(down, nu, &m, &s);
  ck_assert_double_le(fabs(m - 0.001), tol_mean(sd, nu));
  ck_assert_double_le(fabs(s - sd), tol_sd(sd, nu));
  for (size_t k = 0; k < nu; k++) up[k] -= down[k];
  stats(up, nu, &m, &s);
  ck_assert_double_le(fabs(m), tol_mean(2e-5, nu));
  ck_assert_double_le(fabs(s - 2e-5), tol_sd(2e-5, nu));
  dev_close(&d);

  /* log-normal gain (§4.2 step 2): ln(step / dw_min) = 0.3 xi */
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"dw_min_std\":0,"
               "\"dw_min_dtod_log_normal\":true,\"up_down_dtod\":0}",
           200, 200, 52);
  dev_pulse_all(&d, -1);
  for (size_t k = 0; k < n; k++) up[k] = (float)log(d.w[k] / 0.001);
  stats(up, n, &m, &s);
  ck_assert_double_le(fabs(m), tol_mean(0.3, n));
  ck_assert_double_le(fabs(s - 0.3), tol_sd(0.3, n));
  dev_close(&d);

  /* up_down 0.2 without spread (§4.2 steps 3-4): dw_up = dw_min,
   * dw_down = 0.8 dw_min. */
  dev_open(&d, "{\"type\":\"ConstantStepDevice\",\"up_down\":0.2," QUIET "}",
           2, 2, 53);
  dev_pulse_one(&d, 0, 0, -1);
  dev_pulse_one(&d, 0, 1, +1);
  ck_assert_double_eq_tol(d.w[0], 0.001, 1e-9);
  ck_assert_double_eq_tol(d.w[1], -0.0008, 1e-9);
  dev_close(&d);
  free(bmin);
  free(bmax);
  free(up);
  free(down);
}
END_TEST

/* construction_seed (SPEC.md §12.2): a non-zero seed makes the sampled
 * device independent of the tile's construction stream. */
START_TEST(test_construction_seed) {
  dev a, b, c;
  dev_open(&a, "{\"type\":\"SoftBoundsDevice\",\"construction_seed\":77}", 6,
           7, 1);
  dev_open(&b, "{\"type\":\"SoftBoundsDevice\",\"construction_seed\":77}", 6,
           7, 2);
  dev_open(&c, "{\"type\":\"SoftBoundsDevice\"}", 6, 7, 2);
  size_t n = a.vt->state_size(a.st);
  ck_assert_uint_eq(n, b.vt->state_size(b.st));
  unsigned char *sa = malloc(n), *sb = malloc(n), *sc = malloc(n);
  ck_assert(sa && sb && sc);
  ck_assert_int_eq(a.vt->save(a.st, sa, n), 0);
  ck_assert_int_eq(b.vt->save(b.st, sb, n), 0);
  ck_assert_int_eq(c.vt->save(c.st, sc, n), 0);
  ck_assert_int_eq(memcmp(sa, sb, n), 0);
  ck_assert_int_ne(memcmp(sb, sc, n), 0);
  free(sa);
  free(sb);
  free(sc);
  dev_close(&a);
  dev_close(&b);
  dev_close(&c);
}
END_TEST

/* ----- several pulses in one call (issue 4 item 4) ------------------------- */

/* ConstantStep, dw 0.001, dw_min_std 0.3, bounds +-0.6, no d2d, w = 0:
 * 20 up pulses in one call (the one-step path) must give mean 20 dw = 0.02
 * and variance 20 (0.3 dw)^2 (std 1.342e-3), as 20 calls of one pulse do;
 * N = 20000 elements. */
START_TEST(test_multi_pulse_far_from_bounds) {
  dev a, b;
  const char *js = "{\"type\":\"ConstantStepDevice\",\"w_max_dtod\":0,"
                   "\"w_min_dtod\":0,\"dw_min_dtod\":0,\"up_down_dtod\":0}";
  dev_open(&a, js, 100, 200, 61);
  dev_open(&b, js, 100, 200, 62);
  dev_pulse_all(&a, -20);
  for (int p = 0; p < 20; p++) dev_pulse_all(&b, -1);
  const size_t n = 20000;
  const double sd = sqrt(20.0) * 0.3 * 0.001;
  double m, s;
  stats(a.w, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.02), tol_mean(sd, n));
  ck_assert_double_le(fabs(s - sd), tol_sd(sd, n));
  stats(b.w, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.02), tol_mean(sd, n));
  ck_assert_double_le(fabs(s - sd), tol_sd(sd, n));
  dev_close(&a);
  dev_close(&b);
}
END_TEST

/* Near a bound the one-step sum would be wrong: dw_min_std 1.5, start two
 * steps below b_max = 0.6, 10 up pulses.  Pulse by pulse the weight
 * bounces at the bound and ends lower on average (~1.5 dw above the start)
 * than clip(w0 + 10 dw + 1.5 dw sqrt(10) xi) would (~1.9 dw, a
 * difference of ~50 standard errors here).  One call of 10 pulses must
 * match ten calls of one pulse within 5 standard errors of the
 * difference of the two means (and of the spreads). */
START_TEST(test_multi_pulse_near_bound) {
  dev a, b;
  const char *js = "{\"type\":\"ConstantStepDevice\",\"dw_min_std\":1.5,"
                   "\"w_max_dtod\":0,\"w_min_dtod\":0,\"dw_min_dtod\":0,"
                   "\"up_down_dtod\":0}";
  dev_open(&a, js, 100, 200, 63);
  dev_open(&b, js, 100, 200, 64);
  dev_set(&a, 0.598f);
  dev_set(&b, 0.598f);
  dev_pulse_all(&a, -10);
  for (int p = 0; p < 10; p++) dev_pulse_all(&b, -1);
  const size_t n = 20000;
  double ma, sa, mb, sb;
  stats(a.w, n, &ma, &sa);
  stats(b.w, n, &mb, &sb);
  for (size_t k = 0; k < n; k++) ck_assert(a.w[k] <= 0.6f && b.w[k] <= 0.6f);
  ck_assert_double_le(fabs(ma - mb), 5 * sqrt((sa * sa + sb * sb) / n));
  ck_assert_double_le(fabs(sa - sb), 5 * sqrt((sa * sa + sb * sb) / (2.0 * n)));
  /* and it is not the one-step value: mean offset well below 1.9 dw */
  ck_assert_double_lt((ma - 0.598) / 0.001, 1.7);
  dev_close(&a);
  dev_close(&b);
}
END_TEST

/* ----- dense rows (plugin.h pulse_row_dense) ------------------------------- */

/* The nominal ConstantStep device of the dense tests: dw_min 0.001, bounds
 * +-0.6, no device-to-device spread, cycle-to-cycle noise dw_min_std. */
#define CS_NOMINAL(STD)                                                      \
  "{\"type\":\"ConstantStepDevice\",\"dw_min_std\":" STD                    \
  ",\"w_max_dtod\":0,\"w_min_dtod\":0,\"dw_min_dtod\":0,\"up_down_dtod\":0}"

/* Without noise (SPEC.md §4.6): m pulses of step 0.001 clip once at the
 * end from inside the bounds; from outside, the first pulse clips.
 * 37 columns (two vector blocks of 16 and a tail of 5), one count pattern
 * repeated; every expected weight worked out by hand below. */
START_TEST(test_dense_noise_free) {
  dev d;
  dev_open(&d, CS_NOMINAL("0"), 3, 37, 81);
  ck_assert_ptr_nonnull(d.vt->pulse_row_dense);
  /* pattern of 5: (w0, count) -> expected
   *  0.1,   0 -> 0.1            untouched
   *  0.1,  -3 -> 0.103          3 up steps
   *  0.1,   5 -> 0.095          5 down steps
   *  0.599, -4 -> 0.6           clipped at b_max
   *  0.7,   2 -> 0.599          outside: clip to 0.6, then one more step
   * and column 36 (w0 0.7, count 0) stays 0.7 although out of bounds. */
  static const float w0[5] = {0.1f, 0.1f, 0.1f, 0.599f, 0.7f};
  static const int32_t c0[5] = {0, -3, 5, -4, 2};
  static const double want[5] = {0.1, 0.103, 0.095, 0.6, 0.599};
  int32_t cnt[37];
  dev_set(&d, 0.0f);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 37; j++) {
      d.w[i * 37 + j] = w0[j % 5];
      cnt[j] = c0[j % 5];
    }
  cnt[36] = 0;
  for (int i = 0; i < 3; i++) d.w[i * 37 + 36] = 0.7f;
  rpu_rng_cursor cur = d.upd;
  for (int i = 0; i < 3; i++)
    d.vt->pulse_row_dense(d.st, d.w + i * 37, i, cnt, &cur);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 36; j++)
      ck_assert_msg(fabs(d.w[i * 37 + j] - want[j % 5]) < 1e-6,
                    "(%d,%d): %.7f, want %.7f", i, j, d.w[i * 37 + j],
                    want[j % 5]);
  for (int i = 0; i < 3; i++) ck_assert_float_eq(d.w[i * 37 + 36], 0.7f);
  /* no noise: nothing drawn */
  ck_assert_uint_eq(cur.pos, d.upd.pos);
  dev_close(&d);
}
END_TEST

/* With noise the random positions are documented (constant_step.c): in a
 * block (here the whole row), the k-th one-step column takes the normal at
 * position k, then the elements that go pulse by pulse take positions F,
 * F+1, ... one per pulse (F one-step columns).  Recomputed here from the generator and the formulas of
 * SPEC.md §4.6: far from the bounds w0 + s (m + 0.3 sqrt(m) xi), s = +dw
 * for up (count < 0) and -dw for down; near b_max pulse by pulse
 * w <- clip(w + s (1 + 0.3 xi)).  float vs double rounding: 1e-6. */
START_TEST(test_dense_noisy_positions) {
  enum { C = 45 };
  dev d;
  dev_open(&d, CS_NOMINAL("0.3"), 2, C, 82);
  dev_set(&d, 0.0f);
  int32_t cnt[C];
  for (int j = 0; j < C; j++) {
    cnt[j] = (j % 3 == 0) ? 0 : (j % 3 == 1 ? -(j % 7) - 1 : (j % 5) + 1);
    d.w[C + j] = d.w[j] = 0.05f * (float)(j % 4) - 0.1f;
  }
  /* near a bound, pulse by pulse: col 10 (4 up from 0.599), col 20 (1 down
   * from -0.5995), col 25 (5 up from 0.598) */
  d.w[C + 10] = d.w[10] = 0.599f;
  d.w[C + 20] = d.w[20] = -0.5995f;
  d.w[C + 25] = d.w[25] = 0.598f;
  ck_assert_int_eq(cnt[10], -4);
  ck_assert_int_eq(cnt[20], 1);
  ck_assert_int_eq(cnt[25], -5);
  /* col 32: 3 down pulses from 0.59, away from b_max.  Forward reach per
   * pulse 1 + 0.3*9 = 3.7 dw, backward 0.3*9 - 1 = 1.7 dw: 0.59 - 0.0111
   * and 0.59 + 0.0051 stay inside, so one step (a symmetric criterion,
   * 0.59 + 0.0111 > 0.6, would not allow it). */
  d.w[C + 32] = d.w[32] = 0.59f;
  ck_assert_int_eq(cnt[32], 3);
  float w0[2 * C];
  memcpy(w0, d.w, sizeof w0);
  for (int i = 0; i < 2; i++) {
    rpu_rng_cursor cur = d.upd;
    cur.stream.sub = (uint32_t)i;
    cur.pos = 5; /* any start position */
    d.vt->pulse_row_dense(d.st, d.w + i * C, i, cnt, &cur);
    int F = 0; /* touched columns but the three slow ones */
    for (int j = 0; j < C; j++) F += cnt[j] != 0;
    F -= 3;
    float xi[C + 10];
    rpu_rng_fill_normal(&cur.stream, 5, xi, (size_t)F + 10);
    ck_assert_uint_eq(cur.pos, 5 + (uint64_t)F + 10); /* 4+1+5 pulses */
    int k = 0, q = F; /* next one-step and next pulse-by-pulse normal */
    for (int j = 0; j < C; j++) {
      const float x0 = w0[i * C + j];
      if (cnt[j] == 0) {
        ck_assert_float_eq(d.w[i * C + j], x0);
        continue;
      }
      double m = fabs((double)cnt[j]), st = cnt[j] < 0 ? 0.001 : -0.001;
      double want;
      if (j == 10 || j == 20 || j == 25) {
        float x = x0, fs = cnt[j] < 0 ? 0.001f : -0.001f;
        for (int t = 0; t < abs(cnt[j]); t++) {
          x = x + fs * (1.0f + 0.3f * xi[q++]);
          x = x > 0.6f ? 0.6f : (x < -0.6f ? -0.6f : x);
        }
        want = x;
      } else {
        want = x0 + st * (m + 0.3 * sqrt(m) * xi[k++]);
      }
      ck_assert_msg(fabs(d.w[i * C + j] - want) < 1e-6,
                    "row %d col %d: %.7f, want %.7f", i, j, d.w[i * C + j],
                    want);
    }
  }
  dev_close(&d);
}
END_TEST

/* The dense hook follows the same distribution as pulse_row: 20 up pulses
 * per element in one dense call give mean 20 dw and std sqrt(20) 0.3 dw
 * (sum of 20 independent steps, SPEC.md §4.6), as in
 * test_multi_pulse_far_from_bounds. */
START_TEST(test_dense_far_from_bounds_stats) {
  dev a;
  dev_open(&a, CS_NOMINAL("0.3"), 100, 200, 83);
  int32_t cnt[200];
  for (int j = 0; j < 200; j++) cnt[j] = -20;
  for (int i = 0; i < 100; i++)
    a.vt->pulse_row_dense(a.st, a.w + i * 200, i, cnt, &a.upd);
  const size_t n = 20000;
  const double sd = sqrt(20.0) * 0.3 * 0.001;
  double m, s;
  stats(a.w, n, &m, &s);
  ck_assert_double_le(fabs(m - 0.02), tol_mean(sd, n));
  ck_assert_double_le(fabs(s - sd), tol_sd(sd, n));
  dev_close(&a);
}
END_TEST

/* LinearStep family: pulse_row_dense promises the pulses and random
 * positions of pulse_row with the nonzero columns in ascending order
 * (linear_step.c), so two devices built alike, one fed compact lists and
 * one dense rows, must end bit-identical with their cursors at the same
 * position.  Counts up to +-40 (some rows need more normals than one
 * vector window), 300 columns (two chunks), with and without write noise
 * and mult_noise. */
START_TEST(test_dense_linear_step_matches_compact) {
  static const char *const js[] = {
      "{\"type\":\"SoftBoundsDevice\"}",
      "{\"type\":\"SoftBoundsDevice\",\"write_noise_std\":0.5}",
      "{\"type\":\"LinearStepDevice\",\"mult_noise\":false,"
      "\"write_noise_std\":0.2}",
      "{\"type\":\"SoftBoundsDevice\",\"dw_min_std\":0}",
  };
  enum { R = 6, C = 300 };
  for (size_t v = 0; v < sizeof js / sizeof js[0]; v++) {
    dev a, b;
    dev_open(&a, js[v], R, C, 91);
    dev_open(&b, js[v], R, C, 91);
    ck_assert_ptr_nonnull(b.vt->pulse_row_dense);
    rpu_rng_stream rs = rpu_rng_stream_make(5, 0, RPU_RNG_DATA);
    float u[R * C];
    rpu_rng_fill_uniform(&rs, 0, u, R * C);
    for (int k = 0; k < R * C; k++) a.w[k] = b.w[k] = 0.8f * u[k] - 0.4f;
    ck_assert_int_eq(a.vt->set_weights(a.st, view(&a), &a.upd), 0);
    ck_assert_int_eq(b.vt->set_weights(b.st, view(&b), &b.upd), 0);
    for (int rep = 0; rep < 3; rep++) {
      rs.sub = (uint32_t)rep + 1;
      rpu_rng_fill_uniform(&rs, 0, u, R * C);
      for (int i = 0; i < R; i++) {
        int32_t dense[C], cnt[C];
        int cols[C], n = 0;
        for (int j = 0; j < C; j++) {
          float q = u[i * C + j];
          /* half zero; row 0 of rep 2 with large counts */
          int32_t c = q < 0.5f ? 0 : (int32_t)((q - 0.75f) * (i == 0 && rep == 2 ? 160 : 16));
          dense[j] = c;
          if (c != 0) cols[n] = j, cnt[n++] = c;
        }
        a.vt->pulse_row(a.st, a.w + i * C, i, cols, cnt, n, &a.upd);
        b.vt->pulse_row_dense(b.st, b.w + i * C, i, dense, &b.upd);
      }
      ck_assert_uint_eq(a.upd.pos, b.upd.pos);
      ck_assert_msg(memcmp(a.w, b.w, sizeof(float) * R * C) == 0,
                    "%s: dense and compact differ", js[v]);
      /* the hidden (persistent) weights too: read them back */
      size_t ns = a.vt->state_size(a.st);
      unsigned char *sa = malloc(ns), *sb = malloc(ns);
      ck_assert(sa && sb);
      ck_assert_int_eq(a.vt->save(a.st, sa, ns), 0);
      ck_assert_int_eq(b.vt->save(b.st, sb, ns), 0);
      ck_assert_int_eq(memcmp(sa, sb, ns), 0);
      free(sa);
      free(sb);
    }
    if (v < 3) ck_assert_uint_gt(a.upd.pos, 0); /* the noisy ones drew */
    else ck_assert_uint_eq(a.upd.pos, 0);
    dev_close(&a);
    dev_close(&b);
  }
}
END_TEST

/* ----- granularity (SPEC.md §4.3, §12.3) ----------------------------------- */

START_TEST(test_granularity) {
  static const struct {
    const char *json;
    double g;
  } cases[] = {
      {"{\"type\":\"ConstantStepDevice\"}", 0.001},
      {"{\"type\":\"LinearStepDevice\"}", 0.001},
      {"{\"type\":\"SoftBoundsDevice\",\"dw_min\":0.002}", 0.002},
      {"{\"type\":\"SoftBoundsReferenceDevice\"}", 0.001},
      {"{\"type\":\"PowStepDevice\",\"pow_gamma\":2}", 0.00025},
      {"{\"type\":\"PowStepReferenceDevice\"}", 0.0005},
      {"{\"type\":\"PiecewiseStepDevice\",\"piecewise_up\":[1,3,2],"
       "\"piecewise_down\":[1,1,1]}",
       0.003},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    dev d;
    dev_open(&d, cases[c].json, 1, 1, 1);
    ck_assert_double_eq_tol(d.vt->granularity(d.params), cases[c].g, 1e-12);
    dev_close(&d);
  }
  /* ExpStep (§12.3 fix): mean of y_up and y_down at z = b = 0.2425:
   * y_up = 1 - 0.00081 e^{12.44625 b}, y_down = 1 - 0.36833 e^{-12.78785 b},
   * both about 0.98343. */
  dev d;
  dev_open(&d, "{\"type\":\"ExpStepDevice\"}", 1, 1, 1);
  double yu = 1 - 0.00081 * exp(12.44625 * 0.2425);
  double yd = 1 - 0.36833 * exp(-12.78785 * 0.2425);
  ck_assert_double_eq_tol(d.vt->granularity(d.params), 0.001 * (yu + yd) / 2,
                          1e-12);
  ck_assert_double_eq_tol(d.vt->granularity(d.params), 0.00098343, 1e-8);
  dev_close(&d);
}
END_TEST

/* ----- hidden state --------------------------------------------------------- */

static void exercise(dev *d, rpu_rng_cursor *c) {
  int cols[5] = {0, 1, 2, 3, 4};
  int32_t cnt[5] = {-3, 2, 0, -1, 7};
  for (int i = 0; i < d->rows; i++)
    d->vt->pulse_row(d->st, d->w + i * d->cols, i, cols, cnt, 5, c);
  ck_assert_int_eq(d->vt->post_update(d->st, view(d), c), 0);
  ck_assert_int_eq(d->vt->drift(d->st, view(d), 1.5, c), 0);
}

/* save / load of all hidden state (sampled parameters, persistent weights,
 * drift state) restores the device bit-exactly: two devices, one loaded
 * from the other's state, evolve identically under identical draws. */
START_TEST(test_save_load) {
  const char *js = "{\"type\":\"ExpStepDevice\",\"write_noise_std\":0.5,"
                   "\"lifetime\":50,\"diffusion\":0.001,\"reset_dtod\":0.01,"
                   "\"drift\":{\"nu\":0.1,\"nu_dtod\":0.2,\"nu_std\":0.1}}";
  dev a, b;
  dev_open(&a, js, 6, 5, 71);
  dev_open(&b, js, 6, 5, 72);
  for (int k = 0; k < 30; k++) a.w[k] = 0.02f * (float)(k - 15);
  ck_assert_int_eq(a.vt->set_weights(a.st, view(&a), &a.upd), 0);
  exercise(&a, &a.upd);
  size_t n = a.vt->state_size(a.st);
  ck_assert_uint_eq(n, b.vt->state_size(b.st));
  unsigned char *sa = malloc(n), *sb = malloc(n), *bad = malloc(n);
  ck_assert(sa && sb && bad);
  ck_assert_int_eq(a.vt->save(a.st, sa, n), 0);
  ck_assert_int_eq(b.vt->save(b.st, sb, n), 0);
  ck_assert_int_ne(memcmp(sa, sb, n), 0);

  /* refused loads leave b unchanged */
  tu_assert_error(b.vt->load(b.st, sa, n - 1), RPU_ECORRUPT, "ExpStepDevice");
  memcpy(bad, sa, n);
  bad[0] ^= 1u; /* version */
  tu_assert_error(b.vt->load(b.st, bad, n), RPU_ECORRUPT, "version");
  memcpy(bad, sa, n);
  float nan = NAN;
  memcpy(bad + n - 8 * 30 - 4, &nan, 4); /* last float array entry */
  tu_assert_error(b.vt->load(b.st, bad, n), RPU_ECORRUPT, "not finite");
  ck_assert_int_eq(b.vt->save(b.st, bad, n), 0);
  ck_assert_int_eq(memcmp(bad, sb, n), 0);

  ck_assert_int_eq(b.vt->load(b.st, sa, n), 0);
  memcpy(b.w, a.w, 30 * sizeof(float));
  ck_assert_int_eq(b.vt->save(b.st, sb, n), 0);
  ck_assert_int_eq(memcmp(sa, sb, n), 0);
  rpu_rng_cursor ca = {rpu_rng_stream_make(5, 0, RPU_RNG_UPDATE), 0};
  rpu_rng_cursor cb = ca;
  for (int r = 0; r < 3; r++) {
    exercise(&a, &ca);
    exercise(&b, &cb);
  }
  ck_assert_int_eq(memcmp(a.w, b.w, 30 * sizeof(float)), 0);
  ck_assert_int_eq(a.vt->save(a.st, sa, n), 0);
  ck_assert_int_eq(b.vt->save(b.st, sb, n), 0);
  ck_assert_int_eq(memcmp(sa, sb, n), 0);

  /* a device without drift has a different layout: refused */
  dev c;
  dev_open(&c, "{\"type\":\"ExpStepDevice\",\"write_noise_std\":0.5}", 6, 5, 73);
  tu_assert_error(c.vt->load(c.st, sa, n), RPU_ECORRUPT, "ExpStepDevice");
  dev_close(&c);
  free(sa);
  free(sb);
  free(bad);
  dev_close(&a);
  dev_close(&b);
}
END_TEST

/* ----- bad input ------------------------------------------------------------ */

static void bad_config(const char *device, int code, const char *needle) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg, "{\"rpu_config\":\"SingleRPUConfig\",\"device\":%s}",
           device);
  rpu_config *c = NULL;
  tu_assert_error(rpu_config_from_string(&c, ctx, cfg, "<test>"), code, needle);
  ck_assert_ptr_null(c);
}

START_TEST(test_bad_input) {
  bad_config("{\"type\":\"SoftBoundsDevice\",\"w_min\":0.1}", RPU_ERANGE,
             "device.w_min");
  bad_config("{\"type\":\"ExpStepDevice\",\"w_max\":-0.1}", RPU_ERANGE,
             "device.w_max");
  bad_config("{\"type\":\"PiecewiseStepDevice\",\"piecewise_up\":[1,2],"
             "\"piecewise_down\":[1]}",
             RPU_ECONFIG, "device.piecewise_down");
  bad_config("{\"type\":\"ConstantStepDevice\",\"dw_min\":-0.1}", RPU_ERANGE,
             "device.dw_min");
  bad_config("{\"type\":\"ConstantStepDevice\",\"write_noise_std\":0.5}",
             RPU_ECONFIG, "device.write_noise_std");
  bad_config("{\"type\":\"SoftBoundsDevice\",\"mult_noise\":false,"
             "\"reverse_down\":true}",
             RPU_ECONFIG, "device.reverse_down");
  bad_config("{\"type\":\"PowStepDevice\",\"drift\":{\"t_0\":0}}", RPU_ERANGE,
             "device.drift.t_0");
  bad_config("{\"type\":\"SoftBoundsPmaxDevice\",\"alpha\":0}", RPU_ERANGE,
             "device.alpha");
  bad_config("{\"type\":\"SoftBoundsPmaxDevice\",\"w_max\":1}", RPU_ECONFIG,
             "device.w_max");
  bad_config("{\"type\":\"ConstantStepDevice\",\"corrupt_devices_prob\":1.5}",
             RPU_ERANGE, "device.corrupt_devices_prob");
}
END_TEST

/* Hooks refuse weight views of the wrong shape instead of overrunning. */
START_TEST(test_bad_shape) {
  dev d;
  dev_open(&d, "{\"type\":\"SoftBoundsDevice\"}", 3, 4, 1);
  rpu_weights v = {d.w, 3, 3, 3};
  tu_assert_error(d.vt->set_weights(d.st, v, &d.upd), RPU_ESHAPE,
                  "SoftBoundsDevice");
  tu_assert_error(d.vt->post_update(d.st, v, &d.upd), RPU_ESHAPE, "3 x 3");
  dev_close(&d);
  ck_assert_int_ne(dev_try(&d, "{\"type\":\"SoftBoundsDevice\"}", 0, 4, 1), 0);
  dev_close(&d);
}
END_TEST

Suite *suite_pulsed_devices(void) {
  Suite *s = suite_create("pulsed_devices");
  TCase *tc = tcase_create("traces");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_soft_bounds_trace);
  tcase_add_test(tc, test_pow_step_trace);
  tcase_add_test(tc, test_exp_step_trace);
  tcase_add_test(tc, test_piecewise_trace);
  tcase_add_test(tc, test_linear_step_slopes);
  tcase_add_test(tc, test_soft_bounds_pmax_derived);
  tcase_add_test(tc, test_soft_bounds_reference_trace);
  tcase_add_test(tc, test_soft_bounds_reference_symmetry);
  tcase_add_test(tc, test_pow_step_reference_symmetry);
  tcase_add_test(tc, test_decay_reset_bias);
  tcase_add_test(tc, test_reset);
  tcase_add_test(tc, test_diffusion);
  tcase_add_test(tc, test_drift);
  tcase_add_test(tc, test_granularity);
  suite_add_tcase(s, tc);

  tc = tcase_create("behaviour");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_bounds_random_walk, 0,
                      (int)(sizeof walk_models / sizeof walk_models[0]));
  tcase_add_test(tc, test_corrupt_devices);
  tcase_add_test(tc, test_write_noise);
  tcase_add_test(tc, test_set_weights_clips);
  tcase_add_test(tc, test_perfect_bias);
  tcase_add_test(tc, test_d2d_sampling);
  tcase_add_test(tc, test_construction_seed);
  tcase_add_test(tc, test_multi_pulse_far_from_bounds);
  tcase_add_test(tc, test_multi_pulse_near_bound);
  tcase_add_test(tc, test_dense_noise_free);
  tcase_add_test(tc, test_dense_noisy_positions);
  tcase_add_test(tc, test_dense_far_from_bounds_stats);
  tcase_add_test(tc, test_dense_linear_step_matches_compact);
  tcase_add_test(tc, test_save_load);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_bad_shape);
  suite_add_tcase(s, tc);
  return s;
}
