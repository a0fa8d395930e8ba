/* Suite "pulse": the pulsed update engine (core/engine/pulse.c) against
 * SPEC.md §3 — BL/A/B and update management (§3.2), discretisation, the
 * pulse types (§3.3) and the bit-mask coincidence engine of DESIGN.md §6,
 * driven through a fake device defined here.  Expected values are derived
 * by hand in the comments; the stochastic engine is also compared with a
 * naive slot-by-slot re-implementation of §3.3a that reads the documented
 * random positions (pulse.h) through rpu_rng_fill_uniform. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine/pulse.h"
#include "rpu/context.h"
#include "rpu/rng.h"
#include "tests/internal_suites.h"

/* ----- A fake device: records what the engine hands over ---------------- */

typedef struct fake_dev {
  int rows, cols;
  double g;           /* granularity */
  float step;         /* w -= step * count (constant step, no bounds) */
  float noise;        /* + noise * N(0,1) per element touched (cursor) */
  float w_min, w_max; /* clip if w_max > w_min */
  int64_t *sum;       /* rows x cols: sum of signed counts */
  int *calls;         /* per row */
  int *max_abs;       /* per row: largest |count| */
  int *zero_seen;     /* per row: a zero count was handed over */
  int *dup_seen;      /* per row: a column twice in one call */
  int *bad_cursor;    /* per row: cursor sub != row or pos != 0 */
  uint32_t *last_step; /* per row: step of the last cursor */
  int *order;         /* row 0: columns of the last call, in order */
  int order_n;
} fake_dev;

static double fake_granularity(const void *params) {
  return ((const fake_dev *)params)->g;
}

static void fake_pulse_row(void *state, float *w_row, int row, const int *cols,
                           const int32_t *counts, int n, rpu_rng_cursor *rng) {
  fake_dev *f = state;
  f->calls[row]++;
  if (rng->stream.sub != (uint32_t)row || rng->pos != 0) f->bad_cursor[row] = 1;
  f->last_step[row] = rng->stream.step;
  float xi[64];
  char *seen = calloc((size_t)f->cols, 1);
  for (int k = 0; k < n; k++) {
    int c = counts[k], j = cols[k];
    if (c == 0) f->zero_seen[row] = 1;
    if (seen[j]) f->dup_seen[row] = 1;
    seen[j] = 1;
    if (abs(c) > f->max_abs[row]) f->max_abs[row] = abs(c);
    f->sum[(size_t)row * f->cols + j] += c;
    float v = w_row[j] - f->step * (float)c;
    if (f->noise > 0.0f) {
      rpu_rng_cursor_normal(rng, xi, 1);
      v += f->noise * xi[0];
    }
    if (f->w_max > f->w_min) v = v < f->w_min ? f->w_min : (v > f->w_max ? f->w_max : v);
    w_row[j] = v;
    if (row == 0 && k < f->cols) f->order[k] = j;
  }
  if (row == 0) f->order_n = n;
  free(seen);
}

/* The dense hook (plugin.h pulse_row_dense): one count per column; the
 * same bookkeeping and the same weight change as fake_pulse_row, so the
 * tests can compare the two paths. */
static void fake_pulse_row_dense(void *state, float *w_row, int row,
                                 const int32_t *counts, rpu_rng_cursor *rng) {
  fake_dev *f = state;
  f->calls[row]++;
  if (rng->stream.sub != (uint32_t)row || rng->pos != 0) f->bad_cursor[row] = 1;
  f->last_step[row] = rng->stream.step;
  float xi[1];
  for (int j = 0; j < f->cols; j++) {
    int c = counts[j];
    if (c == 0) continue;
    if (abs(c) > f->max_abs[row]) f->max_abs[row] = abs(c);
    f->sum[(size_t)row * f->cols + j] += c;
    float v = w_row[j] - f->step * (float)c;
    if (f->noise > 0.0f) {
      rpu_rng_cursor_normal(rng, xi, 1);
      v += f->noise * xi[0];
    }
    if (f->w_max > f->w_min) v = v < f->w_min ? f->w_min : (v > f->w_max ? f->w_max : v);
    w_row[j] = v;
  }
}

static rpu_device_vtable fake_vt;
static int fake_use_dense; /* fake_new gives the device the dense hook */

static fake_dev *fake_new(int rows, int cols, double g) {
  fake_dev *f = calloc(1, sizeof *f);
  f->rows = rows;
  f->cols = cols;
  f->g = g;
  f->step = (float)g;
  f->sum = calloc((size_t)rows * cols, sizeof *f->sum);
  f->calls = calloc((size_t)rows, sizeof(int));
  f->max_abs = calloc((size_t)rows, sizeof(int));
  f->zero_seen = calloc((size_t)rows, sizeof(int));
  f->dup_seen = calloc((size_t)rows, sizeof(int));
  f->bad_cursor = calloc((size_t)rows, sizeof(int));
  f->last_step = calloc((size_t)rows, sizeof(uint32_t));
  f->order = calloc((size_t)cols, sizeof(int));
  memset(&fake_vt, 0, sizeof fake_vt);
  fake_vt.struct_size = sizeof fake_vt;
  fake_vt.granularity = fake_granularity;
  fake_vt.pulse_row = fake_pulse_row;
  if (fake_use_dense) fake_vt.pulse_row_dense = fake_pulse_row_dense;
  return f;
}

static void fake_free(fake_dev *f) {
  free(f->sum);
  free(f->calls);
  free(f->max_abs);
  free(f->zero_seen);
  free(f->dup_seen);
  free(f->bad_cursor);
  free(f->last_step);
  free(f->order);
  free(f);
}

static rpu__pulse_device fake_device(fake_dev *f) {
  rpu__pulse_device d = {&fake_vt, f, f, "FakeDevice"};
  return d;
}

static int total_calls(const fake_dev *f) {
  int n = 0;
  for (int i = 0; i < f->rows; i++) n += f->calls[i];
  return n;
}

/* SPEC.md §3.1 Python defaults. */
static rpu_update_params defaults(void) {
  rpu_update_params up = {31, 1, RPU_PULSE_STOCHASTIC_COMPRESSED, 0.0, 0.0, 0.0,
                          0,  0, 1, 1, 1.0};
  return up;
}

static rpu_rng_stream stream42(void) {
  return rpu_rng_stream_make(42, 3, RPU_RNG_UPDATE);
}

/* Runs one update on a fresh engine; with scalar != 0 without the vector
 * kernels. */
static int run_k(fake_dev *f, const rpu_update_params *up, float *w,
                 const float *x, const float *d, int batch, float lr,
                 uint64_t first, uint64_t *pulses, int scalar) {
  rpu__pulse *p = NULL;
  ck_assert_int_eq(rpu__pulse_new(&p, f->rows, f->cols), 0);
  if (scalar) ck_assert_int_eq(rpu__pulse_set_simd(p, 0), 0);
  rpu__pulse_device dev = fake_device(f);
  rpu_weights wv = {w, f->rows, f->cols, (size_t)f->cols};
  int rc = rpu__pulse_update(p, up, &dev, wv, x, d, batch, lr, stream42(),
                             first, pulses);
  rpu__pulse_free(p);
  return rc;
}

