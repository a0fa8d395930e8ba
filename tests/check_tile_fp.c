/* Tiles with the floating-point engine, the analog skeleton's noise-free
 * paths, and the FloatingPointDevice / IdealDevice plugins
 * (SPEC.md §1, §1.1, §6.6, §9.2 items 1-5). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"
#include "tests/testutil.h"

#define FP_CFG "{\"rpu_config\": \"FloatingPointRPUConfig\"}"

static rpu_context *ctx;

static void setup(void) { ctx = tu_context(); }
static void teardown(void) {
  rpu_context_free(ctx);
  ctx = NULL;
}

static rpu_tile *new_tile(const char *json, int out, int in, uint64_t seed) {
  rpu_config *cfg = tu_config(ctx, json);
  rpu_tile *t = NULL;
  int rc = rpu_tile_new(&t, ctx, cfg, out, in, seed);
  ck_assert_msg(rc == 0, "rpu_tile_new: %s", rpu_error_last()->message);
  rpu_config_free(cfg);
  return t;
}

/* Small dyadic values (multiples of 1/4 up to a few units): every product
 * and every partial sum of a few of them is exactly representable in
 * float, so a GEMM gives the same bits in any summation order and the
 * naive loops below are exact references. */
static float dyadic(int k) { return (float)((k * 7) % 13 - 6) * 0.25f; }

static void fill(float *v, size_t n, int salt) {
  for (size_t k = 0; k < n; k++) v[k] = dyadic((int)k + salt);
}

/* |got - expect| <= tol (inclusive, so tol 0 demands exact equality). */
#define assert_near(got, expect, tol)                                        \
  do {                                                                       \
    double g_ = (got), e_ = (expect), t_ = (tol);                            \
    ck_assert_msg(fabs(g_ - e_) <= t_, "%s = %.9g, expected %.9g +- %.3g",   \
                  #got, g_, e_, t_);                                         \
  } while (0)

static void set_w(rpu_tile *t, const float *w) {
  int rc = rpu_tile_set_weights(t, w);
  ck_assert_msg(rc == 0, "set_weights: %s", rpu_error_last()->message);
}

static void get_w(rpu_tile *t, float *w) {
  int rc = rpu_tile_get_weights(t, w);
  ck_assert_msg(rc == 0, "get_weights: %s", rpu_error_last()->message);
}

/* SPEC.md §9.2 item 1 on any noise-free tile: forward = x W^T, backward =
 * d W, update = W - lr d^T x, batch B, expected values from naive loops.
 * (Batch 1 takes the level-2 BLAS path of core/util/blas.c.) */
static void check_exact_mvms(rpu_tile *t, int out, int in, int B) {
  float *w = malloc(sizeof(float) * (size_t)(out * in));
  float *w2 = malloc(sizeof(float) * (size_t)(out * in));
  float *x = malloc(sizeof(float) * (size_t)(B * in));
  float *d = malloc(sizeof(float) * (size_t)(B * out));
  float *y = malloc(sizeof(float) * (size_t)(B * out));
  float *dx = malloc(sizeof(float) * (size_t)(B * in));
  fill(w, (size_t)(out * in), 0);
  fill(x, (size_t)(B * in), 3);
  fill(d, (size_t)(B * out), 5);
  set_w(t, w);

  ck_assert_int_eq(rpu_tile_forward(t, x, y, B), 0);
  for (int b = 0; b < B; b++)
    for (int i = 0; i < out; i++) {
      double s = 0; /* y[b][i] = sum_j x[b][j] W[i][j] */
      for (int j = 0; j < in; j++) s += (double)x[b * in + j] * w[i * in + j];
      ck_assert_float_eq(y[b * out + i], (float)s);
    }

  ck_assert_int_eq(rpu_tile_backward(t, d, dx, B), 0);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < in; j++) {
      double s = 0; /* dx[b][j] = sum_i d[b][i] W[i][j] */
      for (int i = 0; i < out; i++) s += (double)d[b * out + i] * w[i * in + j];
      ck_assert_float_eq(dx[b * in + j], (float)s);
    }

  /* lr = 0.25 keeps everything dyadic: the update is bit-exact too. */
  ck_assert_int_eq(rpu_tile_update(t, x, d, B, 0.25f), 0);
  get_w(t, w2);
  for (int i = 0; i < out; i++)
    for (int j = 0; j < in; j++) {
      double s = 0; /* (d^T x)[i][j] = sum_b d[b][i] x[b][j] */
      for (int b = 0; b < B; b++) s += (double)d[b * out + i] * x[b * in + j];
      ck_assert_float_eq(w2[i * in + j], (float)(w[i * in + j] - 0.25 * s));
    }

  /* lr = 0.1 (SPEC's value) is not dyadic: the product lr * s is rounded,
   * once or per term depending on how the GEMM applies alpha.  Each of the
   * <= B+2 roundings is at most FLT_EPSILON/2 relative to a term bounded by
   * |W| + lr * sum_b |d||x|, so 8 FLT_EPSILON of that bounds any order. */
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_update(t, x, d, B, 0.1f), 0);
  get_w(t, w2);
  for (int i = 0; i < out; i++)
    for (int j = 0; j < in; j++) {
      double s = 0, sa = 0;
      for (int b = 0; b < B; b++) {
        s += (double)d[b * out + i] * x[b * in + j];
        sa += fabs((double)d[b * out + i] * x[b * in + j]);
      }
      double expect = w[i * in + j] - 0.1 * s;
      double tol = 8 * FLT_EPSILON * (fabs(w[i * in + j]) + 0.1 * sa);
      assert_near(w2[i * in + j], expect, tol);
    }
  free(w);
  free(w2);
  free(x);
  free(d);
  free(y);
  free(dx);
}

