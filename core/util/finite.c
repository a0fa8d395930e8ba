/* NaN / Inf scans (see finite.h). */
#include "core/util/finite.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/util/simd.h"

enum { BLOCK = 512 };

/* The largest exponent field in the block: all ones (0x7f800000) means
 * a NaN or an infinity is there.  An integer max reduction vectorises
 * whatever the floating-point flags. */
RPU__CLONES static uint32_t block_max_exponent(const float *v, size_t n) {
  uint32_t m = 0;
#ifdef _OPENMP
#pragma omp simd reduction(max : m)
#endif
  for (size_t k = 0; k < n; k++) {
    uint32_t bits;
    memcpy(&bits, &v[k], sizeof bits);
    bits &= 0x7f800000u;
    m = bits > m ? bits : m;
  }
  return m;
}

size_t rpu__first_non_finite(const float *v, size_t n) {
  for (size_t b = 0; b < n; b += BLOCK) {
    size_t m = n - b < BLOCK ? n - b : BLOCK;
    if (block_max_exponent(v + b, m) != 0x7f800000u) continue;
    for (size_t k = b; k < b + m; k++)
      if (!isfinite(v[k])) return k;
  }
  return n;
}