static int run(fake_dev *f, const rpu_update_params *up, float *w,
               const float *x, const float *d, int batch, float lr,
               uint64_t first, uint64_t *pulses) {
  return run_k(f, up, w, x, d, batch, lr, first, pulses, 0);
}

/* ----- BL / A / B (SPEC.md §3.2) ---------------------------------------- */

#define TOL 1e-12

START_TEST(blab_example) {
  /* §3.2 example: k = lr·x_max·d_max/g = 0.01·0.5·2/0.001 = 10 <= 31
   * → BL = ceil(10) = 10; A = B = sqrt(lr/(g·BL)) = sqrt(0.01/0.01) = 1;
   * UM: A ·= sqrt(x/d) = sqrt(0.25) → 0.5, B ·= sqrt(d/x) = 2. */
  rpu_update_params up = defaults();
  rpu__pulse_blab b = rpu__pulse_manage(&up, 0.01, 0.5, 2.0, 0.001);
  ck_assert_int_eq(b.bl, 10);
  ck_assert_double_eq_tol(b.a, 0.5, TOL);
  ck_assert_double_eq_tol(b.b, 2.0, TOL);
  /* UBLM alone forces UM on: same result */
  up.update_management = 0;
  b = rpu__pulse_manage(&up, 0.01, 0.5, 2.0, 0.001);
  ck_assert_int_eq(b.bl, 10);
  ck_assert_double_eq_tol(b.a, 0.5, TOL);
  ck_assert_double_eq_tol(b.b, 2.0, TOL);
}
END_TEST

START_TEST(blab_zero) {
  rpu_update_params up = defaults();
  /* lr = 0: no update, A = B = 0 */
  rpu__pulse_blab b = rpu__pulse_blab_base(&up, 0.0, 0.001);
  ck_assert_int_eq(b.bl, 0);
  ck_assert_double_eq(b.a, 0.0);
  b = rpu__pulse_manage(&up, 0.0, 1.0, 1.0, 0.001);
  ck_assert_int_eq(b.bl, 0);
  /* x or d all zero: BL = 0 */
  ck_assert_int_eq(rpu__pulse_manage(&up, 0.01, 0.0, 1.0, 0.001).bl, 0);
  ck_assert_int_eq(rpu__pulse_manage(&up, 0.01, 1.0, 0.0, 0.001).bl, 0);
  /* um_grad_scale 0 makes d_v 0: nothing to send either */
  up.um_grad_scale = 0.0;
  ck_assert_int_eq(rpu__pulse_manage(&up, 0.01, 1.0, 1.0, 0.001).bl, 0);
}
END_TEST

START_TEST(blab_clipped) {
  /* k = 0.1·1·1/0.001 = 100 > 31: BL = 31, A = B = sqrt(0.1/0.031) =
   * sqrt(100/31); UM clips d_v = 1·31/100 = 0.31, then
   * A = sqrt(100/31)·sqrt(1/0.31) = 100/31, B = sqrt(100/31)·sqrt(0.31)
   * = 1: the largest x fires every slot, the largest d is clipped. */
  rpu_update_params up = defaults();
  rpu__pulse_blab b = rpu__pulse_manage(&up, 0.1, 1.0, 1.0, 0.001);
  ck_assert_int_eq(b.bl, 31);
  ck_assert_double_eq_tol(b.a, 100.0 / 31.0, 1e-12);
  ck_assert_double_eq_tol(b.b, 1.0, 1e-12);
}
END_TEST

START_TEST(blab_fixed_vs_not) {
  rpu_update_params up = defaults();
  up.update_bl_management = 0;
  up.update_management = 0;
  /* fixed_bl: BL = 31, A = B = sqrt(0.1/(0.001·31)) */
  rpu__pulse_blab b = rpu__pulse_manage(&up, 0.1, 1.0, 1.0, 0.001);
  ck_assert_int_eq(b.bl, 31);
  ck_assert_double_eq_tol(b.a, sqrt(0.1 / 0.031), TOL);
  ck_assert_double_eq_tol(b.b, b.a, TOL);
  /* not fixed and g·desired_bl = 0.031 < lr = 0.1: A = B = 1, BL =
   * ceil(0.1/0.001) = 100 (0.1/0.001 is 100.00000000000001 in double, so
   * the test uses lr = 0.125, g = 0.0009765625 = 2^-10: exactly 128) */
  up.fixed_bl = 0;
  b = rpu__pulse_manage(&up, 0.125, 1.0, 1.0, 0x1p-10);
  ck_assert_int_eq(b.bl, 128);
  ck_assert_double_eq(b.a, 1.0);
  ck_assert_double_eq(b.b, 1.0);
  /* ... and ceil of a fraction: lr 0.1, g 2^-10 → 102.4 → 103 */
  ck_assert_int_eq(rpu__pulse_manage(&up, 0.1, 1.0, 1.0, 0x1p-10).bl, 103);
  /* not fixed but g·desired_bl = 0.031 >= lr = 0.01: as fixed */
  b = rpu__pulse_manage(&up, 0.01, 1.0, 1.0, 0.001);
  ck_assert_int_eq(b.bl, 31);
  ck_assert_double_eq_tol(b.a, sqrt(0.01 / 0.031), TOL);
}
END_TEST

START_TEST(blab_um_only_and_grad_scale) {
  /* UM without UBLM: BL stays desired_bl = 31; A = sqrt(lr/(g·31)) ·
   * sqrt(x/d); k = 10 <= 31 so d is not clipped. */
  rpu_update_params up = defaults();
  up.update_bl_management = 0;
  rpu__pulse_blab b = rpu__pulse_manage(&up, 0.01, 0.5, 2.0, 0.001);
  double a0 = sqrt(0.01 / 0.031);
  ck_assert_int_eq(b.bl, 31);
  ck_assert_double_eq_tol(b.a, a0 * 0.5, TOL);
  ck_assert_double_eq_tol(b.b, a0 * 2.0, TOL);
  /* um_grad_scale 2 with UBLM: d_v = 4, k = 0.01·0.5·4/0.001 = 20 →
   * BL = 20, A = sqrt(0.01/0.02)·sqrt(0.5/4) = 0.25, B = sqrt(0.5)·
   * sqrt(8) = 2. */
  up = defaults();
  up.um_grad_scale = 2.0;
  b = rpu__pulse_manage(&up, 0.01, 0.5, 2.0, 0.001);
  ck_assert_int_eq(b.bl, 20);
  ck_assert_double_eq_tol(b.a, 0.25, TOL);
  ck_assert_double_eq_tol(b.b, 2.0, TOL);
  /* no management at all: calculateBlAB only, x/d ignored */
  up = defaults();
  up.update_bl_management = 0;
  up.update_management = 0;
  b = rpu__pulse_manage(&up, 0.01, 0.5, 2.0, 0.001);
  ck_assert_int_eq(b.bl, 31);
  ck_assert_double_eq_tol(b.a, a0, TOL);
  ck_assert_double_eq_tol(b.b, a0, TOL);
}
END_TEST

