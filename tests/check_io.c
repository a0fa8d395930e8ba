/* Suite "io": the analog MVM pipeline (core/engine/io_pipeline.c) against
 * SPEC.md §2.
 *
 * Noise-free cases use small matrices whose outputs are worked out by hand
 * in the comments (DAC/ADC steps, clipping, each noise-management scale,
 * bound management, non-linearity, IR drop, offsets, POS_NEG modes).
 * Statistical cases use fixed seeds; each tolerance is a multiple (5 or 6)
 * of the standard error of the estimate, derived beside it, so a correct
 * implementation fails with negligible probability and a wrong factor
 * (e.g. a missing alpha) fails for sure. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine/io_pipeline.h"
#include "rpu/context.h"
#include "rpu/rng.h"
#include "tests/internal_suites.h"

/* ----- Helpers -------------------------------------------------------------- */

/* SPEC.md §2.1 Python defaults, written out independently of the config
 * schema. */
static rpu_io_params defaults(void) {
  rpu_io_params p;
  memset(&p, 0, sizeof p);
  p.is_perfect = 0;
  p.mv_type = RPU_MV_ONE_PASS;
  p.inp_bound = 1.0;
  p.inp_noise = 0.0;
  p.inp_res = 1.0 / 126;
  p.out_bound = 12.0;
  p.out_noise = 0.06;
  p.out_res = 1.0 / 510;
  p.out_scale = 1.0;
  p.bound_management = RPU_BM_ITERATIVE;
  p.noise_management = RPU_NM_ABS_MAX;
  p.w_noise_type = RPU_W_NOISE_NONE;
  p.ir_drop_g_ratio = 1 / 0.35 / 5e-6;
  p.v_offset_w_min = -1.0;
  p.r_series_max_total = 3.4e38;
  p.max_bm_factor = 1000;
  p.max_bm_res = 0.25;
  p.bm_test_negative_bound = 1;
  p.nm_assumed_wmax = 0.6;
  p.nm_decay = 1e-3;
  return p;
}

/* No noise, no quantisation, no management, unbounded: y = W x exactly;
 * each test switches on what it examines. */
static rpu_io_params plain(void) {
  rpu_io_params p = defaults();
  p.out_noise = 0.0;
  p.inp_res = -1;
  p.out_res = -1;
  p.inp_bound = 0; /* <= 0: infinite */
  p.out_bound = 0;
  p.noise_management = RPU_NM_NONE;
  p.bound_management = RPU_BM_NONE;
  return p;
}

static rpu_rng_cursor construction(uint64_t seed) {
  rpu_rng_cursor c = {rpu_rng_stream_make(seed, 0, RPU_RNG_CONSTRUCTION), 0};
  return c;
}

static rpu__io *mk(const rpu_io_params *p, int n_out, int n_in, int bwd) {
  rpu_rng_cursor c = construction(42);
  rpu__io *io = NULL;
  int rc = rpu__io_new(&io, p, n_out, n_in, bwd, &c, NULL);
  ck_assert_msg(rc == 0, "rpu__io_new: %d", rc);
  return io;
}

/* Runs one call with read step `step` of seed 7; returns the counters. */
static rpu_tile_counters run(rpu__io *io, const float *w, size_t ld,
                             const float *x, float *y, int batch,
                             uint32_t step) {
  rpu_rng_stream rs = rpu_rng_stream_make(7, 0, RPU_RNG_READ);
  rs.step = step;
  rpu_tile_counters cn;
  memset(&cn, 0, sizeof cn);
  int rc = rpu__io_mvm(io, w, ld, 0, x, y, batch, &rs, &cn);
  ck_assert_msg(rc == 0, "rpu__io_mvm: %d", rc);
  return cn;
}

/* One forward call of a fresh pipeline on an out x in matrix. */
static rpu_tile_counters fwd(const rpu_io_params *p, const float *w, int n_out,
                             int n_in, const float *x, float *y, int batch) {
  rpu__io *io = mk(p, n_out, n_in, 0);
  rpu_tile_counters cn = run(io, w, (size_t)n_in, x, y, batch, 0);
  rpu__io_free(io);
  return cn;
}

#define EXPECT_VEC(y, exp, n, tol)                                            \
  do {                                                                        \
    for (int i_ = 0; i_ < (n); i_++)                                          \
      ck_assert_msg(fabs((double)(y)[i_] - (double)(exp)[i_]) <= (tol),       \
                    "element %d: got %.9g, expected %.9g", i_, (double)(y)[i_], \
                    (double)(exp)[i_]);                                       \
  } while (0)

static void mean_std(const float *v, size_t n, size_t stride, double *mean,
                     double *sd) {
  double s = 0, ss = 0;
  for (size_t k = 0; k < n; k++) s += v[k * stride];
  double m = s / (double)n;
  for (size_t k = 0; k < n; k++) ss += (v[k * stride] - m) * (v[k * stride] - m);
  *mean = m;
  *sd = sqrt(ss / (double)(n - 1));
}

static float *eye(int n, float scale) {
  float *w = calloc((size_t)n * (size_t)n, sizeof *w);
  for (int i = 0; i < n; i++) w[(size_t)i * (size_t)n + (size_t)i] = scale;
  return w;
}

/* ----- Perfect IO --------------------------------------------------------- */

/* SPEC.md §2.5: perfect IO gives y = out_scale W x (all values exact in
 * binary, so equality is exact).  W = [[1, .5, -.25], [0, -1, 2]],
 * x = [1, 2, 4]: W x = [1 + 1 - 1, -2 + 8] = [1, 6]; out_scale 2 -> [2, 12].
 * Backward: W^T d with d = [1, -1]: [1, 1.5, -2.25] -> x2 [2, 3, -4.5].
 * mv_type IDEAL means perfect as well. */
START_TEST(test_perfect) {
  const float w[6] = {1, 0.5f, -0.25f, 0, -1, 2};
  const float x[3] = {1, 2, 4}, d[2] = {1, -1};
  rpu_io_params p = defaults();
  p.is_perfect = 1;
  p.out_scale = 2;
  p.inp_bound = 3; /* ignored when perfect (no bound check) */
  float y[3];
  rpu__io *io = mk(&p, 2, 3, 0);
  ck_assert(rpu__io_is_perfect(io));
  run(io, w, 3, x, y, 1, 0);
  EXPECT_VEC(y, ((float[]){2, 12}), 2, 0);
  rpu__io_free(io);
  io = mk(&p, 3, 2, 1);
  run(io, w, 3, d, y, 1, 0);
  EXPECT_VEC(y, ((float[]){2, 3, -4.5f}), 3, 0);
  rpu__io_free(io);
  p = defaults();
  p.mv_type = RPU_MV_IDEAL;
  io = mk(&p, 2, 3, 0);
  ck_assert(rpu__io_is_perfect(io));
  rpu__io_free(io);
  /* a non-perfect default pipeline says so */
  p = defaults();
  io = mk(&p, 2, 3, 0);
  ck_assert(!rpu__io_is_perfect(io));
  rpu__io_free(io);
}
END_TEST

/* ----- DAC and ADC ----------------------------------------------------------- */

/* SPEC.md §2.2/§2.4.1: inp_res 0.25 (fraction) with bound 1 gives the
 * absolute step 0.25 * 2 * 1 = 0.5; u = rint(x / 0.5) * 0.5 (half to even),
 * then clip to [-1, 1].  W = I so y = u.
 *   0.1 -> rint(0.2) = 0 -> 0        0.24 -> rint(0.48) = 0 -> 0
 *   0.26 -> rint(0.52) = 1 -> 0.5    0.75 -> rint(1.5) = 2 -> 1.0
 *   0.25 -> rint(0.5) = 0 -> 0       -0.25 -> rint(-0.5) = -0 -> 0
 *   1.3 -> rint(2.6) = 3 -> 1.5 -> clipped 1.0
 *   -2 -> rint(-4) -> -2 -> clipped -1.0
 * inp_res = 4 means "4 steps" = 1/4: the same pipeline.  With the bound
 * <= 0 (infinite) the resolution is off: y = x. */
