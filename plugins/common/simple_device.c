/* The simple device behaviour of FloatingPointDevice and IdealDevice
 * (SPEC.md §1.1, §1.2, §6.6).  See simple_device.h. */
#include "plugins/common/simple_device.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/bytes.h"

typedef struct simple_state {
  rpu__simple_cfg cfg;
  int rows, cols;
  float *scratch; /* 2 * cols floats: one row of uniforms, one of normals */
  /* The simple drifter (SPEC.md §6.6); arrays NULL when drift_nu == 0. */
  int drift_active;
  double drift_T;  /* the clock T, in units of t_0 */
  float *w0;       /* weight at the element's drift start */
  float *prev;     /* weight after the last drift call */
  double *t_start; /* T at the element's drift start */
} simple_state;

/* Hidden-state layout (little-endian): u32 version, u32 rows, u32 cols,
 * u32 active, f64 T, then f32 w0[n], f32 prev[n], f64 t_start[n]. */
#define STATE_VERSION 1u
#define STATE_HEAD 24u

static size_t n_elems(const simple_state *s);

int rpu__simple_create(void **state, const rpu__simple_cfg *cfg,
                       const rpu_device_init *init) {
  if (init->rows <= 0 || init->cols <= 0)
    return rpu_error_set(RPU_EINVAL, cfg->model,
                         "%s: cannot create a device of %d x %d", cfg->model,
                         init->rows, init->cols);
  simple_state *s = calloc(1, sizeof *s);
  if (s == NULL) goto nomem;
  s->cfg = *cfg;
  s->rows = init->rows;
  s->cols = init->cols;
  s->scratch = malloc(2 * (size_t)s->cols * sizeof(float));
  if (s->scratch == NULL) goto nomem;
  if (cfg->drift_nu > 0) {
    size_t n = n_elems(s);
    s->w0 = malloc(n * sizeof(float));
    s->prev = malloc(n * sizeof(float));
    s->t_start = malloc(n * sizeof(double));
    if (s->w0 == NULL || s->prev == NULL || s->t_start == NULL) goto nomem;
  }
  *state = s;
  return 0;
nomem:
  rpu__simple_destroy(s);
  return rpu_error_set(RPU_ENOMEM, cfg->model,
                       "%s: out of memory creating a %d x %d device",
                       cfg->model, init->rows, init->cols);
}

void rpu__simple_destroy(void *state) {
  simple_state *s = state;
  if (s == NULL) return;
  free(s->scratch);
  free(s->w0);
  free(s->prev);
  free(s->t_start);
  free(s);
}

/* Once per mini-batch: diffusion first, then decay (SPEC.md §1.2 item 4). */
int rpu__simple_post_update(void *state, rpu_weights w, rpu_rng_cursor *rng) {
  simple_state *s = state;
  if (s->cfg.diffusion > 0)
    rpu__simple_diffuse(w, s->cfg.diffusion, s->scratch, rng);
  rpu__simple_decay(w, s->cfg.lifetime);
  return 0;
}

/* A simple device has no bounds: c < 0 leaves w alone, else clip to
 * [-c, c] (SPEC.md §4.5 with infinite bounds). */
void rpu__simple_clip(void *state, rpu_weights w, double c) {
  (void)state;
  if (!(c >= 0)) return;
  const float hi = (float)c, lo = -(float)c;
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    for (int j = 0; j < w.cols; j++)
      row[j] = row[j] > hi ? hi : (row[j] < lo ? lo : row[j]);
  }
}

/* Reset (SPEC.md §1.1, §4.5): columns start..start+n-1 (wrapping), each
 * element with probability prob, to reset_std * xi (0 if reset_std = 0).
 * Per row: n uniforms (only if prob < 1), then n normals (if reset_std>0). */