/* ----- Discretisation --------------------------------------------------- */

START_TEST(res_and_discretize) {
  /* SPEC §12.3: res <= 0 off, > 1 a number of steps */
  ck_assert_double_eq(rpu__pulse_res(0.0), 0.0);
  ck_assert_double_eq(rpu__pulse_res(-0.5), 0.0);
  ck_assert_double_eq(rpu__pulse_res(NAN), 0.0);
  ck_assert_double_eq(rpu__pulse_res(0.25), 0.25);
  ck_assert_double_eq(rpu__pulse_res(1.0), 1.0);
  ck_assert_double_eq(rpu__pulse_res(4.0), 0.25);
  /* rint(0.37/0.1) = rint(3.7) = 4 → 0.4; off → unchanged */
  ck_assert_double_eq_tol(rpu__pulse_discretize(0.37, 0.1, 0, 0.5f), 0.4, 1e-15);
  ck_assert_double_eq(rpu__pulse_discretize(0.37, 0.0, 1, 0.9f), 0.37);
  /* half way rounds to even: 0.375/0.25 = 1.5 → 2 → 0.5; 0.625 → 2.5 → 2 */
  ck_assert_double_eq(rpu__pulse_discretize(0.375, 0.25, 0, 0.5f), 0.5);
  ck_assert_double_eq(rpu__pulse_discretize(0.625, 0.25, 0, 0.5f), 0.5);
  /* stochastic: rint(3.7 + u - 0.5): u = 0.25 → 3.45 → 3; u = 0.9 → 4.1 → 4 */
  ck_assert_double_eq_tol(rpu__pulse_discretize(0.37, 0.1, 1, 0.25f), 0.3, 1e-15);
  ck_assert_double_eq_tol(rpu__pulse_discretize(0.37, 0.1, 1, 0.9f), 0.4, 1e-15);
  /* unbiased: over a uniform grid of u the result is 0.4 for u > 0.3 and
   * 0.3 below, so the mean is 0.7·0.4 + 0.3·0.3 = 0.37 (grid of 1000
   * midpoints: exactly 700 above 0.3) */
  double sum = 0.0;
  for (int k = 0; k < 1000; k++)
    sum += rpu__pulse_discretize(0.37, 0.1, 1, (float)((k + 0.5) / 1000.0));
  ck_assert_double_eq_tol(sum / 1000.0, 0.37, 1e-12);
}
END_TEST

START_TEST(threshold_matches_uniform) {
  /* T(p) must make (w >> 9) < T exactly the event U < p for the
   * library's uniform of the same word. */
  ck_assert_uint_eq(rpu__pulse_threshold(0.0), 0);
  ck_assert_uint_eq(rpu__pulse_threshold(-1.0), 0);
  ck_assert_uint_eq(rpu__pulse_threshold(NAN), 0);
  ck_assert_uint_eq(rpu__pulse_threshold(1.0), 1u << 23);
  ck_assert_uint_eq(rpu__pulse_threshold(7.5), 1u << 23);
  /* p = 1/2: U = (m + 1/2) 2^-23 < 1/2 ⇔ m < 2^22 */
  ck_assert_uint_eq(rpu__pulse_threshold(0.5), 1u << 22);
  /* p exactly on a uniform value (m = 5): U < p false for m = 5 → T = 5 */
  ck_assert_uint_eq(rpu__pulse_threshold(5.5 * 0x1p-23), 5);
  enum { N = 20000 };
  static uint32_t words[N];
  static float u[N];
  rpu_rng_stream s = rpu_rng_stream_make(7, 1, RPU_RNG_UPDATE);
  rpu_rng_fill_u32(&s, 100, words, N);
  rpu_rng_fill_uniform(&s, 100, u, N);
  const double ps[] = {1e-7, 0.013, 0.25, 0.5, 0.731, 0.999999, 1.0};
  for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++) {
    uint32_t t = rpu__pulse_threshold(ps[q]);
    for (int k = 0; k < N; k++)
      ck_assert_int_eq((words[k] >> 9) < t, (double)u[k] < ps[q]);
  }
}
END_TEST

/* ----- Dense pulse types (SPEC.md §3.3) -------------------------------- */

/* Binary-exact numbers, so every product below is exact:
 * x = [1, 5/16, -5/32], d = [1/2, -1], lr = 2^-6, g = 2^-10:
 * k = lr·x_max·d_max/g = 16 → BL = 16, A = B = sqrt(lr/(g·BL)) = 1 (and
 * the UM factors sqrt(x_max/d_max) = 1), so p_x = |x|, p_d = |d|. */
#define DENSE_LR 0.015625f
#define DENSE_G 0x1p-10
static const float dense_x[3] = {1.0f, 0.3125f, -0.15625f};
static const float dense_d[2] = {0.5f, -1.0f};

START_TEST(mean_count_exact) {
  /* n_x = ±rint(16·p_x) = [16, 5, -rint(2.5) = -2 (ties to even)],
   * n_d = [8, -16]; c = rint(n_d·n_x/16):
   * row 0: 8, rint(2.5) = 2, rint(-1) = -1;  row 1: -16, -5, 2.
   * Loop index 1: the device has the dense hook (same counts). */
  fake_use_dense = _i;
  fake_dev *f = fake_new(2, 3, DENSE_G);
  rpu_update_params up = defaults();
  up.pulse_type = RPU_PULSE_MEAN_COUNT;
  float w[6] = {0};
  uint64_t pulses = 0;
  ck_assert_int_eq(run(f, &up, w, dense_x, dense_d, 1, DENSE_LR, 0, &pulses), 0);
  const int64_t want[6] = {8, 2, -1, -16, -5, 2};
  for (int k = 0; k < 6; k++) ck_assert_int_eq(f->sum[k], want[k]);
  ck_assert_uint_eq(pulses, 8 + 2 + 1 + 16 + 5 + 2);
  /* positive counts are down pulses: the fake device sets w = -g·c */
  ck_assert_float_eq(w[0], -8.0f / 1024);
  ck_assert_float_eq(w[5], -2.0f / 1024);
  /* negative lr reverses every direction (σ includes sign(lr)) */
  memset(f->sum, 0, 6 * sizeof *f->sum);
  ck_assert_int_eq(run(f, &up, w, dense_x, dense_d, 1, -DENSE_LR, 0, NULL), 0);
  for (int k = 0; k < 6; k++) ck_assert_int_eq(f->sum[k], -want[k]);
  fake_free(f);
  fake_use_dense = 0;
}
END_TEST

