/* NaN / Inf scans (see finite.h). */
#include "core/util/finite.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/util/simd.h"

enum { BLOCK = 512 };

/* On the bit patterns with the sign cleared: for finite floats their
 * unsigned order is the order of |v| (IEEE 754 layout), and infinities and
 * NaNs are exactly the patterns >= 0x7f800000, so one integer max
 * reduction gives both answers and vectorises whatever the floating-point
 * flags.  AVX2 clones only: the engine calls this per sample on rows of
 * 10-500 values, where AVX-512 tails cost more than they gain
 * (core/util/simd.h). */
RPU__CLONES_AVX2 float rpu__abs_max_checked(const float *v, size_t n,
                                            int *bad) {
  uint32_t mx = 0;
#ifdef _OPENMP
#pragma omp simd reduction(max : mx)
#endif
  for (size_t k = 0; k < n; k++) {
    uint32_t b;
    memcpy(&b, &v[k], sizeof b);
    b &= 0x7fffffffu;
    mx = b > mx ? b : mx;
  }
  *bad = mx >= 0x7f800000u;
  float f;
  memcpy(&f, &mx, sizeof f);
  return f;
}

size_t rpu__first_non_finite(const float *v, size_t n) {
  for (size_t b = 0; b < n; b += BLOCK) {
    size_t m = n - b < BLOCK ? n - b : BLOCK;
    int bad;
    rpu__abs_max_checked(v + b, m, &bad);
    if (!bad) continue;
    for (size_t k = b; k < b + m; k++)
      if (!isfinite(v[k])) return k;
  }
  return n;
}
