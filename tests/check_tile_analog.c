/* Pulsed devices driven through the analog tile: the deterministic pulse
 * types give exact weight traces that follow from the SPEC.md §4.6
 * equations by hand (issue 4: "DETERMINISTIC_IMPLICIT and MEAN_COUNT give
 * exact, hand-computable weight traces for each device with variation
 * switched off").
 *
 * One update of x = (1), d = (-/+1) with lr = 0.1, a fixed BL of 1 and no
 * update management (SPEC.md §3.2) has A = B = sqrt(lr / (g BL)) = 1 for a
 * granularity g = dw_min = 0.1, so both lines carry probability 1 and:
 *   DETERMINISTIC_IMPLICIT: c = rint(BL q_d q_x) = rint(1 * 1 * 1) = 1,
 *   MEAN_COUNT: n_x = n_d = rint(BL p) = 1, c = rint(n_d / BL * n_x) = 1;
 * the sign is sign(d) sign(x): d = -1 is one up pulse, d = +1 one down
 * pulse.  (PowStep's granularity is dw_min 0.5^gamma, §4.3, so its lr is
 * scaled to keep A = B = 1; PiecewiseStep's is dw_min times the middle
 * node.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"
#include "tests/testutil.h"

/* Variation off: every d2d spread and the cycle-to-cycle noise are 0. */
#define NO_VARIATION                                                          \
  "\"dw_min_dtod\": 0, \"dw_min_std\": 0, \"up_down_dtod\": 0, "              \
  "\"w_max_dtod\": 0, \"w_min_dtod\": 0, \"w_max\": 1, \"w_min\": -1, "      \
  "\"dw_min\": 0.1"

typedef struct trace_case {
  const char *name;
  const char *device; /* device JSON fields after "type" */
  float lr;           /* keeps A = B = 1: lr = g * BL */
  float w0;
  int n;              /* pulses; sign: +1 up (d = -1), -1 down (d = +1) */
  int dir[8];
  double want[8];     /* weight after each pulse, derived in the comments */
} trace_case;

static const trace_case cases[] = {
    /* SoftBounds (§4.6): up step dw_min (1 - w/b_max), from 0:
     * w_n = 1 - 0.9^n = 0.1, 0.19, 0.271, 0.3439, 0.40951; then down step
     * dw_min (1 - w/b_min) = 0.1 (1 + w): 0.40951 - 0.140951 = 0.268559. */
    {"SoftBoundsDevice", "\"type\": \"SoftBoundsDevice\", " NO_VARIATION, 0.1f, 0.0f, 6,
     {1, 1, 1, 1, 1, -1},
     {0.1, 0.19, 0.271, 0.3439, 0.40951, 0.268559}},
    /* ConstantStep: +-dw_min per pulse, clipped at b_max = 1. */
    {"ConstantStepDevice", "\"type\": \"ConstantStepDevice\", " NO_VARIATION, 0.1f, 0.85f, 3,
     {1, 1, -1},
     {0.95, 1.0, 0.9}},
    /* PowStep gamma 2 (§4.6): up step dw_min ((b_max - w)/R)^2, R = 2, from
     * 0.2: 0.1 * 0.4^2 = 0.016 -> 0.216.  g = 0.1 * 0.5^2 = 0.025. */
    {"PowStepDevice",
     "\"type\": \"PowStepDevice\", \"pow_gamma\": 2, \"pow_gamma_dtod\": 0, " NO_VARIATION,
     0.025f, 0.2f, 1, {1}, {0.216}},
    /* ExpStep defaults (§4.6): z = 2 a w / 2 + b = 0.244 * 0.2 + 0.2425 =
     * 0.2913, y = 1 - 0.00081 exp(12.44625 z) = 0.969584, w = 0.2 + 0.1 y
     * = 0.296958 (SPEC's verified 0.296959).  Granularity (§4.3 as fixed in
     * §12.3) is not dw_min: lr is set from it below. */
    {"ExpStepDevice", "\"type\": \"ExpStepDevice\", " NO_VARIATION, 0.0f, 0.2f, 1, {1},
     {0.29695842}},
    /* PiecewiseStep nodes [0.5, 1, 1.5] (§4.6): m = 2, at w = 0.2:
     * t = (0.2 + 1) / 2 * 2 = 1.2, k = 1, q = 0.2, step = 0.1 (0.8 * 1 +
     * 0.2 * 1.5) = 0.11 -> 0.31.  g = 0.1 * node[1] = 0.1. */
    {"PiecewiseStepDevice",
     "\"type\": \"PiecewiseStepDevice\", \"piecewise_up\": [0.5, 1, 1.5], "
     "\"piecewise_down\": [0.5, 1, 1.5], " NO_VARIATION,
     0.1f, 0.2f, 1, {1}, {0.31}},
};

