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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    __GNUC__ >= 8
#include <immintrin.h>
#define LS_AVX512 1
#define LS_AVX512_TARGET __attribute__((target("avx512f")))
#endif

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

static const rpu_device_vtable ls_vtable = RPU__PULSED_VTABLE_DENSE(
    ls_create, ls_granularity, rpu__linear_step_pulse_row,
    rpu__linear_step_pulse_row_dense);

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

/* ----- Dense rows (pulse_row_dense) ---------------------------------------
 *
 * Columns in chunks of LS_CHUNK: the nonzero ones are listed in ascending
 * order and pulsed exactly as pulse_row would (rpu__pulse_elements: per
 * element its pulse normals, then its write-noise normal, in list order),
 * so the cursor positions and the results are those of pulse_row.  With
 * AVX-512 a chunk whose normals fit LS_NBUF is run 16 elements at a time,
 * pulse slot by pulse slot (lanes whose element is done idle), each lane
 * gathering its normals from the chunk's bulk draw; ls_pulse's operations
 * in ls_pulse's order. */
#define LS_CHUNK 256
#define LS_NBUF 4096

#ifdef LS_AVX512
static int ls_have_avx512(void);
static void ls_dense_avx512(rpu__pulsed_state *s, float *w_row, float *t,
                            size_t o, const int *jl, const int32_t *cl,
                            int n, const float *z, const int32_t *off);
#endif

void rpu__linear_step_pulse_row_dense(void *state, float *w_row, int row,
                                      const int32_t *counts,
                                      rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (row < 0 || row >= s->rows) return;
  const int cols = s->cols;
  int jl[LS_CHUNK];
  int32_t cl[LS_CHUNK];
#ifdef LS_AVX512
  const int vec = ls_have_avx512();
  const size_t o = (size_t)row * (size_t)cols;
  const int noisy = s->p.dw_min_std > 0, wn = s->wp != NULL;
  float *t = rpu__pulsed_target_row(s, w_row, row);
  float z[LS_NBUF];
  int32_t off[LS_CHUNK];
#endif
  for (int j0 = 0; j0 < cols; j0 += LS_CHUNK) {
    const int j1 = cols - j0 < LS_CHUNK ? cols : j0 + LS_CHUNK;
    int n = 0;
    for (int j = j0; j < j1; j++) {
      jl[n] = j;
      cl[n] = counts[j];
      n += counts[j] != 0;
    }
    if (n == 0) continue;
#ifdef LS_AVX512
    if (vec) {
      int64_t need = 0;
      for (int k = 0; k < n && need <= LS_NBUF; k++) {
        off[k] = (int32_t)need;
        need += (noisy ? rpu__abs_count(cl[k]) : 0) + (wn ? 1 : 0);
      }
      if (need <= LS_NBUF) {
        if (need > 0) rpu__pulsed_draw_normals(rng, z, (size_t)need);
        ls_dense_avx512(s, w_row, t, o, jl, cl, n, z, off);
        continue;
      }
    }
#endif
    rpu__pulse_elements(s, w_row, row, jl, cl, n, rng, ls_pulse);
  }
}

#ifdef LS_AVX512
static int ls_have_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

/* Elements jl[0..n) (counts cl) of the row at o; z holds their normals,
 * element k's from off[k] on (pulse normals, then write noise). */
