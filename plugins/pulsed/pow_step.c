/* PowStepDevice (SPEC.md §4.6): the step follows a power of the distance
 * to the bound.  With R = b_max - b_min (no update if R = 0):
 *   up   w += dw_up ((b_max - w) / R)^gamma_up (1 + dw_min_std xi),
 *   down w -= dw_down ((w - b_min) / R)^gamma_down (1 + dw_min_std xi),
 * then clip.  Per-element exponents gamma_up/down = (bias + gain +/- r)
 * pow_gamma with gain = 1 + pow_gamma_dtod xi, r = pow_up_down_dtod xi and
 * the up/down bias convention of §4.2 applied to pow_up_down.  Also the
 * pulse kernel of PowStepReferenceDevice.  Pulse by pulse. */
#include <math.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "PowStepDevice"

typedef struct ps_params {
  rpu__pulsed_params c;
  double pow_gamma, pow_gamma_dtod, pow_up_down, pow_up_down_dtod;
} ps_params;

static int ps_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int ps_create(void **state, const rpu_device_init *init, rpu_weights w);
static int ps_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double ps_granularity(const void *params);

static const rpu_param_desc ps_schema[] = {
    RPU__PULSED_BOUND_PARAMS(ps_params),
    RPU__PULSED_BASE_PARAMS(ps_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(ps_params),
    RPU_PARAM_DEF_REAL("pow_gamma", ps_params, pow_gamma, 1.0, 0.0, INFINITY,
                       "", "exponent of the distance to the bound"),
    RPU_PARAM_DEF_REAL("pow_gamma_dtod", ps_params, pow_gamma_dtod, 0.1, 0.0,
                       INFINITY, "relative",
                       "device-to-device spread of the exponent"),
    RPU_PARAM_DEF_REAL("pow_up_down", ps_params, pow_up_down, 0.0, -1.0, 1.0,
                       "relative",
                       "up/down asymmetry of the exponent (> 0: smaller "
                       "down exponent)"),
    RPU_PARAM_DEF_REAL("pow_up_down_dtod", ps_params, pow_up_down_dtod, 0.0,
                       0.0, INFINITY, "relative",
                       "device-to-device spread of the exponent asymmetry"),
};

static const rpu_device_vtable ps_vtable =
    RPU__PULSED_VTABLE(ps_create, ps_granularity, rpu__pow_step_pulse_row);

static const rpu__pulsed_model ps_model = {
    MODEL, RPU__PM_WRITE_NOISE, 2, sizeof(ps_params), ps_check, NULL, ps_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__pow_step_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "step a power of the distance to the bound (SPEC 4.6); pulse by pulse",
    RPU_MODEL_PARAMS(ps_schema, ps_params),
    ps_check,
    &ps_vtable,
};

/* Exponents: one bulk draw of n normals for the gain and one for r, each
 * only if its spread is > 0. */
int rpu__pow_step_setup(rpu__pulsed_state *s, const rpu__pow_cfg *g,
                        rpu_rng_cursor *rng) {
  float *gu = s->extra[0], *gd = s->extra[1];
  const int dg = g->pow_gamma_dtod > 0, dr = g->pow_up_down_dtod > 0;
  if (dg) rpu__pulsed_draw_normals(rng, gu, s->n);
  if (dr) rpu__pulsed_draw_normals(rng, gd, s->n);
  const double up_bias = g->pow_up_down < 0 ? g->pow_up_down : 0.0;
  const double down_bias = g->pow_up_down > 0 ? -g->pow_up_down : 0.0;
  for (size_t k = 0; k < s->n; k++) {
    double gain = dg ? 1.0 + g->pow_gamma_dtod * gu[k] : 1.0;
    double r = dr ? g->pow_up_down_dtod * gd[k] : 0.0;
    double up = (up_bias + gain + r) * g->pow_gamma;
    double down = (down_bias + gain - r) * g->pow_gamma;
    if (s->p.enforce_consistency) {
      up = fabs(up);
      down = fabs(down);
    }
    gu[k] = (float)up;
    gd[k] = (float)down;
  }
  return 0;
}

/* base^gamma for base in [0, 1]; 0 at the bound (also for gamma <= 0,
 * which only a spread without enforce_consistency can produce), and the
 * common exponents without powf. */
static inline float pow_of(float base, float gamma) {
  if (!(base > 0)) return 0.0f;
  if (gamma == 1.0f) return base;
  if (gamma == 2.0f) return base * base;
  return powf(base, gamma);
}

/* One pulse: up x += dw_up ((b_max - x)/R)^g_up (1 + sig xi), down
 * x -= dw_down ((x - b_min)/R)^g_down (1 + sig xi); no change if R = 0. */
static inline float ps_pulse(const rpu__pulsed_state *s, size_t i, int32_t c,
                             float x, float xi) {
  const float lo = s->b_min[i], hi = s->b_max[i], R = hi - lo;
  if (!(R > 0)) return x;
  const float dist = rpu__select_up(c, hi - x, x - lo);
  const float g = rpu__select_up(c, s->extra[0][i], s->extra[1][i]);
  const float step = rpu__signed_step(c, s->dw_up[i], s->dw_down[i]);
  x += step * pow_of(dist / R, g) * (1.0f + s->dw_std * xi);
  return rpu__clampf(x, lo, hi);
}

void rpu__pow_step_pulse_row(void *state, float *w_row, int row,
                             const int *cols, const int32_t *counts, int n,
                             rpu_rng_cursor *rng) {
  rpu__pulse_elements(state, w_row, row, cols, counts, n, rng, ps_pulse);
}

double rpu__pow_step_granularity_of(const rpu__pulsed_params *c,
                                    double pow_gamma) {
  return c->dw_min * pow(0.5, pow_gamma);
}

static int ps_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  return rpu__pulsed_check_common(&((const ps_params *)params)->c, param, msg,
                                  msg_len);
}

static int ps_create(void **state, const rpu_device_init *init,
                     rpu_weights w) {
  return rpu__pulsed_create(state, &ps_model, init, w);
}

static int ps_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const ps_params *p = s->mp;
  rpu__pow_cfg g = {p->pow_gamma, p->pow_gamma_dtod, p->pow_up_down,
                    p->pow_up_down_dtod};
  return rpu__pow_step_setup(s, &g, rng);
}

/* SPEC.md §4.3: g = dw_min 0.5^pow_gamma. */
static double ps_granularity(const void *params) {
  const ps_params *p = params;
  return rpu__pow_step_granularity_of(&p->c, p->pow_gamma);
}
