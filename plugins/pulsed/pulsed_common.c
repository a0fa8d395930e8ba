/* The behaviour all pulsed devices share: device-to-device sampling
 * (SPEC.md §4.2), write noise and persistent weights (§4.4), decay,
 * diffusion, reset and clip (§4.5), drift (§4.7, §6.6), set-weights and
 * the hidden-state format.  See pulsed_common.h. */
#include "plugins/pulsed/pulsed_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/bytes.h"

static void draw_normals(rpu_rng_cursor *c, float *out, size_t n);
static void draw_uniforms(rpu_rng_cursor *c, float *out, size_t n);
static void sample_common(rpu__pulsed_state *s, rpu_rng_cursor *c);
static void clip_row(const rpu__pulsed_state *s, float *t, int row);
static void write_noise_row(const rpu__pulsed_state *s, float *w_row,
                            const float *t_row, const float *xi);
static void write_noise_all(rpu__pulsed_state *s, rpu_weights w,
                            rpu_rng_cursor *rng);
static float *target_of(rpu__pulsed_state *s, rpu_weights w, int row);
static int shape_ok(const rpu__pulsed_state *s, rpu_weights w);
static int shape_error(const rpu__pulsed_state *s, rpu_weights w,
                       const char *hook);
static int alloc_state(rpu__pulsed_state *s);
static void drift_row(rpu__pulsed_state *s, float *t, int row, const float *z1,
                      const float *z2);

int rpu__pulsed_check_common(const rpu__pulsed_params *c, const char **param,
                             char *msg, size_t msg_len) {
  if (c->w_min > 0) {
    *param = "w_min";
    snprintf(msg, msg_len,
             "%g is above 0; a pulsed device needs w_min <= 0 <= w_max "
             "(SPEC 4.2)",
             c->w_min);
    return RPU_ERANGE;
  }
  if (c->w_max < 0) {
    *param = "w_max";
    snprintf(msg, msg_len,
             "%g is below 0; a pulsed device needs w_min <= 0 <= w_max "
             "(SPEC 4.2)",
             c->w_max);
    return RPU_ERANGE;
  }
  if (!(c->drift.t_0 > 0)) {
    *param = "drift.t_0";
    snprintf(msg, msg_len, "%g must be greater than 0", c->drift.t_0);
    return RPU_ERANGE;
  }
  if (!(c->drift.wg_ratio > 0)) {
    *param = "drift.wg_ratio";
    snprintf(msg, msg_len, "%g must be greater than 0", c->drift.wg_ratio);
    return RPU_ERANGE;
  }
  return 0;
}