START_TEST(deterministic_implicit_exact) {
  /* q = p (no resolution), signed: q_x = [1, 5/16, -5/32], q_d = [1/2, -1];
   * c = rint(16·q_d·q_x): row 0: 8, rint(2.5) = 2, rint(-1.25) = -1;
   * row 1: -16, -5, rint(2.5) = 2.  Loop index 1: with the dense hook. */
  fake_use_dense = _i;
  fake_dev *f = fake_new(2, 3, DENSE_G);
  rpu_update_params up = defaults();
  up.pulse_type = RPU_PULSE_DETERMINISTIC_IMPLICIT;
  float w[6] = {0};
  ck_assert_int_eq(run(f, &up, w, dense_x, dense_d, 1, DENSE_LR, 0, NULL), 0);
  const int64_t want[6] = {8, 2, -1, -16, -5, 2};
  for (int k = 0; k < 6; k++) ck_assert_int_eq(f->sum[k], want[k]);
  /* x_res_implicit 0.5: q_x = rint(2p)/2 = [1, rint(0.625)/2 = 0.5,
   * rint(0.3125) = 0] — column 2 goes silent; d_res_implicit 4 (steps,
   * = 0.25) keeps q_d.  c: row 0: 8, 16·0.5·0.5 = 4, 0; row 1: -16, -8, 0. */
  memset(f->sum, 0, 6 * sizeof *f->sum);
  up.x_res_implicit = 0.5;
  up.d_res_implicit = 4.0;
  ck_assert_int_eq(run(f, &up, w, dense_x, dense_d, 1, DENSE_LR, 0, NULL), 0);
  const int64_t want2[6] = {8, 4, 0, -16, -8, 0};
  for (int k = 0; k < 6; k++) ck_assert_int_eq(f->sum[k], want2[k]);
  ck_assert_int_eq(f->zero_seen[0] | f->zero_seen[1], 0);
  fake_free(f);
  fake_use_dense = 0;
}
END_TEST

START_TEST(deterministic_implicit_spec_trace) {
  /* SPEC §9.2 item 13: ConstantStep dw_min 0.1, bounds ±1,
   * DETERMINISTIC_IMPLICIT, BL = 5, lr = 0.5, x = 1, d = -1: k = 5 → BL 5,
   * A = B = 1, c = rint(5·(-1)·1) = -5 (five up pulses) → +0.5 per update,
   * saturating at w_max: 0.5, 1.0, 1.0. */
  fake_dev *f = fake_new(1, 1, 0.1);
  f->w_min = -1.0f;
  f->w_max = 1.0f;
  rpu_update_params up = defaults();
  up.pulse_type = RPU_PULSE_DETERMINISTIC_IMPLICIT;
  up.desired_bl = 5;
  float w = 0.0f, x = 1.0f, d = -1.0f;
  const float want[3] = {0.5f, 1.0f, 1.0f};
  for (int n = 0; n < 3; n++) {
    ck_assert_int_eq(run(f, &up, &w, &x, &d, 1, 0.5f, (uint64_t)n, NULL), 0);
    ck_assert_float_eq_tol(w, want[n], 1e-6f);
  }
  ck_assert_int_eq(f->max_abs[0], 5);
  fake_free(f);
}
END_TEST

START_TEST(nothing_to_do) {
  /* lr = 0, x all zero, d all zero: the device is never called */
  fake_dev *f = fake_new(2, 3, DENSE_G);
  const float zx[3] = {0}, zd[2] = {0};
  float w[6] = {0};
  for (int type = 1; type <= 5; type++) {
    if (rpu__pulse_type_is_exact(type)) continue;
    rpu_update_params up = defaults();
    up.pulse_type = type;
    ck_assert_int_eq(run(f, &up, w, dense_x, dense_d, 1, 0.0f, 0, NULL), 0);
    ck_assert_int_eq(run(f, &up, w, zx, dense_d, 1, DENSE_LR, 0, NULL), 0);
    ck_assert_int_eq(run(f, &up, w, dense_x, zd, 1, DENSE_LR, 0, NULL), 0);
    up.update_bl_management = up.update_management = 0; /* no UM short cut */
    ck_assert_int_eq(run(f, &up, w, zx, dense_d, 1, DENSE_LR, 0, NULL), 0);
  }
  ck_assert_int_eq(total_calls(f), 0);
  for (int k = 0; k < 6; k++) ck_assert_float_eq(w[k], 0.0f);
  fake_free(f);
}
END_TEST

/* ----- Stochastic types ------------------------------------------------- */

/* Naive SPEC §3.3a: per slot, per line one uniform at the documented
 * position (pulse.h: sub LINES, position line·BL + slot; x lines first),
 * fire if U < p; coincidences signed by sign(d)·sign(x)·sign(lr). */
static void naive_counts(const rpu_update_params *up, int rows, int cols,
                         const float *x, const float *d, float lr, double g,
                         uint32_t step, int64_t *sum) {
  double x_max = 0, d_max = 0;
  for (int j = 0; j < cols; j++) x_max = fmax(x_max, fabs(x[j]));
  for (int i = 0; i < rows; i++) d_max = fmax(d_max, fabs(d[i]));
  rpu__pulse_blab b = rpu__pulse_manage(up, fabs(lr), x_max, d_max, g);
  if (b.bl == 0) return;
  int lines = rows + cols, bl = b.bl;
  double res = rpu__pulse_res(up->res);
  float *u = malloc((size_t)lines * bl * sizeof *u);
  float *ur = malloc((size_t)lines * sizeof *ur);
  double *p = malloc((size_t)lines * sizeof *p);
  rpu_rng_stream s = stream42();
  s.step = step;
  s.sub = RPU__PULSE_SUB_LINES;
  rpu_rng_fill_uniform(&s, 0, u, (size_t)lines * bl);
  s.sub = RPU__PULSE_SUB_ROUND;
  rpu_rng_fill_uniform(&s, 0, ur, (size_t)lines);
  for (int l = 0; l < lines; l++) {
    double v = l < cols ? x[l] : d[l - cols];
    double sc = l < cols ? b.b : b.a;
    p[l] = rpu__pulse_discretize(sc * fabs(v), res, up->sto_round, ur[l]);
  }
  for (int k = 0; k < bl; k++)
    for (int i = 0; i < rows; i++) {
      int ld = cols + i;
      if (!(p[ld] > 0) || !(u[(size_t)ld * bl + k] < p[ld])) continue;
      for (int j = 0; j < cols; j++) {
        if (!(p[j] > 0) || !(u[(size_t)j * bl + k] < p[j])) continue;
        int sg = (d[i] > 0 ? 1 : -1) * (x[j] > 0 ? 1 : -1) * (lr > 0 ? 1 : -1);
        sum[(size_t)i * cols + j] += sg;
      }
    }
  free(u);
  free(ur);
  free(p);
}

static void fill_pm1(float *v, int n, uint32_t sub) {
  rpu_rng_stream s = rpu_rng_stream_make(99, 0, RPU_RNG_DATA);
  s.sub = sub;
  rpu_rng_fill_uniform(&s, 0, v, (size_t)n);
  for (int k = 0; k < n; k++) v[k] = 2.0f * v[k] - 1.0f;
}