START_TEST(fp_exact_mvm) {
  rpu_tile *t = new_tile(FP_CFG, 3, 5, 1);
  check_exact_mvms(t, 3, 5, 1);
  rpu_tile_free(t);
  t = new_tile(FP_CFG, 3, 5, 1);
  check_exact_mvms(t, 3, 5, 4);
  rpu_tile_counters c;
  ck_assert_int_eq(rpu_tile_get_counters(t, &c), 0);
  /* check_exact_mvms ran 1 forward and 1 backward of batch 4, 2 updates. */
  ck_assert_uint_eq(c.forward_mvms, 4);
  ck_assert_uint_eq(c.backward_mvms, 4);
  ck_assert_uint_eq(c.updates, 8);
  ck_assert_uint_eq(c.pulses, 0);
  ck_assert_int_eq(rpu_tile_out_size(t), 3);
  ck_assert_int_eq(rpu_tile_in_size(t), 5);
  ck_assert_int_eq(rpu_config_get_type(rpu_tile_config(t)),
                   RPU_CONFIG_FLOATING_POINT);
  rpu_tile_free(t);
}
END_TEST

START_TEST(fp_new_tile_is_zero_and_lr0_skips) {
  rpu_tile *t = new_tile(FP_CFG, 2, 3, 1);
  float w[6], x[3] = {1, 2, 3}, d[2] = {1, -1};
  get_w(t, w);
  for (int k = 0; k < 6; k++) ck_assert_float_eq(w[k], 0.0f);
  fill(w, 6, 1);
  set_w(t, w);
  /* lr = 0: no update at all (SPEC.md §1.2 item 3), not even counted. */
  ck_assert_int_eq(rpu_tile_update(t, x, d, 1, 0.0f), 0);
  float w2[6];
  get_w(t, w2);
  ck_assert_mem_eq(w, w2, sizeof w);
  rpu_tile_counters c;
  rpu_tile_get_counters(t, &c);
  ck_assert_uint_eq(c.updates, 0);
  rpu_tile_free(t);
}
END_TEST

/* SPEC.md §9.2 item 3: lifetime 10 -> rate 1/10, s = 0.9 (§1.1): one
 * post_update step gives W * 0.9.  The tile multiplies by float(0.9):
 * within FLT_EPSILON relative of the exact 0.9 W (one rounding of 0.9,
 * one of the product). */
START_TEST(fp_decay) {
  rpu_tile *t = new_tile("{\"rpu_config\": \"FloatingPointRPUConfig\", "
                         "\"device\": {\"type\": \"FloatingPointDevice\", "
                         "\"lifetime\": 10}}",
                         4, 6, 3);
  float w[24], w2[24];
  fill(w, 24, 2);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_post_update_step(t), 0);
  get_w(t, w2);
  for (int k = 0; k < 24; k++)
    assert_near(w2[k], 0.9 * w[k], FLT_EPSILON * fabs(w[k]));
  /* A second step: 0.81 W (one more rounding). */
  ck_assert_int_eq(rpu_tile_post_update_step(t), 0);
  get_w(t, w2);
  for (int k = 0; k < 24; k++)
    assert_near(w2[k], 0.81 * w[k], 2 * FLT_EPSILON * fabs(w[k]));
  rpu_tile_free(t);

  /* lifetime 1 is not > 1: rate 0, s = 1, nothing changes (§1.1). */
  t = new_tile("{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
               "{\"type\": \"FloatingPointDevice\", \"lifetime\": 1}}",
               4, 6, 3);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_post_update_step(t), 0);
  get_w(t, w2);
  ck_assert_mem_eq(w, w2, sizeof w);
  rpu_tile_free(t);
}
END_TEST

/* SPEC.md §9.2 item 4: 100 x 122 tile, diffusion 0.1: the change is
 * 0.1 xi per element, so its sample std s over n = 12200 elements has
 * mean 0.1 and std 0.1 / sqrt(2 (n-1)) = 6.4e-4 (normal theory).  The band
 * [0.09, 0.11] is +-0.01 = +-15.6 of those sigmas (31 sigma wide): a
 * correct generator never fails it, a wrong scale (e.g. variance instead
 * of std, 0.01) always does.  The mean of the changes has std
 * 0.1/sqrt(n) = 9.1e-4; 5 sigma = 0.0045. */
