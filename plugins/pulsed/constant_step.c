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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    __GNUC__ >= 8
#include <immintrin.h>
#define CS_AVX512 1
#define CS_AVX512_TARGET __attribute__((target("avx512f")))
#endif

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
static void cs_pulse_row_dense(void *state, float *w_row, int row,
                               const int32_t *counts, rpu_rng_cursor *rng);

static const rpu_param_desc cs_schema[] = {
    RPU__PULSED_BOUND_PARAMS(cs_params),
    RPU__PULSED_BASE_PARAMS(cs_params),
    RPU_PARAM_DEF_REAL("write_noise_std", cs_params, c.write_noise_std, 0.0,
                       0.0, INFINITY, "dw_min",
                       "not supported by this model: must be 0 (SPEC 4.1)"),
};

static const rpu_device_vtable cs_vtable = {
    .struct_size = sizeof(rpu_device_vtable), .create = cs_create,
    .destroy = rpu__pulsed_destroy, .granularity = cs_granularity,
    .pulse_row = cs_pulse_row, .post_update = rpu__pulsed_post_update,
    .clip = rpu__pulsed_clip, .reset_cols = rpu__pulsed_reset_cols,
    .drift = rpu__pulsed_drift, .set_weights = rpu__pulsed_set_weights,
    .state_size = rpu__pulsed_state_size, .save = rpu__pulsed_save,
    .load = rpu__pulsed_load, .pulse_row_dense = cs_pulse_row_dense,
};

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

/* ----- Dense rows (pulse_row_dense) ---------------------------------------
 *
 * The same model as cs_pulse_row, one count per column.  Vector pass over
 * the row: every element with a count that passes the one-step criterion
 * (and, without noise, lies inside its bounds) is updated in one step,
 * chosen by a mask; the others (near or outside a bound: rare) go through
 * the pulse-by-pulse path, in ascending column order.
 *
 * The criterion here looks at the direction: with |xi| < RPU__XI_MAX a
 * pulse moves the weight forward (along its step) by at most
 * |step| (1 + sig XI_MAX) and backward by at most |step| max(0,
 * sig XI_MAX - 1), so m pulses from x never clip when x plus m times the
 * forward reach and x minus m times the backward reach stay inside the
 * bounds.  (Exact for the same reason as cs_pulse_row's symmetric
 * criterion, which uses the forward reach both ways; this one sends fewer
 * elements near the bound behind them down the slow path.)
 *
 * Random draws, block by block (CS_BLOCK columns) from the row's cursor:
 * first one normal per one-step element of the block, in ascending column
 * order (one bulk draw; the vector kernel spreads them with an expanding
 * load), then the pulse-by-pulse elements of the block, one normal per
 * pulse, in ascending column order.  Which elements take one step is only
 * known while the block is scanned, so the block draws one normal per
 * nonzero count up front (an upper bound; the values are those of the
 * positions the one-step elements take), updates the one-step elements in
 * the same pass that decides them, and moves the cursor back to just past
 * the normals they used, where the pulse-by-pulse elements continue.  The
 * AVX-512 and the portable kernels do the same IEEE operations in the same
 * order (no FMA), so they give identical results. */

#define CS_BLOCK 512

typedef struct cs_row {
  float *w;
  const float *hi, *lo, *up, *down;
  const int32_t *c;
  const float *z; /* normals of the block's one-step columns, in order */
  float sig, reach, back; /* forward and backward reach per pulse */
  rpu_rng_cursor *fb; /* pulse-by-pulse normals */
} cs_row;

/* Block kernel modes: noise-free, with noise (normals in r->z). */
enum { CS_ONE_PASS, CS_NOISY };
static int cs_count_nonzero(const int32_t *c, int n);
static int cs_dense_block(const cs_row *r, int j0, int j1, int *slow,
                          int mode, int *nf);
static void cs_dense_slow(const cs_row *r, const int *slow, int n);
#ifdef CS_AVX512
static int cs_have_avx512(void);
static int cs_dense_block_avx512(const cs_row *r, int j0, int j1,
                                 int *slow, int mode, int *nf);
static void cs_dense_slow_avx512(const cs_row *r, const int *slow, int n);
#endif

