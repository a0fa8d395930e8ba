/* ExpStepDevice (SPEC.md §4.6): the step shrinks exponentially towards a
 * bound.  Where b_max - b_min > 0:
 *   z = 2 a w / (b_max - b_min) + b,
 *   y_up = max(1 - A_up exp(gamma_up z), 0),
 *   y_down = max(1 - A_down exp(-gamma_down z), 0);
 * simple noise: up w += y_up (1 + dw_min_std xi) dw_up, down w -= ...;
 * with dw_min_std > 0 and dw_min_std_add or dw_min_std_slope != 0:
 *   dw = y_up dw_up or -y_down dw_down,
 *   w += dw + dw_min_std (|dw| + dw_min_std_add + dw_min_std_slope |w|) xi;
 * then clip.  Elements whose bounds coincide (b_max - b_min <= 0, e.g.
 * corrupt devices) do not move.  Pulse by pulse.
 * Granularity (SPEC.md §4.3 with the §12.3 fix): the mean of the nominal up
 * and down steps at w = 0. */
#include <math.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "ExpStepDevice"

typedef struct es_params {
  rpu__pulsed_params c;
  double A_up, A_down, gamma_up, gamma_down, a, b;
  double dw_min_std_add, dw_min_std_slope;
} es_params;

/* slots of s->k */
enum { K_A_UP, K_A_DOWN, K_G_UP, K_G_DOWN, K_B, K_ADD, K_SLOPE };

static int es_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int es_create(void **state, const rpu_device_init *init, rpu_weights w);
static int es_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double es_granularity(const void *params);
static void es_pulse_row(void *state, float *w_row, int row, const int *cols,
                         const int32_t *counts, int n, rpu_rng_cursor *rng);

static const rpu_param_desc es_schema[] = {
    RPU__PULSED_BOUND_PARAMS(es_params),
    RPU__PULSED_BASE_PARAMS(es_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(es_params),
    RPU_PARAM_DEF_REAL("A_up", es_params, A_up, 0.00081, -INFINITY, INFINITY,
                       "",
                       "amplitude of the up-step change (< 0: the step grows, "
                       "as in the ReRamES preset)"),
    RPU_PARAM_DEF_REAL("A_down", es_params, A_down, 0.36833, -INFINITY,
                       INFINITY, "", "amplitude of the down-step change"),
    RPU_PARAM_DEF_REAL("gamma_up", es_params, gamma_up, 12.44625, -INFINITY,
                       INFINITY, "", "exponent rate of the up-step change"),
    RPU_PARAM_DEF_REAL("gamma_down", es_params, gamma_down, 12.78785,
                       -INFINITY, INFINITY, "",
                       "exponent rate of the down-step change"),
    RPU_PARAM_DEF_REAL("a", es_params, a, 0.244, -INFINITY, INFINITY, "",
                       "slope of z = 2 a w / (b_max - b_min) + b"),
    RPU_PARAM_DEF_REAL("b", es_params, b, 0.2425, -INFINITY, INFINITY, "",
                       "offset of z"),
    RPU_PARAM_DEF_REAL("dw_min_std_add", es_params, dw_min_std_add, 0.0, 0.0,
                       INFINITY, "weight",
                       "additive part of the cycle-to-cycle noise"),
    RPU_PARAM_DEF_REAL("dw_min_std_slope", es_params, dw_min_std_slope, 0.0,
                       0.0, INFINITY, "",
                       "part of the cycle-to-cycle noise proportional to |w|"),
};

static const rpu_device_vtable es_vtable =
    RPU__PULSED_VTABLE(es_create, es_granularity, es_pulse_row);

static const rpu__pulsed_model es_model = {
    MODEL, RPU__PM_WRITE_NOISE, 1, sizeof(es_params), es_check, NULL, es_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__exp_step_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "step decreasing exponentially towards the bounds, ReRAM-like (SPEC "
    "4.6); pulse by pulse",
    RPU_MODEL_PARAMS(es_schema, es_params),
    es_check,
    &es_vtable,
};

static int es_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  return rpu__pulsed_check_common(&((const es_params *)params)->c, param, msg,
                                  msg_len);
}

static int es_create(void **state, const rpu_device_init *init,
                     rpu_weights w) {
  return rpu__pulsed_create(state, &es_model, init, w);
}

/* extra[0] = 2 a / (b_max - b_min) (0 where the range is empty); no
 * draws. */
static int es_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const es_params *p = s->mp;
  (void)rng;
  for (size_t k = 0; k < s->n; k++) {
    double r = (double)s->b_max[k] - s->b_min[k];
    s->extra[0][k] = r > 0 ? (float)(2.0 * p->a / r) : 0.0f;
  }
  s->k[K_A_UP] = p->A_up;
  s->k[K_A_DOWN] = p->A_down;
  s->k[K_G_UP] = p->gamma_up;
  s->k[K_G_DOWN] = p->gamma_down;
  s->k[K_B] = p->b;
  s->k[K_ADD] = p->dw_min_std_add;
  s->k[K_SLOPE] = p->dw_min_std_slope;
  s->flag[0] = p->c.dw_min_std > 0 &&
               (p->dw_min_std_add != 0 || p->dw_min_std_slope != 0);
  return 0;
}

/* SPEC.md §4.3 and §12.3: at w = 0, z = b; g is the mean of
 * y_up dw_up and y_down dw_down with the nominal steps; dw_min if that is
 * not positive.  (aihwkit uses the down value twice.) */
static double es_granularity(const void *params) {
  const es_params *p = params;
  double up, down;
  rpu__pulsed_nominal_steps(&p->c, &up, &down);
  double yu = fmax(1.0 - p->A_up * exp(p->gamma_up * p->b), 0.0);
  double yd = fmax(1.0 - p->A_down * exp(-p->gamma_down * p->b), 0.0);
  double g = 0.5 * (yu * up + yd * down);
  return g > 0 ? g : p->c.dw_min;
}

/* One pulse (see the top of the file); k[] holds the shape as doubles. */
static inline float es_pulse(const rpu__pulsed_state *s, size_t i, int32_t c,
                             float x, float xi) {
  const float lo = s->b_min[i], hi = s->b_max[i];
  if (!(hi - lo > 0)) return x;
  /* up: y = 1 - A_up e^{g_up z}; down: y = 1 - A_down e^{-g_down z} */
  const float A = rpu__select_up(c, (float)s->k[K_A_UP], (float)s->k[K_A_DOWN]);
  const float ge = rpu__signed_step(c, (float)s->k[K_G_UP], (float)s->k[K_G_DOWN]);
  const float zz = s->extra[0][i] * x + (float)s->k[K_B];
  float y = 1.0f - A * expf(ge * zz);
  y = y > 0 ? y : 0.0f;
  const float dw = y * rpu__signed_step(c, s->dw_up[i], s->dw_down[i]);
  const float sig = s->dw_std;
  if (s->flag[0]) /* complex noise */
    x += dw + sig * (fabsf(dw) + (float)s->k[K_ADD] +
                     (float)s->k[K_SLOPE] * fabsf(x)) * xi;
  else
    x += dw * (1.0f + sig * xi);
  return rpu__clampf(x, lo, hi);
}

static void es_pulse_row(void *state, float *w_row, int row, const int *cols,
                         const int32_t *counts, int n, rpu_rng_cursor *rng) {
  rpu__pulse_elements(state, w_row, row, cols, counts, n, rng, es_pulse);
}

