/* The only file that includes cblas.h: row-major wrappers that give the
 * same bits whatever the thread count (DESIGN.md §7).
 *
 * OpenBLAS's own threading splits a product differently for 1 and for 2
 * threads and its kernels then round differently at the block edges (e.g.
 * 4608x16x25: a third of the entries differ in the last bit), which after
 * an ADC step can change a training run.  So the library always runs with
 * ONE OpenBLAS thread, and this file splits each product into blocks whose
 * sizes depend only on the shape, never on the thread count; the blocks are
 * independent BLAS calls that OpenMP threads share out.  One thread setting
 * (rpu_set_num_threads -> OpenMP) therefore governs all parallel work, and
 * the BLAS pool never competes with the OpenMP threads for the cores. */
#include "core/util/blas.h"

#include <cblas.h>

#include "config.h"

/* Fixed block sizes (columns of C, rows of C, outputs of a gemv). */
enum { N_BLOCK = 64, M_BLOCK = 128, V_BLOCK = 256 };
/* Below this many multiply-adds a product runs on one thread (same blocks,
 * same bits: only the scheduling changes). */
#define PARALLEL_MIN_FLOPS 131072.0

/* Before every call: OpenBLAS on one thread (cheap to check; a program
 * that also calls OpenBLAS itself, as rpu-bench's baseline, may have
 * changed it). */
static void init(void) {
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
#endif
}

static void gemm_block(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc);

void rpu__sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc) {
  init();
  int par = (double)m * n * k >= PARALLEL_MIN_FLOPS;
  (void)par;
  if (n >= 2 * N_BLOCK) {
    /* Column blocks of C: op(B) columns [j0, j0 + nb). */
    int blocks = (n + N_BLOCK - 1) / N_BLOCK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int j = 0; j < blocks; j++) {
      int j0 = j * N_BLOCK, nb = n - j0 < N_BLOCK ? n - j0 : N_BLOCK;
      const float *bj = trans_b ? b + (size_t)j0 * ldb : b + j0;
      gemm_block(trans_a, trans_b, m, nb, k, alpha, a, lda, bj, ldb, beta, c + j0, ldc);
    }
    return;
  }
  if (m >= 2 * M_BLOCK) {
    /* Row blocks of C: op(A) rows [i0, i0 + mb). */
    int blocks = (m + M_BLOCK - 1) / M_BLOCK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int i = 0; i < blocks; i++) {
      int i0 = i * M_BLOCK, mb = m - i0 < M_BLOCK ? m - i0 : M_BLOCK;
      const float *ai = trans_a ? a + i0 : a + (size_t)i0 * lda;
      gemm_block(trans_a, trans_b, mb, n, k, alpha, ai, lda, b, ldb, beta,
                 c + (size_t)i0 * ldc, ldc);
    }
    return;
  }
  gemm_block(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void rpu__sgemv(int trans, int m, int n, float alpha, const float *a, int lda,
                const float *x, float beta, float *y) {
  init();
  int outs = trans ? n : m;
  int blocks = (outs + V_BLOCK - 1) / V_BLOCK;
  int par = blocks > 1 && (double)m * n >= PARALLEL_MIN_FLOPS;
  (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
  for (int v = 0; v < blocks; v++) {
    int o0 = v * V_BLOCK, ob = outs - o0 < V_BLOCK ? outs - o0 : V_BLOCK;
    if (trans) /* y[o] = sum_i A[i][o] x[i]: columns [o0, o0 + ob) */
      cblas_sgemv(CblasRowMajor, CblasTrans, m, ob, alpha, a + o0, lda, x, 1, beta, y + o0, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, ob, n, alpha, a + (size_t)o0 * lda, lda, x, 1,
                  beta, y + o0, 1);
  }
}

int rpu__blas_library_threads(void) {
  init();
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
  return openblas_get_num_threads();
#else
  return -1;
#endif
}

/* One block.  A product with a single row (batch 1 forward / backward) or a
 * single inner dimension (batch 1 update) goes to the level-2 kernel:
 * OpenBLAS's sgemm is several times slower than sgemv / sger there. */
static void gemm_block(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc) {
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
    cblas_sger(CblasRowMajor, m, n, alpha, a, trans_a ? 1 : lda, b, trans_b ? ldb : 1, c, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}
