/* The only file that includes cblas.h: thin row-major wrappers. */
#include "core/util/blas.h"

#include <cblas.h>

#include "config.h"

/* A product with a single row (batch 1 forward / backward) or a single
 * inner dimension (batch 1 update) goes to the level-2 kernel: OpenBLAS's
 * sgemm is several times slower than sgemv / sger on those shapes. */
void rpu__sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc) {
  if (m == 1 && !trans_a) {
    /* c (1 x n) = alpha a op(B) + beta c, i.e. c^T = alpha op(B)^T a^T. */
    if (trans_b)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, 1, beta, c, 1);
    return;
  }
  if (k == 1 && beta == 1.0f) {
    /* c += alpha op(A) op(B), a rank-1 update: column op(A), row op(B). */
    cblas_sger(CblasRowMajor, m, n, alpha, a, trans_a ? 1 : lda, b, trans_b ? ldb : 1, c,
               ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

void rpu__sgemv(int trans, int m, int n, float alpha, const float *a, int lda,
                const float *x, float beta, float *y) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha,
              a, lda, x, 1, beta, y, 1);
}

int rpu__blas_get_threads(void) {
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
  return openblas_get_num_threads();
#else
  return -1;
#endif
}

void rpu__blas_set_threads(int n) {
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}