START_TEST(test_dac_levels) {
  enum { N = 8 };
  const float x[N] = {0.1f, 0.24f, 0.26f, 0.75f, 0.25f, -0.25f, 1.3f, -2.0f};
  const float exp[N] = {0, 0, 0.5f, 1.0f, 0, 0, 1.0f, -1.0f};
  float *w = eye(N, 1.0f), y[N];
  rpu_io_params p = plain();
  p.inp_bound = 1.0;
  p.inp_res = 0.25;
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, exp, N, 0);
  p.inp_res = 4; /* number of steps */
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, exp, N, 0);
  p.inp_bound = -1; /* infinite bound: no clipping, resolution off */
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, x, N, 0);
  /* inp_res < 0 is "off": only the clip remains */
  p.inp_bound = 1.0;
  p.inp_res = -1;
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.1f, 0.24f, 0.26f, 0.75f, 0.25f, -0.25f, 1, -1}), N,
             0);
  /* negative inputs scaled by (1 - inp_asymmetry) after the DAC (§2.4.1e):
   * -0.25 -> 0 stays 0; -2 -> -1 -> -0.5 with asymmetry 0.5 */
  p.inp_res = 0.25;
  p.inp_asymmetry = 0.5;
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, ((float[]){0, 0, 0.5f, 1.0f, 0, 0, 1.0f, -0.5f}), N, 0);
  free(w);
}
END_TEST

/* ADC (§2.4.4d-e): out_bound 2, out_res 0.1 -> step 0.1 * 2 * 2 = 0.4;
 * y = clip(rint(v / 0.4) * 0.4, +-2):
 *   0.1 -> 0; 0.21 -> rint(0.525) = 1 -> 0.4; -0.5 -> rint(-1.25) = -1 ->
 *   -0.4; 0.6 -> rint(1.5) = 2 -> 0.8; 2.1 -> rint(5.25) = 5 -> 2.0;
 *   2.3 -> rint(5.75) = 6 -> 2.4 -> clipped 2; -7 -> -2.
 * Written as 10 steps the same.  out_asymmetry 0.5 halves negative outputs
 * before the ADC: -0.5 -> -0.25 -> rint(-0.625) = -1 -> -0.4; -7 -> -3.5
 * -> -2 (clipped). */
START_TEST(test_adc_levels) {
  enum { N = 7 };
  const float x[N] = {0.1f, 0.21f, -0.5f, 0.6f, 2.1f, 2.3f, -7.0f};
  const float exp[N] = {0, 0.4f, -0.4f, 0.8f, 2.0f, 2.0f, -2.0f};
  float *w = eye(N, 1.0f), y[N];
  rpu_io_params p = plain();
  p.out_bound = 2.0;
  p.out_res = 0.1;
  rpu_tile_counters cn = fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, exp, N, 1e-6);
  /* two outputs hit the bound: 2.3 and -7 (2.1 -> 2.0 is not beyond it) */
  ck_assert_uint_eq(cn.saturations, 2);
  ck_assert_uint_eq(cn.bm_repeats, 0);
  p.out_res = 10;
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, exp, N, 1e-6);
  p.out_asymmetry = 0.5;
  fwd(&p, w, N, N, x, y, 1);
  EXPECT_VEC(y, ((float[]){0, 0.4f, -0.4f, 0.8f, 2.0f, 2.0f, -2.0f}), N, 1e-6);
  free(w);
}
END_TEST

/* Stochastic rounding (§2.4.1b): u = rint(v/res + U - 1/2) res.  For
 * v/res = k + f the result is (k+1) res with probability f, else k res:
 * unbiased.  DAC: step 0.5, x = 0.1 (f = 0.2) and x = -0.35 (v/res = -0.7
 * = -1 + 0.3: -0.5 w.p. 0.7, 0 w.p. 0.3).  ADC alike with step 0.4.
 * N = 20000 draws each; the fraction has standard error
 * sqrt(p(1-p)/N) <= 0.0035, tolerance 0.02 (> 5 sigma). */
START_TEST(test_stochastic_rounding) {
  enum { B = 10000, N = 2 };
  float *x = malloc(sizeof(float) * B * N), *y = malloc(sizeof(float) * B * N);
  for (int b = 0; b < B; b++) {
    x[b * N] = 0.1f;
    x[b * N + 1] = -0.35f;
  }
  float *w = eye(N, 1.0f);
  for (int adc = 0; adc < 2; adc++) {
    rpu_io_params p = plain();
    if (adc) {
      p.out_bound = 2.0;
      p.out_res = 0.1; /* step 0.4 */
      p.out_sto_round = 1;
      for (int b = 0; b < B; b++) { /* v/res = 0.2 and -0.7 again */
        x[b * N] = 0.08f;
        x[b * N + 1] = -0.28f;
      }
    } else {
      p.inp_bound = 1.0;
      p.inp_res = 0.25; /* step 0.5 */
      p.inp_sto_round = 1;
    }
    const float step = adc ? 0.4f : 0.5f;
    rpu__io *io = mk(&p, N, N, 0);
    run(io, w, N, x, y, B, 3);
    int up0 = 0, dn1 = 0, bad = 0;
    for (int b = 0; b < B; b++) {
      float a = y[b * N], c = y[b * N + 1];
      if (a == step) up0++;
      else if (a != 0.0f) bad++;
      if (c == -step) dn1++;
      else if (c != 0.0f) bad++;
    }
    ck_assert_int_eq(bad, 0); /* only the two neighbouring levels */
    ck_assert_double_eq_tol((double)up0 / B, 0.2, 0.02);
    ck_assert_double_eq_tol((double)dn1 / B, 0.7, 0.02);
    /* different read steps draw differently; the same step repeats */
    float *y2 = malloc(sizeof(float) * B * N);
    run(io, w, N, x, y2, B, 3);
    ck_assert(memcmp(y, y2, sizeof(float) * B * N) == 0);
    run(io, w, N, x, y2, B, 4);
    ck_assert(memcmp(y, y2, sizeof(float) * B * N) != 0);
    free(y2);
    rpu__io_free(io);
  }
  free(w);
  free(x);
  free(y);
}
END_TEST

/* ----- Noise management (§2.3) ---------------------------------------------- */

/* W = I (3x3), x = [0.33, -3, 0.07], DAC resolution off, ADC step 0.1
 * (out_bound 10, out_res 0.005), bound management off.  The output is
 * rint((x/alpha clipped to +-1) / 0.1) * 0.1 * alpha, so alpha shows:
 *  NONE (inp_bound 10): [3.3 -> 0.3, -30 -> -3, 0.7 -> 1 -> 0.1]
 *  ABS_MAX a=3: x/a = [.11, -1, .0233] -> [.1, -1, 0] * 3 = [.3, -3, 0]
 *  ABS_MAX nm_thres 1, a=1: [.33 -> .3, -3 -> clip -1, .07 -> .1]
 *  MAX a=.33: [1, -9.09 -> -1, .2121] -> [1, -1, .2] * .33
 *             = [.33, -.33, .066]
 *  CONSTANT nm_thres .5: [.66 -> .7, -6 -> -1, .14 -> .1] * .5
 *             = [.35, -.5, .05]
 *  CONSTANT nm_thres 0 -> a = 1: like ABS_MAX with threshold 1. */
START_TEST(test_nm_modes) {
  const float x[3] = {0.33f, -3.0f, 0.07f};
  float *w = eye(3, 1.0f), y[3];
  rpu_io_params p = plain();
  p.out_bound = 10;
  p.out_res = 0.005;
  p.inp_bound = 10;
  fwd(&p, w, 3, 3, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.3f, -3.0f, 0.1f}), 3, 1e-6);
  p.inp_bound = 1;
  p.noise_management = RPU_NM_ABS_MAX;
  fwd(&p, w, 3, 3, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.3f, -3.0f, 0.0f}), 3, 1e-6);
  p.nm_thres = 1;
  fwd(&p, w, 3, 3, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.3f, -1.0f, 0.1f}), 3, 1e-6);
  p.nm_thres = 0;
  p.noise_management = RPU_NM_MAX;
  fwd(&p, w, 3, 3, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.33f, -0.33f, 0.066f}), 3, 1e-6);
  p.noise_management = RPU_NM_CONSTANT;
  p.nm_thres = 0.5;
  fwd(&p, w, 3, 3, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.35f, -0.5f, 0.05f}), 3, 1e-6);
  p.nm_thres = 0;
  fwd(&p, w, 3, 3, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.3f, -1.0f, 0.1f}), 3, 1e-6);
  free(w);
}
END_TEST