static void cs_pulse_row_dense(void *state, float *w_row, int row,
                               const int32_t *counts, rpu_rng_cursor *rng) {
  rpu__pulsed_state *s = state;
  if (row < 0 || row >= s->rows) return;
  const size_t o = (size_t)row * (size_t)s->cols;
  const int cols = s->cols;
  cs_row r;
  r.w = w_row;
  r.hi = s->b_max + o;
  r.lo = s->b_min + o;
  r.up = s->dw_up + o;
  r.down = s->dw_down + o;
  r.c = counts;
  r.sig = (float)s->p.dw_min_std;
  if (!(r.sig > 0)) r.sig = 0.0f;
  r.reach = 1.0f + r.sig * RPU__XI_MAX;
  r.back = r.sig * RPU__XI_MAX - 1.0f;
  if (!(r.back > 0)) r.back = 0.0f;
#ifdef CS_AVX512
  const int vec = cs_have_avx512();
#define CS_BLOCK_KERNEL(...) \
  (vec ? cs_dense_block_avx512(__VA_ARGS__) : cs_dense_block(__VA_ARGS__))
#else
#define CS_BLOCK_KERNEL(...) cs_dense_block(__VA_ARGS__)
#endif
  const int noisy = r.sig > 0;
  r.fb = rng; /* NULL: zeros (rpu__pulsed_draw_normals) */
  float z[CS_BLOCK];
  int slow[CS_BLOCK];
  r.z = z;
  for (int j0 = 0; j0 < cols; j0 += CS_BLOCK) {
    const int j1 = cols - j0 < CS_BLOCK ? cols : j0 + CS_BLOCK;
    int ns, nf = 0;
    if (noisy) {
      const int nz = cs_count_nonzero(counts + j0, j1 - j0);
      if (nz == 0) continue;
      rpu__pulsed_draw_normals(rng, z, (size_t)nz);
      ns = CS_BLOCK_KERNEL(&r, j0, j1, slow, CS_NOISY, &nf);
      if (rng != NULL) rng->pos -= (uint64_t)(nz - nf); /* unused ones */
    } else {
      ns = CS_BLOCK_KERNEL(&r, j0, j1, slow, CS_ONE_PASS, &nf);
    }
    if (ns > 0) {
#ifdef CS_AVX512
      if (vec && noisy && rng != NULL)
        cs_dense_slow_avx512(&r, slow, ns);
      else
#endif
        cs_dense_slow(&r, slow, ns);
    }
  }
#undef CS_BLOCK_KERNEL
}

/* Columns slow[0..n) (ascending) pulse by pulse (SPEC.md §4.6); their
 * normals, one per pulse, come from r->fb in one bulk draw per
 * RPU__NORMALS_BUF values. */
static void cs_dense_slow(const cs_row *r, const int *slow, int n) {
  const float sig = r->sig;
  if (!(sig > 0)) { /* outside the bounds: the first pulse clips */
    for (int k = 0; k < n; k++) {
      const int j = slow[k];
      const int32_t c = r->c[j];
      const float lo = r->lo[j], hi = r->hi[j];
      const float step = rpu__signed_step(c, r->up[j], r->down[j]);
      const int64_t m = rpu__abs_count(c);
      float x = rpu__clampf(r->w[j] + step, lo, hi);
      if (m > 1) x = rpu__clampf(x + (float)(m - 1) * step, lo, hi);
      r->w[j] = x;
    }
    return;
  }
  size_t need = 0;
  for (int k = 0; k < n; k++) need += (size_t)rpu__abs_count(r->c[slow[k]]);
  rpu__normals z;
  rpu__normals_init(&z, r->fb, need);
  for (int k = 0; k < n; k++) {
    const int j = slow[k];
    const int32_t c = r->c[j];
    const float lo = r->lo[j], hi = r->hi[j];
    const float step = rpu__signed_step(c, r->up[j], r->down[j]);
    const int64_t m = rpu__abs_count(c);
    float x = r->w[j];
    for (int64_t t = 0; t < m; t++)
      x = rpu__clampf(x + step * (1.0f + sig * rpu__normals_next(&z)), lo, hi);
    r->w[j] = x;
  }
}

/* Portable kernel; the one-step formulas are those of cs_pulse_row.
 * CS_ONE_PASS (no noise): updates the one-step columns (those inside
 * their bounds) and lists the others in slow.  CS_NOISY: updates the
 * columns that pass the one-step criterion with the normals r->z, in
 * order, counts them (*nf) and lists the others.  Returns the number
 * listed. */