int rpu__pulsed_create(void **state, const rpu__pulsed_model *m,
                       const rpu_device_init *init, rpu_weights w) {
  const char *name = m->name;
  if (state == NULL || init == NULL || init->params == NULL)
    return rpu_error_set(RPU_EINVAL, name, "%s: create without parameters",
                         name);
  *state = NULL;
  if (init->rows <= 0 || init->cols <= 0)
    return rpu_error_set(RPU_EINVAL, name,
                         "%s: cannot create a device of %d x %d", name,
                         init->rows, init->cols);
  if (w.w != NULL && (w.rows != init->rows || w.cols != init->cols ||
                      w.ld < (size_t)w.cols))
    return rpu_error_set(RPU_ESHAPE, name,
                         "%s: weights are %d x %d (ld %zu), device is %d x %d",
                         name, w.rows, w.cols, w.ld, init->rows, init->cols);
  /* The core has run the check hook already; a direct caller may not. */
  const char *param = "?";
  char msg[256] = "";
  int rc = m->check(init->params, &param, msg, sizeof msg);
  if (rc < 0)
    return rpu_error_set(rc, name, "%s: %s: %s", name, param, msg);

  rpu__pulsed_state *s = calloc(1, sizeof *s);
  if (s == NULL) goto nomem;
  s->m = m;
  s->rows = init->rows;
  s->cols = init->cols;
  s->n = (size_t)init->rows * (size_t)init->cols;
  s->p = *(const rpu__pulsed_params *)init->params;
  if (!(m->flags & RPU__PM_WRITE_NOISE)) {
    s->p.write_noise_std = 0.0;
    s->p.apply_write_noise_on_set = 1;
  }
  if (m->derive != NULL) m->derive(&s->p, init->params);
  /* write noise in units of dw_min (1 if dw_min is 0, as aihwkit does) */
  s->write_noise = (float)(s->p.write_noise_std *
                           (s->p.dw_min != 0 ? s->p.dw_min : 1.0));
  s->dw_std = (float)s->p.dw_min_std;
  if ((s->mp = malloc(m->params_size)) == NULL) goto nomem;
  memcpy(s->mp, init->params, m->params_size);
  if (alloc_state(s) < 0) goto nomem;

  /* construction_seed != 0 re-keys the construction stream (SPEC.md
   * §12.2): the device then depends on that seed only, like aihwkit's
   * per-device RNG.  Otherwise the caller's cursor advances, so several
   * sub-devices created from one cursor differ. */
  rpu_rng_cursor own;
  rpu_rng_cursor *c = init->construction;
  if (s->p.construction_seed != 0 || c == NULL) {
    own.stream = rpu_rng_stream_make((uint64_t)s->p.construction_seed, 0,
                                     RPU_RNG_CONSTRUCTION);
    own.pos = 0;
    c = &own;
  }
  sample_common(s, c);
  if (m->sample != NULL && (rc = m->sample(s, c)) < 0) {
    rpu__pulsed_destroy(s);
    return rc;
  }
  if (s->nu != NULL) {
    /* SPEC.md §4.7: nu_ij = nu + nu_dtod * nu * xi. */
    const double nu = s->p.drift.nu, sd = s->p.drift.nu_dtod * nu;
    if (sd > 0) draw_normals(c, s->nu, s->n);
    for (size_t k = 0; k < s->n; k++)
      s->nu[k] = sd > 0 ? (float)(nu + sd * s->nu[k]) : (float)nu;
  }
  /* Initial weights: clipped to the bounds; the persistent copy starts
   * equal to them (write noise comes with the first set_weights). */
  if (w.w != NULL)
    for (int i = 0; i < s->rows; i++) {
      float *row = w.w + (size_t)i * w.ld;
      clip_row(s, row, i);
      if (s->wp != NULL)
        memcpy(s->wp + (size_t)i * s->cols, row, (size_t)s->cols * sizeof(float));
    }
  *state = s;
  return 0;
nomem:
  rpu__pulsed_destroy(s);
  return rpu_error_set(RPU_ENOMEM, name,
                       "%s: out of memory creating a %d x %d device", name,
                       init->rows, init->cols);
}

void rpu__pulsed_destroy(void *state) {
  rpu__pulsed_state *s = state;
  if (s == NULL) return;
  free(s->mp);
  free(s->b_max);
  free(s->b_min);
  free(s->dw_up);
  free(s->dw_down);
  free(s->diff_rate);
  free(s->reset_bias);
  free(s->decay);
  for (int e = 0; e < RPU__PULSED_MAX_EXTRA; e++) free(s->extra[e]);
  free(s->wp);
  free(s->nu);
  free(s->w0);
  free(s->prev);
  free(s->t_start);
  free(s->scratch);
  free(s->aux);
  free(s);
}

/* Once per mini-batch (SPEC.md §1.2 item 4, §4.5): diffusion w += rho xi,
 * clip; then decay w = (w - b_reset) delta + b_reset, clip; on the
 * persistent weights if any, whose apparent weights then get fresh write
 * noise (§4.4). */
int rpu__pulsed_post_update(void *state, rpu_weights w, rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (!shape_ok(s, w)) return shape_error(s, w, "post_update");
  const int diffuse = s->p.diffusion > 0, decay = s->p.lifetime > 0;
  if (!diffuse && !decay) return 0;
  float *xi = s->scratch;
  for (int i = 0; i < s->rows; i++) {
    float *t = target_of(s, w, i);
    const size_t o = (size_t)i * (size_t)s->cols;
    const float *bmax = s->b_max + o, *bmin = s->b_min + o;
    if (diffuse) {
      const float *rho = s->diff_rate + o;
      draw_normals(rng, xi, (size_t)s->cols);
      for (int j = 0; j < s->cols; j++)
        t[j] = rpu__clampf(t[j] + rho[j] * xi[j], bmin[j], bmax[j]);
    }
    if (decay) {
      const float *br = s->reset_bias + o, *dl = s->decay + o;
      for (int j = 0; j < s->cols; j++)
        t[j] = rpu__clampf((t[j] - br[j]) * dl[j] + br[j], bmin[j], bmax[j]);
    }
  }
  if (s->wp != NULL) write_noise_all(s, w, rng);
  return 0;
}

