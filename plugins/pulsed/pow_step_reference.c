/* PowStepReferenceDevice (SPEC.md §4.6): PowStep (no write noise) whose
 * physical value v = w + rho is read against a reference
 * rho = reference_mean + reference_std xi.  With subtract_symmetry_point
 * and bounds straddling 0, the symmetry point is estimated by iterating
 *   sp <- sp - dw_down ((sp - b_min)/R)^gamma_down
 *           + dw_up ((b_max - sp)/R)^gamma_up
 * n times from 0, n = n_estimation_steps or (if <= 0)
 * min(round(10 R / min(|dw_down|, |dw_up|)), 10000), and added to rho and
 * the reset bias.
 *
 * The PowStep step depends on v only through b_max - v and v - b_min, so
 * with bounds stored in w (b - rho, pulsed_common.h) PowStep's kernel
 * computes exactly the v-space update.  Decay, reset, clip act on v as for
 * SoftBoundsReferenceDevice (see there).  Pulse by pulse.
 *
 * The estimation costs up to 2 n powers per element; it stops early, with
 * the same result, once the sequence reaches a fixed point or a 2-cycle,
 * and elements with the same parameters as the previous one reuse its
 * value (the common case without variation). */
#include <math.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "PowStepReferenceDevice"

typedef struct psr_params {
  rpu__pulsed_params c;
  double pow_gamma, pow_gamma_dtod, pow_up_down, pow_up_down_dtod;
  int subtract_symmetry_point;
  int n_estimation_steps;
  double reference_mean, reference_std;
} psr_params;

static int psr_check(const void *params, const char **param, char *msg,
                     size_t msg_len);
static int psr_create(void **state, const rpu_device_init *init,
                      rpu_weights w);
static int psr_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng);
static double psr_granularity(const void *params);
static double symmetry_point(double up, double down, double gu, double gd,
                             double bmax, double bmin, int n_steps);

static const rpu_param_desc psr_schema[] = {
    RPU__PULSED_BOUND_PARAMS(psr_params),
    RPU__PULSED_BASE_PARAMS(psr_params),
    RPU_PARAM_DEF_REAL("pow_gamma", psr_params, pow_gamma, 1.0, 0.0, INFINITY,
                       "", "exponent of the distance to the bound"),
    RPU_PARAM_DEF_REAL("pow_gamma_dtod", psr_params, pow_gamma_dtod, 0.1, 0.0,
                       INFINITY, "relative",
                       "device-to-device spread of the exponent"),
    RPU_PARAM_DEF_REAL("pow_up_down", psr_params, pow_up_down, 0.0, -1.0, 1.0,
                       "relative",
                       "up/down asymmetry of the exponent (> 0: smaller "
                       "down exponent)"),
    RPU_PARAM_DEF_REAL("pow_up_down_dtod", psr_params, pow_up_down_dtod, 0.0,
                       0.0, INFINITY, "relative",
                       "device-to-device spread of the exponent asymmetry"),
    RPU_PARAM_DEF_BOOL("subtract_symmetry_point", psr_params,
                       subtract_symmetry_point, 0,
                       "add each device's estimated symmetry point to its "
                       "reference and reset bias"),
    RPU_PARAM_DEF_INT("n_estimation_steps", psr_params, n_estimation_steps, -1,
                      -2147483647, 100000000, "pulses",
                      "iterations of the symmetry-point estimate; <= 0: "
                      "min(10 R / dw, 10000)"),
    RPU_PARAM_DEF_REAL("reference_mean", psr_params, reference_mean, 0.0,
                       -INFINITY, INFINITY, "weight",
                       "mean of the reference rho subtracted from the "
                       "device value"),
    RPU_PARAM_DEF_REAL("reference_std", psr_params, reference_std, 0.0, 0.0,
                       INFINITY, "weight",
                       "device-to-device spread of the reference"),
};