/* AVERAGE_ABS_MAX (§2.3) with nm_decay 0.5, same quantiser as above.
 * Sample 0 (x above, amax 3) sets the running value a = 3 -> output as
 * ABS_MAX [.3, -3, 0].  Sample 1 = [.33, -1, .07] (amax 1): a = .5*3 + .5*1
 * = 2; x/2 = [.165, -.5, .035] -> [.2, -.5, 0] * 2 = [.4, -1, 0].
 * The value is shared: a backward pipeline on the same float continues
 * from 2; its input d = [0, 0, 4] (amax 4) gives a = .5*2 + .5*4 = 3, so
 * d/3 = 1.33 overflows the DAC and is clipped to 1: output [0, 0, 1*3]. */
START_TEST(test_nm_average_abs_max) {
  const float x[6] = {0.33f, -3.0f, 0.07f, 0.33f, -1.0f, 0.07f};
  const float d[3] = {0, 0, 4};
  float *w = eye(3, 1.0f), y[6];
  rpu_io_params p = plain();
  p.out_bound = 10;
  p.out_res = 0.005;
  p.inp_bound = 1;
  p.noise_management = RPU_NM_AVERAGE_ABS_MAX;
  p.nm_decay = 0.5;
  float running = RPU__IO_NM_UNSET;
  rpu_rng_cursor c = construction(1);
  rpu__io *f = NULL, *b = NULL;
  ck_assert_int_eq(rpu__io_new(&f, &p, 3, 3, 0, &c, &running), 0);
  ck_assert_int_eq(rpu__io_new(&b, &p, 3, 3, 1, &c, &running), 0);
  run(f, w, 3, x, y, 2, 0);
  EXPECT_VEC(y, ((float[]){0.3f, -3.0f, 0.0f, 0.4f, -1.0f, 0.0f}), 6, 1e-6);
  ck_assert_float_eq_tol(running, 2.0f, 1e-6f);
  run(b, w, 3, d, y, 1, 1);
  ck_assert_float_eq_tol(running, 3.0f, 1e-6f);
  EXPECT_VEC(y, ((float[]){0, 0, 3.0f}), 3, 1e-5);
  rpu__io_free(f);
  rpu__io_free(b);
  free(w);
}
END_TEST

/* ABS_MAX_NP_SUM (§2.3): W = I (4x4), x = [.7, .7, .7, .7]; out_bound 1,
 * ADC step 0.1 (out_res 0.05), nm_assumed_wmax 0.6:
 *   amax = .7, S = 2.8, p = 2.8 * .6 / 1 = 1.68 > amax -> alpha = 1.68.
 *   DAC off: x/alpha = .41667 -> ADC .4 -> * 1.68 = .672 (ABS_MAX would
 *   give .7).
 * With the DAC on (inp_res 0.1 -> step 0.2) and max_bm_res 0.3 the scale
 * is capped: p = min(1.68, amax / 0.2 * 0.3 = 1.05) -> alpha = 1.05;
 *   x/alpha = .6667 -> DAC rint(3.33) = 3 -> .6 -> ADC .6 -> * 1.05 = .63. */
START_TEST(test_nm_abs_max_np_sum) {
  const float x[4] = {0.7f, 0.7f, 0.7f, 0.7f};
  float *w = eye(4, 1.0f), y[4];
  rpu_io_params p = plain();
  p.inp_bound = 1;
  p.out_bound = 1;
  p.out_res = 0.05;
  p.noise_management = RPU_NM_ABS_MAX_NP_SUM;
  fwd(&p, w, 4, 4, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.672f, 0.672f, 0.672f, 0.672f}), 4, 1e-6);
  p.inp_res = 0.1;
  p.max_bm_res = 0.3;
  fwd(&p, w, 4, 4, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.63f, 0.63f, 0.63f, 0.63f}), 4, 1e-6);
  p.noise_management = RPU_NM_ABS_MAX; /* for contrast: x/.7 = 1 -> .7 */
  fwd(&p, w, 4, 4, x, y, 1);
  EXPECT_VEC(y, ((float[]){0.7f, 0.7f, 0.7f, 0.7f}), 4, 1e-6);
  free(w);
}
END_TEST

/* The short cut of §2.3: noise management on and alpha <= 0 gives exact
 * zeros even with output noise; forward only if inp_noise is 0 (with input
 * noise the noise passes through), backward always.  MAX of an all-negative
 * input has alpha < 0: zeros as well (kept quirk). */
START_TEST(test_nm_zero_shortcut) {
  enum { N = 64 };
  float x[N] = {0}, y[N];
  float *w = eye(N, 1.0f);
  rpu_io_params p = defaults(); /* ABS_MAX, out_noise 0.06 */
  fwd(&p, w, N, N, x, y, 1);
  for (int i = 0; i < N; i++) ck_assert(y[i] == 0.0f);
  rpu__io *io = mk(&p, N, N, 1);
  run(io, w, N, x, y, 1, 0);
  for (int i = 0; i < N; i++) ck_assert(y[i] == 0.0f);
  rpu__io_free(io);
  p.inp_noise = 0.1;
  fwd(&p, w, N, N, x, y, 1);
  int nonzero = 0;
  for (int i = 0; i < N; i++) nonzero += y[i] != 0.0f;
  /* y = .1 xi + .06 xi' quantised with step .047: zero w.p. ~.16 */
  ck_assert_int_gt(nonzero, N / 2);
  io = mk(&p, N, N, 1);
  run(io, w, N, x, y, 1, 0);
  for (int i = 0; i < N; i++) ck_assert(y[i] == 0.0f);
  rpu__io_free(io);
  p = defaults();
  p.noise_management = RPU_NM_MAX;
  for (int i = 0; i < N; i++) x[i] = -0.5f;
  fwd(&p, w, N, N, x, y, 1);
  for (int i = 0; i < N; i++) ck_assert(y[i] == 0.0f);
  free(w);
}
END_TEST

/* ----- Bound management (§2.5) ----------------------------------------------- */

/* W = 20 I (2x2), x = [1, .5], ABS_MAX (alpha 1), out_bound 12, no
 * quantisation, no noise.  Pass r=1: y = [20, 10], 20 > 12 fails; pass
 * r=2: u = x/2, y = [10, 5] passes; result y * alpha * r = [20, 10], one
 * repeat.  Without bound management: [12, 10], no repeat, 1 saturation. */
START_TEST(test_bm_iterative) {
  const float x[2] = {1.0f, 0.5f};
  float *w = eye(2, 20.0f), y[2];
  rpu_io_params p = plain();
  p.inp_bound = 1;
  p.out_bound = 12;
  p.noise_management = RPU_NM_ABS_MAX;
  p.bound_management = RPU_BM_ITERATIVE;
  rpu_tile_counters cn = fwd(&p, w, 2, 2, x, y, 1);
  EXPECT_VEC(y, ((float[]){20, 10}), 2, 0);
  ck_assert_uint_eq(cn.bm_repeats, 1);
  ck_assert_uint_eq(cn.saturations, 0);
  p.bound_management = RPU_BM_NONE;
  cn = fwd(&p, w, 2, 2, x, y, 1);
  EXPECT_VEC(y, ((float[]){12, 10}), 2, 0);
  ck_assert_uint_eq(cn.bm_repeats, 0);
  ck_assert_uint_eq(cn.saturations, 1);
  free(w);
}
END_TEST

/* The stop rules of §2.5.  W = [500] (1x1), x = [1]:
 * - default DAC (step 1/63): passes r = 1, 2, 4, 8, 16 all saturate; after
 *   r = 16 the loop stops since 16 > 0.25 * 63 = 15.75.  The last pass
 *   clips at 12, result 12 * 16 = 192, 4 repeats, 1 saturation.
 * - DAC off, max_bm_factor 4: r = 1, 2, 4 fail (4 > 4 is false), r = 8
 *   stops: 12 * 8 = 96, 3 repeats.
 * - W = [-500]: with bm_test_negative_bound the negative saturation
 *   repeats as well (-192); without it the first pass stands: -12. */