void rpu__simple_reset_cols(void *state, rpu_weights w, int start, int n,
                            double prob, rpu_rng_cursor *rng) {
  simple_state *s = state;
  if (w.cols <= 0 || n <= 0 || !(prob > 0)) return;
  if (n > w.cols) n = w.cols;
  start %= w.cols;
  if (start < 0) start += w.cols;
  float *u = s->scratch, *xi = s->scratch + s->cols;
  const int draw_u = prob < 1.0, draw_xi = s->cfg.reset_std > 0;
  const float std = (float)s->cfg.reset_std, p = (float)prob;
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    if (draw_u) rpu_rng_cursor_uniform(rng, u, (size_t)n);
    if (draw_xi) rpu_rng_cursor_normal(rng, xi, (size_t)n);
    for (int k = 0; k < n; k++) {
      if (draw_u && u[k] >= p) continue;
      int j = (start + k) % w.cols;
      row[j] = draw_xi ? std * xi[k] : 0.0f;
    }
  }
}

/* The simple weight drifter of SPEC.md §6.6 (no per-element nu, no noise,
 * a = 0): the first call initialises w0 = w, prev = w, t_start = 0, T = 0;
 * every call then advances T += dt/t_0 and, per element, either restarts
 * (the weight changed since the last call: t_start = T, w0 = w) or sets
 * w = w0 * max(T - t_start, 1)^(-nu).  Finally prev = w. */
int rpu__simple_drift(void *state, rpu_weights w, double dt,
                      rpu_rng_cursor *rng) {
  simple_state *s = state;
  (void)rng; /* the simple drifter draws nothing */
  if (!(s->cfg.drift_nu > 0)) return 0;
  if (!isfinite(dt) || dt < 0)
    return rpu_error_set(RPU_EINVAL, s->cfg.model,
                         "%s: drift time step %g is not a finite number >= 0",
                         s->cfg.model, dt);
  if (w.rows != s->rows || w.cols != s->cols)
    return rpu_error_set(RPU_ESHAPE, s->cfg.model,
                         "%s: drift on %d x %d weights, device is %d x %d",
                         s->cfg.model, w.rows, w.cols, s->rows, s->cols);
  if (!s->drift_active) {
    for (int i = 0; i < w.rows; i++) {
      const float *row = w.w + (size_t)i * w.ld;
      memcpy(s->w0 + (size_t)i * s->cols, row, (size_t)s->cols * sizeof(float));
      memcpy(s->prev + (size_t)i * s->cols, row, (size_t)s->cols * sizeof(float));
    }
    for (size_t k = 0; k < n_elems(s); k++) s->t_start[k] = 0.0;
    s->drift_T = 0.0;
    s->drift_active = 1;
  }
  s->drift_T += dt / s->cfg.drift_t0;
  const double T = s->drift_T, nu = s->cfg.drift_nu;
  const double tol = s->cfg.drift_reset_tol;
  /* Most elements share t_start: cache the factor of the last one seen. */
  double last_ts = NAN, f = 1.0;
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    float *w0 = s->w0 + (size_t)i * s->cols;
    float *prev = s->prev + (size_t)i * s->cols;
    double *ts = s->t_start + (size_t)i * s->cols;
    for (int j = 0; j < w.cols; j++) {
      if (fabs((double)prev[j] - (double)row[j]) > tol) {
        ts[j] = T; /* changed since last call: restart, no drift now */
        w0[j] = row[j];
      } else {
        if (ts[j] != last_ts) {
          double age = T - ts[j];
          f = pow(age > 1.0 ? age : 1.0, -nu);
          last_ts = ts[j];
        }
        row[j] = (float)((double)w0[j] * f);
      }
      prev[j] = row[j];
    }
  }
  return 0;
}

size_t rpu__simple_state_size(const void *state) {
  const simple_state *s = state;
  if (s->w0 == NULL) return 0;
  return STATE_HEAD + n_elems(s) * (4 + 4 + 8);
}

int rpu__simple_save(const void *state, void *buf, size_t len) {
  const simple_state *s = state;
  size_t need = rpu__simple_state_size(s);
  if (len != need)
    return rpu_error_set(RPU_EINVAL, s->cfg.model,
                         "%s: state buffer of %zu bytes, need %zu",
                         s->cfg.model, len, need);
  if (need == 0) return 0;
  unsigned char *p = buf;
  size_t n = n_elems(s);
  rpu_le_put_u32(p, STATE_VERSION);
  rpu_le_put_u32(p + 4, (uint32_t)s->rows);
  rpu_le_put_u32(p + 8, (uint32_t)s->cols);
  rpu_le_put_u32(p + 12, (uint32_t)s->drift_active);
  rpu_le_put_f64(p + 16, s->drift_T);
  p += STATE_HEAD;
  for (size_t k = 0; k < n; k++, p += 4) rpu_le_put_f32(p, s->w0[k]);
  for (size_t k = 0; k < n; k++, p += 4) rpu_le_put_f32(p, s->prev[k]);
  for (size_t k = 0; k < n; k++, p += 8) rpu_le_put_f64(p, s->t_start[k]);
  return 0;
}