/* Clip (SPEC.md §4.5): c < 0 (or NaN) clips to the bounds, else to
 * [max(b_min, -c), min(b_max, c)].  With persistent weights the clip acts
 * on them; the hook has no random stream, so the apparent weights keep
 * their current write-noise realisation (w = w_p' + (w - w_p)), which has
 * the same distribution as a fresh draw. */
void rpu__pulsed_clip(void *state, rpu_weights w, double c) {
  rpu__pulsed_state *s = state;
  if (!shape_ok(s, w)) return;
  const int sym = c >= 0;
  const float cf = sym ? (float)c : 0.0f;
  for (int i = 0; i < s->rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    float *t = target_of(s, w, i);
    const size_t o = (size_t)i * (size_t)s->cols;
    for (int j = 0; j < s->cols; j++) {
      float lo = s->b_min[o + j], hi = s->b_max[o + j];
      if (sym) {
        lo = lo > -cf ? lo : -cf;
        hi = hi < cf ? hi : cf;
      }
      float old = t[j];
      t[j] = rpu__clampf(old, lo, hi);
      if (s->wp != NULL) row[j] += t[j] - old;
    }
  }
}

/* Reset (SPEC.md §4.5): columns start..start+n-1 (wrapping), each element
 * with probability prob, to w = b_reset + reset_std xi, clipped.  Per row:
 * n uniforms (only if prob < 1), then n normals (only if reset_std > 0).
 * With persistent weights every apparent weight is redrawn after (§4.4). */
void rpu__pulsed_reset_cols(void *state, rpu_weights w, int start, int n,
                            double prob, rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (!shape_ok(s, w) || n <= 0 || !(prob > 0)) return;
  if (n > s->cols) n = s->cols;
  start %= s->cols;
  if (start < 0) start += s->cols;
  float *u = s->scratch, *xi = s->scratch + s->cols;
  const int draw_u = prob < 1.0, draw_xi = s->p.reset_std > 0;
  const float sd = (float)s->p.reset_std, pf = (float)prob;
  for (int i = 0; i < s->rows; i++) {
    float *t = target_of(s, w, i);
    const size_t o = (size_t)i * (size_t)s->cols;
    if (draw_u) draw_uniforms(rng, u, (size_t)n);
    if (draw_xi) draw_normals(rng, xi, (size_t)n);
    for (int k = 0; k < n; k++) {
      if (draw_u && u[k] >= pf) continue;
      int j = (start + k) % s->cols;
      float v = s->reset_bias[o + j] + (draw_xi ? sd * xi[k] : 0.0f);
      t[j] = rpu__clampf(v, s->b_min[o + j], s->b_max[o + j]);
    }
  }
  if (s->wp != NULL) write_noise_all(s, w, rng);
}

/* Drift (SPEC.md §4.7, §6.6, non-simple drifter): the first call
 * initialises w0 = prev = w, t_start = 0, T = 0; each call advances
 * T += dt / t_0; an element whose weight moved by more than reset_tol since
 * the last call restarts (t_start = T, w0 = w); otherwise
 *   nu' = nu_ij [+ nu_std nu_ij xi] [- nu_k ln((w - w_offset)/wg_ratio +
 *         g_offset) + nu_k log_g0],
 *   f = max(T - t_start, 1)^-nu',  w = w0 f [+ a (f - 1)],
 * a = g_offset wg_ratio + w_offset (used if |a| >= reset_tol); then
 * w += w_noise_std xi; w and prev are clipped to the bounds.  Acts on the
 * persistent weights if any (then the apparent ones get write noise).
 * Draws per row: cols normals for nu_std (if > 0), cols for w_noise_std
 * (if > 0). */