START_TEST(test_bm_stop_rules) {
  const float x[1] = {1.0f};
  float w[1] = {500.0f}, y[1];
  rpu_io_params p = defaults();
  p.out_noise = 0;
  rpu_tile_counters cn = fwd(&p, w, 1, 1, x, y, 1);
  ck_assert_float_eq(y[0], 192.0f);
  ck_assert_uint_eq(cn.bm_repeats, 4);
  ck_assert_uint_eq(cn.saturations, 1);
  p.inp_res = -1;
  p.max_bm_factor = 4;
  cn = fwd(&p, w, 1, 1, x, y, 1);
  ck_assert_float_eq(y[0], 96.0f);
  ck_assert_uint_eq(cn.bm_repeats, 3);
  p = defaults();
  p.out_noise = 0;
  w[0] = -500.0f;
  cn = fwd(&p, w, 1, 1, x, y, 1);
  ck_assert_float_eq(y[0], -192.0f);
  ck_assert_uint_eq(cn.bm_repeats, 4);
  p.bm_test_negative_bound = 0;
  cn = fwd(&p, w, 1, 1, x, y, 1);
  ck_assert_float_eq(y[0], -12.0f);
  ck_assert_uint_eq(cn.bm_repeats, 0);
}
END_TEST

/* Only saturated samples are repeated: NM off, W = [[20]], batch
 * x = [1, .1, -1]: the first and last saturate (20, -20 beyond 12) and are
 * repeated once with r = 2 (10, -10 -> results 20, -20); the middle one
 * (2) is not: 2 repeats in all. */
START_TEST(test_bm_only_saturated_repeat) {
  const float x[3] = {1.0f, 0.1f, -1.0f};
  float w[1] = {20.0f}, y[3];
  rpu_io_params p = plain();
  p.inp_bound = 1;
  p.out_bound = 12;
  p.bound_management = RPU_BM_ITERATIVE;
  rpu_tile_counters cn = fwd(&p, w, 1, 1, x, y, 3);
  EXPECT_VEC(y, ((float[]){20, 2, -20}), 3, 1e-6);
  ck_assert_uint_eq(cn.bm_repeats, 2);
}
END_TEST

/* ITERATIVE_WORST_CASE (§2.5): the second pass uses the ABS_MAX_NP_SUM
 * scale with r = 1.  W = 0.6 * ones(1x8), x = ones(8), out_bound 2, DAC
 * off, nm_assumed_wmax 0.75:
 *  pass 0: ABS_MAX alpha 1: y = 4.8 > 2 fails.
 *  pass 1: alpha = max(1, S * .75 / 2) with S = 8: 3; y = 4.8 / 3 = 1.6
 *          passes -> result 1.6 * 3 = 4.8, one repeat.
 * ITERATIVE instead needs r = 2 (2.4 fails) and r = 4 (1.2): 2 repeats.
 * Second example, W = 20 I (2x2), x = [1, .5]: the NP_SUM scale is
 * max(1, 1.5 * .75 / 12) = 1, the same as pass 0, so pass 1 (r = 1)
 * fails again and pass 2 (r = 2) passes: result [20, 10], 2 repeats. */
START_TEST(test_bm_worst_case) {
  float w8[8], x8[8], y[2];
  for (int j = 0; j < 8; j++) {
    w8[j] = 0.6f;
    x8[j] = 1.0f;
  }
  rpu_io_params p = plain();
  p.inp_bound = 1;
  p.out_bound = 2;
  p.nm_assumed_wmax = 0.75;
  p.noise_management = RPU_NM_ABS_MAX;
  p.bound_management = RPU_BM_ITERATIVE_WORST_CASE;
  rpu_tile_counters cn = fwd(&p, w8, 1, 8, x8, y, 1);
  ck_assert_float_eq_tol(y[0], 4.8f, 1e-5f);
  ck_assert_uint_eq(cn.bm_repeats, 1);
  p.bound_management = RPU_BM_ITERATIVE;
  cn = fwd(&p, w8, 1, 8, x8, y, 1);
  ck_assert_float_eq_tol(y[0], 4.8f, 1e-5f);
  ck_assert_uint_eq(cn.bm_repeats, 2);
  float *w = eye(2, 20.0f);
  const float x[2] = {1.0f, 0.5f};
  p.out_bound = 12;
  p.bound_management = RPU_BM_ITERATIVE_WORST_CASE;
  cn = fwd(&p, w, 2, 2, x, y, 1);
  EXPECT_VEC(y, ((float[]){20, 10}), 2, 0);
  ck_assert_uint_eq(cn.bm_repeats, 2);
  free(w);
}
END_TEST

/* Backward never uses bound management (§2.2): W = 20 I, d = [1, .5]
 * through the backward pipeline with ITERATIVE configured: [12, 10]. */
START_TEST(test_bm_backward_off) {
  const float d[2] = {1.0f, 0.5f};
  float *w = eye(2, 20.0f), y[2];
  rpu_io_params p = plain();
  p.inp_bound = 1;
  p.out_bound = 12;
  p.noise_management = RPU_NM_ABS_MAX;
  p.bound_management = RPU_BM_ITERATIVE;
  rpu__io *io = mk(&p, 2, 2, 1);
  rpu_tile_counters cn = run(io, w, 2, d, y, 1, 0);
  EXPECT_VEC(y, ((float[]){12, 10}), 2, 0);
  ck_assert_uint_eq(cn.bm_repeats, 0);
  rpu__io_free(io);
  free(w);
}
END_TEST

/* SPEC.md §9.2 #25 sweep: NM in {NONE, ABS_MAX, CONSTANT, MAX} x BM in
 * {NONE, ITERATIVE} x nm_thres in {0, 2}, inp_res = out_res = 127 steps,
 * out_bound 5, no noise, against a plain per-sample transcription of
 * §2.3-§2.5 written here (float arithmetic in the same order, sums in
 * double).  Only the summation order differs from the pipeline's BLAS
 * call, which can move a value across an ADC rounding boundary in rare
 * near-ties: every output must match to 1e-5, except at most 1% that may
 * differ by one ADC step times the sample's scale. */
static void ref_mvm(const rpu_io_params *p, const float *w, int n_out, int n_in,
                    const float *x, float *y, float *step) {
  const float res_in = (float)(2.0 / 127), res_out = (float)(2.0 * 5 / 127);
  const int nm = p->noise_management, bm = p->bound_management != RPU_BM_NONE;
  const float thr = (float)p->nm_thres;
  float amax = 0, mx = -INFINITY, alpha = 1;
  for (int j = 0; j < n_in; j++) {
    amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
    mx = x[j] > mx ? x[j] : mx;
  }
  if (nm == RPU_NM_ABS_MAX) alpha = thr > 0 && thr < amax ? thr : amax;
  if (nm == RPU_NM_MAX) alpha = thr > 0 && thr < mx ? thr : mx;
  if (nm == RPU_NM_CONSTANT) alpha = thr > 0 ? thr : 1;
  *step = 0;
  if (nm != RPU_NM_NONE && alpha <= 0) {
    for (int i = 0; i < n_out; i++) y[i] = 0;
    return;
  }
  float u[64];
  for (float r = 1;; r *= 2) {
    float s = 1;
    if (nm != RPU_NM_NONE && alpha > 0) s /= alpha;
    if (bm) s /= r;
    for (int j = 0; j < n_in; j++) {
      float v = rintf(x[j] * s / res_in) * res_in;
      u[j] = v > 1 ? 1 : (v < -1 ? -1 : v);
    }
    int fail = 0;
    for (int i = 0; i < n_out; i++) {
      double acc = 0;
      for (int j = 0; j < n_in; j++) acc += (double)w[i * n_in + j] * u[j];
      float v = rintf((float)acc / res_out) * res_out;
      if (v > 5 || v < -5) fail = 1;
      y[i] = v > 5 ? 5 : (v < -5 ? -5 : v);
    }
    if (!bm || !fail || r > 1000 || r > 0.25 / res_in) {
      for (int i = 0; i < n_out; i++) y[i] = y[i] / s;
      *step = res_out / s; /* one ADC step in output units */
      return;
    }
  }
}

