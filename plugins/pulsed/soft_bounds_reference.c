/* SoftBoundsReferenceDevice (SPEC.md §4.6): a soft-bounds device whose
 * physical value v = w + rho is read against a reference rho; the weight
 * is w = v - rho.  Construction (after the common sampling): where the
 * bounds straddle 0 the slopes get their own spread,
 *   k_down = -dw_down / b_min |1 + slope_down_dtod xi|,
 *   k_up = dw_up / b_max |1 + slope_up_dtod xi|,
 *   b_max = dw_up / k_up, b_min = -dw_down / k_down;
 * rho = reference_mean + reference_std xi, and with
 * subtract_symmetry_point the symmetry point
 *   w* = (dw_up - dw_down) / (dw_up / b_max - dw_down / b_min)
 * is added to rho and to the reset bias.  A pulse on v:
 *   down a = v / b_min (0 if b_min >= 0), up a = v / b_max (0 if b_max <= 0),
 *   mult_noise: v -/+= dw (1 - a)(1 + dw_min_std xi),
 *   additive:   v -/+= dw (1 - a + dw_min_std xi),
 * clipped to the bounds.  Pulse by pulse.
 *
 * Bounds and reset bias are sampled in v and then stored in w (b - rho,
 * pulsed_common.h), so decay, diffusion, reset and clip act on the
 * physical value as the equations intend: decay relaxes v towards b_reset
 * (the symmetry point when it is subtracted, i.e. w towards
 * reset - reference_mean).  aihwkit applies those on w with the v-space
 * numbers; the two agree whenever rho = 0 (the default). */
#include <math.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "SoftBoundsReferenceDevice"

typedef struct sbr_params {
  rpu__pulsed_params c;
  int mult_noise;
  double slope_up_dtod, slope_down_dtod, reference_mean, reference_std;
  int subtract_symmetry_point;
} sbr_params;

static int sbr_check(const void *params, const char **param, char *msg,
                     size_t msg_len);
static int sbr_create(void **state, const rpu_device_init *init,
                      rpu_weights w);
static int sbr_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double sbr_granularity(const void *params);
static void sbr_pulse_row(void *state, float *w_row, int row, const int *cols,
                          const int32_t *counts, int n, rpu_rng_cursor *rng);