static int cs_dense_block(const cs_row *r, int j0, int j1, int *slow,
                          int mode, int *nf) {
  const float sig = r->sig, reach = r->reach, back = r->back;
  int ns = 0, k = 0; /* k: one-step columns so far */
  for (int j = j0; j < j1; j++) {
    const int32_t c = r->c[j];
    if (c == 0) continue;
    const float lo = r->lo[j], hi = r->hi[j];
    const float step = rpu__signed_step(c, r->up[j], r->down[j]);
    const float mf = (float)rpu__abs_count(c);
    const float x = r->w[j];
    int fast;
    if (mode == CS_NOISY) {
      const float a = mf * fabsf(step);
      const float rf = a * reach, rb = a * back; /* c < 0: up, forward = hi */
      const float rhi = c < 0 ? rf : rb, rlo = c < 0 ? rb : rf;
      fast = x - rlo >= lo && x + rhi <= hi;
    } else {
      fast = x <= hi && x >= lo;
    }
    if (!fast) {
      slow[ns++] = j;
    } else if (mode == CS_NOISY) {
      const float y = x + step * (mf + sig * sqrtf(mf) * r->z[k++]);
      r->w[j] = rpu__clampf(y, lo, hi);
    } else {
      r->w[j] = rpu__clampf(x + mf * step, lo, hi);
    }
  }
  *nf = k;
  return ns;
}

/* Number of nonzero counts. */
static int cs_count_nonzero(const int32_t *c, int n) {
  int nz = 0;
  for (int j = 0; j < n; j++) nz += c[j] != 0;
  return nz;
}

#ifdef CS_AVX512
static int cs_have_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

/* cs_dense_block, 16 columns per step (masked loads at the end of the
 * block); same modes, same operations. */
CS_AVX512_TARGET static int cs_dense_block_avx512(const cs_row *r, int j0,
                                                  int j1, int *slow, int mode,
                                                  int *nf) {
  const __m512 vsig = _mm512_set1_ps(r->sig), vreach = _mm512_set1_ps(r->reach);
  const __m512 vback = _mm512_set1_ps(r->back);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i absmask = _mm512_set1_epi32(0x7fffffff);
  const __m512i signbit = _mm512_set1_epi32((int)0x80000000u);
  int ns = 0, k = 0; /* k: one-step columns so far */
  for (int j = j0; j < j1; j += 16) {
    const __mmask16 lm = j1 - j >= 16 ? (__mmask16)0xffff
                                      : (__mmask16)((1u << (j1 - j)) - 1u);
    const __m512i c = _mm512_maskz_loadu_epi32(lm, r->c + j);
    const __mmask16 nz = _mm512_mask_cmpneq_epi32_mask(lm, c, zero);
    if (nz == 0) continue;
    const __mmask16 neg = _mm512_mask_cmplt_epi32_mask(nz, c, zero);
    const __m512 x = _mm512_maskz_loadu_ps(nz, r->w + j);
    const __m512 lo = _mm512_maskz_loadu_ps(nz, r->lo + j);
    const __m512 hi = _mm512_maskz_loadu_ps(nz, r->hi + j);
    const __m512 up = _mm512_maskz_loadu_ps(nz, r->up + j);
    const __m512 dn = _mm512_maskz_loadu_ps(nz, r->down + j);
    /* step = c < 0 ? up : -down (rpu__signed_step) */
    const __m512 ndn =
        _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(dn), signbit));
    const __m512 step = _mm512_mask_blend_ps(neg, ndn, up);
    const __m512 mf = _mm512_cvtepi32_ps(_mm512_abs_epi32(c));
    __mmask16 fast;
    if (mode == CS_NOISY) {
      const __m512 astep =
          _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(step), absmask));
      const __m512 a = _mm512_mul_ps(mf, astep);
      const __m512 rf = _mm512_mul_ps(a, vreach), rb = _mm512_mul_ps(a, vback);
      const __m512 rhi = _mm512_mask_blend_ps(neg, rb, rf); /* up: forward */
      const __m512 rlo = _mm512_mask_blend_ps(neg, rf, rb);
      fast = _mm512_mask_cmp_ps_mask(nz, _mm512_sub_ps(x, rlo), lo, _CMP_GE_OQ) &
             _mm512_cmp_ps_mask(_mm512_add_ps(x, rhi), hi, _CMP_LE_OQ);
      if (fast != 0) {
        const __m512 zz = _mm512_maskz_expandloadu_ps(fast, r->z + k);
        const __m512 noise =
            _mm512_mul_ps(_mm512_mul_ps(vsig, _mm512_sqrt_ps(mf)), zz);
        __m512 y =
            _mm512_add_ps(x, _mm512_mul_ps(step, _mm512_add_ps(mf, noise)));
        y = _mm512_max_ps(_mm512_min_ps(y, hi), lo); /* rpu__clampf */
        _mm512_mask_storeu_ps(r->w + j, fast, y);
        k += __builtin_popcount((unsigned)fast);
      }
    } else {
      fast = _mm512_mask_cmp_ps_mask(nz, x, hi, _CMP_LE_OQ) &
             _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
      __m512 y = _mm512_add_ps(x, _mm512_mul_ps(mf, step));
      y = _mm512_max_ps(_mm512_min_ps(y, hi), lo);
      _mm512_mask_storeu_ps(r->w + j, fast, y);
    }
    unsigned sm = (unsigned)(nz & (__mmask16)~fast);
    while (sm != 0) { /* ascending columns, as the portable kernel */
      slow[ns++] = j + __builtin_ctz(sm);
      sm &= sm - 1u;
    }
  }
  *nf = k;
  return ns;
}
#endif