START_TEST(test_torch_agreement_sweep) {
  enum { NO = 8, NI = 16, B = 64 };
  float w[NO * NI], x[B * NI], y[B * NO], e[NO];
  rpu_rng_stream g = rpu_rng_stream_make(5, 0, RPU_RNG_DATA);
  rpu_rng_fill_uniform(&g, 0, w, NO * NI);
  rpu_rng_fill_uniform(&g, NO * NI, x, B * NI);
  for (int k = 0; k < NO * NI; k++) w[k] = 4 * w[k] - 2; /* saturates often */
  for (int k = 0; k < B * NI; k++) x[k] = 6 * x[k] - 3;
  for (int k = 0; k < NI; k++) x[k] = 0; /* one all-zero sample */
  const int nms[4] = {RPU_NM_NONE, RPU_NM_ABS_MAX, RPU_NM_CONSTANT, RPU_NM_MAX};
  int total = 0, off = 0;
  for (int a = 0; a < 4; a++)
    for (int bmi = 0; bmi < 2; bmi++)
      for (int t = 0; t < 2; t++) {
        rpu_io_params p = defaults();
        p.out_noise = 0;
        p.inp_res = 127;
        p.out_res = 127;
        p.out_bound = 5;
        p.noise_management = nms[a];
        p.bound_management = bmi ? RPU_BM_ITERATIVE : RPU_BM_NONE;
        p.nm_thres = 2.0 * t;
        fwd(&p, w, NO, NI, x, y, B);
        for (int b = 0; b < B; b++) {
          float step;
          ref_mvm(&p, w, NO, NI, x + b * NI, e, &step);
          for (int i = 0; i < NO; i++) {
            float d = fabsf(y[b * NO + i] - e[i]);
            total++;
            if (d <= 1e-5f * (1 + fabsf(e[i]))) continue;
            off++;
            ck_assert_msg(d <= 1.001f * step + 1e-5f,
                          "nm %d bm %d thres %d sample %d out %d: %g vs %g", nms[a],
                          bmi, t, b, i, y[b * NO + i], e[i]);
          }
        }
      }
  ck_assert_msg(off * 100 <= total, "%d of %d outputs off", off, total);
  ck_assert_int_eq(total, 16 * B * NO);
}
END_TEST

/* ----- Non-linearity, IR drop, offsets, POS_NEG --------------------------- */

/* §2.2/§2.4.4a: n_i = |out_nonlinearity / out_bound| (std 0) and
 * y = nlf v / (1 + |n_i v|).  out_nonlinearity .5, out_bound 2: n = .25;
 * W = I, x = [1, -2]: [1/1.25, -2/1.5] = [.8, -1.33333].
 * slope_calibration .5: f = 1 + (.25 + 0) * .5 * 2 = 1.25, nlf = 1.5625;
 * x = [1, -1]: [1.5625/1.25, -1.25] = [1.25, -1.25]. */
START_TEST(test_nonlinearity) {
  float *w = eye(2, 1.0f), y[2];
  rpu_io_params p = plain();
  p.out_bound = 2;
  p.out_nonlinearity = 0.5;
  fwd(&p, w, 2, 2, (float[]){1, -2}, y, 1);
  EXPECT_VEC(y, ((float[]){0.8f, -4.0f / 3.0f}), 2, 1e-6);
  p.slope_calibration = 0.5;
  fwd(&p, w, 2, 2, (float[]){1, -1}, y, 1);
  EXPECT_VEC(y, ((float[]){1.25f, -1.25f}), 2, 1e-6);
  free(w);
}
END_TEST

/* IR drop (§2.6) on a 3x4 example, by hand.  ir_drop 1, g_ratio 4 so
 * a_i = c_i * n / g = c_i (n = 4).
 *   W = [[.5, .5, 0, 0], [0, 0, 1, 0], [.25, -.5, .5, 1]], x = [1, 1, -1, .5]
 *   ideal y = [1, -1, -.25]; c = sum |w||x| = [1, 1, 1.75]
 *   q(1) = 1 (1 (.05 - .2) + .5) = .35
 *   q(1.75) = 1.75 (1.75 (.0875 - .2) + .5) = .53046875
 *   position weights 1 - (1 - j/4)^2 = [0, .4375, .75, .9375]
 *   x' = [0, .4375, -.75, .46875]; z = W x' = [.21875, -.75, -.125]
 *   y - q z = [1 - .0765625, -1 + .2625, -.25 + .06630859375]
 *           = [.9234375, -.7375, -.18369140625]
 * The backward pipeline on W^T (4x3, used transposed) gives the same. */
START_TEST(test_ir_drop) {
  const float w[12] = {0.5f, 0.5f, 0, 0, 0, 0, 1, 0, 0.25f, -0.5f, 0.5f, 1};
  const float x[4] = {1, 1, -1, 0.5f};
  const float exp[3] = {0.9234375f, -0.7375f, -0.18369140625f};
  float wt[12], y[3];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) wt[j * 3 + i] = w[i * 4 + j];
  rpu_io_params p = plain();
  p.ir_drop = 1;
  p.ir_drop_g_ratio = 4;
  fwd(&p, w, 3, 4, x, y, 1);
  EXPECT_VEC(y, exp, 3, 1e-6);
  rpu__io *io = mk(&p, 3, 4, 1);
  run(io, wt, 3, x, y, 1, 0);
  EXPECT_VEC(y, exp, 3, 1e-6);
  /* batch of 2 (the sgemm path) gives the same rows */
  float x2[8], y2[6];
  memcpy(x2, x, sizeof x);
  memcpy(x2 + 4, x, sizeof x);
  run(io, wt, 3, x2, y2, 2, 0);
  EXPECT_VEC(y2, exp, 3, 1e-6);
  EXPECT_VEC(y2 + 3, exp, 3, 1e-6);
  rpu__io_free(io);
  /* the |W| cache follows the weights when w_version is 0 */
  io = mk(&p, 3, 4, 0);
  run(io, w, 4, x, y, 1, 0);
  float w2[12];
  for (int k = 0; k < 12; k++) w2[k] = 2 * w[k];
  float y3[3];
  run(io, w2, 4, x, y3, 1, 1);
  rpu__io_free(io);
  fwd(&p, w2, 3, 4, x, y, 1); /* fresh pipeline on 2 W */
  EXPECT_VEC(y3, y, 3, 0);
}
END_TEST

/* Offsets (§2.2, §2.7).  v_i = max(v_offset_std xi, 0), half-rectified.
 * W = ones(n x 1), x = [1], v_offset_w_min 0, r_series 0: y_i = 1 - v_i.
 * With std .2 over n = 4000 outputs: the fraction with v_i = 0 is 1/2
 * (standard error .008, tolerance .04); the mean of the positive v_i is the
 * half-normal mean .2 sqrt(2/pi) = .15958 (standard error
 * .2 sqrt(1 - 2/pi) / sqrt(2000) = .0027, tolerance .014).
 * Then, with the same construction seed (offsets are drawn first, so the
 * v_i are the same), the v_offset_w_min = -1 and r_series cases of §2.7 are
 * checked against the SPEC formulas evaluated here in double: x = [.5, .25]
 * on W = [[.5, -1]] per row (ideal y = 0), X = .75, y_ref = .75:
 *   rs = 0:   y = (1 - v) y - 2 v y_ref
 *   rs = .1:  y = (1-v)(y + y_ref)/(1 + rs|y + y_ref|)
 *                 - (1+v) y_ref/(1 + rs|y_ref|)
 *   (with r_series > 0 the non-linearity stage is active too, with n = 0
 *   and slope_calibration 0: factor 1). */
START_TEST(test_offsets) {
  enum { N = 4000 };
  float *w = malloc(sizeof(float) * N * 2), *y = malloc(sizeof(float) * N);
  float *v = malloc(sizeof(float) * N);
  for (int i = 0; i < N; i++) w[i] = 1.0f;
  rpu_io_params p = plain();
  p.v_offset_std = 0.2;
  p.v_offset_w_min = 0;
  fwd(&p, w, N, 1, (float[]){1}, y, 1);
  int zeros = 0;
  double sum = 0;
  for (int i = 0; i < N; i++) {
    v[i] = 1.0f - y[i];
    ck_assert(v[i] >= 0.0f);
    if (v[i] == 0.0f) zeros++;
    else sum += v[i];
  }
  ck_assert_double_eq_tol((double)zeros / N, 0.5, 0.04);
  ck_assert_double_eq_tol(sum / (N - zeros), 0.2 * sqrt(2 / M_PI), 0.014);

  for (int i = 0; i < N; i++) {
    w[2 * i] = 0.5f;
    w[2 * i + 1] = -1.0f;
  }
  const float x[2] = {0.5f, 0.25f};
  const double yref = 0.75;
  for (int rs_on = 0; rs_on < 2; rs_on++) {
    p.v_offset_w_min = -1;
    p.r_series = rs_on ? 0.1 : 0.0;
    fwd(&p, w, N, 2, x, y, 1);
    for (int i = 0; i < N; i++) {
      double vi = v[i], e;
      if (!rs_on)
        e = -2 * vi * yref;
      else
        e = (1 - vi) * yref / (1 + 0.1 * yref) - (1 + vi) * yref / (1 + 0.1 * yref);
      ck_assert_msg(fabs(y[i] - e) < 1e-5, "output %d (v %g, rs %d): %g vs %g",
                    i, vi, rs_on, y[i], e);
    }
  }
  free(w);
  free(y);
  free(v);
}
END_TEST