int rpu__pulsed_drift(void *state, rpu_weights w, double dt,
                      rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (s->nu == NULL) return 0;
  const char *name = s->m->name;
  if (!isfinite(dt) || dt < 0)
    return rpu_error_set(RPU_EINVAL, name,
                         "%s: drift time step %g is not a finite number >= 0",
                         name, dt);
  if (!shape_ok(s, w)) return shape_error(s, w, "drift");
  if (!s->drift_active) {
    for (int i = 0; i < s->rows; i++) {
      const float *t = target_of(s, w, i);
      const size_t o = (size_t)i * (size_t)s->cols;
      memcpy(s->w0 + o, t, (size_t)s->cols * sizeof(float));
      memcpy(s->prev + o, t, (size_t)s->cols * sizeof(float));
    }
    for (size_t k = 0; k < s->n; k++) s->t_start[k] = 0.0;
    s->drift_T = 0.0;
    s->drift_active = 1;
  }
  s->drift_T += dt / s->p.drift.t_0;
  const int z1 = s->p.drift.nu_std > 0, z2 = s->p.drift.w_noise_std > 0;
  float *xi1 = s->scratch, *xi2 = s->scratch + s->cols;
  for (int i = 0; i < s->rows; i++) {
    if (z1) draw_normals(rng, xi1, (size_t)s->cols);
    if (z2) draw_normals(rng, xi2, (size_t)s->cols);
    drift_row(s, target_of(s, w, i), i, z1 ? xi1 : NULL, z2 ? xi2 : NULL);
  }
  if (s->wp != NULL) write_noise_all(s, w, rng);
  return 0;
}

/* Set weights (SPEC.md §4.4): clip the new weights to each device's
 * bounds; with persistent weights copy them there and, if
 * apply_write_noise_on_set, show them with write noise (cols normals per
 * row). */
int rpu__pulsed_set_weights(void *state, rpu_weights w, rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (!shape_ok(s, w)) return shape_error(s, w, "set_weights");
  const int noisy = s->wp != NULL && s->p.apply_write_noise_on_set;
  float *xi = s->scratch;
  for (int i = 0; i < s->rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    clip_row(s, row, i);
    if (s->wp == NULL) continue;
    float *t = s->wp + (size_t)i * (size_t)s->cols;
    memcpy(t, row, (size_t)s->cols * sizeof(float));
    if (noisy) {
      draw_normals(rng, xi, (size_t)s->cols);
      write_noise_row(s, row, t, xi);
    }
  }
  return 0;
}

/* ----- Hidden state -------------------------------------------------------
 * Layout (little-endian): u32 version, u32 rows, u32 cols, u32 n_extra,
 * u32 flags (1: persistent weights, 2: drift arrays, 4: drift started),
 * u32 0, f64 T; then f32 arrays of n: b_max, b_min, dw_up, dw_down,
 * diff_rate, reset_bias, decay, extra[0..n_extra), wp (flag 1), nu, w0,
 * prev (flag 2); then f64 t_start[n] (flag 2). */

#define STATE_VERSION 1u
#define STATE_HEAD 32u
#define N_COMMON 7

static size_t n_float_arrays(const rpu__pulsed_state *s);
static void float_arrays(const rpu__pulsed_state *s, float **out);

size_t rpu__pulsed_state_size(const void *state) {
  const rpu__pulsed_state *s = state;
  size_t size = STATE_HEAD + n_float_arrays(s) * s->n * 4;
  if (s->nu != NULL) size += s->n * 8;
  return size;
}

int rpu__pulsed_save(const void *state, void *buf, size_t len) {
  const rpu__pulsed_state *s = state;
  size_t need = rpu__pulsed_state_size(s);
  if (buf == NULL || len != need)
    return rpu_error_set(RPU_EINVAL, s->m->name,
                         "%s: state buffer of %zu bytes, need %zu", s->m->name,
                         len, need);
  unsigned char *p = buf;
  uint32_t flags = (s->wp ? 1u : 0u) | (s->nu ? 2u : 0u) |
                   (s->drift_active ? 4u : 0u);
  rpu_le_put_u32(p, STATE_VERSION);
  rpu_le_put_u32(p + 4, (uint32_t)s->rows);
  rpu_le_put_u32(p + 8, (uint32_t)s->cols);
  rpu_le_put_u32(p + 12, (uint32_t)s->m->n_extra);
  rpu_le_put_u32(p + 16, flags);
  rpu_le_put_u32(p + 20, 0);
  rpu_le_put_f64(p + 24, s->drift_T);
  p += STATE_HEAD;
  float *arr[N_COMMON + RPU__PULSED_MAX_EXTRA + 4];
  float_arrays(s, arr);
  for (size_t a = 0; a < n_float_arrays(s); a++)
    for (size_t k = 0; k < s->n; k++, p += 4) {
      uint32_t u;
      memcpy(&u, &arr[a][k], 4);
      rpu_le_put_u32(p, u);
    }
  if (s->nu != NULL)
    for (size_t k = 0; k < s->n; k++, p += 8) rpu_le_put_f64(p, s->t_start[k]);
  return 0;
}

