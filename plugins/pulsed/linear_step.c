/* LinearStepDevice (SPEC.md §4.6): the step depends linearly on the
 * weight, dw = dw_up/down (1 - gamma w / r), with per-element slopes
 * s_up = -gamma_up dw_up / r_up, s_down = -gamma_down dw_down / r_down
 * sampled at construction.  Also the pulse kernel of SoftBoundsDevice and
 * SoftBoundsPmaxDevice (gamma = 1, device bounds as reference).
 *   mult_noise:  up w += (s_up w + dw_up)(1 + dw_min_std xi)
 *                down w -= (s_down w + dw_down)(1 + dw_min_std xi)
 *   additive:    up w += s_up w + dw_up (1 + dw_min_std xi), down alike
 * then clip to the bounds; with write noise the apparent weight is redrawn.
 * The step depends on the weight and the noise multiplies it, so several
 * pulses do not add up to one closed-form draw: pulse by pulse always. */
#include <math.h>
#include <stdio.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "LinearStepDevice"

typedef struct ls_params {
  rpu__pulsed_params c;
  double gamma_up, gamma_down, gamma_up_dtod, gamma_down_dtod;
  int allow_increasing, mean_bound_reference, mult_noise;
  int reverse_up, reverse_down;
  double reverse_offset;
} ls_params;

static int ls_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int ls_create(void **state, const rpu_device_init *init, rpu_weights w);
static int ls_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double ls_granularity(const void *params);