/* One configuration of the naive comparison: batch 3 starting at sample
 * counter 7, so samples use steps 7, 8, 9; scalar and vector kernels. */
static void compare_naive_k(rpu_update_params up, int rows, int cols,
                            float lr, double g, int scalar);
static void compare_naive(rpu_update_params up, int rows, int cols, float lr,
                          double g) {
  /* compact counts (pulse_row) and dense counts (pulse_row_dense) */
  for (fake_use_dense = 0; fake_use_dense < 2; fake_use_dense++) {
    compare_naive_k(up, rows, cols, lr, g, 0);
    compare_naive_k(up, rows, cols, lr, g, 1);
  }
  fake_use_dense = 0;
}

static void compare_naive_k(rpu_update_params up, int rows, int cols,
                            float lr, double g, int scalar) {
  enum { BATCH = 3 };
  fake_dev *f = fake_new(rows, cols, g);
  float *x = malloc(sizeof(float) * BATCH * cols);
  float *d = malloc(sizeof(float) * BATCH * rows);
  float *w = calloc((size_t)rows * cols, sizeof *w);
  int64_t *want = calloc((size_t)rows * cols, sizeof *want);
  fill_pm1(x, BATCH * cols, 1);
  fill_pm1(d, BATCH * rows, 2);
  x[1] = 0.0f;    /* a silent x line */
  d[rows] = 0.0f; /* a silent d line in sample 1 */
  uint64_t pulses = 0;
  ck_assert_int_eq(run_k(f, &up, w, x, d, BATCH, lr, 7, &pulses, scalar), 0);
  uint64_t want_pulses = 0;
  for (int s = 0; s < BATCH; s++) {
    int64_t *one = calloc((size_t)rows * cols, sizeof *one);
    naive_counts(&up, rows, cols, x + s * cols, d + s * rows, lr, g,
                 (uint32_t)(7 + s), one);
    for (int k = 0; k < rows * cols; k++) {
      want[k] += one[k];
      want_pulses += (uint64_t)llabs(one[k]);
    }
    free(one);
  }
  for (int k = 0; k < rows * cols; k++)
    ck_assert_msg(f->sum[k] == want[k], "element %d: engine %lld, naive %lld",
                  k, (long long)f->sum[k], (long long)want[k]);
  ck_assert_uint_eq(pulses, want_pulses);
  ck_assert_uint_gt(pulses, 0);
  for (int i = 0; i < rows; i++) {
    ck_assert_int_eq(f->zero_seen[i], 0);
    ck_assert_int_eq(f->dup_seen[i], 0);
    ck_assert_int_eq(f->bad_cursor[i], 0);
  }
  free(x);
  free(d);
  free(w);
  free(want);
  fake_free(f);
}

START_TEST(stochastic_matches_naive) {
  rpu_update_params up = defaults();
  compare_naive(up, 5, 37, 0.01f, 0.001); /* BL from UBLM; 37 columns: 4 vector steps + tail */
  compare_naive(up, 70, 3, -0.02f, 0.001); /* negative lr, many rows */
  up.pulse_type = RPU_PULSE_STOCHASTIC;
  compare_naive(up, 5, 37, 0.01f, 0.001);
  up = defaults();
  up.res = 0.25; /* p discretised to quarters */
  compare_naive(up, 4, 21, 0.01f, 0.001);
  up.sto_round = 1;
  compare_naive(up, 4, 21, 0.01f, 0.001);
  up.res = 10.0; /* ten steps */
  compare_naive(up, 4, 21, 0.01f, 0.001);
}
END_TEST

START_TEST(stochastic_multiword) {
  /* BL > 64: masks of several words.  No management, fixed BL 150 and
   * 64 exactly and 65 (word boundaries). */
  rpu_update_params up = defaults();
  up.update_bl_management = up.update_management = 0;
  const int bls[] = {64, 65, 150, 4100}; /* 4100: more than one fill */
  for (size_t k = 0; k < sizeof bls / sizeof bls[0]; k++) {
    up.desired_bl = bls[k];
    compare_naive(up, 4, 9, 0.01f, 0.001);
  }
  /* not fixed: BL = ceil(lr/g) = ceil(0.3f/0.001) = 301 (> desired 31) */
  up = defaults();
  up.update_bl_management = up.update_management = 0;
  up.fixed_bl = 0;
  compare_naive(up, 3, 5, 0.3f, 0.001);
}
END_TEST

START_TEST(stochastic_threshold_edge) {
  /* A slot fires if U < p, strictly.  No management and g·desired_bl =
   * 2^-10·8 < lr = 2^-6: A = B = 1, BL = ceil(lr/g) = 16, so p_x = |x| and
   * p_d = |d| = 1 (every d slot fires).  x is set to exactly the uniform
   * of its slot 0 (position 0 of sub LINES): slot 0 must stay silent and
   * slot k fire iff its uniform is below x. */
  rpu_update_params up = defaults();
  up.fixed_bl = up.update_bl_management = up.update_management = 0;
  up.desired_bl = 8;
  rpu_rng_stream s = stream42();
  s.step = 0;
  s.sub = RPU__PULSE_SUB_LINES;
  float u[16];
  rpu_rng_fill_uniform(&s, 0, u, 16);
  float x = u[0], d = 1.0f, w = 0.0f;
  int want = 0;
  for (int k = 1; k < 16; k++) want += u[k] < x;
  for (int scalar = 0; scalar < 2; scalar++) {
    fake_dev *f = fake_new(1, 1, 0x1p-10);
    ck_assert_int_eq(run_k(f, &up, &w, &x, &d, 1, 0.015625f, 0, NULL, scalar), 0);
    ck_assert_int_eq(f->sum[0], want);
    fake_free(f);
  }
}
END_TEST

START_TEST(stochastic_two_phase_order) {
  /* STOCHASTIC hands positive-x columns first, then negative ones;
   * STOCHASTIC_COMPRESSED in column order.  x alternates in sign; p_x = 1
   * for every line (|x| = 1 = x_max, B·x_max = sqrt(k/BL) = 1 with
   * k = 0.01·1·1/0.001 = 10 = BL) and d = 1 fires every slot. */
  enum { C = 8 };
  float x[C], d = 1.0f, w[C] = {0};
  for (int j = 0; j < C; j++) x[j] = (j % 3 == 0) ? -1.0f : 1.0f;
  fake_dev *f = fake_new(1, C, 0.001);
  rpu_update_params up = defaults();
  up.pulse_type = RPU_PULSE_STOCHASTIC;
  ck_assert_int_eq(run(f, &up, w, x, &d, 1, 0.01f, 0, NULL), 0);
  ck_assert_int_eq(f->order_n, C);
  int k = 0;
  for (int j = 0; j < C; j++)
    if (x[j] > 0) ck_assert_int_eq(f->order[k++], j);
  for (int j = 0; j < C; j++)
    if (x[j] < 0) ck_assert_int_eq(f->order[k++], j);
  /* every coincidence: 10 slots · p = 1 → |count| 10, x>0 → down */
  for (int j = 0; j < C; j++) ck_assert_int_eq(f->sum[j], x[j] > 0 ? 10 : -10);
  up.pulse_type = RPU_PULSE_STOCHASTIC_COMPRESSED;
  ck_assert_int_eq(run(f, &up, w, x, &d, 1, 0.01f, 0, NULL), 0);
  for (int j = 0; j < C; j++) ck_assert_int_eq(f->order[j], j);
  fake_free(f);
}
END_TEST

