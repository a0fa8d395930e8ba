/* Internal: constants and helpers shared by the core/nn files. */
#ifndef RPU_CORE_NN_NN_INTERNAL_H
#define RPU_CORE_NN_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* RNG step of weight initialisation in the RPU_RNG_DATA purpose; data
 * shuffling uses step = epoch, so the two never share a stream in
 * practice (DESIGN.md §7). */
#define RPU__NN_INIT_STEP 0xffffffffu

/* Split sizes of SPEC.md §7.2: a dimension n with limit L (0 = none) goes
 * into k = ceil(n / L) parts, part i of size base + (i < extra) with
 * base, extra = divmod(n, k).  Returns k. */
int rpu__nn_split_count(int n, int limit);
/* Offset and size of part i of k parts of n. */
void rpu__nn_split_part(int n, int k, int i, int *offset, int *size);

/* Grows *buf (capacity *cap floats) to at least `need` floats; RPU_ENOMEM
 * naming `origin` if it cannot (the old buffer is then kept). */
int rpu__nn_grow(float **buf, size_t *cap, size_t need, const char *origin);

#endif