static const char *const pulse_types[] = {"DETERMINISTIC_IMPLICIT", "MEAN_COUNT"};

static rpu_tile *trace_tile(rpu_context *ctx, const trace_case *c, const char *pulse_type) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {%s}, "
           "\"update\": {\"pulse_type\": \"%s\", \"desired_bl\": 1, "
           "\"update_bl_management\": false, \"update_management\": false}}",
           c->device, pulse_type);
  rpu_config *cfg = tu_config(ctx, json);
  rpu_tile *t = NULL;
  int rc = rpu_tile_new(&t, ctx, cfg, 1, 1, 7);
  ck_assert_msg(rc == 0, "%s: %s", c->name, rpu_error_last()->message);
  rpu_config_free(cfg);
  return t;
}

START_TEST(deterministic_traces) {
  const trace_case *c = &cases[_i / 2];
  const char *type = pulse_types[_i % 2];
  rpu_context *ctx = tu_context();
  rpu_tile *t = trace_tile(ctx, c, type);
  float lr = c->lr;
  if (lr == 0.0f) {
    /* ExpStep: lr = g BL with g the model's granularity (checked against
     * SPEC §4.3/§12.3 in tests/check_pulsed_devices.c). */
    rpu_model_entry e;
    ck_assert_int_eq(rpu_context_find_model(ctx, c->name, RPU_MODEL_DEVICE, &e), 0);
    const rpu_device_vtable *vt = e.desc->vtable;
    lr = (float)vt->granularity(rpu_device_spec_params(rpu_config_device(rpu_tile_config(t))));
  }
  ck_assert_int_eq(rpu_tile_set_weights(t, &c->w0), 0);
  float x = 1.0f, w = 0.0f;
  for (int k = 0; k < c->n; k++) {
    float d = c->dir[k] > 0 ? -1.0f : 1.0f;
    ck_assert_int_eq(rpu_tile_update(t, &x, &d, 1, lr), 0);
    ck_assert_int_eq(rpu_tile_get_weights(t, &w), 0);
    /* float arithmetic of the device against the double derivation: a few
     * ulp of a weight of magnitude <= 1 */
    ck_assert_msg(fabs(w - c->want[k]) <= 4e-7, "%s %s pulse %d: %.9g, expected %.9g",
                  c->name, type, k + 1, (double)w, c->want[k]);
  }
  rpu_tile_counters cnt;
  rpu_tile_get_counters(t, &cnt);
  ck_assert_uint_eq(cnt.pulses, (uint64_t)c->n);
  rpu_tile_free(t);
  rpu_context_free(ctx);
}
END_TEST

/* Decay with reset bias through post_update_step (SPEC.md §4.5, verified
 * trace): w = 0.8, reset 0.2, lifetime 10 -> delta = 0.9 and
 * w <- (w - 0.2) 0.9 + 0.2 = 0.74, 0.686, 0.6374. */