LS_AVX512_TARGET static void ls_dense_avx512(rpu__pulsed_state *s,
                                             float *w_row, float *t, size_t o,
                                             const int *jl, const int32_t *cl,
                                             int n, const float *z,
                                             const int32_t *off) {
  const int noisy = s->p.dw_min_std > 0, wn = s->wp != NULL;
  const int mult = s->flag[0];
  const __m512 one = _mm512_set1_ps(1.0f), vstd = _mm512_set1_ps(s->dw_std);
  const __m512 vwn = _mm512_set1_ps(s->write_noise);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i signbit = _mm512_set1_epi32((int)0x80000000u);
  const __m512 fzero = _mm512_setzero_ps();
  for (int k0 = 0; k0 < n; k0 += 16) {
    const __mmask16 lm = n - k0 >= 16 ? (__mmask16)0xffff
                                      : (__mmask16)((1u << (n - k0)) - 1u);
    const __m512i jv = _mm512_maskz_loadu_epi32(lm, jl + k0);
    const __m512i c = _mm512_maskz_loadu_epi32(lm, cl + k0);
    const __m512i m = _mm512_abs_epi32(c);
    const __mmask16 neg = _mm512_mask_cmplt_epi32_mask(lm, c, zero);
    __m512i idx = _mm512_maskz_loadu_epi32(lm, off + k0);
    /* element index i = o + j for the state arrays */
    const float *e0 = s->extra[0] + o, *e1 = s->extra[1] + o;
    const __m512 a = _mm512_mask_blend_ps(
        neg,
        _mm512_castsi512_ps(_mm512_xor_si512(
            _mm512_castps_si512(_mm512_mask_i32gather_ps(fzero, lm, jv, e1, 4)),
            signbit)),
        _mm512_mask_i32gather_ps(fzero, lm, jv, e0, 4));
    const __m512 b = _mm512_mask_blend_ps(
        neg,
        _mm512_castsi512_ps(_mm512_xor_si512(
            _mm512_castps_si512(
                _mm512_mask_i32gather_ps(fzero, lm, jv, s->dw_down + o, 4)),
            signbit)),
        _mm512_mask_i32gather_ps(fzero, lm, jv, s->dw_up + o, 4));
    const __m512 lo = _mm512_mask_i32gather_ps(fzero, lm, jv, s->b_min + o, 4);
    const __m512 hi = _mm512_mask_i32gather_ps(fzero, lm, jv, s->b_max + o, 4);
    const __m512 a1 = _mm512_add_ps(one, a); /* non-mult: 1 + a */
    __m512 x = _mm512_mask_i32gather_ps(fzero, lm, jv, t, 4);
    int32_t mm[16];
    _mm512_storeu_si512((void *)mm, _mm512_maskz_mov_epi32(lm, m));
    int32_t mmax = 0;
    for (int e = 0; e < 16; e++) mmax = mm[e] > mmax ? mm[e] : mmax;
    for (int32_t p = 0; p < mmax; p++) {
      const __mmask16 act =
          _mm512_mask_cmplt_epi32_mask(lm, _mm512_set1_epi32(p), m);
      __m512 f = one;
      if (noisy) {
        const __m512 xi = _mm512_mask_i32gather_ps(fzero, act, idx, z, 4);
        f = _mm512_add_ps(one, _mm512_mul_ps(vstd, xi));
        idx = _mm512_mask_add_epi32(idx, act, idx, _mm512_set1_epi32(1));
      } else {
        /* ls_pulse gets xi = 0: f = 1 + dw_std * 0 */
        f = _mm512_add_ps(one, _mm512_mul_ps(vstd, fzero));
      }
      __m512 y = mult ? _mm512_add_ps(
                            _mm512_mul_ps(x, _mm512_add_ps(one, _mm512_mul_ps(a, f))),
                            _mm512_mul_ps(b, f))
                      : _mm512_add_ps(_mm512_mul_ps(x, a1), _mm512_mul_ps(b, f));
      y = _mm512_max_ps(_mm512_min_ps(y, hi), lo);
      x = _mm512_mask_mov_ps(x, act, y);
    }
    _mm512_mask_i32scatter_ps(t, lm, jv, x, 4);
    if (wn) { /* idx now points at each element's write-noise normal */
      const __m512 xi = _mm512_mask_i32gather_ps(fzero, lm, idx, z, 4);
      _mm512_mask_i32scatter_ps(w_row, lm, jv,
                                _mm512_add_ps(x, _mm512_mul_ps(vwn, xi)), 4);
    }
  }
}
#endif
