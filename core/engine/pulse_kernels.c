/* The bit-mask kernels of the pulsed update engine (see pulse_kernels.h;
 * SPEC.md §3.3), apart from pulse.c so that the engine's planning and
 * threading and these SIMD kernels are read and changed separately; every
 * kernel is called per line block or per row, never per element, so the
 * call across files costs nothing measurable (the clones and target
 * functions could not be inlined into pulse.c anyway). */
#include <math.h>
#include <stdint.h>

#include "core/engine/pulse_kernels.h"
#include "core/util/simd.h"

/* Popcount kernels: built for plain x86-64 and for CPUs with POPCNT,
 * chosen at load time (never -march=native; same results either way).
 * On CPUs with AVX-512 VPOPCNTDQ the one-word kernels have vector twins
 * (8 columns per step, compaction by vpcompressd), picked at run time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__ELF__) && !defined(__SANITIZE_ADDRESS__)
#define KERNEL_CLONES __attribute__((target_clones("default", "popcnt")))
#else
#define KERNEL_CLONES
#endif
#ifdef RPU__PULSE_AVX512
#include <immintrin.h>
#define KERNEL_AVX512_TARGET \
  __attribute__((target("avx2,avx512f,avx512vl,avx512vpopcntdq")))
/* stoch_lines, four lines per step (below) */
static int stoch_lines_avx2(const float *src, int n, double scale, int32_t flip,
                            int32_t *sign, uint32_t *thr);
#endif

/* ----- Row kernels ------------------------------------------------------ */

/* One mask word per line: count = popcount(d & x), signed by the row and
 * column signs (positive = down).  Branch-free compaction: every column
 * is written, the index only advances for a nonzero count. */
KERNEL_CLONES int rpu__pulse_row_counts_bits1(
    uint64_t dm, int32_t sd, const uint64_t *xm, const int *xcol,
    const int32_t *xs, int nx, int *cols, int32_t *counts, uint64_t *total) {
  int n = 0;
  uint64_t sum = 0;
  for (int k = 0; k < nx; k++) {
    int32_t c = (int32_t)__builtin_popcountll(dm & xm[k]);
    cols[n] = xcol[k];
    counts[n] = c * sd * xs[k];
    sum += (uint64_t)c;
    n += c != 0;
  }
  *total = sum;
  return n;
}

KERNEL_CLONES int rpu__pulse_row_counts_bitsn(
    const uint64_t *dm, int nw, int32_t sd, const uint64_t *xm, const int *xcol,
    const int32_t *xs, int nx, int *cols, int32_t *counts, uint64_t *total) {
  int n = 0;
  uint64_t sum = 0;
  for (int k = 0; k < nx; k++) {
    const uint64_t *m = xm + (size_t)k * nw;
    int32_t c = 0;
    for (int q = 0; q < nw; q++)
      c += (int32_t)__builtin_popcountll(dm[q] & m[q]);
    cols[n] = xcol[k];
    counts[n] = c * sd * xs[k];
    sum += (uint64_t)c;
    n += c != 0;
  }
  *total = sum;
  return n;
}

/* Dense counts of a row: for every column j, popcount(d & x_j) signed by
 * the row and column signs (silent columns have an empty mask and sign
 * 0, so they get 0).  Returns the number of pulses. */
KERNEL_CLONES uint64_t rpu__pulse_row_dense_bits(const uint64_t *dm, int nw,
                                                 int32_t sd,
                                                 const uint64_t *masks,
                                                 const int32_t *sign, int ncols,
                                                 int32_t *dense) {
  uint64_t sum = 0;
  if (nw == 1) {
    const uint64_t d0 = dm[0];
    for (int j = 0; j < ncols; j++) {
      int32_t c = (int32_t)__builtin_popcountll(d0 & masks[j]);
      dense[j] = c * sd * sign[j];
      sum += (uint64_t)c;
    }
    return sum;
  }
  for (int j = 0; j < ncols; j++) {
    const uint64_t *m = masks + (size_t)j * nw;
    int32_t c = 0;
    for (int q = 0; q < nw; q++)
      c += (int32_t)__builtin_popcountll(dm[q] & m[q]);
    dense[j] = c * sd * sign[j];
    sum += (uint64_t)c;
  }
  return sum;
}

#ifdef RPU__PULSE_AVX512
/* rpu__pulse_row_dense_bits with one mask word, 8 columns at a time (same
 * output). */