START_TEST(stochastic_mean) {
  /* SPEC §3.2 / §9.2 item 16: E[count(i,j)] = BL·p_d·p_x = lr|d_i x_j|/g
   * (no clipping: k = lr·x_max·d_max/g = 0.01·0.8·0.9/0.001 = 7.2 → BL 8,
   * p_max = sqrt(k/BL) < 1).  Each update's count is Binomial(BL, q) with
   * q = p_d·p_x; the sum S over N updates has mean N·lr|dx|/g and
   * standard deviation sqrt(N·BL·q(1-q)); we allow 5 of them (one
   * element in ~1.7 million would exceed that by chance; 12 elements). */
  enum { R = 3, C = 4, N = 4000 };
  const float x1[C] = {0.8f, -0.3f, 0.05f, 0.6f};
  const float d1[R] = {0.9f, -0.45f, 0.2f};
  float *x = malloc(sizeof(float) * N * C), *d = malloc(sizeof(float) * N * R);
  for (int s = 0; s < N; s++) {
    memcpy(x + s * C, x1, sizeof x1);
    memcpy(d + s * R, d1, sizeof d1);
  }
  fake_dev *f = fake_new(R, C, 0.001);
  float w[R * C] = {0};
  rpu_update_params up = defaults();
  ck_assert_int_eq(run(f, &up, w, x, d, N, 0.01f, 0, NULL), 0);
  rpu__pulse_blab b = rpu__pulse_manage(&up, 0.01f, 0.8, 0.9, 0.001);
  ck_assert_int_eq(b.bl, 8);
  /* A·B·BL = lr/g: the UM factors cancel in the product */
  ck_assert_double_eq_tol(b.a * b.b * b.bl, (double)0.01f / 0.001, 1e-9);
  for (int i = 0; i < R; i++) {
    ck_assert_int_le(f->max_abs[i], b.bl); /* never more than BL */
    for (int j = 0; j < C; j++) {
      double q = (b.a * fabs(d1[i])) * (b.b * fabs(x1[j]));
      double mean = N * b.bl * q; /* = N·lr|d x|/g, checked below */
      double sd = sqrt(N * b.bl * q * (1.0 - q));
      double sign = (d1[i] > 0) == (x1[j] > 0) ? 1.0 : -1.0; /* down if + */
      double got = sign * (double)f->sum[i * C + j];
      ck_assert_msg(fabs(got - mean) <= 5.0 * sd,
                    "(%d,%d): sum %g, expected %g ± %g", i, j, got, mean, sd);
    }
  }
  free(x);
  free(d);
  fake_free(f);
}
END_TEST

/* Short trains of small updates (the usual case in training: BL = 1,
 * firing probabilities well below 1), where many samples have no d slot
 * that fires in a thread's rows; the engine then skips their x lines and
 * visits only the rows with a coincidence (pulse.c work_rows).  Reference:
 * naive_counts per sample (draws every line).  lr 1e-4, g 1e-3, |x|, |d|
 * <= 1: k = lr x_max d_max / g <= 0.1, so UBLM gives BL = 1 and the
 * largest lines fire with probability sqrt(k) <= 0.32 (SPEC.md §3.2).
 * Checked: the summed counts, and the device calls per row = the number of
 * samples in which the row has a nonzero coincidence count (for the dense
 * hook: any coincidence) — no call is lost or added by the skipping.  The
 * test also makes sure both paths occur: some samples have no firing d
 * line at all, others have coincidences.  16 x 25 x 200 is above the
 * threads threshold; 1 and 2 threads, both hooks. */
START_TEST(sparse_trains_match_naive) {
  enum { R = 16, C = 25, B = 200 };
  const float lr = 1e-4f;
  const double g = 1e-3;
  float *x = malloc(sizeof(float) * B * C), *d = malloc(sizeof(float) * B * R);
  fill_pm1(x, B * C, 11);
  fill_pm1(d, B * R, 12);
  for (int k = 0; k < B * R; k += 2) d[k] = 0.0f; /* silent d lines */
  rpu_update_params up = defaults();
  int64_t *want = calloc((size_t)R * C, sizeof *want);
  int *want_calls[2] = {calloc(R, sizeof(int)), calloc(R, sizeof(int))};
  int quiet = 0, busy = 0; /* samples without a firing d line / with pulses */
  for (int s = 0; s < B; s++) {
    int64_t *one = calloc((size_t)R * C, sizeof *one);
    naive_counts(&up, R, C, x + s * C, d + s * R, lr, g, (uint32_t)(5 + s),
                 one);
    int any = 0;
    for (int i = 0; i < R; i++) {
      int nz = 0;
      for (int j = 0; j < C; j++) {
        want[i * C + j] += one[i * C + j];
        nz |= one[i * C + j] != 0;
      }
      want_calls[0][i] += nz;
      want_calls[1][i] += nz; /* one slot: a coincidence is a nonzero count */
      any |= nz;
    }
    busy += any;
    /* does any d line fire in this sample (its one slot: position
     * (C + i) BL with BL = 1)? */
    double x_max = 0, d_max = 0;
    for (int j = 0; j < C; j++) x_max = fmax(x_max, fabs(x[s * C + j]));
    for (int i = 0; i < R; i++) d_max = fmax(d_max, fabs(d[s * R + i]));
    rpu__pulse_blab b = rpu__pulse_manage(&up, lr, x_max, d_max, g);
    ck_assert_int_eq(b.bl, 1);
    float u[R];
    rpu_rng_stream st = stream42();
    st.step = (uint32_t)(5 + s);
    st.sub = RPU__PULSE_SUB_LINES;
    rpu_rng_fill_uniform(&st, C, u, R);
    int fires = 0;
    for (int i = 0; i < R; i++)
      fires |= (double)u[i] < b.a * fabs((double)d[s * R + i]);
    quiet += !fires;
    free(one);
  }
  ck_assert_int_gt(quiet, 0);
  ck_assert_int_gt(busy, 0);
  for (int t = 1; t <= 2; t++) {
    rpu_set_num_threads(t);
    for (int dense = 0; dense < 2; dense++) {
      fake_use_dense = dense;
      fake_dev *f = fake_new(R, C, g);
      fake_use_dense = 0;
      float *w = calloc((size_t)R * C, sizeof *w);
      ck_assert_int_eq(run(f, &up, w, x, d, B, lr, 5, NULL), 0);
      for (int k = 0; k < R * C; k++)
        ck_assert_msg(f->sum[k] == want[k],
                      "%d threads, dense %d, element %d: engine %lld, naive "
                      "%lld",
                      t, dense, k, (long long)f->sum[k], (long long)want[k]);
      for (int i = 0; i < R; i++)
        ck_assert_int_eq(f->calls[i], want_calls[dense][i]);
      free(w);
      fake_free(f);
    }
  }
  rpu_set_num_threads(0);
  free(want_calls[0]);
  free(want_calls[1]);
  free(want);
  free(x);
  free(d);
}
END_TEST

