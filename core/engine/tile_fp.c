/* The floating-point engine (FloatingPointRPUConfig, SPEC.md §1): exact
 * MVMs and update, one sgemm each for the whole batch, plus the device's
 * simple decay / diffusion / drift through its plugin hooks.  The exact
 * MVMs are shared with the analog engine's noise-free paths. */
#include "core/engine/tile_impl.h"
#include "core/util/blas.h"

static int fp_forward(rpu_tile *t, const float *x, float *y, int batch);
static int fp_backward(rpu_tile *t, const float *d, float *dx, int batch);
static int fp_update(rpu_tile *t, const float *x, const float *d, int batch,
                     float lr);

const rpu__tile_engine rpu__tile_engine_fp = {
    .name = "floating_point",
    .forward = fp_forward,
    .backward = fp_backward,
    .update = fp_update,
    .post_update = rpu__tile_device_post_update,
    .set_weights = rpu__tile_device_set_weights,
    .get_weights = rpu__tile_device_get_weights,
    .program = NULL, /* only inference tiles program */
    .drift = rpu__tile_device_drift,
};

/* y (batch x out) = x (batch x in) W^T. */
void rpu__tile_exact_forward(rpu_tile *t, const float *x, float *y, int batch) {
  rpu__sgemm(0, 1, batch, t->out_size, t->in_size, 1.0f, x, t->in_size, t->w,
             t->in_size, 0.0f, y, t->out_size);
}

/* dx (batch x in) = d (batch x out) W. */
void rpu__tile_exact_backward(rpu_tile *t, const float *d, float *dx,
                              int batch) {
  rpu__sgemm(0, 0, batch, t->in_size, t->out_size, 1.0f, d, t->out_size, t->w,
             t->in_size, 0.0f, dx, t->in_size);
}

/* W (out x in) -= lr d^T x: the SGD step summed over the batch (SPEC.md
 * §1.3: one GEMM W += -lr D^T X). */
void rpu__tile_exact_update(rpu_tile *t, const float *x, const float *d,
                            int batch, float lr) {
  rpu__sgemm(1, 0, t->out_size, t->in_size, batch, -lr, d, t->out_size, x,
             t->in_size, 1.0f, t->w, t->in_size);
}

static int fp_forward(rpu_tile *t, const float *x, float *y, int batch) {
  rpu__tile_exact_forward(t, x, y, batch);
  return 0;
}

static int fp_backward(rpu_tile *t, const float *d, float *dx, int batch) {
  rpu__tile_exact_backward(t, d, dx, batch);
  return 0;
}

static int fp_update(rpu_tile *t, const float *x, const float *d, int batch,
                     float lr) {
  rpu__tile_exact_update(t, x, d, batch, lr);
  return 0;
}
