/* PiecewiseStepDevice (SPEC.md §4.6): the step is dw_up/down times a
 * factor interpolated linearly between nodes spread evenly over
 * [b_min, b_max]: with m = len - 1 sections,
 *   t = max((w - b_min) / (b_max - b_min) m, 0), k = min(floor(t), m - 1),
 *   q = min(t - k, 1), factor = (1 - q) node[k] + q node[k + 1];
 * if m <= 0 or b_max <= b_min the factor is node[0].  Up pulses use
 * piecewise_up and add, down pulses piecewise_down and subtract, times
 * (1 + dw_min_std xi); then clip.  Pulse by pulse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "PiecewiseStepDevice"

typedef struct pw_params {
  rpu__pulsed_params c;
  rpu_real_array piecewise_up, piecewise_down;
} pw_params;

static const double pw_default_nodes[] = {1.0};

static int pw_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int pw_create(void **state, const rpu_device_init *init, rpu_weights w);
static int pw_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double pw_granularity(const void *params);
static void pw_pulse_row(void *state, float *w_row, int row, const int *cols,
                         const int32_t *counts, int n, rpu_rng_cursor *rng);

static const rpu_param_desc pw_schema[] = {
    RPU__PULSED_BOUND_PARAMS(pw_params),
    RPU__PULSED_BASE_PARAMS(pw_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(pw_params),
    RPU_PARAM_DEF_REAL_ARRAY("piecewise_up", pw_params, piecewise_up,
                             pw_default_nodes, 1, 0.0, INFINITY, "dw_min",
                             "up-step factors at nodes spread evenly from "
                             "b_min to b_max"),
    RPU_PARAM_DEF_REAL_ARRAY("piecewise_down", pw_params, piecewise_down,
                             pw_default_nodes, 1, 0.0, INFINITY, "dw_min",
                             "down-step factors at the same nodes (same "
                             "length as piecewise_up)"),
};

static const rpu_device_vtable pw_vtable =
    RPU__PULSED_VTABLE(pw_create, pw_granularity, pw_pulse_row);

static const rpu__pulsed_model pw_model = {
    MODEL, RPU__PM_WRITE_NOISE, 0, sizeof(pw_params), pw_check, NULL, pw_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__piecewise_step_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "step interpolated between user-given nodes over the weight range (SPEC "
    "4.6); pulse by pulse",
    RPU_MODEL_PARAMS(pw_schema, pw_params),
    pw_check,
    &pw_vtable,
};

static int pw_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  const pw_params *p = params;
  int rc = rpu__pulsed_check_common(&p->c, param, msg, msg_len);
  if (rc < 0) return rc;
  if (p->piecewise_up.n == 0 || p->piecewise_up.v == NULL) {
    *param = "piecewise_up";
    snprintf(msg, msg_len, "needs at least one node");
    return RPU_ECONFIG;
  }
  if (p->piecewise_down.n != p->piecewise_up.n ||
      p->piecewise_down.v == NULL) {
    *param = "piecewise_down";
    snprintf(msg, msg_len,
             "has %zu nodes but piecewise_up has %zu; both need the same "
             "length (SPEC 4.6)",
             p->piecewise_down.n, p->piecewise_up.n);
    return RPU_ECONFIG;
  }
  if (p->piecewise_up.n > 1000000) {
    *param = "piecewise_up";
    snprintf(msg, msg_len, "%zu nodes is more than the 1000000 supported",
             p->piecewise_up.n);
    return RPU_ERANGE;
  }
  return 0;
}

static int pw_create(void **state, const rpu_device_init *init,
                     rpu_weights w) {
  return rpu__pulsed_create(state, &pw_model, init, w);
}

/* The node tables: aux = up nodes then down nodes, flag[0] = their length
 * (the config's arrays are copied, so the device outlives nothing). */
static int pw_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const pw_params *p = s->mp;
  (void)rng;
  const size_t len = p->piecewise_up.n;
  s->aux = malloc(2 * len * sizeof(float));
  if (s->aux == NULL)
    return rpu_error_set(RPU_ENOMEM, MODEL, "%s: out of memory", MODEL);
  for (size_t q = 0; q < len; q++) {
    s->aux[q] = (float)p->piecewise_up.v[q];
    s->aux[len + q] = (float)p->piecewise_down.v[q];
  }
  s->flag[0] = (int)len;
  return 0;
}

/* SPEC.md §4.3: g = dw_min piecewise_up[len / 2] (the middle node). */
static double pw_granularity(const void *params) {
  const pw_params *p = params;
  if (p->piecewise_up.n == 0 || p->piecewise_up.v == NULL) return p->c.dw_min;
  return p->c.dw_min * p->piecewise_up.v[p->piecewise_up.n / 2];
}

/* One pulse (see the top of the file); aux holds the up then the down
 * nodes, flag[0] their number. */
static inline float pw_pulse(const rpu__pulsed_state *s, size_t i, int32_t c,
                             float x, float xi) {
  const int len = s->flag[0], m_sec = len - 1;
  const float *node = c < 0 ? s->aux : s->aux + len;
  const float lo = s->b_min[i], hi = s->b_max[i];
  float f = node[0];
  if (m_sec > 0 && hi > lo) {
    const float tt = (x - lo) / (hi - lo) * (float)m_sec;
    int kk;
    float q;
    if (!(tt > 0)) {
      kk = 0;
      q = 0.0f;
    } else if (tt >= (float)m_sec) {
      kk = m_sec - 1;
      q = 1.0f;
    } else {
      kk = (int)tt;
      if (kk > m_sec - 1) kk = m_sec - 1;
      q = tt - (float)kk;
      if (q > 1.0f) q = 1.0f;
    }
    f = (1.0f - q) * node[kk] + q * node[kk + 1];
  }
  const float step = rpu__signed_step(c, s->dw_up[i], s->dw_down[i]);
  return rpu__clampf(x + step * f * (1.0f + s->dw_std * xi), lo, hi);
}

static void pw_pulse_row(void *state, float *w_row, int row, const int *cols,
                         const int32_t *counts, int n, rpu_rng_cursor *rng) {
  rpu__pulse_elements(state, w_row, row, cols, counts, n, rng, pw_pulse);
}