static const rpu_param_desc ls_schema[] = {
    RPU__PULSED_BOUND_PARAMS(ls_params),
    RPU__PULSED_BASE_PARAMS(ls_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(ls_params),
    RPU_PARAM_DEF_REAL("gamma_up", ls_params, gamma_up, 0.0, -INFINITY,
                       INFINITY, "",
                       "relative decrease of the up step towards w_max "
                       "(0: constant step)"),
    RPU_PARAM_DEF_REAL("gamma_down", ls_params, gamma_down, 0.0, -INFINITY,
                       INFINITY, "",
                       "relative decrease of the down step towards w_min"),
    RPU_PARAM_DEF_REAL("gamma_up_dtod", ls_params, gamma_up_dtod, 0.05, 0.0,
                       INFINITY, "", "device-to-device spread of gamma_up"),
    RPU_PARAM_DEF_REAL("gamma_down_dtod", ls_params, gamma_down_dtod, 0.05,
                       0.0, INFINITY, "",
                       "device-to-device spread of gamma_down"),
    RPU_PARAM_DEF_BOOL("allow_increasing", ls_params, allow_increasing, 0,
                       "allow sampled gammas < 0 (steps growing towards the "
                       "bound)"),
    RPU_PARAM_DEF_BOOL("mean_bound_reference", ls_params, mean_bound_reference,
                       1,
                       "slopes relative to the mean bounds w_max/w_min "
                       "instead of each device's bounds"),
    RPU_PARAM_DEF_BOOL("mult_noise", ls_params, mult_noise, 1,
                       "cycle-to-cycle noise multiplies the whole step "
                       "(else only dw_min)"),
    RPU_PARAM_DEF_BOOL("reverse_up", ls_params, reverse_up, 0,
                       "up step grows towards w_max (reference w_min - "
                       "reverse_offset); needs mult_noise"),
    RPU_PARAM_DEF_BOOL("reverse_down", ls_params, reverse_down, 0,
                       "down step grows towards w_min (reference w_max + "
                       "reverse_offset); needs mult_noise"),
    RPU_PARAM_DEF_REAL("reverse_offset", ls_params, reverse_offset, 0.01, 0.0,
                       INFINITY, "weight",
                       "offset of the reversed reference from the bound"),
};

static const rpu_device_vtable ls_vtable = RPU__PULSED_VTABLE(
    ls_create, ls_granularity, rpu__linear_step_pulse_row);

static const rpu__pulsed_model ls_model = {
    MODEL, RPU__PM_WRITE_NOISE, 2, sizeof(ls_params), ls_check, NULL, ls_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__linear_step_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "step linear in the weight, dw (1 - gamma w / bound) (SPEC 4.6); pulse "
    "by pulse",
    RPU_MODEL_PARAMS(ls_schema, ls_params),
    ls_check,
    &ls_vtable,
};

int rpu__linear_step_check_reverse(int mult_noise, int reverse_up,
                                   int reverse_down, const char **param,
                                   char *msg, size_t msg_len) {
  if ((reverse_up || reverse_down) && !mult_noise) {
    *param = reverse_up ? "reverse_up" : "reverse_down";
    snprintf(msg, msg_len,
             "reverse_up / reverse_down need mult_noise = true (SPEC 4.6)");
    return RPU_ECONFIG;
  }
  return 0;
}

/* SPEC.md §4.6 LinearStep construction: gamma = mean + dtod xi (|.| unless
 * allow_increasing), reference r from the mean or the device bounds
 * (reversed: the opposite bound -/+ offset), slope = -gamma dw / r (0 if
 * r = 0).  One bulk draw of n normals per gamma with a spread. */
int rpu__linear_step_setup(rpu__pulsed_state *s, const rpu__ls_cfg *g,
                           rpu_rng_cursor *rng) {
  float *su = s->extra[0], *sd = s->extra[1];
  if (g->gamma_up_dtod > 0) rpu__pulsed_draw_normals(rng, su, s->n);
  if (g->gamma_down_dtod > 0) rpu__pulsed_draw_normals(rng, sd, s->n);
  const double mean_up =
      g->reverse_up ? s->p.w_min - g->reverse_offset : s->p.w_max;
  const double mean_down =
      g->reverse_down ? s->p.w_max + g->reverse_offset : s->p.w_min;
  for (size_t k = 0; k < s->n; k++) {
    double gu = g->gamma_up + (g->gamma_up_dtod > 0 ? g->gamma_up_dtod * su[k] : 0);
    double gd = g->gamma_down +
                (g->gamma_down_dtod > 0 ? g->gamma_down_dtod * sd[k] : 0);
    if (!g->allow_increasing) {
      gu = fabs(gu);
      gd = fabs(gd);
    }
    double ru = mean_up, rd = mean_down;
    if (!g->mean_bound_reference) {
      ru = g->reverse_up ? (double)s->b_min[k] - g->reverse_offset : s->b_max[k];
      rd = g->reverse_down ? (double)s->b_max[k] + g->reverse_offset
                           : s->b_min[k];
    }
    su[k] = ru != 0 ? (float)(-gu * s->dw_up[k] / ru) : 0.0f;
    sd[k] = rd != 0 ? (float)(-gd * s->dw_down[k] / rd) : 0.0f;
  }
  s->flag[0] = g->mult_noise;
  return 0;
}

/* One pulse (SPEC.md §4.6): up x += s_up x + dw_up, down x -= s_down x +
 * dw_down, i.e. x + a x + b with signed a, b; written as x (1 + a f) + b f
 * (mult_noise, f = 1 + dw_min_std xi) or x (1 + a) + b f so that one
 * multiply-add depends on the previous pulse. */
static inline float ls_pulse(const rpu__pulsed_state *s, size_t i, int32_t c,
                             float x, float xi) {
  const float a = rpu__signed_step(c, s->extra[0][i], s->extra[1][i]);
  const float b = rpu__signed_step(c, s->dw_up[i], s->dw_down[i]);
  const float f = 1.0f + s->dw_std * xi;
  x = s->flag[0] ? x * (1.0f + a * f) + b * f : x * (1.0f + a) + b * f;
  return rpu__clampf(x, s->b_min[i], s->b_max[i]);
}

void rpu__linear_step_pulse_row(void *state, float *w_row, int row,
                                const int *cols, const int32_t *counts, int n,
                                rpu_rng_cursor *rng) {
  rpu__pulse_elements(state, w_row, row, cols, counts, n, rng, ls_pulse);
}

static int ls_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  const ls_params *p = params;
  int rc = rpu__pulsed_check_common(&p->c, param, msg, msg_len);
  if (rc < 0) return rc;
  return rpu__linear_step_check_reverse(p->mult_noise, p->reverse_up,
                                        p->reverse_down, param, msg, msg_len);
}

static int ls_create(void **state, const rpu_device_init *init,
                     rpu_weights w) {
  return rpu__pulsed_create(state, &ls_model, init, w);
}

static int ls_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const ls_params *p = s->mp;
  rpu__ls_cfg g = {p->gamma_up,         p->gamma_down,
                   p->gamma_up_dtod,    p->gamma_down_dtod,
                   p->allow_increasing, p->mean_bound_reference,
                   p->mult_noise,       p->reverse_up,
                   p->reverse_down,     p->reverse_offset};
  return rpu__linear_step_setup(s, &g, rng);
}

/* SPEC.md §4.3: g = dw_min. */
static double ls_granularity(const void *params) {
  return ((const ls_params *)params)->c.dw_min;
}