START_TEST(decay_with_reset_bias) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = tu_config(ctx, "{\"rpu_config\": \"SingleRPUConfig\", \"device\": "
                                   "{\"type\": \"ConstantStepDevice\", \"reset\": 0.2, "
                                   "\"lifetime\": 10, " NO_VARIATION "}}");
  rpu_tile *t = NULL;
  ck_assert_int_eq(rpu_tile_new(&t, ctx, cfg, 1, 1, 3), 0);
  float w = 0.8f;
  ck_assert_int_eq(rpu_tile_set_weights(t, &w), 0);
  const double want[3] = {0.74, 0.686, 0.6374};
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(rpu_tile_post_update_step(t), 0);
    ck_assert_int_eq(rpu_tile_get_weights(t, &w), 0);
    ck_assert_msg(fabs(w - want[k]) <= 4e-7, "step %d: %.9g, expected %g", k + 1, (double)w,
                  want[k]);
  }
  rpu_tile_free(t);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

/* STOCHASTIC_COMPRESSED on a noise-free ConstantStep (dw_min g = 0.001,
 * bounds +-10 so nothing clips): x = (0.5, -0.25, 1), d = (0.8, -0.4),
 * lr = 0.01.  Update management (SPEC.md §3.2): k = lr x_max d_max / g = 8
 * = BL, A = sqrt(lr/(g BL)) sqrt(x_max/d_max) = 1.25, B = sqrt(lr/(g BL))
 * sqrt(d_max/x_max) = 1, so p_d = (1, 0.5), p_x = (0.5, 0.25, 1) and the
 * count of (i, j) is Binomial(BL, p = p_d p_x): mean BL p g = lr |d_i x_j|.
 * Over N = 400 updates the mean change per update has standard deviation
 * g sqrt(BL p (1 - p) / N) <= 0.001 * sqrt(8 * 0.25 / 400) = 7.1e-5; the
 * test allows 5 of those.  Every single update moves an element by at most
 * BL g (counts never exceed BL). */
START_TEST(stochastic_mean_update) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = tu_config(
      ctx, "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": "
           "\"ConstantStepDevice\", \"dw_min\": 0.001, \"dw_min_dtod\": 0, \"dw_min_std\": 0, "
           "\"up_down_dtod\": 0, \"w_max_dtod\": 0, \"w_min_dtod\": 0, \"w_max\": 10, "
           "\"w_min\": -10}}");
  rpu_tile *t = NULL;
  ck_assert_int_eq(rpu_tile_new(&t, ctx, cfg, 2, 3, 11), 0);
  const float x[3] = {0.5f, -0.25f, 1.0f}, d[2] = {0.8f, -0.4f};
  const float lr = 0.01f, g = 0.001f;
  enum { N = 400, BL = 8 };
  float w0[6] = {0}, prev[6], w[6];
  ck_assert_int_eq(rpu_tile_set_weights(t, w0), 0);
  memcpy(prev, w0, sizeof prev);
  for (int u = 0; u < N; u++) {
    ck_assert_int_eq(rpu_tile_update(t, x, d, 1, lr), 0);
    ck_assert_int_eq(rpu_tile_get_weights(t, w), 0);
    for (int k = 0; k < 6; k++)
      ck_assert_msg(fabsf(w[k] - prev[k]) <= BL * g * (1 + 1e-4f), "update %d moved w[%d] by %g",
                    u, k, (double)(w[k] - prev[k]));
    memcpy(prev, w, sizeof prev);
  }
  const double pd[2] = {1.0, 0.5}, px[3] = {0.5, 0.25, 1.0};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) {
      double mean = w[i * 3 + j] / N, want = -(double)lr * d[i] * x[j];
      double p = pd[i] * px[j];
      double sd = g * sqrt(BL * p * (1 - p) / N);
      ck_assert_msg(fabs(mean - want) <= 5 * sd + 1e-7, "(%d,%d): mean %g, expected %g (sd %g)",
                    i, j, mean, want, sd);
    }
  rpu_tile_free(t);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

/* Same seed => bit-identical weights, forward outputs and backward
 * gradients after 10 steps of a batch of 400 with 1 and with 2 threads:
 * every draw is keyed by counter (DESIGN.md §7), never by thread.  The
 * batch is large enough (400 x 48 and 400 x 64 values) for the IO
 * pipeline and the pulse engine to split their rows over both threads. */
