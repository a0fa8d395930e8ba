/* One thread setting for all parallel work: OpenMP threads, which also
 * share out the blocks of every BLAS product (core/util/blas.c runs
 * OpenBLAS itself on one thread), so two thread pools never oversubscribe
 * the cores and results do not depend on the count. */
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/util/threads.h"
#include "rpu/context.h"

static int num_threads; /* 0: not set yet (all cores) */

static int online_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void rpu_set_num_threads(int n) {
  if (n <= 0) n = online_cores();
  num_threads = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

int rpu_get_num_threads(void) {
  return num_threads > 0 ? num_threads : online_cores();
}

int rpu__max_threads(void) {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}