START_TEST(threads_bit_identical) {
  /* 160 x 128 = 20480 elements (parallel above 16384); 100 samples; the
   * device draws a normal per touched element from its row cursor. */
  enum { R = 160, C = 128, B = 100 };
  float *x = malloc(sizeof(float) * B * C), *d = malloc(sizeof(float) * B * R);
  fill_pm1(x, B * C, 5);
  fill_pm1(d, B * R, 6);
  float *w[2];
  int64_t *sums[2];
  for (int t = 0; t < 2; t++) {
    rpu_set_num_threads(t + 1);
    fake_use_dense = _i; /* loop index 1: through pulse_row_dense */
    fake_dev *f = fake_new(R, C, 0.001);
    fake_use_dense = 0;
    f->noise = 0.0003f;
    w[t] = calloc((size_t)R * C, sizeof(float));
    rpu__pulse *p = NULL;
    ck_assert_int_eq(rpu__pulse_new(&p, R, C), 0);
    rpu__pulse_device dev = fake_device(f);
    rpu_weights wv = {w[t], R, C, C};
    for (int rep = 0; rep < 4; rep++) /* reuse of the engine's buffers */
      ck_assert_int_eq(rpu__pulse_update(p, &(rpu_update_params){31, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1.0},
                                         &dev, wv, x, d, B / 4,
                                         0.01f, stream42(), (uint64_t)rep * (B / 4), NULL),
                       0);
    rpu__pulse_free(p);
    sums[t] = f->sum;
    f->sum = NULL;
    ck_assert_uint_eq(f->last_step[0], B - 1); /* last sample's step */
    fake_free(f);
  }
  rpu_set_num_threads(0);
  ck_assert_int_eq(memcmp(w[0], w[1], sizeof(float) * R * C), 0);
  ck_assert_int_eq(memcmp(sums[0], sums[1], sizeof(int64_t) * R * C), 0);
  for (int t = 0; t < 2; t++) {
    free(w[t]);
    free(sums[t]);
  }
  free(x);
  free(d);
}
END_TEST

/* The engine runs a batch in blocks of samples and, within a block, row
 * by row (pulse.c); that must be the sample-by-sample update of SPEC.md
 * §1.3.  Reference: the same samples handed over one call per sample
 * (batch 1, first_sample advanced), which is sample-by-sample by
 * construction.  A clipping, noisy fake device makes the order visible
 * (clipping does not commute with later steps; every touched element
 * draws a normal from its row's cursor).  16 x 25 with 700 samples spans
 * several blocks of samples; 3 x 300 with 80 samples has more x lines than
 * one bulk draw for BL >= 14 and an uneven split of rows over 2 threads;
 * both are above the engine's threshold for threads (rows x cols x batch
 * >= 65536).  Loop index 1 uses pulse_row_dense; 1 and 2 threads. */
START_TEST(blocks_equal_sample_by_sample) {
  static const int shapes[2][3] = {{16, 25, 700}, {3, 300, 80}};
  for (int sh = 0; sh < 2; sh++) {
    const int R = shapes[sh][0], C = shapes[sh][1], B = shapes[sh][2];
    float *x = malloc(sizeof(float) * B * C), *d = malloc(sizeof(float) * B * R);
    fill_pm1(x, B * C, 7);
    fill_pm1(d, B * R, 8);
    for (int k = 0; k < B * C; k += 3) x[k] = 0.0f; /* silent x lines */
    for (int t = 1; t <= 2; t++) {
      rpu_set_num_threads(t);
      float *w[2];
      int64_t *sums[2];
      for (int way = 0; way < 2; way++) {
        fake_use_dense = _i;
        fake_dev *f = fake_new(R, C, 0.001);
        fake_use_dense = 0;
        f->noise = 0.0003f;
        f->w_min = -0.004f; /* a few pulses reach the bounds */
        f->w_max = 0.004f;
        w[way] = calloc((size_t)R * C, sizeof(float));
        rpu__pulse *p = NULL;
        ck_assert_int_eq(rpu__pulse_new(&p, R, C), 0);
        rpu__pulse_device dev = fake_device(f);
        rpu_weights wv = {w[way], R, C, (size_t)C};
        rpu_update_params up = defaults();
        if (way == 0) {
          ck_assert_int_eq(rpu__pulse_update(p, &up, &dev, wv, x, d, B, 0.05f,
                                             stream42(), 11, NULL),
                           0);
        } else {
          for (int s = 0; s < B; s++)
            ck_assert_int_eq(rpu__pulse_update(p, &up, &dev, wv, x + s * C,
                                               d + s * R, 1, 0.05f, stream42(),
                                               (uint64_t)(11 + s), NULL),
                             0);
        }
        rpu__pulse_free(p);
        sums[way] = f->sum;
        f->sum = NULL;
        fake_free(f);
      }
      ck_assert_msg(memcmp(w[0], w[1], sizeof(float) * R * C) == 0,
                    "%d x %d, %d threads: batch and sample-by-sample differ", R,
                    C, t);
      ck_assert_int_eq(memcmp(sums[0], sums[1], sizeof(int64_t) * R * C), 0);
      int64_t any = 0; /* the comparison saw pulses */
      for (int k = 0; k < R * C; k++) any += llabs(sums[0][k]);
      ck_assert_int_gt(any, 0);
      for (int way = 0; way < 2; way++) {
        free(w[way]);
        free(sums[way]);
      }
    }
    rpu_set_num_threads(0);
    free(x);
    free(d);
  }
}
END_TEST

/* The four-lines-at-a-time threshold kernel (AVX2) and the scalar one at
 * the edge U = p, for more lines than one vector step: as in
 * stochastic_threshold_edge (no management, lr = 2^-6 > g desired_bl =
 * 2^-10 8: A = B = 1, BL = ceil(lr/g) = 16, p_x = |x|, d = 1 fires every
 * slot), x_j is set to the uniform of slot 0 of line j (position 16 j of
 * sub LINES): slot 0 never fires (U < p is strict) and slot k fires iff
 * its uniform is below |x_j|.  Column 5 is negative (count negated: x < 0,
 * d > 0 is an up pulse), column 7 is zero (silent). */
