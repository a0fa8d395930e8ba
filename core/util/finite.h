/* Internal: finding NaN or infinity in float arrays (inputs are checked
 * before they can reach a tile, DESIGN.md non-negotiable 3). */
#ifndef RPU_CORE_UTIL_FINITE_H
#define RPU_CORE_UTIL_FINITE_H

#include <stddef.h>

/* Index of the first NaN or +-Inf in v[0..n), or n if every value is
 * finite.  Vectorised: a block's largest exponent field tells whether it
 * holds one (all ones), and only such a block is searched element by
 * element. */
size_t rpu__first_non_finite(const float *v, size_t n);

#endif
