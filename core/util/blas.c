/* The only file that includes cblas.h: thin row-major wrappers. */
#include "core/util/blas.h"

#include <cblas.h>

#include "config.h"

void rpu__sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

void rpu__sgemv(int trans, int m, int n, float alpha, const float *a, int lda,
                const float *x, float beta, float *y) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha,
              a, lda, x, 1, beta, y, 1);
}

void rpu__blas_set_threads(int n) {
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}
