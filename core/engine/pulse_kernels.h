/* Internal: the bit-mask kernels of the pulsed update engine (pulse.c).
 *
 * A pulse train of BL slots is a bit mask (one uint64 per 64 slots); these
 * kernels turn line values into thresholds and signs, thresholds and
 * uniform words into slot masks, and masks into the signed coincidence
 * counts of a row (popcount(d_i & x_j), SPEC.md §3.3).  Each plain kernel
 * is built for baseline x86-64 and for CPUs with POPCNT (target_clones,
 * chosen at load time, never -march=native); the AVX-512 (VPOPCNTDQ) and
 * AVX2 twins are picked at run time by the engine (rpu__pulse_have_*).
 * Every variant gives the same output bits as the plain kernel.
 */
#ifndef RPU_CORE_ENGINE_PULSE_KERNELS_H
#define RPU_CORE_ENGINE_PULSE_KERNELS_H

#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    __GNUC__ >= 8
#define RPU__PULSE_AVX512 1 /* the vector twins exist in this build */
#endif

/* rpu__pulse_threshold(1): the threshold of a line that always fires. */
#define RPU__PULSE_ONE_THRESHOLD (1u << 23)

/* rpu__pulse_threshold (pulse.h), inlined into the hot loops: T = ceil(p
 * 2^23 - 1/2) clamped to [0, 2^23]; a slot fires if (uniform >> 9) < T. */
static inline uint32_t rpu__pulse_threshold_inline(double p) {
  if (!(p > 0.0)) return 0;
  double q = p * (double)RPU__PULSE_ONE_THRESHOLD - 0.5; /* exact */
  if (q >= (double)RPU__PULSE_ONE_THRESHOLD) return RPU__PULSE_ONE_THRESHOLD;
  if (q <= 0.0) return 0;
  uint32_t t = (uint32_t)q; /* floor; ceil without a libm call */
  return t + ((double)t < q);
}

/* Whether the AVX-512 (F, VL, VPOPCNTDQ) resp. AVX2 kernels may run on this
 * CPU (under valgrind the CPU reports no AVX-512). */
int rpu__pulse_have_avx512(void);
int rpu__pulse_have_avx2(void);

/* Sign and threshold of n lines with values src and probability
 * p = scale |v| (no discretisation): sign 0 for a silent line (p = 0),
 * otherwise flip * sign(v) (flip folds sign(lr) into d lines); thr the
 * rpu__pulse_threshold_inline(p) of each.  avx2: may use the AVX2 path. */
void rpu__pulse_stoch_lines(const float *src, int n, double scale,
                            int32_t flip, int32_t *sign, uint32_t *thr,
                            int avx2);

/* The nonzero signed counts of one row against the nx active x lines
 * (masks xm, columns xcol, signs xs), compacted into cols/counts; the
 * count is positive for a "down" pulse.  *total = the number of pulses.
 * Returns the number of nonzero columns.  bits1: one mask word per line;
 * bitsn: nw words per line. */
int rpu__pulse_row_counts_bits1(uint64_t dm, int32_t sd, const uint64_t *xm,
                                const int *xcol, const int32_t *xs, int nx,
                                int *cols, int32_t *counts, uint64_t *total);
int rpu__pulse_row_counts_bitsn(const uint64_t *dm, int nw, int32_t sd,
                                const uint64_t *xm, const int *xcol,
                                const int32_t *xs, int nx, int *cols,
                                int32_t *counts, uint64_t *total);

/* Dense signed counts of a row: one per column, zeros included (silent
 * columns have sign 0).  Returns the number of pulses. */
uint64_t rpu__pulse_row_dense_bits(const uint64_t *dm, int nw, int32_t sd,
                                   const uint64_t *masks, const int32_t *sign,
                                   int ncols, int32_t *dense);

#ifdef RPU__PULSE_AVX512
/* AVX-512 twins (only when rpu__pulse_have_avx512()). */
uint64_t rpu__pulse_row_dense_bits1_avx512(uint64_t dm, int32_t sd,
                                           const uint64_t *masks,
                                           const int32_t *sign, int ncols,
                                           int32_t *dense);
int rpu__pulse_row_counts_bits1_avx512(uint64_t dm, int32_t sd,
                                       const uint64_t *xm, const int *xcol,
                                       const int32_t *xs, int nx, int *cols,
                                       int32_t *counts, uint64_t *total);
/* The slot mask of one line with bl <= 64 slots from its bl uniform
 * words wd: bit k set if (wd[k] >> 9) < t. */
uint64_t rpu__pulse_slot_mask_avx512(const uint32_t *wd, int bl, uint32_t t);
/* The same for n lines whose words lie one after another (line l at
 * wd[l*bl]), 8 lines per step. */
void rpu__pulse_slot_masks8_avx512(const uint32_t *wd, int n, int bl,
                                   const uint32_t *thr, uint64_t *masks);
#endif

#endif