/* POS_NEG modes (§2.4) with asymmetric inputs, no quantisation, NM/BM off,
 * out_bound 12.  W = [[15, -15]], x = [1, -1]:
 *   ONE_PASS: 15 + 15 = 30 -> 12.
 *   POS_NEG_SEPARATE: negative pass 15, positive pass 15, analog sum 30,
 *   one ADC -> 12.
 *   POS_NEG_SEPARATE_DIGITAL_SUM: each pass 15 -> 12, digital sum 24.
 * With inp_asymmetry .5 the negative input becomes -.5: ONE_PASS 22.5 ->
 * 12; DIGITAL_SUM 12 + 7.5 = 19.5; SEPARATE 12.
 * out_asymmetry .5 acts per ADC: W = [[-15, 15]] (each pass -15):
 * DIGITAL_SUM -7.5 + -7.5 = -15; SEPARATE -30 * .5 = -15 -> -12. */
START_TEST(test_pos_neg) {
  const float x[2] = {1, -1};
  float w[2] = {15, -15}, y[1];
  rpu_io_params p = plain();
  p.out_bound = 12;
  const int modes[3] = {RPU_MV_ONE_PASS, RPU_MV_POS_NEG_SEPARATE,
                        RPU_MV_POS_NEG_SEPARATE_DIGITAL_SUM};
  const float sym[3] = {12, 12, 24}, asym[3] = {12, 12, 19.5f};
  for (int m = 0; m < 3; m++) {
    p.mv_type = modes[m];
    p.inp_asymmetry = 0;
    fwd(&p, w, 1, 2, x, y, 1);
    ck_assert_msg(y[0] == sym[m], "mode %d: %g", modes[m], y[0]);
    p.inp_asymmetry = 0.5;
    fwd(&p, w, 1, 2, x, y, 1);
    ck_assert_msg(y[0] == asym[m], "mode %d asym: %g", modes[m], y[0]);
  }
  w[0] = -15;
  w[1] = 15;
  p.inp_asymmetry = 0;
  p.out_asymmetry = 0.5;
  p.mv_type = RPU_MV_POS_NEG_SEPARATE_DIGITAL_SUM;
  fwd(&p, w, 1, 2, x, y, 1);
  ck_assert_float_eq(y[0], -15.0f);
  p.mv_type = RPU_MV_POS_NEG_SEPARATE;
  fwd(&p, w, 1, 2, x, y, 1);
  ck_assert_float_eq(y[0], -12.0f);
}
END_TEST

/* w_read_asymmetry_dtod (§2.2, §2.4 POS_NEG): the negative pass reads
 * W * (1 + dtod xi_ij).  W = ones(n x 1): x = [1] is exact (positive pass
 * only); x = [-1] gives y_i = -(1 + .1 xi_i): mean -1, std .1 across
 * n = 4000 outputs (standard error of the std .1/sqrt(8000) = .0011,
 * tolerance .006; of the mean .0016, tolerance .008).  ONE_PASS ignores it. */
START_TEST(test_read_asymmetry) {
  enum { N = 4000 };
  float *w = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
  for (int i = 0; i < N; i++) w[i] = 1.0f;
  rpu_io_params p = plain();
  p.w_read_asymmetry_dtod = 0.1;
  p.mv_type = RPU_MV_POS_NEG_SEPARATE;
  fwd(&p, w, N, 1, (float[]){1}, y, 1);
  for (int i = 0; i < N; i++) ck_assert(y[i] == 1.0f);
  fwd(&p, w, N, 1, (float[]){-1}, y, 1);
  double m, sd;
  mean_std(y, N, 1, &m, &sd);
  ck_assert_double_eq_tol(m, -1.0, 0.008);
  ck_assert_double_eq_tol(sd, 0.1, 0.006);
  p.mv_type = RPU_MV_ONE_PASS;
  fwd(&p, w, N, 1, (float[]){-1}, y, 1);
  for (int i = 0; i < N; i++) ck_assert(y[i] == -1.0f);
  free(w);
  free(y);
}
END_TEST

/* ----- Statistics of the noise sources -------------------------------------- */

/* §2.5: in input units the output noise std is out_noise * alpha.
 * W = 0 (100 x 8), ABS_MAX with max|x| = alpha = 4, ADC resolution off,
 * out_noise .06: y = .06 xi * 4, std .24 over 200 x 100 = 20000 values
 * (standard error of the std .24/sqrt(40000) = .0012, tolerance .006;
 * mean 0 +- 5 * .24/sqrt(20000) = .0085).  Same for the backward pass. */
START_TEST(test_out_noise_alpha) {
  enum { B = 200, NO = 100, NI = 8 };
  float *w = calloc(NO * NI, sizeof *w), *x = malloc(sizeof(float) * B * NI);
  float *y = malloc(sizeof(float) * B * NO);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < NI; j++) x[b * NI + j] = j == 3 ? -4.0f : 0.5f;
  rpu_io_params p = defaults();
  p.out_res = -1;
  fwd(&p, w, NO, NI, x, y, B);
  double m, sd;
  mean_std(y, (size_t)B * NO, 1, &m, &sd);
  ck_assert_double_eq_tol(m, 0.0, 0.0085);
  ck_assert_double_eq_tol(sd, 0.24, 0.006);
  /* backward: W^T with W 8 x 100 zeros, d of length 8 -> 100 outputs */
  rpu__io *io = mk(&p, NO, NI, 1);
  run(io, w, NO, x, y, B, 0);
  rpu__io_free(io);
  mean_std(y, (size_t)B * NO, 1, &m, &sd);
  ck_assert_double_eq_tol(sd, 0.24, 0.006);
  free(w);
  free(x);
  free(y);
}
END_TEST

/* out_noise_std (§2.2): sigma_i = |out_noise (1 + out_noise_std xi_i)|,
 * sampled once.  NM/BM off, W = 0, out_noise .1, out_noise_std .3:
 * estimate each sigma_i from 2000 samples (relative error 1/sqrt(4000) =
 * 1.6%, i.e. .0016 absolute), then the spread of the 1000 estimates is
 * sqrt(.03^2 + .0016^2) = .03004 (standard error ~ .03/sqrt(2000) =
 * .0007, tolerance .004); their mean is .1 (tolerance .005).  The sigma_i
 * are fixed per output: a second call gives the same per-output std. */
START_TEST(test_out_noise_std) {
  enum { B = 2000, NO = 1000 };
  float *w = calloc(NO, sizeof *w), *x = calloc(B, sizeof *x);
  float *y = malloc(sizeof(float) * B * NO), *s1 = malloc(sizeof(float) * NO);
  rpu_io_params p = plain();
  p.out_noise = 0.1;
  p.out_noise_std = 0.3;
  rpu__io *io = mk(&p, NO, 1, 0);
  run(io, w, 1, x, y, B, 0);
  for (int i = 0; i < NO; i++) {
    double m, sd;
    mean_std(y + i, B, NO, &m, &sd);
    s1[i] = (float)sd;
  }
  double ms, ss;
  mean_std(s1, NO, 1, &ms, &ss);
  ck_assert_double_eq_tol(ms, 0.1, 0.005);
  ck_assert_double_eq_tol(ss, 0.03004, 0.004);
  run(io, w, 1, x, y, B, 1); /* fresh noise, same sigma_i */
  double dev = 0;
  for (int i = 0; i < NO; i++) {
    double m, sd;
    mean_std(y + i, B, NO, &m, &sd);
    dev += fabs(sd - s1[i]);
  }
  /* |difference| of two estimates of the same sigma_i: mean
   * .798 * .0016 * sqrt 2 = .0018; resampled sigma_i would give about
   * .798 * .03 * sqrt 2 = .034 */
  ck_assert_double_lt(dev / NO, 0.004);
  rpu__io_free(io);
  free(w);
  free(x);
  free(y);
  free(s1);
}
END_TEST