static const rpu_param_desc sbr_schema[] = {
    RPU__PULSED_BOUND_PARAMS(sbr_params),
    RPU__PULSED_BASE_PARAMS(sbr_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(sbr_params),
    RPU_PARAM_DEF_BOOL("mult_noise", sbr_params, mult_noise, 0,
                       "cycle-to-cycle noise multiplies the step (else it "
                       "is added in units of dw_min)"),
    RPU_PARAM_DEF_REAL("slope_up_dtod", sbr_params, slope_up_dtod, 0.0, 0.0,
                       INFINITY, "relative",
                       "device-to-device spread of the up slope"),
    RPU_PARAM_DEF_REAL("slope_down_dtod", sbr_params, slope_down_dtod, 0.0,
                       0.0, INFINITY, "relative",
                       "device-to-device spread of the down slope"),
    RPU_PARAM_DEF_REAL("reference_mean", sbr_params, reference_mean, 0.0,
                       -INFINITY, INFINITY, "weight",
                       "mean of the reference rho subtracted from the "
                       "device value"),
    RPU_PARAM_DEF_REAL("reference_std", sbr_params, reference_std, 0.0, 0.0,
                       INFINITY, "weight",
                       "device-to-device spread of the reference"),
    RPU_PARAM_DEF_BOOL("subtract_symmetry_point", sbr_params,
                       subtract_symmetry_point, 0,
                       "add each device's symmetry point to its reference "
                       "and reset bias"),
};

static const rpu_device_vtable sbr_vtable =
    RPU__PULSED_VTABLE(sbr_create, sbr_granularity, sbr_pulse_row);

static const rpu__pulsed_model sbr_model = {
    MODEL, RPU__PM_WRITE_NOISE, 1, sizeof(sbr_params), sbr_check, NULL,
    sbr_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__soft_bounds_reference_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "soft bounds read against a reference, optional symmetry-point "
    "subtraction (SPEC 4.6); pulse by pulse",
    RPU_MODEL_PARAMS(sbr_schema, sbr_params),
    sbr_check,
    &sbr_vtable,
};

static int sbr_check(const void *params, const char **param, char *msg,
                     size_t msg_len) {
  const sbr_params *p = params;
  return rpu__pulsed_check_common(&p->c, param, msg, msg_len);
}

static int sbr_create(void **state, const rpu_device_init *init,
                      rpu_weights w) {
  return rpu__pulsed_create(state, &sbr_model, init, w);
}

/* Slope spread per row (2 * cols normals if any spread), then rho (one
 * bulk draw of n if reference_std > 0). */
static int sbr_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const sbr_params *p = s->mp;
  const int du = p->slope_up_dtod > 0, dd = p->slope_down_dtod > 0;
  float *zu = s->scratch, *zd = s->scratch + s->cols;
  if (du || dd)
    for (int i = 0; i < s->rows; i++) {
      if (du) rpu__pulsed_draw_normals(rng, zu, (size_t)s->cols);
      if (dd) rpu__pulsed_draw_normals(rng, zd, (size_t)s->cols);
      for (int j = 0; j < s->cols; j++) {
        size_t k = (size_t)i * (size_t)s->cols + (size_t)j;
        if (!(s->b_max[k] > 0 && s->b_min[k] < 0)) continue;
        /* b_max = dw_up / k_up = b_max / |1 + dtod xi| (same for b_min),
         * written so a zero step cannot produce 0/0 */
        float fu = du ? fabsf(1.0f + (float)p->slope_up_dtod * zu[j]) : 1.0f;
        float fd = dd ? fabsf(1.0f + (float)p->slope_down_dtod * zd[j]) : 1.0f;
        if (fu > 0) s->b_max[k] /= fu;
        if (fd > 0) s->b_min[k] /= fd;
      }
    }
  float *rho = s->extra[0];
  if (p->reference_std > 0) rpu__pulsed_draw_normals(rng, rho, s->n);
  for (size_t k = 0; k < s->n; k++) {
    double r = p->reference_mean +
               (p->reference_std > 0 ? p->reference_std * rho[k] : 0.0);
    if (p->subtract_symmetry_point && s->b_max[k] > 0 && s->b_min[k] < 0) {
      double up = s->dw_up[k], down = s->dw_down[k];
      double den = up / s->b_max[k] - down / s->b_min[k];
      double sp = (up - down) / den;
      if (den != 0 && isfinite(sp)) {
        r += sp;
        s->reset_bias[k] += (float)sp;
      }
    }
    rho[k] = (float)r;
  }
  rpu__pulsed_to_weight_space(s, rho);
  s->flag[0] = p->mult_noise;
  return 0;
}

/* SPEC.md §4.3: g = dw_min. */
static double sbr_granularity(const void *params) {
  return ((const sbr_params *)params)->c.dw_min;
}

/* One pulse on v = x + rho (see the top of the file); the bounds are
 * stored in w, so the v-space bound is b + rho. */
static inline float sbr_pulse(const rpu__pulsed_state *s, size_t i,
                              int32_t c, float x, float xi) {
  const float r = s->extra[0][i], lo = s->b_min[i], hi = s->b_max[i];
  const float v = x + r;
  /* the bound the step vanishes at, in v: b_max for up, b_min for down;
   * a = v / bound only while it lies on the far side of 0 */
  const float bv = rpu__select_up(c, hi + r, lo + r);
  const float side = rpu__select_up(c, bv, -bv);
  const float a = side > 0 ? v / bv : 0.0f;
  const float step = rpu__signed_step(c, s->dw_up[i], s->dw_down[i]);
  const float sig = s->dw_std;
  const float dv = s->flag[0] ? step * (1.0f - a) * (1.0f + sig * xi)
                              : step * (1.0f - a + sig * xi);
  return rpu__clampf(v + dv - r, lo, hi);
}

static void sbr_pulse_row(void *state, float *w_row, int row, const int *cols,
                          const int32_t *counts, int n, rpu_rng_cursor *rng) {
  rpu__pulse_elements(state, w_row, row, cols, counts, n, rng, sbr_pulse);
}