/* Validates everything before touching the state, so a refused buffer
 * leaves the device exactly as it was. */
int rpu__pulsed_load(void *state, const void *buf, size_t len) {
  rpu__pulsed_state *s = state;
  const char *m = s->m->name;
  size_t need = rpu__pulsed_state_size(s);
  if (buf == NULL || len != need)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state of %zu bytes, expected %zu", m, len,
                         need);
  const unsigned char *p = buf;
  uint32_t flags = (s->wp ? 1u : 0u) | (s->nu ? 2u : 0u);
  if (rpu_le_get_u32(p) != STATE_VERSION)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state version %u, expected %u", m,
                         (unsigned)rpu_le_get_u32(p), STATE_VERSION);
  if (rpu_le_get_u32(p + 4) != (uint32_t)s->rows ||
      rpu_le_get_u32(p + 8) != (uint32_t)s->cols)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state is %u x %u, device is %d x %d", m,
                         (unsigned)rpu_le_get_u32(p + 4), (unsigned)rpu_le_get_u32(p + 8),
                         s->rows, s->cols);
  if (rpu_le_get_u32(p + 12) != (uint32_t)s->m->n_extra ||
      (rpu_le_get_u32(p + 16) & ~4u) != flags || rpu_le_get_u32(p + 20) != 0)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state layout does not match the device "
                         "parameters (write noise / drift settings differ)",
                         m);
  const int active = (rpu_le_get_u32(p + 16) & 4u) != 0;
  const double T = rpu_le_get_f64(p + 24);
  if (!isfinite(T) || T < 0)
    return rpu_error_set(RPU_ECORRUPT, m, "%s: drift clock %g is invalid", m, T);
  const unsigned char *a = p + STATE_HEAD;
  const size_t nf = n_float_arrays(s) * s->n;
  for (size_t k = 0; k < nf; k++) {
    uint32_t u = rpu_le_get_u32(a + 4 * k);
    float v;
    memcpy(&v, &u, 4);
    if (!isfinite(v))
      return rpu_error_set(RPU_ECORRUPT, m,
                           "%s: hidden state value %zu is not finite", m, k);
  }
  if (s->nu != NULL)
    for (size_t k = 0; k < s->n; k++)
      if (!isfinite(rpu_le_get_f64(a + 4 * nf + 8 * k)))
        return rpu_error_set(RPU_ECORRUPT, m,
                             "%s: drift start time %zu is not finite", m, k);
  float *arr[N_COMMON + RPU__PULSED_MAX_EXTRA + 4];
  float_arrays(s, arr);
  for (size_t b = 0; b < n_float_arrays(s); b++)
    for (size_t k = 0; k < s->n; k++, a += 4) {
      uint32_t u = rpu_le_get_u32(a);
      memcpy(&arr[b][k], &u, 4);
    }
  if (s->nu != NULL)
    for (size_t k = 0; k < s->n; k++, a += 8) s->t_start[k] = rpu_le_get_f64(a);
  s->drift_active = active;
  s->drift_T = T;
  return 0;
}

void rpu__pulsed_nominal_steps(const rpu__pulsed_params *c, double *up,
                               double *down) {
  double up_bias = c->up_down < 0 ? c->up_down : 0.0;
  double down_bias = c->up_down > 0 ? -c->up_down : 0.0;
  *up = (1.0 + up_bias) * c->dw_min;
  *down = (1.0 + down_bias) * c->dw_min;
}