/* Weight noise (§2.4.3c).  ADDITIVE_CONSTANT: y_i += w_noise |u|_2 xi_i;
 * W = 0 (50 x 2), x = [3, 4] (|u| = 5), w_noise .1: std .5.
 * PCM_READ: y_i += w_noise sqrt(sum_j |w_ij| u_j^2) xi_i; W rows
 * [1, -4], x = [1, .5]: mean W x = 1 - 2 = -1, std .1 sqrt(1 + 4 * .25)
 * = .1 sqrt 2 = .14142.  400 x 50 = 20000 values each: tolerances
 * 5 sigma/sqrt(2N) on the std (2.5%), 5 sigma/sqrt(N) on the mean. */
START_TEST(test_w_noise) {
  enum { B = 400, NO = 50 };
  float *w = calloc(NO * 2, sizeof *w), *x = malloc(sizeof(float) * B * 2);
  float *y = malloc(sizeof(float) * B * NO);
  for (int b = 0; b < B; b++) {
    x[2 * b] = 3;
    x[2 * b + 1] = 4;
  }
  rpu_io_params p = plain();
  p.w_noise = 0.1;
  p.w_noise_type = RPU_W_NOISE_ADDITIVE_CONSTANT;
  fwd(&p, w, NO, 2, x, y, B);
  double m, sd;
  mean_std(y, (size_t)B * NO, 1, &m, &sd);
  ck_assert_double_eq_tol(m, 0.0, 5 * 0.5 / sqrt(B * NO));
  ck_assert_double_eq_tol(sd, 0.5, 0.5 * 0.025);
  for (int i = 0; i < NO; i++) {
    w[2 * i] = 1;
    w[2 * i + 1] = -4;
  }
  for (int b = 0; b < B; b++) {
    x[2 * b] = 1;
    x[2 * b + 1] = 0.5f;
  }
  p.w_noise_type = RPU_W_NOISE_PCM_READ;
  fwd(&p, w, NO, 2, x, y, B);
  mean_std(y, (size_t)B * NO, 1, &m, &sd);
  ck_assert_double_eq_tol(m, -1.0, 5 * 0.1415 / sqrt(B * NO));
  ck_assert_double_eq_tol(sd, 0.1 * sqrt(2.0), 0.1415 * 0.025);
  free(w);
  free(x);
  free(y);
}
END_TEST

/* Input noise (§2.4.1d) is added to the DAC outputs before the product, so
 * it is shared by all outputs of a sample: W = ones(2 x 4), x = 0, NM off,
 * inp_noise .1: both outputs equal, std sqrt(4) * .1 = .2 over 20000
 * samples (tolerance 2.5%). */
START_TEST(test_inp_noise) {
  enum { B = 20000, NI = 4 };
  float w[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  float *x = calloc((size_t)B * NI, sizeof *x), *y = malloc(sizeof(float) * B * 2);
  rpu_io_params p = plain();
  p.inp_noise = 0.1;
  fwd(&p, w, 2, NI, x, y, B);
  for (int b = 0; b < B; b++) ck_assert(y[2 * b] == y[2 * b + 1]);
  double m, sd;
  mean_std(y, B, 2, &m, &sd);
  ck_assert_double_eq_tol(m, 0.0, 5 * 0.2 / sqrt(B));
  ck_assert_double_eq_tol(sd, 0.2, 0.2 * 0.025);
  free(x);
  free(y);
}
END_TEST

/* ----- Determinism, non-finite inputs, bad input ------------------------------- */

/* The same seed and step give bit-identical outputs with 1 and 2 threads
 * (every draw is addressed by sample and element, DESIGN.md §7), for a
 * default pipeline with bound-management repeats on some samples and for a
 * POS_NEG pipeline with every noise source on. */
START_TEST(test_threads_deterministic) {
  enum { B = 128, NO = 256, NI = 384 };
  float *w = malloc(sizeof(float) * NO * NI), *x = malloc(sizeof(float) * B * NI);
  float *y1 = malloc(sizeof(float) * B * (NO + NI));
  float *y2 = malloc(sizeof(float) * B * (NO + NI));
  rpu_rng_stream g = rpu_rng_stream_make(99, 0, RPU_RNG_DATA);
  rpu_rng_fill_uniform(&g, 0, w, (size_t)NO * NI);
  rpu_rng_fill_uniform(&g, (size_t)NO * NI, x, (size_t)B * NI);
  /* |w| up to 1.5: outputs of std ~ 8.7 against out_bound 12, so a good
   * share of the samples needs bound management */
  for (size_t k = 0; k < (size_t)NO * NI; k++) w[k] = (w[k] - 0.5f) * 3.0f;
  for (size_t k = 0; k < (size_t)B * NI; k++) x[k] = 2 * x[k] - 1;
  for (int cfg = 0; cfg < 2; cfg++) {
    rpu_io_params p = defaults();
    if (cfg) {
      p.mv_type = RPU_MV_POS_NEG_SEPARATE_DIGITAL_SUM;
      p.inp_noise = 0.01;
      p.inp_sto_round = 1;
      p.out_sto_round = 1;
      p.w_noise = 0.01;
      p.w_noise_type = RPU_W_NOISE_PCM_READ;
      p.ir_drop = 0.1;
      p.v_offset_std = 0.01;
      p.r_series = 0.01;
      p.out_nonlinearity = 0.1;
      p.w_read_asymmetry_dtod = 0.05;
      p.out_noise_std = 0.1;
    }
    for (int batch = 1; batch <= B; batch += B - 1) { /* sgemv and sgemm */
      uint64_t rep[2];
      for (int t = 0; t < 2; t++) {
        rpu_set_num_threads(t + 1);
        rpu__io *io = mk(&p, NO, NI, 0);
        rpu_tile_counters cn = run(io, w, NI, x, t ? y2 : y1, batch, 5);
        rep[t] = cn.bm_repeats;
        rpu__io_free(io);
        /* the backward pipeline on the same weights (W^T: NI outputs) */
        io = mk(&p, NI, NO, 1);
        run(io, w, NI, x, (t ? y2 : y1) + (size_t)batch * NO, batch, 6);
        rpu__io_free(io);
      }
      rpu_set_num_threads(1);
      size_t len = (size_t)batch * (NO + NI) * sizeof(float);
      ck_assert_msg(memcmp(y1, y2, len) == 0, "config %d, batch %d", cfg, batch);
      ck_assert_uint_eq(rep[0], rep[1]);
      if (!cfg && batch == B) ck_assert_uint_gt(rep[0], 0); /* gathers ran */
    }
  }
  free(w);
  free(x);
  free(y1);
  free(y2);
}
END_TEST

/* Draws are addressed by (call, round, sample, element, kind), not by the
 * position of a sample among those repeated (header contract): sample 1
 * saturates in both batches below and is repeated; in batch A its
 * neighbours are repeated too, in batch B they are not, so in the second
 * round it is the 2nd resp. the 1st gathered row.  With every noise source
 * on its outputs must still be bit-identical.  NM off, W = 20 I,
 * inp_bound 1: [1, .5] gives 20 > 12 (saturates), [.1, .1] gives 2. */
START_TEST(test_draws_by_sample) {
  const float xa[6] = {1, 0.5f, 1, 0.5f, 0.9f, 0.5f};
  const float xb[6] = {0.1f, 0.1f, 1, 0.5f, 0.1f, 0.1f};
  float *w = eye(2, 20.0f), ya[6], yb[6];
  rpu_io_params p = defaults();
  p.noise_management = RPU_NM_NONE;
  p.inp_noise = 0.01;
  p.inp_sto_round = 1;
  p.out_sto_round = 1;
  rpu__io *io = mk(&p, 2, 2, 0);
  rpu_tile_counters ca = run(io, w, 2, xa, ya, 3, 9);
  rpu_tile_counters cb = run(io, w, 2, xb, yb, 3, 9);
  ck_assert_uint_eq(ca.bm_repeats, 3);
  ck_assert_uint_eq(cb.bm_repeats, 1);
  ck_assert(memcmp(ya + 2, yb + 2, 2 * sizeof(float)) == 0);
  ck_assert(fabsf(ya[2] - 20) < 0.5f); /* and it is the repeated result */
  rpu__io_free(io);
  free(w);
}
END_TEST

/* Non-finite inputs (header contract): a sample with NaN or +-Inf gives NaN
 * in all its outputs, is not counted as saturated, is not repeated and
 * does not move the AVERAGE_ABS_MAX value; the other samples are exact.
 * W = diag(20, 5), ABS_MAX + ITERATIVE without noise or quantisation:
 * [1, .5] -> [20, 2.5] fails, r = 2 gives [10, 1.25] -> [20, 2.5] (one
 * repeat); [.1, .5] (alpha .5) -> u = [.2, 1] -> [4, 5] -> * .5 = [2, 2.5]. */
START_TEST(test_nonfinite_inputs) {
  const float x[8] = {1, 0.5f, NAN, 1, INFINITY, 0, 0.1f, 0.5f};
  float w[4] = {20, 0, 0, 5}, y[8];
  rpu_io_params p = plain();
  p.inp_bound = 1;
  p.out_bound = 12;
  p.noise_management = RPU_NM_ABS_MAX;
  p.bound_management = RPU_BM_ITERATIVE;
  rpu_tile_counters cn = fwd(&p, w, 2, 2, x, y, 4);
  EXPECT_VEC(y, ((float[]){20, 2.5f}), 2, 0);
  EXPECT_VEC(y + 6, ((float[]){2, 2.5f}), 2, 1e-6);
  for (int i = 2; i < 6; i++) ck_assert(isnan(y[i]));
  ck_assert_uint_eq(cn.bm_repeats, 1);
  ck_assert_uint_eq(cn.saturations, 0);
  /* NM off (no scale to poison) and -Inf: still NaN rows */
  p.noise_management = RPU_NM_NONE;
  p.bound_management = RPU_BM_NONE;
  const float xi[4] = {-INFINITY, 0, 0.25f, 0.5f};
  fwd(&p, w, 2, 2, xi, y, 2);
  ck_assert(isnan(y[0]) && isnan(y[1]));
  EXPECT_VEC(y + 2, ((float[]){5, 2.5f}), 2, 0);
  /* AVERAGE_ABS_MAX skips the NaN sample: a = 1 after [1,.5], then [NaN],
   * then [.25, .5] with decay .5: a = .5 * 1 + .5 * .5 = .75 */
  float running = RPU__IO_NM_UNSET;
  p.noise_management = RPU_NM_AVERAGE_ABS_MAX;
  p.nm_decay = 0.5;
  rpu_rng_cursor c = construction(3);
  rpu__io *io = NULL;
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, &running), 0);
  const float x3[6] = {1, 0.5f, NAN, 0, 0.25f, 0.5f};
  run(io, w, 2, x3, y, 3, 0);
  ck_assert_float_eq(running, 0.75f);
  rpu__io_free(io);
  /* perfect IO: plain IEEE arithmetic (NaN propagates) */
  p = plain();
  p.is_perfect = 1;
  fwd(&p, w, 2, 2, (float[]){NAN, 1}, y, 1);
  ck_assert(isnan(y[0]));
}
END_TEST