START_TEST(fp_diffusion) {
  enum { OUT = 100, IN = 122, N = OUT * IN };
  const char *cfg = "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                    "{\"type\": \"FloatingPointDevice\", \"diffusion\": 0.1}}";
  rpu_tile *t = new_tile(cfg, OUT, IN, 42);
  float *w = malloc(N * sizeof(float)), *w2 = malloc(N * sizeof(float));
  float *w3 = malloc(N * sizeof(float)), *w4 = malloc(N * sizeof(float));
  fill(w, N, 0);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_post_update_step(t), 0);
  get_w(t, w2);
  double sum = 0, sq = 0;
  for (int k = 0; k < N; k++) sum += (double)w2[k] - w[k];
  double mean = sum / N;
  for (int k = 0; k < N; k++) {
    double e = (double)w2[k] - w[k] - mean;
    sq += e * e;
  }
  double sd = sqrt(sq / (N - 1));
  ck_assert_msg(sd >= 0.09 && sd <= 0.11, "diffusion std %g", sd);
  ck_assert_msg(fabs(mean) < 0.0045, "diffusion mean %g", mean);

  /* Same seed => bit-identical diffusion (same stream, same step). */
  rpu_tile *u = new_tile(cfg, OUT, IN, 42);
  set_w(u, w);
  ck_assert_int_eq(rpu_tile_post_update_step(u), 0);
  get_w(u, w3);
  ck_assert_mem_eq(w2, w3, N * sizeof(float));
  /* The next step draws from the next step's stream: new noise. */
  ck_assert_int_eq(rpu_tile_post_update_step(u), 0);
  get_w(u, w4);
  int same = 0;
  for (int k = 0; k < N; k++) same += (w4[k] - w3[k]) == (w3[k] - w[k]);
  ck_assert_int_lt(same, N / 100);
  rpu_tile_free(u);

  /* A different seed => different noise (continuous draws: essentially
   * no element may coincide). */
  u = new_tile(cfg, OUT, IN, 43);
  set_w(u, w);
  ck_assert_int_eq(rpu_tile_post_update_step(u), 0);
  get_w(u, w3);
  same = 0;
  for (int k = 0; k < N; k++) same += w3[k] == w2[k];
  ck_assert_int_lt(same, N / 100);
  rpu_tile_free(u);

  /* A different tile id with the same seed is an independent stream too. */
  rpu_config *c = tu_config(ctx, cfg);
  ck_assert_int_eq(rpu_tile_new_with_id(&u, ctx, c, OUT, IN, 42, 1), 0);
  rpu_config_free(c);
  set_w(u, w);
  ck_assert_int_eq(rpu_tile_post_update_step(u), 0);
  get_w(u, w3);
  same = 0;
  for (int k = 0; k < N; k++) same += w3[k] == w2[k];
  ck_assert_int_lt(same, N / 100);
  rpu_tile_free(u);

  rpu_tile_free(t);
  free(w);
  free(w2);
  free(w3);
  free(w4);
}
END_TEST

#define DRIFT_CFG(t0)                                                        \
  "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": {\"type\": "     \
  "\"FloatingPointDevice\", \"drift\": {\"nu\": 0.1, \"t_0\": " t0 "}}}"

static void assert_scaled(const float *got, const float *w, int n,
                          double factor) {
  /* w0 * f computed in double and rounded once: 1/2 ulp; FLT_EPSILON
   * relative leaves room for f itself. */
  for (int k = 0; k < n; k++)
    ck_assert_msg(fabs(got[k] - factor * w[k]) <= FLT_EPSILON * fabs(w[k]),
                  "element %d: %.9g, expected %.9g", k, got[k], factor * w[k]);
}

/* SPEC.md §9.2 item 5 and §6.6: the first rpu_tile_drift call initialises
 * (w0 = W, t_start = 0, T = 0), then T += dt/t_0 and, the weights being
 * untouched, W = w0 * max(T - t_start, 1)^-nu. */
START_TEST(fp_drift) {
  enum { N = 12 };
  float w[N], got[N];
  fill(w, N, 4);

  /* One call with dt = 2: T = 2 -> W * 2^-0.1. */
  rpu_tile *t = new_tile(DRIFT_CFG("1"), 3, 4, 5);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_drift(t, 2.0), 0);
  get_w(t, got);
  assert_scaled(got, w, N, pow(2.0, -0.1));
  rpu_tile_free(t);

  /* N = 10 calls of dt = 0.5: after call k, T = k/2 and the factor is
   * max(k/2, 1)^-0.1 — 1 for k <= 2, (N dt / t_0)^-nu = 5^-0.1 at the end. */
  t = new_tile(DRIFT_CFG("1"), 3, 4, 5);
  set_w(t, w);
  for (int k = 1; k <= 10; k++) {
    ck_assert_int_eq(rpu_tile_drift(t, 0.5), 0);
    get_w(t, got);
    double T = 0.5 * k;
    assert_scaled(got, w, N, pow(T > 1 ? T : 1, -0.1));
  }
  rpu_tile_free(t);

  /* t_0 = 2: dt = 4 is T = 2 -> 2^-0.1. */
  t = new_tile(DRIFT_CFG("2"), 3, 4, 5);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_drift(t, 4.0), 0);
  get_w(t, got);
  assert_scaled(got, w, N, pow(2.0, -0.1));

  /* New weights restart the drift (|prev - w| > reset_tol): the next call
   * only records t_start = T = 3 and w0 = W2; one more call with dt = 6
   * gives T = 6, age 3: W2 * 3^-0.1. */
  float w2[N];
  fill(w2, N, 9);
  set_w(t, w2);
  ck_assert_int_eq(rpu_tile_drift(t, 2.0), 0);
  get_w(t, got);
  ck_assert_mem_eq(got, w2, sizeof got);
  ck_assert_int_eq(rpu_tile_drift(t, 6.0), 0);
  get_w(t, got);
  assert_scaled(got, w2, N, pow(3.0, -0.1));

  /* Bad times are refused and change nothing. */
  float before[N];
  get_w(t, before);
  tu_assert_error(rpu_tile_drift(t, -1.0), RPU_EINVAL, "t_seconds");
  tu_assert_error(rpu_tile_drift(t, NAN), RPU_EINVAL, "rpu_tile_drift");
  tu_assert_error(rpu_tile_drift(t, INFINITY), RPU_EINVAL, "t_seconds");
  get_w(t, got);
  ck_assert_mem_eq(got, before, sizeof got);
  rpu_tile_free(t);

  /* Without drift (nu = 0, the default) drifting is a successful no-op. */
  t = new_tile(FP_CFG, 3, 4, 5);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_drift(t, 100.0), 0);
  get_w(t, got);
  ck_assert_mem_eq(got, w, sizeof got);
  rpu_tile_free(t);
}
END_TEST

