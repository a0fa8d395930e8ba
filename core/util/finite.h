/* Internal: finding NaN or infinity in float arrays (inputs are checked
 * before they can reach a tile, DESIGN.md non-negotiable 3). */
#ifndef RPU_CORE_UTIL_FINITE_H
#define RPU_CORE_UTIL_FINITE_H

#include <stddef.h>

/* Index of the first NaN or +-Inf in v[0..n), or n if every value is
 * finite.  Vectorised: rpu__abs_max_checked tells whether a block of 512
 * holds one, and only such a block is searched element by element. */
size_t rpu__first_non_finite(const float *v, size_t n);

/* max |v_k| over v[0..n) (exact, as a float; 0 for n == 0), and *bad = 1
 * if some v_k is NaN or +-Inf, else 0 (then the returned value is
 * meaningless).  One pass. */
float rpu__abs_max_checked(const float *v, size_t n, int *bad);

#endif