KERNEL_AVX512_TARGET uint64_t rpu__pulse_row_dense_bits1_avx512(
    uint64_t dm, int32_t sd, const uint64_t *masks, const int32_t *sign,
    int ncols, int32_t *dense) {
  const __m512i vd = _mm512_set1_epi64((long long)dm);
  const __m256i vsd = _mm256_set1_epi32(sd);
  __m256i vsum = _mm256_setzero_si256(); /* <= 64 per lane and step */
  int j = 0;
  for (; j + 8 <= ncols; j += 8) {
    __m512i m =
        _mm512_and_si512(_mm512_loadu_si512((const void *)(masks + j)), vd);
    __m256i c = _mm512_cvtepi64_epi32(_mm512_popcnt_epi64(m));
    vsum = _mm256_add_epi32(vsum, c);
    __m256i sx = _mm256_loadu_si256((const __m256i *)(const void *)(sign + j));
    _mm256_storeu_si256((__m256i *)(void *)(dense + j),
                        _mm256_sign_epi32(_mm256_sign_epi32(c, sx), vsd));
  }
  uint32_t lanes[8];
  _mm256_storeu_si256((__m256i *)(void *)lanes, vsum);
  uint64_t sum = 0;
  for (int q = 0; q < 8; q++) sum += lanes[q];
  /* the last ncols % 8 columns: the plain kernel */
  return sum + rpu__pulse_row_dense_bits(&dm, 1, sd, masks + j, sign + j,
                                         ncols - j, dense + j);
}

/* rpu__pulse_row_counts_bits1, 8 columns at a time: popcounts of (d & x) as
 * 64-bit lanes narrowed to 32 bits, signs applied with vpsignd, then the
 * nonzero lanes compressed to the front and stored whole (the store never
 * passes column k+8 <= nx, so the buffers need no slack); n advances by the
 * number of nonzero lanes.  Same output as the scalar kernel. */
KERNEL_AVX512_TARGET int rpu__pulse_row_counts_bits1_avx512(
    uint64_t dm, int32_t sd, const uint64_t *xm, const int *xcol,
    const int32_t *xs, int nx, int *cols, int32_t *counts, uint64_t *total) {
  const __m512i vd = _mm512_set1_epi64((long long)dm);
  const __m256i vsd = _mm256_set1_epi32(sd);
  __m256i vsum = _mm256_setzero_si256(); /* <= 64 per lane and step */
  int n = 0, k = 0;
  for (; k + 8 <= nx; k += 8) {
    __m512i m =
        _mm512_and_si512(_mm512_loadu_si512((const void *)(xm + k)), vd);
    __m256i c = _mm512_cvtepi64_epi32(_mm512_popcnt_epi64(m));
    __mmask8 nz = _mm256_test_epi32_mask(c, c);
    vsum = _mm256_add_epi32(vsum, c);
    __m256i sx = _mm256_loadu_si256((const __m256i *)(const void *)(xs + k));
    __m256i sc = _mm256_sign_epi32(_mm256_sign_epi32(c, sx), vsd);
    __m256i col = _mm256_loadu_si256((const __m256i *)(const void *)(xcol + k));
    _mm256_storeu_si256((__m256i *)(void *)(cols + n),
                        _mm256_maskz_compress_epi32(nz, col));
    _mm256_storeu_si256((__m256i *)(void *)(counts + n),
                        _mm256_maskz_compress_epi32(nz, sc));
    n += __builtin_popcount((unsigned)nz);
  }
  uint32_t lanes[8];
  _mm256_storeu_si256((__m256i *)(void *)lanes, vsum);
  uint64_t sum = 0;
  for (int q = 0; q < 8; q++) sum += lanes[q];
  /* the last nx % 8 lines: the plain kernel */
  uint64_t tail;
  n += rpu__pulse_row_counts_bits1(dm, sd, xm + k, xcol + k, xs + k, nx - k,
                                   cols + n, counts + n, &tail);
  *total = sum + tail;
  return n;
}

/* The slot mask of one line with bl <= 64 slots: bit k set if
 * (wd[k] >> 9) < t, 16 slots per compare; masked loads never touch words
 * beyond bl. */
KERNEL_AVX512_TARGET uint64_t rpu__pulse_slot_mask_avx512(const uint32_t *wd,
                                                          int bl, uint32_t t) {
  const __m512i vt = _mm512_set1_epi32((int)t);
  uint64_t m = 0;
  for (int k = 0; k < bl; k += 16) {
    __mmask16 lm =
        bl - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (bl - k)) - 1u);
    __m512i v = _mm512_srli_epi32(_mm512_maskz_loadu_epi32(lm, wd + k), 9);
    m |= (uint64_t)_mm512_mask_cmplt_epu32_mask(lm, v, vt) << k;
  }
  return m;
}

/* The slot masks of n lines with bl <= 64 slots each, 8 lines per step:
 * the words of line l are wd[l*bl .. l*bl + bl - 1]; slot k of the 8
 * lines is one gather and one compare (bit k of the 8 masks).  Same
 * result as rpu__pulse_slot_mask_avx512 per line; a threshold 0 gives 0. */
KERNEL_AVX512_TARGET void rpu__pulse_slot_masks8_avx512(const uint32_t *wd,
                                                        int n, int bl,
                                                        const uint32_t *thr,
                                                        uint64_t *masks) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i vbl = _mm256_set1_epi32(bl), one = _mm256_set1_epi32(1);
  for (int l = 0; l < n; l += 8) {
    const __mmask8 lm =
        n - l >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - l)) - 1u);
    const __m256i t = _mm256_maskz_loadu_epi32(lm, thr + l);
    __m256i idx =
        _mm256_mullo_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(l)), vbl);
    __m512i acc = _mm512_setzero_si512(), bit = _mm512_set1_epi64(1);
    for (int k = 0; k < bl; k++) {
      __m256i w = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), lm, idx,
                                               (const int *)wd, 4);
      __mmask8 c = _mm256_mask_cmplt_epu32_mask(lm, _mm256_srli_epi32(w, 9), t);
      acc = _mm512_mask_or_epi64(acc, c, acc, bit);
      bit = _mm512_slli_epi64(bit, 1);
      idx = _mm256_add_epi32(idx, one);
    }
    _mm512_mask_storeu_epi64(masks + l, lm, acc);
  }
}