START_TEST(fp_bad_input) {
  rpu_config *cfg = tu_config(ctx, FP_CFG);
  rpu_tile *t = (rpu_tile *)&t; /* must be reset to NULL on failure */
  tu_assert_error(rpu_tile_new(&t, ctx, cfg, 0, 3, 1), RPU_EINVAL, "out_size 0");
  ck_assert_ptr_null(t);
  tu_assert_error(rpu_tile_new(&t, ctx, cfg, -1, 3, 1), RPU_EINVAL, "out_size -1");
  tu_assert_error(rpu_tile_new(&t, ctx, cfg, 3, 0, 1), RPU_EINVAL, "in_size 0");
  tu_assert_error(rpu_tile_new(&t, ctx, cfg, 3, -1, 1), RPU_EINVAL, "in_size -1");
  tu_assert_error(rpu_tile_new(&t, ctx, cfg, (1 << 20) + 1, 3, 1), RPU_EINVAL,
                  "out_size");
  tu_assert_error(rpu_tile_new(NULL, ctx, cfg, 3, 3, 1), RPU_EINVAL, "out is NULL");
  tu_assert_error(rpu_tile_new(&t, NULL, cfg, 3, 3, 1), RPU_EINVAL, "ctx is NULL");
  tu_assert_error(rpu_tile_new(&t, ctx, NULL, 3, 3, 1), RPU_EINVAL, "cfg is NULL");
  ck_assert_ptr_null(t);
  ck_assert_int_eq(rpu_tile_new(&t, ctx, cfg, 2, 3, 1), 0);
  rpu_config_free(cfg);

  /* drift.t_0 must be > 0 (the plugin's check hook; ranges are inclusive). */
  rpu_config *c0 = NULL;
  tu_assert_error(rpu_config_from_string(
                      &c0, ctx,
                      "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                      "{\"type\": \"FloatingPointDevice\", \"drift\": {\"t_0\": 0}}}",
                      NULL),
                  RPU_ERANGE, "device.drift.t_0");
  ck_assert_ptr_null(c0);

  float w[6], x[3] = {1, 2, 3}, y[2], d[2] = {1, 1}, dx[3], before[6], after[6];
  fill(w, 6, 0);
  set_w(t, w);
  tu_assert_error(rpu_tile_forward(t, NULL, y, 1), RPU_EINVAL, "x is NULL");
  tu_assert_error(rpu_tile_forward(t, x, NULL, 1), RPU_EINVAL, "y is NULL");
  tu_assert_error(rpu_tile_forward(t, x, y, 0), RPU_EINVAL, "batch 0");
  tu_assert_error(rpu_tile_forward(t, x, y, -2), RPU_EINVAL, "batch -2");
  tu_assert_error(rpu_tile_forward(NULL, x, y, 1), RPU_EINVAL, "rpu_tile_forward");
  tu_assert_error(rpu_tile_backward(t, NULL, dx, 1), RPU_EINVAL, "d is NULL");
  tu_assert_error(rpu_tile_backward(t, d, NULL, 1), RPU_EINVAL, "dx is NULL");
  tu_assert_error(rpu_tile_backward(t, d, dx, 0), RPU_EINVAL, "batch 0");
  tu_assert_error(rpu_tile_update(t, NULL, d, 1, 0.1f), RPU_EINVAL, "x is NULL");
  tu_assert_error(rpu_tile_update(t, x, NULL, 1, 0.1f), RPU_EINVAL, "d is NULL");
  tu_assert_error(rpu_tile_update(t, x, d, 0, 0.1f), RPU_EINVAL, "batch 0");
  {
    /* NaN / Inf in x or d: refused, weights unchanged. */
    float w_pre[64], w_post[64], xb[64], db[64];
    ck_assert_int_le(rpu_tile_in_size(t) * rpu_tile_out_size(t), 64);
    get_w(t, w_pre);
    memcpy(xb, x, sizeof(float) * (size_t)rpu_tile_in_size(t));
    memcpy(db, d, sizeof(float) * (size_t)rpu_tile_out_size(t));
    xb[0] = NAN;
    tu_assert_error(rpu_tile_update(t, xb, db, 1, 0.1f), RPU_EINVAL, "x[0] is NaN");
    xb[0] = 0.5f;
    db[rpu_tile_out_size(t) - 1] = INFINITY;
    tu_assert_error(rpu_tile_update(t, xb, db, 1, 0.1f), RPU_EINVAL, "is infinite");
    get_w(t, w_post);
    ck_assert_mem_eq(w_pre, w_post, sizeof(float) * (size_t)(rpu_tile_in_size(t) * rpu_tile_out_size(t)));
  }
  {
    /* The scan works in blocks of 512: a bad value on either side of a
     * block edge, at the very end, or as the only one in a long batch is
     * found at its exact index. */
    int in = rpu_tile_in_size(t), out = rpu_tile_out_size(t), nb = 700;
    float *xl = calloc((size_t)nb * in, sizeof(float)), *dl = calloc((size_t)nb * out, sizeof(float));
    const size_t pos[5] = {0, 511, 512, 1023, (size_t)nb * in - 1};
    char want[64];
    for (int k = 0; k < 5; k++) {
      xl[pos[k]] = k % 2 ? -INFINITY : NAN;
      snprintf(want, sizeof want, "x[%zu] is %s", pos[k], k % 2 ? "infinite" : "NaN");
      tu_assert_error(rpu_tile_update(t, xl, dl, nb, 0.1f), RPU_EINVAL, want);
      xl[pos[k]] = 0.0f;
    }
    ck_assert_int_eq(rpu_tile_update(t, xl, dl, nb, 0.0f), 0); /* all finite again */
    free(xl);
    free(dl);
  }
  tu_assert_error(rpu_tile_update(t, x, d, 1, NAN), RPU_EINVAL, "lr");
  tu_assert_error(rpu_tile_set_weights(t, NULL), RPU_EINVAL, "w is NULL");
  tu_assert_error(rpu_tile_get_weights(t, NULL), RPU_EINVAL, "w is NULL");
  tu_assert_error(rpu_tile_get_counters(t, NULL), RPU_EINVAL, "out is NULL");
  tu_assert_error(rpu_tile_post_update_step(NULL), RPU_EINVAL, "t is NULL");
  tu_assert_error(rpu_tile_program(t), RPU_EUNSUPPORTED, "inference");
  ck_assert_int_eq(rpu_tile_out_size(NULL), 0);
  ck_assert_ptr_null(rpu_tile_config(NULL));

  /* NaN / Inf: refused naming the element, weights untouched. */
  get_w(t, before);
  float bad[6];
  memcpy(bad, w, sizeof bad);
  bad[5] = NAN;
  tu_assert_error(rpu_tile_set_weights(t, bad), RPU_EINVAL, "w[5] (row 1, column 2)");
  bad[5] = 0;
  bad[2] = -INFINITY;
  tu_assert_error(rpu_tile_set_weights(t, bad), RPU_EINVAL, "w[2]");
  get_w(t, after);
  ck_assert_mem_eq(before, after, sizeof before);

  /* Failed calls count nothing. */
  rpu_tile_counters c;
  ck_assert_int_eq(rpu_tile_get_counters(t, &c), 0);
  ck_assert_uint_eq(c.forward_mvms + c.backward_mvms + c.updates, 0);
  rpu_tile_free(t);
  rpu_tile_free(NULL);
}
END_TEST

/* ----- the analog skeleton with the test plugin's pulsed device ---------- */

static void load_good_extra(void) {
  char *p = tu_path(tu_env("RPU_TEST_MODULES"), "good_extra.la");
  int rc = rpu_context_load_plugin(ctx, p);
  ck_assert_msg(rc == 0, "loading %s: %s", p, rpu_error_last()->message);
  free(p);
}

/* TestGoodDevice: constant-step device with bounds [w_min, w_max] that its
 * set_weights and clip hooks enforce (tests/modules/good_extra.c). */
#define SINGLE_CFG(bound, fwd, upd)                                          \
  "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": "           \
  "\"TestGoodDevice\", \"w_min\": -" bound ", \"w_max\": " bound "}, "       \
  "\"forward\": {\"is_perfect\": " fwd "}, \"backward\": {\"is_perfect\": "   \
  "true}, \"update\": {\"pulse_type\": " upd "}}"

/* SPEC.md §9.2 items 1-2: a pulsed device with perfect IO and pulse type
 * NONE is exactly the floating-point tile. */
START_TEST(analog_perfect_equals_fp) {
  load_good_extra();
  /* Bounds +-10 hold every value check_exact_mvms produces (|w| <= 1.5,
   * |lr d^T x| <= 0.25 * 4 * 2.25). */
  rpu_tile *t = new_tile(SINGLE_CFG("10", "true", "\"NONE\""), 3, 5, 1);
  check_exact_mvms(t, 3, 5, 4);
  rpu_tile_free(t);
}
END_TEST

/* The device takes part: set_weights clips to its bounds; pulse type NONE
 * then updates exactly, beyond the bounds (SPEC.md §1.3: one GEMM, no
 * device involved); NONE_WITH_DEVICE clips the exact result to them. */
START_TEST(analog_device_bounds) {
  load_good_extra();
  float w[4] = {2.0f, -0.5f, 0.75f, -3.0f}, got[4];
  float x[2] = {1.0f, -1.0f}, d[2] = {-2.0f, 2.0f};
  rpu_tile *t = new_tile(SINGLE_CFG("1", "true", "\"NONE\""), 2, 2, 1);
  set_w(t, w);
  get_w(t, got);
  const float clipped[4] = {1.0f, -0.5f, 0.75f, -1.0f};
  ck_assert_mem_eq(got, clipped, sizeof got);
  /* W -= 0.25 d^T x: d^T x = [[-2, 2], [2, -2]] -> W + [[0.5, -0.5],
   * [-0.5, 0.5]] = [[1.5, -1], [0.25, -0.5]] (dyadic: exact). */
  ck_assert_int_eq(rpu_tile_update(t, x, d, 1, 0.25f), 0);
  get_w(t, got);
  const float none[4] = {1.5f, -1.0f, 0.25f, -0.5f};
  ck_assert_mem_eq(got, none, sizeof got);
  rpu_tile_free(t);

  t = new_tile(SINGLE_CFG("1", "true", "\"NONE_WITH_DEVICE\""), 2, 2, 1);
  set_w(t, w);
  ck_assert_int_eq(rpu_tile_update(t, x, d, 1, 0.25f), 0);
  get_w(t, got);
  const float with_device[4] = {1.0f, -1.0f, 0.25f, -0.5f};
  ck_assert_mem_eq(got, with_device, sizeof got);
  rpu_tile_free(t);
}
END_TEST

/* The analog engine's non-ideal paths with the test device (constant steps
 * of dw_min = 0.01, no noise).  Update: DETERMINISTIC_IMPLICIT with a fixed
 * BL of 10 and no update management (SPEC.md §3.2, §3.3): lr = 0.1,
 * A = B = sqrt(lr / (g BL)) = 1, so q_x = clamp(B |x_j|, 0, 1) = 1 for
 * x = (1, 0, -1) and q_d = A |d_i| = 0.5 for d = (0.5, -0.5); each element
 * with x_j != 0 receives c = rint(BL q_d q_x) = 5 coincidences of sign
 * sign(d_i) sign(x_j) (positive = down), i.e. W = -lr d x^T exactly:
 * [[-0.05, 0, 0.05], [0.05, 0, -0.05]], 20 pulses in all.  (The
 * stochastic pulse types are tested statistically in tests/check_pulse.c.) */
START_TEST(analog_paths) {
  load_good_extra();
  rpu_tile *t = new_tile(SINGLE_CFG("1", "false",
                                    "\"DETERMINISTIC_IMPLICIT\", \"desired_bl\": 10, "
                                    "\"update_bl_management\": false, "
                                    "\"update_management\": false"),
                         2, 3, 1);
  float w[6], x[3] = {1, 0, -1}, y[2], d[2] = {0.5f, -0.5f}, dx[3];
  memset(w, 0, sizeof w); /* zero weights lie within any device's bounds */
  set_w(t, w);
  /* Non-ideal forward: zero weights give outputs that are pure output
   * noise, quantised and bounded: finite and within out_bound. */
  ck_assert_int_eq(rpu_tile_forward(t, x, y, 1), 0);
  for (int i = 0; i < 2; i++) ck_assert(isfinite(y[i]) && fabsf(y[i]) <= 12.0f);
  ck_assert_int_eq(rpu_tile_backward(t, d, dx, 1), 0); /* backward is perfect */
  for (int j = 0; j < 3; j++) ck_assert(dx[j] == 0.0f);
  ck_assert_int_eq(rpu_tile_update(t, x, d, 1, 0.1f), 0);
  get_w(t, w);
  const float want[6] = {-0.05f, 0.0f, 0.05f, 0.05f, 0.0f, -0.05f};
  for (int k = 0; k < 6; k++) ck_assert_float_eq(w[k], want[k]);
  tu_assert_error(rpu_tile_program(t), RPU_EUNSUPPORTED, "SingleRPUConfig");
  rpu_tile_counters c;
  rpu_tile_get_counters(t, &c);
  ck_assert_uint_eq(c.forward_mvms, 1);
  ck_assert_uint_eq(c.backward_mvms, 1);
  ck_assert_uint_eq(c.updates, 1);
  ck_assert_uint_eq(c.pulses, 20);
  ck_assert_int_eq(rpu_tile_post_update_step(t), 0);
  rpu_tile_free(t);
}
END_TEST

/* The inference engine (SPEC.md §1): forward through the forward IO
 * (exact here with is_perfect), backward perfect, update the exact SGD
 * step; programming needs the noise model (not yet); clip / modifier /
 * remap switched on are refused, not ignored. */
START_TEST(inference_engine) {
  load_good_extra();
  rpu_config *cfg = tu_config(
      ctx, "{\"rpu_config\": \"InferenceRPUConfig\", \"forward\": {\"is_perfect\": true}, "
           "\"noise_model\": {\"type\": \"TestNoiseModel\"}, \"drift_compensation\": null}");
  rpu_tile *t = NULL;
  ck_assert_int_eq(rpu_tile_new(&t, ctx, cfg, 3, 5, 1), 0);
  check_exact_mvms(t, 3, 5, 4);
  tu_assert_error(rpu_tile_program(t), RPU_EUNSUPPORTED, "noise model");
  rpu_tile_free(t);
  rpu_config_free(cfg);

  /* Default (non-ideal) forward IO: zero weights give pure output noise,
   * bounded by out_bound. */
  cfg = tu_config(ctx, "{\"rpu_config\": \"InferenceRPUConfig\", \"noise_model\": "
                       "{\"type\": \"TestNoiseModel\"}, \"drift_compensation\": null}");
  ck_assert_int_eq(rpu_tile_new(&t, ctx, cfg, 2, 2, 1), 0);
  float x[2] = {1, -1}, y[2];
  ck_assert_int_eq(rpu_tile_forward(t, x, y, 1), 0);
  ck_assert(isfinite(y[0]) && fabsf(y[0]) <= 12.0f && isfinite(y[1]));
  rpu_tile_free(t);
  rpu_config_free(cfg);

  cfg = tu_config(ctx, "{\"rpu_config\": \"InferenceRPUConfig\", \"noise_model\": "
                       "{\"type\": \"TestNoiseModel\"}, \"drift_compensation\": null, "
                       "\"clip\": {\"type\": \"FIXED_VALUE\", \"fixed_value\": 1.0}}");
  t = NULL;
  tu_assert_error(rpu_tile_new(&t, ctx, cfg, 2, 2, 1), RPU_EUNSUPPORTED,
                  "clip.type other than NONE is not implemented yet");
  ck_assert_ptr_null(t);
  rpu_config_free(cfg);
}
END_TEST

/* ----- the device plugins' hooks directly -------------------------------- */

/* A typed parameter struct of `m` with the schema defaults, then the real
 * parameter `name` (if any) set to v. */
static void *params_with(const rpu_model_desc *m, const char *name, double v) {
  unsigned char *p = calloc(1, m->params_size);
  for (uint32_t i = 0; i < m->n_params; i++) {
    const rpu_param_desc *d =
        (const rpu_param_desc *)((const char *)m->params + i * m->param_desc_size);
    double val = name && strcmp(d->name, name) == 0 ? v : d->def;
    if (d->type == RPU_PARAM_REAL) {
      memcpy(p + d->offset, &val, sizeof val);
    } else if (d->type == RPU_PARAM_INT || d->type == RPU_PARAM_BOOL) {
      int iv = (int)val;
      memcpy(p + d->offset, &iv, sizeof iv);
    }
  }
  return p;
}

typedef struct dev {
  const rpu_device_vtable *vt;
  void *params, *state;
  rpu_rng_cursor rng;
} dev;

static dev dev_new(const char *model, const char *param, double v, int rows,
                   int cols, float *w) {
  rpu_model_entry e;
  ck_assert_int_eq(rpu_context_find_model(ctx, model, RPU_MODEL_DEVICE, &e), 0);
  dev d = {e.desc->vtable, params_with(e.desc, param, v), NULL, {{0}, 0}};
  d.rng.stream = rpu_rng_stream_make(11, 0, RPU_RNG_USER);
  rpu_device_init init = {sizeof init, d.params, NULL, rows, cols, &d.rng};
  rpu_weights wv = {w, rows, cols, (size_t)cols};
  ck_assert_int_eq(d.vt->create(&d.state, &init, wv), 0);
  return d;
}

static void dev_free(dev *d) {
  d->vt->destroy(d->state);
  free(d->params);
}

/* SPEC.md §1.1: IdealDevice reset w = reset_std xi.  n = 4000 values:
 * sample std has std 0.01/sqrt(2n) = 1.1e-4, so [0.0095, 0.0105] is
 * +-4.5 sigma.  prob 0.5 resets a Binomial(4000, 0.5) count: std 31.6,
 * [1850, 2150] is +-4.7 sigma. */
START_TEST(ideal_device_hooks) {
  enum { R = 40, C = 100, N = R * C };
  float *w = malloc(N * sizeof(float));
  for (int k = 0; k < N; k++) w[k] = 5.0f;
  rpu_weights wv = {w, R, C, C};
  dev d = dev_new("IdealDevice", NULL, 0, R, C, w);
  d.vt->reset_cols(d.state, wv, 0, C, 1.0, &d.rng);
  double sq = 0;
  for (int k = 0; k < N; k++) sq += (double)w[k] * w[k];
  double sd = sqrt(sq / N); /* mean is 0 by construction */
  ck_assert_msg(sd > 0.0095 && sd < 0.0105, "reset std %g", sd);

  for (int k = 0; k < N; k++) w[k] = 5.0f;
  d.vt->reset_cols(d.state, wv, 0, C, 0.5, &d.rng);
  int reset = 0;
  for (int k = 0; k < N; k++) reset += w[k] != 5.0f;
  ck_assert_msg(reset > 1850 && reset < 2150, "%d of %d reset", reset, N);

  /* Wrapping: columns C-1 and 0 only. */
  for (int k = 0; k < N; k++) w[k] = 5.0f;
  d.vt->reset_cols(d.state, wv, C - 1, 2, 1.0, &d.rng);
  for (int i = 0; i < R; i++)
    for (int j = 0; j < C; j++)
      ck_assert_int_eq(w[i * C + j] != 5.0f, j == 0 || j == C - 1);
  /* No bounds: clip(-1) changes nothing, clip(0.5) clips to [-0.5, 0.5]. */
  for (int k = 0; k < N; k++) w[k] = (float)(k % 7) - 3.0f;
  d.vt->clip(d.state, wv, -1.0);
  for (int k = 0; k < N; k++) ck_assert_float_eq(w[k], (float)(k % 7) - 3.0f);
  d.vt->clip(d.state, wv, 0.5);
  for (int k = 0; k < N; k++)
    ck_assert_float_eq(w[k], fminf(fmaxf((float)(k % 7) - 3.0f, -0.5f), 0.5f));
  /* Ideal devices have no drift and no hidden state. */
  ck_assert_ptr_null(d.vt->drift);
  ck_assert_ptr_null(d.vt->state_size);
  dev_free(&d);

  /* reset_std 0: reset to exactly 0; lifetime 10: decay 0.9 (§1.1). */
  d = dev_new("IdealDevice", "reset_std", 0.0, R, C, w);
  for (int k = 0; k < N; k++) w[k] = 5.0f;
  d.vt->reset_cols(d.state, wv, 3, 1, 1.0, &d.rng);
  for (int i = 0; i < R; i++) ck_assert_float_eq(w[i * C + 3], 0.0f);
  dev_free(&d);
  d = dev_new("IdealDevice", "lifetime", 10.0, R, C, w);
  for (int k = 0; k < N; k++) w[k] = 2.0f;
  ck_assert_int_eq(d.vt->post_update(d.state, wv, &d.rng), 0);
  for (int k = 0; k < N; k++)
    assert_near(w[k], 1.8, 2 * FLT_EPSILON);
  dev_free(&d);
  free(w);
}
END_TEST

/* FloatingPointDevice has no reset_std: a reset sets w = 0 (SPEC.md §1.1). */
START_TEST(fp_device_reset) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  rpu_weights wv = {w, 2, 3, 3};
  dev d = dev_new("FloatingPointDevice", NULL, 0, 2, 3, w);
  d.vt->reset_cols(d.state, wv, 1, 1, 1.0, &d.rng);
  const float expect[6] = {1, 0, 3, 4, 0, 6};
  ck_assert_mem_eq(w, expect, sizeof w);
  /* Without drift there is no hidden state. */
  ck_assert_uint_eq(d.vt->state_size(d.state), 0);
  dev_free(&d);
}
END_TEST

Suite *suite_tile_fp(void) {
  Suite *s = suite_create("tile_fp");
  TCase *tc = tcase_create("fp");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fp_exact_mvm);
  tcase_add_test(tc, fp_new_tile_is_zero_and_lr0_skips);
  tcase_add_test(tc, fp_decay);
  tcase_add_test(tc, fp_diffusion);
  tcase_add_test(tc, fp_drift);
  tcase_add_test(tc, fp_bad_input);
  suite_add_tcase(s, tc);
  tc = tcase_create("analog");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, analog_perfect_equals_fp);
  tcase_add_test(tc, analog_device_bounds);
  tcase_add_test(tc, analog_paths);
  tcase_add_test(tc, inference_engine);
  suite_add_tcase(s, tc);
  tc = tcase_create("devices");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, ideal_device_hooks);
  tcase_add_test(tc, fp_device_reset);
  suite_add_tcase(s, tc);
  return s;
}
