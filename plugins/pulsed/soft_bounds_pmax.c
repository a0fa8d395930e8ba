/* SoftBoundsPmaxDevice (SPEC.md §4.6): SoftBounds parameterised by the
 * number of pulses p_max and the relative step alpha over the range
 * [range_min, range_max].  w_min, w_max, dw_min and up_down are derived,
 * not set (they are not in this schema):
 *   B = (range_max - range_min) / (1 - exp(-p_max alpha)),
 *   w_min = range_min, w_max = range_min + B, dw_min = B alpha,
 *   up_down = 1 + 2 range_min / B.
 * Everything else is SoftBoundsDevice (pulse by pulse). */
#include <math.h>
#include <stdio.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "SoftBoundsPmaxDevice"

typedef struct sbp_params {
  rpu__pulsed_params c;
  int mult_noise, reverse_up, reverse_down;
  double reverse_offset;
  int p_max;
  double alpha, range_min, range_max;
} sbp_params;

static int sbp_check(const void *params, const char **param, char *msg,
                     size_t msg_len);
static int sbp_create(void **state, const rpu_device_init *init,
                      rpu_weights w);
static void sbp_derive(rpu__pulsed_params *c, const void *params);
static int sbp_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double sbp_granularity(const void *params);

static const rpu_param_desc sbp_schema[] = {
    RPU_PARAM_DEF_INT("p_max", sbp_params, p_max, 1000, 1, 2147483647,
                      "pulses",
                      "number of pulses that sweep the range (sets w_max, "
                      "dw_min, up_down)"),
    RPU_PARAM_DEF_REAL("alpha", sbp_params, alpha, 0.0005, 0.0, INFINITY,
                       "relative", "step size relative to the span B (> 0)"),
    RPU_PARAM_DEF_REAL("range_min", sbp_params, range_min, -1.0, -INFINITY,
                       0.0, "weight", "lower end of the range; = w_min"),
    RPU_PARAM_DEF_REAL("range_max", sbp_params, range_max, 1.0, 0.0, INFINITY,
                       "weight", "upper end of the range (> range_min)"),
    RPU__PULSED_BASE_PARAMS(sbp_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(sbp_params),
    RPU_PARAM_DEF_BOOL("mult_noise", sbp_params, mult_noise, 1,
                       "cycle-to-cycle noise multiplies the whole step "
                       "(else only dw_min)"),
    RPU_PARAM_DEF_BOOL("reverse_up", sbp_params, reverse_up, 0,
                       "up step grows towards b_max; needs mult_noise"),
    RPU_PARAM_DEF_BOOL("reverse_down", sbp_params, reverse_down, 0,
                       "down step grows towards b_min; needs mult_noise"),
    RPU_PARAM_DEF_REAL("reverse_offset", sbp_params, reverse_offset, 0.01,
                       0.0, INFINITY, "weight",
                       "offset of the reversed reference from the bound"),
};

static const rpu_device_vtable sbp_vtable = RPU__PULSED_VTABLE_DENSE(
    sbp_create, sbp_granularity, rpu__linear_step_pulse_row,
    rpu__linear_step_pulse_row_dense);

static const rpu__pulsed_model sbp_model = {
    MODEL,      RPU__PM_WRITE_NOISE, 2, sizeof(sbp_params), sbp_check,
    sbp_derive, sbp_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__soft_bounds_pmax_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "soft bounds set by p_max pulses over [range_min, range_max] (SPEC 4.6); "
    "pulse by pulse",
    RPU_MODEL_PARAMS(sbp_schema, sbp_params),
    sbp_check,
    &sbp_vtable,
};

static int sbp_check(const void *params, const char **param, char *msg,
                     size_t msg_len) {
  const sbp_params *p = params;
  if (!(p->alpha > 0)) {
    *param = "alpha";
    snprintf(msg, msg_len, "%g must be greater than 0", p->alpha);
    return RPU_ERANGE;
  }
  if (!(p->range_max > p->range_min)) {
    *param = "range_max";
    snprintf(msg, msg_len, "%g must be greater than range_min %g",
             p->range_max, p->range_min);
    return RPU_ECONFIG;
  }
  rpu__pulsed_params c = p->c;
  sbp_derive(&c, p);
  int rc = rpu__pulsed_check_common(&c, param, msg, msg_len);
  if (rc < 0) return rc;
  return rpu__linear_step_check_reverse(p->mult_noise, p->reverse_up,
                                        p->reverse_down, param, msg, msg_len);
}

static int sbp_create(void **state, const rpu_device_init *init,
                      rpu_weights w) {
  return rpu__pulsed_create(state, &sbp_model, init, w);
}

static void sbp_derive(rpu__pulsed_params *c, const void *params) {
  const sbp_params *p = params;
  const double B = (p->range_max - p->range_min) /
                   (1.0 - exp(-(double)p->p_max * p->alpha));
  c->w_min = p->range_min;
  c->w_max = p->range_min + B;
  c->dw_min = B * p->alpha;
  c->up_down = 1.0 + 2.0 * p->range_min / B;
}

static int sbp_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const sbp_params *p = s->mp;
  rpu__ls_cfg g = rpu__soft_bounds_cfg(p->mult_noise, p->reverse_up,
                                       p->reverse_down, p->reverse_offset);
  return rpu__linear_step_setup(s, &g, rng);
}

/* SPEC.md §4.3: g = dw_min, here the derived B alpha. */
static double sbp_granularity(const void *params) {
  rpu__pulsed_params c = ((const sbp_params *)params)->c;
  sbp_derive(&c, params);
  return c.dw_min;
}