/* Validates everything before changing the state, so a refused buffer
 * leaves the device exactly as it was. */
int rpu__simple_load(void *state, const void *buf, size_t len) {
  simple_state *s = state;
  const char *m = s->cfg.model;
  size_t need = rpu__simple_state_size(s);
  if (len != need)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state of %zu bytes, expected %zu", m, len,
                         need);
  if (need == 0) return 0;
  const unsigned char *p = buf;
  size_t n = n_elems(s);
  if (rpu_le_get_u32(p) != STATE_VERSION)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state version %u, expected %u", m,
                         (unsigned)rpu_le_get_u32(p), STATE_VERSION);
  if (rpu_le_get_u32(p + 4) != (uint32_t)s->rows || rpu_le_get_u32(p + 8) != (uint32_t)s->cols)
    return rpu_error_set(RPU_ECORRUPT, m,
                         "%s: hidden state is %u x %u, device is %d x %d", m,
                         (unsigned)rpu_le_get_u32(p + 4), (unsigned)rpu_le_get_u32(p + 8),
                         s->rows, s->cols);
  uint32_t active = rpu_le_get_u32(p + 12);
  double T = rpu_le_get_f64(p + 16);
  if (active > 1 || !isfinite(T))
    return rpu_error_set(RPU_ECORRUPT, m, "%s: drift state header is invalid",
                         m);
  const unsigned char *a = p + STATE_HEAD;
  for (size_t k = 0; k < 2 * n; k++)
    if (!isfinite(rpu_le_get_f32(a + 4 * k)))
      return rpu_error_set(RPU_ECORRUPT, m,
                           "%s: drift state holds a non-finite weight", m);
  for (size_t k = 0; k < n; k++)
    if (!isfinite(rpu_le_get_f64(a + 8 * n + 8 * k)))
      return rpu_error_set(RPU_ECORRUPT, m,
                           "%s: drift state holds a non-finite start time", m);
  s->drift_active = (int)active;
  s->drift_T = T;
  for (size_t k = 0; k < n; k++) s->w0[k] = rpu_le_get_f32(a + 4 * k);
  for (size_t k = 0; k < n; k++) s->prev[k] = rpu_le_get_f32(a + 4 * (n + k));
  for (size_t k = 0; k < n; k++) s->t_start[k] = rpu_le_get_f64(a + 8 * n + 8 * k);
  return 0;
}

/* Decay (SPEC.md §1.1), alpha = 1 as post_update_step uses it (§4.5). */
void rpu__simple_decay(rpu_weights w, double lifetime) {
  double rate = lifetime > 1.0 ? 1.0 / lifetime : 0.0;
  double s = 1.0 - rate;
  if (!(s > 0.0 && s < 1.0)) return;
  const float sf = (float)s;
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    for (int j = 0; j < w.cols; j++) row[j] *= sf;
  }
}

/* Diffusion (SPEC.md §1.1): w += diffusion * xi, no clipping. */
void rpu__simple_diffuse(rpu_weights w, double diffusion, float *row_buf,
                         rpu_rng_cursor *rng) {
  const float d = (float)diffusion;
  for (int i = 0; i < w.rows; i++) {
    float *row = w.w + (size_t)i * w.ld;
    rpu_rng_cursor_normal(rng, row_buf, (size_t)w.cols);
    for (int j = 0; j < w.cols; j++) row[j] += d * row_buf[j];
  }
}

/* ----- helpers ------------------------------------------------------------ */

static size_t n_elems(const simple_state *s) {
  return (size_t)s->rows * (size_t)s->cols;
}