enum { TB_OUT = 64, TB_IN = 48, TB_B = 400 };
static void run_training(int threads, const char *device, float *w_out, float *y_out,
                         float *dx_out) {
  rpu_set_num_threads(threads);
  rpu_context *ctx = tu_context();
  char json[256];
  snprintf(json, sizeof json,
           "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": \"%s\"}}", device);
  rpu_config *cfg = tu_config(ctx, json);
  rpu_tile *t = NULL;
  ck_assert_int_eq(rpu_tile_new(&t, ctx, cfg, TB_OUT, TB_IN, 42), 0);
  float *x = malloc(sizeof(float) * TB_B * TB_IN), *d = malloc(sizeof(float) * TB_B * TB_OUT);
  rpu_rng_stream s = rpu_rng_stream_make(5, 0, RPU_RNG_USER);
  for (int step = 0; step < 10; step++) {
    s.step = (uint32_t)step;
    rpu_rng_fill_uniform(&s, 0, x, TB_B * TB_IN);
    rpu_rng_fill_uniform(&s, TB_B * TB_IN, d, TB_B * TB_OUT);
    for (int k = 0; k < TB_B * TB_IN; k++) x[k] = 2 * x[k] - 1;
    for (int k = 0; k < TB_B * TB_OUT; k++) d[k] = (2 * d[k] - 1) * 0.01f;
    ck_assert_int_eq(rpu_tile_forward(t, x, y_out, TB_B), 0);
    ck_assert_int_eq(rpu_tile_backward(t, d, dx_out, TB_B), 0);
    ck_assert_int_eq(rpu_tile_update(t, x, d, TB_B, 0.01f), 0);
  }
  ck_assert_int_eq(rpu_tile_get_weights(t, w_out), 0);
  free(x);
  free(d);
  rpu_tile_free(t);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
  rpu_set_num_threads(1);
}

START_TEST(threads_bit_identical) {
  static const char *const devices[] = {"ConstantStepDevice", "SoftBoundsDevice",
                                        "ExpStepDevice"};
  size_t nw = (size_t)TB_OUT * TB_IN, ny = (size_t)TB_B * TB_OUT, nx = (size_t)TB_B * TB_IN;
  float *w1 = malloc(sizeof(float) * nw), *w2 = malloc(sizeof(float) * nw);
  float *y1 = malloc(sizeof(float) * ny), *y2 = malloc(sizeof(float) * ny);
  float *dx1 = malloc(sizeof(float) * nx), *dx2 = malloc(sizeof(float) * nx);
  run_training(1, devices[_i], w1, y1, dx1);
  run_training(2, devices[_i], w2, y2, dx2);
  ck_assert_mem_eq(w1, w2, sizeof(float) * nw);
  ck_assert_mem_eq(y1, y2, sizeof(float) * ny);
  ck_assert_mem_eq(dx1, dx2, sizeof(float) * nx);
  /* ... and the run did something: weights moved away from their start,
   * the outputs are not all zero. */
  size_t moved = 0, live = 0;
  for (size_t k = 0; k < nw; k++) moved += w1[k] != 0.0f;
  for (size_t k = 0; k < ny; k++) live += y1[k] != 0.0f;
  ck_assert_uint_gt(moved, nw / 2);
  ck_assert_uint_gt(live, ny / 2);
  free(w1);
  free(w2);
  free(y1);
  free(y2);
  free(dx1);
  free(dx2);
}
END_TEST

Suite *suite_tile_analog(void) {
  Suite *s = suite_create("tile_analog");
  TCase *tc = tcase_create("pulsed_traces");
  tcase_add_loop_test(tc, deterministic_traces, 0, (int)(2 * sizeof cases / sizeof cases[0]));
  tcase_add_test(tc, decay_with_reset_bias);
  tcase_add_test(tc, stochastic_mean_update);
  tcase_add_loop_test(tc, threads_bit_identical, 0, 3);
  suite_add_tcase(s, tc);
  return s;
}