static const rpu_device_vtable psr_vtable = RPU__PULSED_VTABLE(
    psr_create, psr_granularity, rpu__pow_step_pulse_row);

static const rpu__pulsed_model psr_model = {
    MODEL, 0u, 3, sizeof(psr_params), psr_check, NULL, psr_sample,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__pow_step_reference_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "power-law step read against a reference, optional symmetry-point "
    "subtraction (SPEC 4.6); pulse by pulse",
    RPU_MODEL_PARAMS(psr_schema, psr_params),
    psr_check,
    &psr_vtable,
};

static int psr_check(const void *params, const char **param, char *msg,
                     size_t msg_len) {
  return rpu__pulsed_check_common(&((const psr_params *)params)->c, param, msg,
                                  msg_len);
}

static int psr_create(void **state, const rpu_device_init *init,
                      rpu_weights w) {
  return rpu__pulsed_create(state, &psr_model, init, w);
}

/* Exponents as PowStep, then rho (one bulk draw of n if reference_std > 0)
 * into extra[2], the symmetry points, and the move to weight space. */
static int psr_sample(rpu__pulsed_state *s, rpu_rng_cursor *rng) {
  const psr_params *p = s->mp;
  rpu__pow_cfg g = {p->pow_gamma, p->pow_gamma_dtod, p->pow_up_down,
                    p->pow_up_down_dtod};
  int rc = rpu__pow_step_setup(s, &g, rng);
  if (rc < 0) return rc;
  float *rho = s->extra[2];
  if (p->reference_std > 0) rpu__pulsed_draw_normals(rng, rho, s->n);
  float last[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
  double last_sp = 0.0;
  for (size_t k = 0; k < s->n; k++) {
    double r = p->reference_mean +
               (p->reference_std > 0 ? p->reference_std * rho[k] : 0.0);
    if (p->subtract_symmetry_point && s->b_max[k] > 0 && s->b_min[k] < 0) {
      const float key[6] = {s->dw_up[k], s->dw_down[k], s->extra[0][k],
                            s->extra[1][k], s->b_max[k], s->b_min[k]};
      int same = 1;
      for (int q = 0; q < 6; q++) same = same && key[q] == last[q];
      if (!same) {
        last_sp = symmetry_point(key[0], key[1], key[2], key[3], key[4],
                                 key[5], p->n_estimation_steps);
        for (int q = 0; q < 6; q++) last[q] = key[q];
      }
      r += last_sp;
      s->reset_bias[k] += (float)last_sp;
    }
    rho[k] = (float)r;
  }
  rpu__pulsed_to_weight_space(s, rho);
  return 0;
}

/* SPEC.md §4.3: g = dw_min 0.5^pow_gamma. */
static double psr_granularity(const void *params) {
  const psr_params *p = params;
  return rpu__pow_step_granularity_of(&p->c, p->pow_gamma);
}

static double pow0(double base, double gamma) {
  return base > 0 ? pow(base, gamma) : 0.0;
}

/* s_0 = 0, s_{t+1} = F(s_t); returns s_n.  A fixed point or a 2-cycle
 * determines all later values, so the loop stops there. */
static double symmetry_point(double up, double down, double gu, double gd,
                             double bmax, double bmin, int n_steps) {
  const double R = bmax - bmin;
  long n = n_steps;
  if (n <= 0) {
    double m = fmin(fabs(down), fabs(up));
    double est = m > 0 ? round(10.0 * R / m) : INFINITY;
    n = est < 10000.0 ? (long)est : 10000;
  }
  double prev = NAN, sp = 0.0;
  for (long t = 0; t < n; t++) {
    double next = sp - down * pow0((sp - bmin) / R, gd) +
                  up * pow0((bmax - sp) / R, gu);
    if (next == sp) return sp;
    if (next == prev) /* period 2 from s_{t-1} = prev: s_n by parity */
      return ((n - (t - 1)) % 2 == 0) ? prev : sp;
    prev = sp;
    sp = next;
  }
  return sp;
}