void rpu__pulsed_to_weight_space(rpu__pulsed_state *s, const float *rho) {
  for (size_t k = 0; k < s->n; k++) {
    s->b_max[k] -= rho[k];
    s->b_min[k] -= rho[k];
    s->reset_bias[k] -= rho[k];
  }
}

void rpu__pulsed_draw_normals(rpu_rng_cursor *c, float *out, size_t n) {
  draw_normals(c, out, n);
}

/* Refills the buffer with the next announced normals; a NULL cursor gives
 * zeros (noise-free), and more draws than announced still work. */
void rpu__normals_refill(rpu__normals *z) {
  size_t m = z->left < RPU__NORMALS_BUF ? z->left : RPU__NORMALS_BUF;
  if (m == 0)
    m = RPU__NORMALS_BUF;
  else
    z->left -= m;
  if (z->rng != NULL)
    rpu_rng_cursor_normal(z->rng, z->buf, m);
  else
    memset(z->buf, 0, m * sizeof(float));
  z->i = 0;
  z->n = (int)m;
}

/* ----- helpers ------------------------------------------------------------ */

static void draw_normals(rpu_rng_cursor *c, float *out, size_t n) {
  if (c != NULL)
    rpu_rng_cursor_normal(c, out, n);
  else
    memset(out, 0, n * sizeof(float));
}

static void draw_uniforms(rpu_rng_cursor *c, float *out, size_t n) {
  if (c != NULL) {
    rpu_rng_cursor_uniform(c, out, n);
  } else {
    for (size_t k = 0; k < n; k++) out[k] = 0.5f;
  }
}

/* Device-to-device sampling, SPEC.md §4.2 steps 1-10, one bulk draw per
 * quantity (an array of n normals, transformed in place); a quantity
 * without spread draws nothing. */