#ifdef CS_AVX512
/* cs_dense_slow with noise, 16 columns at a time, pulse slot by pulse
 * slot: lane e runs the m_e pulses of its column (lanes that are done
 * idle), its t-th normal at position (start of its column's normals) + t,
 * gathered from a window of pre-drawn normals.  Same positions and the
 * same operations as the portable loop.  A group whose pulses do not fit
 * the window (huge counts) goes to the portable code. */
#define CS_SLOW_BUF 4096
CS_AVX512_TARGET static void cs_dense_slow_avx512(const cs_row *r,
                                                  const int *slow, int n) {
  float buf[CS_SLOW_BUF];
  rpu_rng_cursor *fb = r->fb;
  const uint64_t p0 = fb->pos;
  uint64_t need = 0;
  for (int k = 0; k < n; k++) need += (uint64_t)rpu__abs_count(r->c[slow[k]]);
  uint64_t off = 0, win0 = 0, winn = 0; /* window: [win0, win0 + winn) */
  const __m512 vsig = _mm512_set1_ps(r->sig), one = _mm512_set1_ps(1.0f);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i signbit = _mm512_set1_epi32((int)0x80000000u);
  for (int k0 = 0; k0 < n; k0 += 16) {
    const int g = n - k0 < 16 ? n - k0 : 16;
    int32_t ms[16], os[16];
    uint64_t G = 0;
    int32_t mmax = 0;
    for (int e = 0; e < 16; e++) {
      const int64_t m = e < g ? rpu__abs_count(r->c[slow[k0 + e]]) : 0;
      os[e] = (int32_t)(G < (uint64_t)CS_SLOW_BUF ? G : 0);
      ms[e] = (int32_t)(m < CS_SLOW_BUF ? m : 0);
      G += (uint64_t)m;
      if (m > mmax) mmax = (int32_t)(m < CS_SLOW_BUF ? m : CS_SLOW_BUF);
    }
    if (G > CS_SLOW_BUF) { /* portable, from the right position */
      fb->pos = p0 + off;
      cs_dense_slow(r, slow + k0, g);
      off += G;
      continue;
    }
    if (off < win0 || off + G > win0 + winn) {
      win0 = off;
      winn = need - off < CS_SLOW_BUF ? need - off : CS_SLOW_BUF;
      rpu_rng_fill_normal(&fb->stream, p0 + win0, buf, (size_t)winn);
    }
    const __mmask16 lm = (__mmask16)((1u << g) - 1u);
    const __m512i jv = _mm512_maskz_loadu_epi32(lm, slow + k0);
    const __m512i c = _mm512_mask_i32gather_epi32(zero, lm, jv, r->c, 4);
    const __mmask16 neg = _mm512_mask_cmplt_epi32_mask(lm, c, zero);
    const __m512i mv = _mm512_loadu_si512((const void *)ms);
    __m512i idx = _mm512_add_epi32(_mm512_loadu_si512((const void *)os),
                                   _mm512_set1_epi32((int)(off - win0)));
    __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lm, jv, r->w, 4);
    const __m512 lo = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lm, jv, r->lo, 4);
    const __m512 hi = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lm, jv, r->hi, 4);
    const __m512 up = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lm, jv, r->up, 4);
    const __m512 dn = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lm, jv, r->down, 4);
    const __m512 ndn =
        _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(dn), signbit));
    const __m512 step = _mm512_mask_blend_ps(neg, ndn, up);
    for (int32_t t = 0; t < mmax; t++) {
      const __mmask16 act =
          _mm512_mask_cmplt_epi32_mask(lm, _mm512_set1_epi32(t), mv);
      const __m512 xi = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), act, idx, buf, 4);
      __m512 y = _mm512_add_ps(
          x, _mm512_mul_ps(step, _mm512_add_ps(one, _mm512_mul_ps(vsig, xi))));
      y = _mm512_max_ps(_mm512_min_ps(y, hi), lo);
      x = _mm512_mask_mov_ps(x, act, y);
      idx = _mm512_add_epi32(idx, _mm512_set1_epi32(1));
    }
    _mm512_mask_i32scatter_ps(r->w, lm, jv, x, 4);
    off += G;
  }
  fb->pos = p0 + need;
}
#endif
