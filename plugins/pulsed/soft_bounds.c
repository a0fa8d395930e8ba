/* SoftBoundsDevice (SPEC.md §4.6): a LinearStep device with gamma = 1, no
 * gamma spread and each device's own bounds as reference, so the step
 * vanishes at the bound: up dw_up (1 - w / b_max), down
 * dw_down (1 - w / b_min), times (1 + dw_min_std xi) with mult_noise.
 * Noise-free from 0 with up pulses w_n = b_max (1 - (1 - dw/b_max)^n).
 * The pulse kernel is LinearStep's (linear_step.c): pulse by pulse. */
#include <math.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "SoftBoundsDevice"

typedef struct sb_params {
  rpu__pulsed_params c;
  int mult_noise, reverse_up, reverse_down;
  double reverse_offset;
} sb_params;

static int sb_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int sb_create(void **state, const rpu_device_init *init, rpu_weights w);
static int sb_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double sb_granularity(const void *params);

static const rpu_param_desc sb_schema[] = {
    RPU__PULSED_BOUND_PARAMS(sb_params),
    RPU__PULSED_BASE_PARAMS(sb_params),
    RPU__PULSED_WRITE_NOISE_PARAMS(sb_params),
    RPU_PARAM_DEF_BOOL("mult_noise", sb_params, mult_noise, 1,
                       "cycle-to-cycle noise multiplies the whole step "
                       "(else only dw_min)"),
    RPU_PARAM_DEF_BOOL("reverse_up", sb_params, reverse_up, 0,
                       "up step grows towards b_max (reference b_min - "
                       "reverse_offset); needs mult_noise"),
    RPU_PARAM_DEF_BOOL("reverse_down", sb_params, reverse_down, 0,
                       "down step grows towards b_min (reference b_max + "
                       "reverse_offset); needs mult_noise"),
    RPU_PARAM_DEF_REAL("reverse_offset", sb_params, reverse_offset, 0.01, 0.0,
                       INFINITY, "weight",
                       "offset of the reversed reference from the bound"),
};

static const rpu_device_vtable sb_vtable = RPU__PULSED_VTABLE_DENSE(
    sb_create, sb_granularity, rpu__linear_step_pulse_row,
    rpu__linear_step_pulse_row_dense);

static const rpu__pulsed_model sb_model = {
    MODEL, RPU__PM_WRITE_NOISE, 2, sizeof(sb_params), sb_check, NULL, sb_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__soft_bounds_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "soft bounds: step dw (1 - w / bound) vanishing at the bounds (SPEC "
    "4.6); pulse by pulse",
    RPU_MODEL_PARAMS(sb_schema, sb_params),
    sb_check,
    &sb_vtable,
};

rpu__ls_cfg rpu__soft_bounds_cfg(int mult_noise, int reverse_up,
                                 int reverse_down, double reverse_offset) {
  rpu__ls_cfg g = {1.0,        1.0,        0.0,          0.0,
                   0,          0,          mult_noise,   reverse_up,
                   reverse_down, reverse_offset};
  return g;
}

static int sb_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  const sb_params *p = params;
  int rc = rpu__pulsed_check_common(&p->c, param, msg, msg_len);
  if (rc < 0) return rc;
  return rpu__linear_step_check_reverse(p->mult_noise, p->reverse_up,
                                        p->reverse_down, param, msg, msg_len);
}

static int sb_create(void **state, const rpu_device_init *init,
                     rpu_weights w) {
  return rpu__pulsed_create(state, &sb_model, init, w);
}

static int sb_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const sb_params *p = s->mp;
  rpu__ls_cfg g = rpu__soft_bounds_cfg(p->mult_noise, p->reverse_up,
                                       p->reverse_down, p->reverse_offset);
  return rpu__linear_step_setup(s, &g, rng);
}

/* SPEC.md §4.3: g = dw_min. */
static double sb_granularity(const void *params) {
  return ((const sb_params *)params)->c.dw_min;
}