static void sample_common(rpu__pulsed_state *s, rpu_rng_cursor *c) {
  const rpu__pulsed_params *p = &s->p;
  const size_t n = s->n;
  /* 1. bounds */
  if (p->w_max_dtod > 0) draw_normals(c, s->b_max, n);
  if (p->w_min_dtod > 0) draw_normals(c, s->b_min, n);
  for (size_t k = 0; k < n; k++) {
    s->b_max[k] = p->w_max_dtod > 0
                      ? (float)(p->w_max * (1.0 + p->w_max_dtod * s->b_max[k]))
                      : (float)p->w_max;
    s->b_min[k] = p->w_min_dtod > 0
                      ? (float)(p->w_min * (1.0 + p->w_min_dtod * s->b_min[k]))
                      : (float)p->w_min;
  }
  /* 2.-4. steps: gain into dw_up, r into dw_down, then combine */
  if (p->dw_min_dtod > 0) draw_normals(c, s->dw_up, n);
  if (p->up_down_dtod > 0) draw_normals(c, s->dw_down, n);
  const double up_bias = p->up_down < 0 ? p->up_down : 0.0;
  const double down_bias = p->up_down > 0 ? -p->up_down : 0.0;
  for (size_t k = 0; k < n; k++) {
    double g = 1.0, r = 0.0;
    if (p->dw_min_dtod > 0)
      g = p->dw_min_dtod_log_normal ? exp(p->dw_min_dtod * s->dw_up[k])
                                    : 1.0 + p->dw_min_dtod * s->dw_up[k];
    if (p->up_down_dtod > 0) r = p->up_down_dtod * s->dw_down[k];
    double up = (up_bias + g + r) * p->dw_min;
    double down = (down_bias + g - r) * p->dw_min;
    float bmax = s->b_max[k], bmin = s->b_min[k];
    /* 5. consistency */
    if (p->enforce_consistency) {
      up = fabs(up);
      down = fabs(down);
      if (bmin > bmax) {
        float tmp = bmin;
        bmin = bmax;
        bmax = tmp;
      }
      bmax = fabsf(bmax);
      bmin = -fabsf(bmin);
    } else if (bmin > bmax) {
      bmin = bmax = 0.5f * (bmin + bmax);
    }
    s->dw_up[k] = (float)up;
    s->dw_down[k] = (float)down;
    s->b_max[k] = bmax;
    s->b_min[k] = bmin;
  }
  /* 6. corrupt devices: two uniforms per element, one row at a time */
  if (p->corrupt_devices_prob > 0) {
    const double range = p->corrupt_devices_range;
    float *u = s->scratch;
    for (int i = 0; i < s->rows; i++) {
      draw_uniforms(c, u, 2 * (size_t)s->cols);
      for (int j = 0; j < s->cols; j++) {
        size_t k = (size_t)i * (size_t)s->cols + (size_t)j;
        if (!(p->corrupt_devices_prob > u[2 * j])) continue;
        double lo = fmin(s->b_min[k], s->b_max[k]);
        double hi = fmax(s->b_min[k], s->b_max[k]);
        lo = fmax(lo, -range);
        hi = fmin(hi, range);
        float v = (float)(lo + (hi - lo) * u[2 * j + 1]);
        s->b_max[k] = s->b_min[k] = v;
        s->dw_up[k] = s->dw_down[k] = 0.0f;
      }
    }
  }
  /* 7. perfect bias: the last column */
  if (p->perfect_bias)
    for (int i = 0; i < s->rows; i++) {
      size_t k = (size_t)i * (size_t)s->cols + (size_t)s->cols - 1;
      s->dw_up[k] = s->dw_down[k] = (float)p->dw_min;
      s->b_min[k] = (float)(100.0 * p->w_min);
      s->b_max[k] = (float)(100.0 * p->w_max);
    }
  /* 8. diffusion rate */
  const int dd = p->diffusion > 0 && p->diffusion_dtod > 0;
  if (dd) draw_normals(c, s->diff_rate, n);
  for (size_t k = 0; k < n; k++)
    s->diff_rate[k] =
        dd ? (float)fabs(p->diffusion * (1.0 + p->diffusion_dtod *
                                                   s->diff_rate[k]))
           : (float)p->diffusion;
  /* 9. reset bias */
  if (p->reset_dtod > 0) draw_normals(c, s->reset_bias, n);
  for (size_t k = 0; k < n; k++)
    s->reset_bias[k] =
        p->reset_dtod > 0 ? (float)(p->reset + p->reset_dtod * s->reset_bias[k])
                          : (float)p->reset;
  /* 10. decay scale */
  const int ld = p->lifetime > 0 && p->lifetime_dtod > 0;
  if (ld) draw_normals(c, s->decay, n);
  for (size_t k = 0; k < n; k++) {
    double d = 1.0;
    if (p->lifetime > 0) {
      double t = ld ? p->lifetime * (1.0 + p->lifetime_dtod * s->decay[k])
                    : p->lifetime;
      d = t > 1.0 ? 1.0 - 1.0 / t : 0.0;
    }
    s->decay[k] = (float)d;
  }
}

static void clip_row(const rpu__pulsed_state *s, float *t, int row) {
  const size_t o = (size_t)row * (size_t)s->cols;
  const float *bmax = s->b_max + o, *bmin = s->b_min + o;
  for (int j = 0; j < s->cols; j++) t[j] = rpu__clampf(t[j], bmin[j], bmax[j]);
}

static void write_noise_row(const rpu__pulsed_state *s, float *w_row,
                            const float *t_row, const float *xi) {
  const float sd = s->write_noise;
  for (int j = 0; j < s->cols; j++) w_row[j] = t_row[j] + sd * xi[j];
}

/* SPEC.md §4.4: after decay/diffusion/clip/drift/reset every apparent
 * weight is w_p + write_noise_std dw_min xi (cols normals per row). */
static void write_noise_all(rpu__pulsed_state *s, rpu_weights w,
                            rpu_rng_cursor *rng) {
  float *xi = s->scratch;
  for (int i = 0; i < s->rows; i++) {
    draw_normals(rng, xi, (size_t)s->cols);
    write_noise_row(s, w.w + (size_t)i * w.ld,
                    s->wp + (size_t)i * (size_t)s->cols, xi);
  }
}

static float *target_of(rpu__pulsed_state *s, rpu_weights w, int row) {
  return s->wp != NULL ? s->wp + (size_t)row * (size_t)s->cols
                       : w.w + (size_t)row * w.ld;
}

static int shape_ok(const rpu__pulsed_state *s, rpu_weights w) {
  return w.w != NULL && w.rows == s->rows && w.cols == s->cols &&
         w.ld >= (size_t)w.cols;
}