/* rpu__pulse_stoch_lines, four lines per step; returns the lines done (a
 * multiple of 4), the caller does the rest. */
__attribute__((target("avx2"))) static int stoch_lines_avx2(const float *src,
                                                            int n, double scale,
                                                            int32_t flip,
                                                            int32_t *sign,
                                                            uint32_t *thr) {
  const __m256d vs = _mm256_set1_pd(scale), zero = _mm256_setzero_pd();
  const __m256d one = _mm256_set1_pd((double)RPU__PULSE_ONE_THRESHOLD);
  const __m256d half = _mm256_set1_pd(0.5);
  const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128i vflip = _mm_set1_epi32(flip);
  int k = 0;
  for (; k + 4 <= n; k += 4) {
    __m128 v = _mm_loadu_ps(src + k);
    __m256d pp = _mm256_mul_pd(_mm256_cvtps_pd(_mm_and_ps(v, absmask)), vs);
    __m256d q = _mm256_sub_pd(_mm256_mul_pd(pp, one), half);
    q = _mm256_min_pd(_mm256_max_pd(q, zero), one);
    __m128i t = _mm256_cvttpd_epi32(q);
    __m256d lt = _mm256_cmp_pd(_mm256_cvtepi32_pd(t), q, _CMP_LT_OQ);
    __m256d pos = _mm256_cmp_pd(pp, zero, _CMP_GT_OQ);
    /* the 64-bit compare masks narrowed to 32 bits (even words) */
    __m128 ltn = _mm_shuffle_ps(_mm_castpd_ps(_mm256_castpd256_pd128(lt)),
                                _mm_castpd_ps(_mm256_extractf128_pd(lt, 1)),
                                _MM_SHUFFLE(2, 0, 2, 0));
    __m128 posn = _mm_shuffle_ps(_mm_castpd_ps(_mm256_castpd256_pd128(pos)),
                                 _mm_castpd_ps(_mm256_extractf128_pd(pos, 1)),
                                 _MM_SHUFFLE(2, 0, 2, 0));
    t = _mm_sub_epi32(t, _mm_castps_si128(ltn)); /* mask -1: +1 */
    __m128i sg =
        _mm_sub_epi32(_mm_castps_si128(_mm_cmplt_ps(v, _mm_setzero_ps())),
                      _mm_castps_si128(_mm_cmpgt_ps(v, _mm_setzero_ps())));
    sg = _mm_and_si128(_mm_sign_epi32(sg, vflip), _mm_castps_si128(posn));
    _mm_storeu_si128((__m128i *)(void *)(sign + k), sg);
    _mm_storeu_si128((__m128i *)(void *)(thr + k), t);
  }
  return k;
}
#endif

/* Sign and threshold of n lines with values src, probability
 * p = scale |v| (no discretisation): sign 0 for a silent line (p = 0),
 * flip folds sign(lr) into d lines; rpu__pulse_threshold_inline(p) each.
 * With AVX2 four lines per step, branch-free: q = p 2^23 - 1/2 clamped to
 * [0, 2^23], then ceil q = trunc q + (trunc q < q) — the inline
 * threshold's value (p 2^23 is exact, so the operations are the same; p is
 * finite here). */
void rpu__pulse_stoch_lines(const float *src, int n, double scale, int32_t flip,
                            int32_t *sign, uint32_t *thr, int avx2) {
  int k = 0;
#ifdef RPU__PULSE_AVX512
  if (avx2) k = stoch_lines_avx2(src, n, scale, flip, sign, thr);
#endif
  for (; k < n; k++) {
    float val = src[k];
    double pp = scale * fabs((double)val);
    int32_t sg = (val > 0.0f) - (val < 0.0f);
    sign[k] = pp > 0.0 ? flip * sg : 0;
    thr[k] = rpu__pulse_threshold_inline(pp);
  }
}

/* Whether the AVX-512 kernel may run here (under valgrind the CPU reports
 * no AVX-512 and the scalar kernel runs). */
int rpu__pulse_have_avx512(void) {
#ifdef RPU__PULSE_AVX512
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vpopcntdq");
#else
  return 0;
#endif
}

/* Whether the AVX2 kernels may run (cached: the CPU does not change). */
int rpu__pulse_have_avx2(void) {
#ifdef RPU__PULSE_AVX512
  static int known = -1;
  int h = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (h < 0) {
    __builtin_cpu_init();
    h = __builtin_cpu_supports("avx2") != 0;
    __atomic_store_n(&known, h, __ATOMIC_RELAXED);
  }
  return h;
#else
  return 0;
#endif
}
