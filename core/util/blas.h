/* Internal: the BLAS calls the engine needs.  blas.c is the only file that
 * includes cblas.h (DESIGN.md §1).  All matrices are row-major. */
#ifndef RPU_CORE_UTIL_BLAS_H
#define RPU_CORE_UTIL_BLAS_H

/* C (m x n) = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
 * op(A) is m x k, op(B) is k x n. */
void rpu__sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc);

/* y (len m, or n if trans) = alpha * op(A) * x + beta * y; A is m x n. */
void rpu__sgemv(int trans, int m, int n, float alpha, const float *a,
                int lda, const float *x, float beta, float *y);

/* Both run as fixed-size blocks shared out by OpenMP (rpu_set_num_threads),
 * with OpenBLAS itself on one thread: the same bits for any thread count
 * (see blas.c). */

/* The BLAS library's own thread count: 1 once rpu has called it (-1 if it
 * cannot be asked). */
int rpu__blas_library_threads(void);

#endif