START_TEST(test_bad_input) {
  rpu_io_params p = defaults();
  rpu_rng_cursor c = construction(1);
  static char dummy;
  rpu__io *io = (rpu__io *)(void *)&dummy; /* must be reset to NULL */
  /* SPEC.md §2.2: noise management needs inp_bound 1 */
  p.inp_bound = 2;
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, NULL), RPU_ECONFIG);
  ck_assert_ptr_null(io);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "forward.inp_bound"));
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 1, &c, NULL), RPU_ECONFIG);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "backward.inp_bound"));
  p.noise_management = RPU_NM_NONE; /* then any bound is fine */
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, NULL), 0);
  rpu__io_free(io);
  p = defaults();
  p.mv_type = 9;
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, NULL), RPU_ECONFIG);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "forward.mv_type"));
  p = defaults();
  p.noise_management = -1;
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, NULL), RPU_ECONFIG);
  p = defaults();
  p.w_noise_type = 3;
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, NULL), RPU_ECONFIG);
  p = defaults();
  p.out_noise = NAN;
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, &c, NULL), RPU_ECONFIG);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "forward.out_noise"));
  p = defaults();
  ck_assert_int_eq(rpu__io_new(&io, &p, 0, 2, 0, &c, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu__io_new(&io, NULL, 2, 2, 0, &c, NULL), RPU_EINVAL);
  p.out_noise_std = 0.1; /* needs construction draws */
  ck_assert_int_eq(rpu__io_new(&io, &p, 2, 2, 0, NULL, NULL), RPU_EINVAL);
  /* calls */
  p = defaults();
  io = mk(&p, 2, 2, 0);
  float w[4] = {1, 0, 0, 1}, x[2] = {1, 1}, y[2] = {7, 7};
  rpu_rng_stream rs = rpu_rng_stream_make(1, 0, RPU_RNG_READ);
  ck_assert_int_eq(rpu__io_mvm(io, w, 2, 0, x, y, 0, &rs, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu__io_mvm(io, NULL, 2, 0, x, y, 1, &rs, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu__io_mvm(io, w, 1, 0, x, y, 1, &rs, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu__io_mvm(io, w, 2, 0, x, y, 1, NULL, NULL), RPU_EINVAL);
  ck_assert(y[0] == 7 && y[1] == 7); /* untouched */
  rpu__io_free(io);
  rpu__io_free(NULL);
}
END_TEST

/* out_scale (§2.5) multiplies the result: defaults without noise, W = I,
 * x = [.4, -1]: alpha 1, DAC step 1/63: .4 -> rint(25.2) = 25 -> 25/63 =
 * .396825; ADC step 24/510: rint(8.4325) = 8 -> 8 * 24/510; -1 -> -63/63
 * -> rint(-21.25) = -21 -> -21 * 24/510; out_scale 2 doubles both. */
START_TEST(test_out_scale_defaults) {
  float *w = eye(2, 1.0f), y[2];
  rpu_io_params p = defaults();
  p.out_noise = 0;
  p.out_scale = 2;
  fwd(&p, w, 2, 2, (float[]){0.4f, -1}, y, 1);
  EXPECT_VEC(y, ((float[]){2 * 8 * 24.0f / 510, -2 * 21 * 24.0f / 510}), 2, 1e-5);
  free(w);
}
END_TEST

Suite *suite_io(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("exact");
  tcase_add_test(tc, test_perfect);
  tcase_add_test(tc, test_dac_levels);
  tcase_add_test(tc, test_adc_levels);
  tcase_add_test(tc, test_nm_modes);
  tcase_add_test(tc, test_nm_average_abs_max);
  tcase_add_test(tc, test_nm_abs_max_np_sum);
  tcase_add_test(tc, test_nm_zero_shortcut);
  tcase_add_test(tc, test_bm_iterative);
  tcase_add_test(tc, test_bm_stop_rules);
  tcase_add_test(tc, test_bm_only_saturated_repeat);
  tcase_add_test(tc, test_bm_worst_case);
  tcase_add_test(tc, test_bm_backward_off);
  tcase_add_test(tc, test_torch_agreement_sweep);
  tcase_add_test(tc, test_nonlinearity);
  tcase_add_test(tc, test_ir_drop);
  tcase_add_test(tc, test_pos_neg);
  tcase_add_test(tc, test_out_scale_defaults);
  tcase_add_test(tc, test_nonfinite_inputs);
  tcase_add_test(tc, test_bad_input);
  suite_add_tcase(s, tc);
  TCase *st = tcase_create("statistical");
  tcase_set_timeout(st, 60);
  tcase_add_test(st, test_stochastic_rounding);
  tcase_add_test(st, test_offsets);
  tcase_add_test(st, test_read_asymmetry);
  tcase_add_test(st, test_out_noise_alpha);
  tcase_add_test(st, test_out_noise_std);
  tcase_add_test(st, test_w_noise);
  tcase_add_test(st, test_inp_noise);
  tcase_add_test(st, test_threads_deterministic);
  tcase_add_test(st, test_draws_by_sample);
  suite_add_tcase(s, st);
  return s;
}
