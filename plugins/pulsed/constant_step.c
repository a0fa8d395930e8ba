/* ConstantStepDevice (SPEC.md §4.6): every pulse moves the weight by a
 * constant step, up w += dw_up (1 + dw_min_std xi), down
 * w -= dw_down (1 + dw_min_std xi), then clips to the element's bounds.
 * No write noise (SPEC.md §4.1: setting it is an error).
 *
 * Several pulses on one element in one call are applied in ONE step when
 * that is exact in distribution (issue 4 item 4):
 * - without cycle-to-cycle noise, n steps of the same sign from inside the
 *   bounds are monotone, so clipping once after w + n*step equals clipping
 *   after each pulse;
 * - with noise, n pulses sum to n*step + step*dw_min_std*sqrt(n)*xi (a sum
 *   of n independent normals), which equals the pulse-by-pulse result
 *   whenever no intermediate clip can happen.  Every pulse moves the
 *   weight by at most |step| (1 + dw_min_std RPU__XI_MAX) in either
 *   direction (the generator's normals are bounded, |xi| < RPU__XI_MAX,
 *   pulsed_common.h), so an element farther than n times that from both
 *   bounds never clips on the way; only such elements take the one-step
 *   path, the others are pulsed one by one.
 * The normals come in bulk, one rpu_rng_cursor_normal call per row (per
 * RPU__NORMALS_BUF values): one per one-step element, one per pulse
 * otherwise. */
#include <math.h>
#include <stdio.h>

#include "plugins/pulsed/pulsed_common.h"

#define MODEL "ConstantStepDevice"

typedef struct cs_params {
  rpu__pulsed_params c;
} cs_params;

static int cs_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int cs_create(void **state, const rpu_device_init *init, rpu_weights w);
static double cs_granularity(const void *params);
static void cs_pulse_row(void *state, float *w_row, int row, const int *cols,
                         const int32_t *counts, int n, rpu_rng_cursor *rng);

static const rpu_param_desc cs_schema[] = {
    RPU__PULSED_BOUND_PARAMS(cs_params),
    RPU__PULSED_BASE_PARAMS(cs_params),
    RPU_PARAM_DEF_REAL("write_noise_std", cs_params, c.write_noise_std, 0.0,
                       0.0, INFINITY, "dw_min",
                       "not supported by this model: must be 0 (SPEC 4.1)"),
};

static const rpu_device_vtable cs_vtable =
    RPU__PULSED_VTABLE(cs_create, cs_granularity, cs_pulse_row);

static const rpu__pulsed_model cs_model = {
    MODEL, 0u, 0, sizeof(cs_params), cs_check, NULL, NULL,
};

/* Referenced by plugins/pulsed/plugin.c. */
const rpu_model_desc rpu__constant_step_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_PULSED,
    "constant step per pulse with bounds, variations and noise (SPEC 4.6); "
    "multi-pulse one-step updates where exact",
    RPU_MODEL_PARAMS(cs_schema, cs_params),
    cs_check,
    &cs_vtable,
};

static int cs_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  const cs_params *p = params;
  int rc = rpu__pulsed_check_common(&p->c, param, msg, msg_len);
  if (rc < 0) return rc;
  if (p->c.write_noise_std != 0) {
    *param = "write_noise_std";
    snprintf(msg, msg_len,
             "%g: ConstantStepDevice has no write noise (SPEC 4.1); use "
             "LinearStepDevice with gamma 0 for a constant step with write "
             "noise",
             p->c.write_noise_std);
    return RPU_ECONFIG;
  }
  return 0;
}

static int cs_create(void **state, const rpu_device_init *init,
                     rpu_weights w) {
  return rpu__pulsed_create(state, &cs_model, init, w);
}

/* SPEC.md §4.3: g = dw_min. */
static double cs_granularity(const void *params) {
  return ((const cs_params *)params)->c.dw_min;
}

/* Hot loop: one pass over the row's counts with branch-free direction
 * selection (the signs of a row are random); the normals come from one
 * bulk draw sized for one per element, topped up only when an element
 * near a bound needs one per pulse. */
static void cs_pulse_row(void *state, float *w_row, int row, const int *cols,
                         const int32_t *counts, int n, rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (row < 0 || row >= s->rows || n <= 0) return;
  const size_t o = (size_t)row * (size_t)s->cols;
  const float *bmax = s->b_max + o, *bmin = s->b_min + o;
  const float *up = s->dw_up + o, *down = s->dw_down + o;
  const float sig = (float)s->p.dw_min_std;
  const unsigned ncols = (unsigned)s->cols;
  float *w = w_row;

  if (!(sig > 0)) {
    for (int k = 0; k < n; k++) {
      const int j = cols[k];
      const int32_t c = counts[k];
      if (c == 0 || (unsigned)j >= ncols) continue;
      const float u = up[j], dn = down[j], lo = bmin[j], hi = bmax[j];
      const float step = rpu__signed_step(c, u, dn);
      const int64_t m = rpu__abs_count(c);
      float x = w[j];
      if (x > hi || x < lo) { /* outside: the first pulse clips */
        w[j] = rpu__clampf(x + step, lo, hi);
        if (m > 1) w[j] = rpu__clampf(w[j] + (float)(m - 1) * step, lo, hi);
        continue;
      }
      w[j] = rpu__clampf(x + (float)m * step, lo, hi);
    }
    return;
  }

  /* The one-step criterion: no pulse-by-pulse path of m steps, each of
   * size at most |step| reach, can leave [lo, hi]. */
  const float reach = 1.0f + sig * RPU__XI_MAX;
  rpu__normals z;
  rpu__normals_init(&z, rng, (size_t)n);
  for (int k = 0; k < n; k++) {
    const int j = cols[k];
    const int32_t c = counts[k];
    if (c == 0 || (unsigned)j >= ncols) continue;
    const float u = up[j], dn = down[j], lo = bmin[j], hi = bmax[j];
    const float step = rpu__signed_step(c, u, dn);
    const int64_t m = rpu__abs_count(c);
    const float mf = (float)m;
    float x = w[j];
    const float r = mf * fabsf(step) * reach;
    if (x - r >= lo && x + r <= hi) {
      x += step * (mf + sig * sqrtf(mf) * rpu__normals_next(&z));
      w[j] = rpu__clampf(x, lo, hi);
    } else {
      /* this element takes one normal per pulse instead of one: make sure
       * the next bulk draw also covers the elements still to come */
      z.left += (size_t)m - 1;
      for (int64_t t = 0; t < m; t++)
        x = rpu__clampf(x + step * (1.0f + sig * rpu__normals_next(&z)), lo,
                        hi);
      w[j] = x;
    }
  }
}