static int shape_error(const rpu__pulsed_state *s, rpu_weights w,
                       const char *hook) {
  return rpu_error_set(RPU_ESHAPE, s->m->name,
                       "%s: %s on %d x %d weights, device is %d x %d",
                       s->m->name, hook, w.rows, w.cols, s->rows, s->cols);
}

/* Every array zeroed, so the hidden state is fully defined (and saves the
 * same bytes) even before the first drift call. */
static int alloc_state(rpu__pulsed_state *s) {
  float **arr[] = {&s->b_max, &s->b_min,      &s->dw_up, &s->dw_down,
                   &s->diff_rate, &s->reset_bias, &s->decay};
  for (size_t a = 0; a < sizeof arr / sizeof arr[0]; a++)
    if ((*arr[a] = calloc(s->n, sizeof(float))) == NULL) return -1;
  for (int e = 0; e < s->m->n_extra && e < RPU__PULSED_MAX_EXTRA; e++)
    if ((s->extra[e] = calloc(s->n, sizeof(float))) == NULL) return -1;
  if (s->p.write_noise_std > 0 &&
      (s->wp = calloc(s->n, sizeof(float))) == NULL)
    return -1;
  if (s->p.drift.nu > 0) {
    if ((s->nu = calloc(s->n, sizeof(float))) == NULL ||
        (s->w0 = calloc(s->n, sizeof(float))) == NULL ||
        (s->prev = calloc(s->n, sizeof(float))) == NULL ||
        (s->t_start = calloc(s->n, sizeof(double))) == NULL)
      return -1;
  }
  if ((s->scratch = calloc(2 * (size_t)s->cols, sizeof(float))) == NULL)
    return -1;
  return 0;
}

/* One row of the drifter (see rpu__pulsed_drift). */
static void drift_row(rpu__pulsed_state *s, float *t, int row, const float *z1,
                      const float *z2) {
  const rpu__drift_params *d = &s->p.drift;
  const size_t o = (size_t)row * (size_t)s->cols;
  const double T = s->drift_T, tol = d->reset_tol;
  const double a = d->g_offset * d->wg_ratio + d->w_offset;
  const int use_a = fabs(a) >= tol;
  for (int j = 0; j < s->cols; j++) {
    const size_t k = o + (size_t)j;
    double x = t[j];
    if (fabs((double)s->prev[k] - x) > tol) {
      s->t_start[k] = T; /* moved since the last call: restart */
      s->w0[k] = (float)x;
    } else {
      double nu = s->nu[k];
      if (z1 != NULL) nu += d->nu_std * nu * z1[j];
      if (d->nu_k != 0) {
        /* ln of a non-positive conductance is undefined: the nu_k term is
         * left out there rather than producing NaN. */
        double g = (x - d->w_offset) / d->wg_ratio + d->g_offset;
        if (g > 0) nu += -d->nu_k * log(g) + d->nu_k * d->log_g0;
      }
      double age = T - s->t_start[k];
      double f = pow(age > 1.0 ? age : 1.0, -nu);
      x = s->w0[k] * f;
      if (use_a) x += a * (f - 1.0);
    }
    if (z2 != NULL) x += d->w_noise_std * z2[j];
    float v = rpu__clampf((float)x, s->b_min[k], s->b_max[k]);
    s->prev[k] = v;
    t[j] = v;
  }
}

static size_t n_float_arrays(const rpu__pulsed_state *s) {
  return N_COMMON + (size_t)s->m->n_extra + (s->wp ? 1 : 0) +
         (s->nu ? 3 : 0);
}

static void float_arrays(const rpu__pulsed_state *s, float **out) {
  size_t a = 0;
  out[a++] = s->b_max;
  out[a++] = s->b_min;
  out[a++] = s->dw_up;
  out[a++] = s->dw_down;
  out[a++] = s->diff_rate;
  out[a++] = s->reset_bias;
  out[a++] = s->decay;
  for (int e = 0; e < s->m->n_extra; e++) out[a++] = s->extra[e];
  if (s->wp) out[a++] = s->wp;
  if (s->nu) {
    out[a++] = s->nu;
    out[a++] = s->w0;
    out[a++] = s->prev;
  }
}