START_TEST(stochastic_threshold_edge_many) {
  enum { C = 13, BL = 16 };
  rpu_update_params up = defaults();
  up.fixed_bl = up.update_bl_management = up.update_management = 0;
  up.desired_bl = 8;
  rpu_rng_stream s = stream42();
  s.step = 0;
  s.sub = RPU__PULSE_SUB_LINES;
  float u[C * BL], x[C], d = 1.0f, w[C] = {0};
  rpu_rng_fill_uniform(&s, 0, u, C * BL);
  int want[C];
  for (int j = 0; j < C; j++) {
    x[j] = j == 5 ? -u[j * BL] : (j == 7 ? 0.0f : u[j * BL]);
    want[j] = 0;
    for (int k = 1; k < BL && j != 7; k++) want[j] += u[j * BL + k] < u[j * BL];
    if (j == 5) want[j] = -want[j];
  }
  for (int scalar = 0; scalar < 2; scalar++) {
    fake_dev *f = fake_new(1, C, 0x1p-10);
    ck_assert_int_eq(run_k(f, &up, w, x, &d, 1, 0.015625f, 0, NULL, scalar), 0);
    for (int j = 0; j < C; j++)
      ck_assert_msg(f->sum[j] == want[j], "column %d (scalar %d): %lld, want %d",
                    j, scalar, (long long)f->sum[j], want[j]);
    fake_free(f);
  }
}
END_TEST

/* ----- Bad input -------------------------------------------------------- */

static void assert_err(int rc, int code, const char *needle) {
  const rpu_error *e = rpu_error_last();
  ck_assert_msg(rc == code, "expected %s, got %s (%s)", rpu_status_name(code),
                rpu_status_name(rc), e->message);
  ck_assert_msg(strstr(e->message, needle) != NULL,
                "message \"%s\" does not mention \"%s\"", e->message, needle);
}

START_TEST(bad_input) {
  fake_dev *f = fake_new(2, 3, 0.001);
  float w[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, w0[6];
  memcpy(w0, w, sizeof w);
  float x[6] = {1, 0.5f, -0.25f, 1, 0.5f, -0.25f};
  float d[4] = {0.5f, -1, 0.5f, -1};
  rpu_update_params up = defaults();
  /* NaN in sample 1: nothing applied, not even sample 0 */
  x[5] = NAN;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EINVAL, "x[1][2]");
  x[5] = -0.25f;
  d[3] = INFINITY;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EINVAL, "d[1][1]");
  d[3] = -1;
  up.pulse_type = 99;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_ECONFIG,
             "update.pulse_type");
  up.pulse_type = RPU_PULSE_NONE;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EINVAL, "NONE");
  up.pulse_type = RPU_PULSE_NONE_WITH_DEVICE;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EINVAL,
             "NONE_WITH_DEVICE");
  /* BL beyond the limit: not fixed, no management, lr/g = 1e5 */
  up = defaults();
  up.fixed_bl = up.update_bl_management = up.update_management = 0;
  assert_err(run(f, &up, w, x, d, 2, 100.0f, 0, NULL), RPU_ERANGE, "BL = 100000");
  /* ... but MEAN_COUNT has no trains and no limit: BL = 1e5 (counts up
   * to 1e5 per element, fine) — just check it runs */
  up.pulse_type = RPU_PULSE_MEAN_COUNT;
  float wm[6] = {0};
  ck_assert_int_eq(run(f, &up, wm, x, d, 1, 100.0f, 0, NULL), 0);
  ck_assert_int_eq(f->max_abs[1], 100000); /* n_d = n_x = BL → c = BL */
  memset(f->calls, 0, 2 * sizeof *f->calls);
  up = defaults();
  /* granularity not a positive number */
  f->g = 0.0;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EPLUGIN, "FakeDevice");
  f->g = NAN;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EPLUGIN, "granularity");
  f->g = 0.001;
  /* a device without pulse_row, or one whose vtable is too short */
  fake_vt.pulse_row = NULL;
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EUNSUPPORTED,
             "FakeDevice");
  fake_vt.pulse_row = fake_pulse_row;
  fake_vt.struct_size = (uint32_t)offsetof(rpu_device_vtable, pulse_row);
  assert_err(run(f, &up, w, x, d, 2, 0.01f, 0, NULL), RPU_EUNSUPPORTED,
             "pulse_row");
  fake_vt.struct_size = sizeof fake_vt;
  /* non-finite lr, bad batch, wrong shape, NULLs */
  assert_err(run(f, &up, w, x, d, 2, NAN, 0, NULL), RPU_EINVAL, "lr");
  assert_err(run(f, &up, w, x, d, 0, 0.01f, 0, NULL), RPU_EINVAL, "batch");
  rpu__pulse *p = NULL;
  ck_assert_int_eq(rpu__pulse_new(&p, 3, 2), 0);
  rpu__pulse_device dev = fake_device(f);
  rpu_weights wv = {w, 2, 3, 3};
  assert_err(rpu__pulse_update(p, &up, &dev, wv, x, d, 1, 0.01f, stream42(), 0, NULL),
             RPU_ESHAPE, "3 x 2");
  assert_err(rpu__pulse_update(p, &up, NULL, wv, x, d, 1, 0.01f, stream42(), 0, NULL),
             RPU_EINVAL, "NULL");
  rpu__pulse_free(p);
  assert_err(rpu__pulse_new(&p, 0, 3), RPU_EINVAL, "shape");
  /* after all that, nothing reached the device or the weights */
  ck_assert_int_eq(f->calls[0], 0);
  ck_assert_int_eq(memcmp(w, w0, sizeof w), 0);
  fake_free(f);
}
END_TEST

Suite *suite_pulse(void) {
  Suite *s = suite_create("pulse");
  TCase *tc = tcase_create("blab");
  tcase_add_test(tc, blab_example);
  tcase_add_test(tc, blab_zero);
  tcase_add_test(tc, blab_clipped);
  tcase_add_test(tc, blab_fixed_vs_not);
  tcase_add_test(tc, blab_um_only_and_grad_scale);
  tcase_add_test(tc, res_and_discretize);
  tcase_add_test(tc, threshold_matches_uniform);
  suite_add_tcase(s, tc);
  tc = tcase_create("dense");
  tcase_add_loop_test(tc, mean_count_exact, 0, 2);
  tcase_add_loop_test(tc, deterministic_implicit_exact, 0, 2);
  tcase_add_test(tc, deterministic_implicit_spec_trace);
  tcase_add_test(tc, nothing_to_do);
  suite_add_tcase(s, tc);
  tc = tcase_create("stochastic");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, stochastic_matches_naive);
  tcase_add_test(tc, sparse_trains_match_naive);
  tcase_add_test(tc, stochastic_multiword);
  tcase_add_test(tc, stochastic_threshold_edge);
  tcase_add_test(tc, stochastic_two_phase_order);
  tcase_add_test(tc, stochastic_mean);
  tcase_add_loop_test(tc, threads_bit_identical, 0, 2);
  tcase_add_loop_test(tc, blocks_equal_sample_by_sample, 0, 2);
  tcase_add_test(tc, stochastic_threshold_edge_many);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, bad_input);
  suite_add_tcase(s, tc);
  return s;
}
