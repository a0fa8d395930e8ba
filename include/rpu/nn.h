/* rpu — neural-network building blocks on tiles (DESIGN.md §1, SPEC.md §8).
 *
 * core/nn sits on the public tile API only.  Buffers are row-major float
 * arrays with one row per batch sample (as in rpu/tile.h).  Every fallible
 * call returns 0 or a negative RPU_E* code with a message (rpu_error_last).
 */
#ifndef RPU_NN_H
#define RPU_NN_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/common.h"
#include "rpu/config.h"
#include "rpu/context.h"
#include "rpu/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----- datasets (IDX format, e.g. MNIST / Fashion-MNIST) ----------------- */

typedef struct rpu_dataset rpu_dataset;

/* Reads an IDX image file (unsigned bytes, 3 dims: count x rows x cols) and
 * its IDX label file (unsigned bytes, 1 dim: count), plain or gzip'ed.
 * Pixels are scaled to [0, 1] (byte / 255).  `limit` > 0 keeps only the
 * first `limit` samples (0: all).  Errors name the file: RPU_EIO for a file
 * that cannot be opened or read (with an install hint for a path under
 * /usr/share/datasets), RPU_ECORRUPT for a wrong magic, wrong number of
 * dimensions or a truncated file or trailing bytes, RPU_ESHAPE when the
 * image and label counts differ. */
RPU_API int rpu_dataset_load_idx(rpu_dataset **out, const char *images_path,
                                 const char *labels_path, int limit);

/* Frees a dataset (NULL is fine). */
RPU_API void rpu_dataset_free(rpu_dataset *ds);

/* Number of samples. */
RPU_API int rpu_dataset_size(const rpu_dataset *ds);

/* Image height and width (rows, cols); features = rows * cols. */
RPU_API int rpu_dataset_rows(const rpu_dataset *ds);
RPU_API int rpu_dataset_cols(const rpu_dataset *ds);
RPU_API int rpu_dataset_features(const rpu_dataset *ds);

/* Largest label + 1. */
RPU_API int rpu_dataset_classes(const rpu_dataset *ds);

/* The images, size x features floats (borrowed, valid until freed). */
RPU_API const float *rpu_dataset_images(const rpu_dataset *ds);

/* The labels, size ints (borrowed, valid until freed). */
RPU_API const int *rpu_dataset_labels(const rpu_dataset *ds);

/* x <- (x - mean) / std for every pixel; std must be > 0 and both finite
 * (RPU_EINVAL otherwise, the data then unchanged). */
RPU_API int rpu_dataset_normalize(rpu_dataset *ds, float mean, float std);

/* Copies the samples order[0..batch-1] into x (batch x features) and, if
 * `labels` is not NULL, their labels.  RPU_ERANGE for an index >= size. */
RPU_API int rpu_dataset_gather(const rpu_dataset *ds, const uint32_t *order,
                               int batch, float *x, int *labels);

/* Writes a random permutation of 0..n-1 into order: Fisher-Yates with
 * unbiased (rejection-sampled) draws from the counter-based RNG, stream
 * (seed, tile 0, RPU_RNG_DATA, step = epoch, sub 0).  A pure function of
 * (n, seed, epoch). */
RPU_API int rpu_shuffle_order(uint32_t *order, uint32_t n, uint64_t seed,
                              uint32_t epoch);

/* ----- analog linear layer (SPEC.md §7.1, §7.2, §8.1) -------------------- */

typedef struct rpu_linear rpu_linear;

/* A linear layer y = W x + b with W (out_features x in_features) split over
 * tiles per SPEC.md §7.2 (limits from the config's mapping section); tile
 * (i_out, i_in) gets id base_tile_id + i_out * n_in + i_in, so every tile
 * draws its own streams from `seed`.  W and b are initialised as torch's
 * Linear: uniform(-1/sqrt(in), 1/sqrt(in)), drawn from stream (seed, tile
 * base_tile_id, RPU_RNG_DATA, step 0xffffffff, sub 0 for W, 1 for b), then
 * written with rpu_linear_set_weights.
 *
 * The mapping section (SPEC.md §7.1) applies per tile, as aihwkit's tiles
 * of a tile array: weight scaling (weight_scaling_omega > 0, optionally
 * columnwise, with weight_scaling_lr_compensation) and learned out
 * scaling (learn_out_scaling, optionally out_scaling_columnwise; one
 * scale per tile or per output row of each tile, init 1).  The bias is
 * digital (a float vector added after the tiles) unless
 * mapping.digital_bias is false and the layer is ONE tile: then it is
 * analog, the tile has in_features + 1 inputs and the last one is the
 * constant 1.  A split layer keeps its bias digital (as aihwkit's tile
 * array).  A config with pre_post.input_range.enable true is refused with
 * RPU_EUNSUPPORTED (input ranges are not implemented for layers). */
RPU_API int rpu_linear_new(rpu_linear **out, rpu_context *ctx,
                           const rpu_config *cfg, int in_features,
                           int out_features, int bias, uint64_t seed,
                           uint32_t base_tile_id);

/* Frees a layer and its tiles (NULL is fine). */
RPU_API void rpu_linear_free(rpu_linear *l);

RPU_API int rpu_linear_in_features(const rpu_linear *l);
RPU_API int rpu_linear_out_features(const rpu_linear *l);

/* Number of tiles along the input and the output dimension. */
RPU_API int rpu_linear_tile_grid(const rpu_linear *l, int *n_in, int *n_out);

/* The tile of input block i_in and output block i_out (borrowed); NULL if
 * out of range. */
RPU_API rpu_tile *rpu_linear_tile(rpu_linear *l, int i_out, int i_in);

/* y = W x + b for `batch` samples (x: batch x in, y: batch x out); per
 * tile the output is y_tile * alpha * s (mapping and learned out scales,
 * SPEC.md §7.1) before the digital partial sums.  The layer keeps a copy
 * of x for rpu_linear_update (SPEC.md §1.2 step 2). */
RPU_API int rpu_linear_forward(rpu_linear *l, const float *x, float *y,
                               int batch);

/* dx = W^T d (d: batch x out, dx: batch x in; dx may be NULL for a first
 * layer); each tile runs on d * s * alpha (SPEC.md §7.1).  Keeps a copy
 * of d for rpu_linear_update.  `batch` must equal that of the last
 * forward (RPU_ESHAPE otherwise). */
RPU_API int rpu_linear_backward(rpu_linear *l, const float *d, float *dx,
                                int batch);

/* SGD step with the x and d stored by the last forward / backward: every
 * tile runs rpu_tile_update on its x block (with the constant 1 of an
 * analog bias) and its d block d * s / (alpha * lr_scale) (SPEC.md §7.1);
 * the digital parameters take plain SGD (SPEC.md §1.2 step 3): the
 * digital bias b -= lr * sum_batch d, the learned out scales
 * s -= lr * sum_batch d * y_tile * alpha (summed over the tile's rows
 * for a scalar s).  lr == 0 skips the step.
 * The stored x and d are consumed (a second update needs new passes).
 * RPU_EINVAL if no forward/backward pair is stored, or if the stored x or
 * d holds NaN/Inf (then no tile is updated). */
RPU_API int rpu_linear_update(rpu_linear *l, float lr);

/* rpu_tile_post_update_step on every tile (SPEC.md §1.2 step 4). */
RPU_API int rpu_linear_post_update_step(rpu_linear *l);

/* Copies the full effective W (out x in, row-major): the tile weights
 * times alpha * s per row (SPEC.md §7.1), and, if the layer has a bias and
 * `bias` is not NULL, b (out floats; an analog bias scaled alike). */
RPU_API int rpu_linear_get_weights(rpu_linear *l, float *w, float *bias);

/* Writes the full W into the tiles (each tile may clip to its device's
 * bounds) and, if the layer has a bias and `bias` is not NULL, b (an
 * analog bias not given keeps its value).  With weight scaling each tile
 * gets its block / alpha, alpha = max|block| / omega (per row if
 * columnwise, the analog bias included; 1 where the max is 0), SPEC.md
 * §7.1.  The learned out scales restart at 1.  NaN or Inf is refused with
 * RPU_EINVAL and nothing is changed. */
RPU_API int rpu_linear_set_weights(rpu_linear *l, const float *w,
                                   const float *bias);

/* Digital state of the layer besides its tiles, as one float vector for
 * checkpoints: the digital bias (if any; an analog bias lives in the
 * tile), the learned output scales (if mapping.learn_out_scaling) and the
 * mapping scales alpha of weight scaling (SPEC.md §7.1), in that order.
 * The scales go tile by tile (index i_out * n_in + i_in), one value per
 * tile, or one per output row of the tile when columnwise.
 * rpu_linear_digital_count gives its length (may be 0; 0 for NULL). */
RPU_API size_t rpu_linear_digital_count(const rpu_linear *l);
RPU_API int rpu_linear_get_digital(const rpu_linear *l, float *out);

/* Restores the vector of rpu_linear_get_digital (same layer shape and
 * config).  NaN/Inf, or a mapping scale <= 0, is refused with RPU_EINVAL
 * and nothing is changed. */
RPU_API int rpu_linear_set_digital(rpu_linear *l, const float *in);

/* ----- activations (element-wise over n values) -------------------------- */

typedef enum rpu_activation {
  RPU_ACT_SIGMOID = 1,
  RPU_ACT_TANH = 2,
  RPU_ACT_RELU = 3
} rpu_activation;

/* y = f(x) for n values (y may alias x). */
RPU_API int rpu_activation_forward(rpu_activation act, const float *x,
                                   float *y, size_t n);

/* dx = f'(x) * dy, from the forward input x and output y (dx may alias
 * dy). */
RPU_API int rpu_activation_backward(rpu_activation act, const float *x,
                                    const float *y, const float *dy,
                                    float *dx, size_t n);

/* ----- losses (mean over the batch, as torch's default reduction) -------- */

/* out = log_softmax(z) per row (batch x classes), stable (max subtracted). */
RPU_API int rpu_log_softmax(const float *z, float *out, int batch,
                            int classes);

/* dz = g - softmax(z) * sum(g) per row, from out = log_softmax(z) and the
 * gradient g with respect to out. */
RPU_API int rpu_log_softmax_backward(const float *out, const float *g,
                                     float *dz, int batch, int classes);

/* NLL of log-probabilities: loss = -mean_b logp[b, label_b]; grad (may be
 * NULL) w.r.t. logp.  RPU_ERANGE for a label outside 0..classes-1. */
RPU_API int rpu_nll_loss(const float *logp, const int *labels, int batch,
                         int classes, float *loss, float *grad);

/* Cross-entropy from logits = NLL(log_softmax(z)); grad (may be NULL)
 * w.r.t. z: (softmax(z) - onehot) / batch. */
RPU_API int rpu_cross_entropy_loss(const float *z, const int *labels,
                                   int batch, int classes, float *loss,
                                   float *grad);

/* loss = mean over batch * features of (y - t)^2; grad (may be NULL) =
 * 2 (y - t) / (batch * features). */
RPU_API int rpu_mse_loss(const float *y, const float *target, int batch,
                         int features, float *loss, float *grad);

/* Counts the rows whose largest score is at the label (first maximum). */
RPU_API int rpu_count_correct(const float *scores, const int *labels,
                              int batch, int classes, int *correct);

/* ----- optimizer ---------------------------------------------------------- */

/* Step learning-rate schedule (torch StepLR, SPEC.md §8.4):
 * *lr = lr0 * gamma^floor(epoch / step_size).  RPU_EINVAL for lr0 < 0,
 * gamma <= 0, step_size < 1 or epoch < 0. */
RPU_API int rpu_step_lr(double lr0, double gamma, int step_size, int epoch,
                        double *lr);

/* ----- analog 2-D convolution via im2col (SPEC.md §8.1) ------------------ */

typedef struct rpu_conv2d rpu_conv2d;

/* A conv layer = an rpu_linear of in = C_in*kh*kw, out = C_out applied to
 * the im2col patches (SPEC.md §8.1: every patch one MVM, m_batch = N*L for
 * the update).  Square stride and zero padding on both axes (torch Conv2d
 * with dilation 1, groups 1).  Tiles, ids, seeds, mapping and the torch-
 * style init (uniform +-1/sqrt(C_in*kh*kw) for W and b) are those of
 * rpu_linear_new.  RPU_EINVAL for a size < 1, stride < 1 or padding < 0. */
RPU_API int rpu_conv2d_new(rpu_conv2d **out, rpu_context *ctx,
                           const rpu_config *cfg, int in_channels,
                           int out_channels, int kh, int kw, int stride,
                           int padding, int bias, uint64_t seed,
                           uint32_t base_tile_id);

/* Frees a layer and its tiles (NULL is fine). */
RPU_API void rpu_conv2d_free(rpu_conv2d *c);

/* Output height / width for an h x w input:
 * (h + 2 padding - kh) / stride + 1.  RPU_ESHAPE if the kernel does not
 * fit into the padded input, RPU_EINVAL for h or w < 1. */
RPU_API int rpu_conv2d_output_size(const rpu_conv2d *c, int h, int w,
                                   int *h_out, int *w_out);

/* The linear layer behind the conv (borrowed): its tile grid, tiles and
 * weights [C_out, C_in*kh*kw] (column index ci*kh*kw + i*kw + j). */
RPU_API rpu_linear *rpu_conv2d_linear(rpu_conv2d *c);

/* y (n x C_out x h_out x w_out) = conv(x (n x C_in x h x w)), both NCHW
 * row-major.  Keeps the patches (via the linear layer) for the update and
 * the shape for the backward. */
RPU_API int rpu_conv2d_forward(rpu_conv2d *c, const float *x, float *y,
                               int n, int h, int w);

/* dx (n x C_in x h x w; may be NULL) from dy (n x C_out x h_out x w_out)
 * by the linear backward on the patch rows and col2im accumulation.
 * n must equal that of the last forward (RPU_ESHAPE otherwise). */
RPU_API int rpu_conv2d_backward(rpu_conv2d *c, const float *dy, float *dx,
                                int n);

/* rpu_linear_update with batch = n*h_out*w_out patches. */
RPU_API int rpu_conv2d_update(rpu_conv2d *c, float lr);

/* rpu_linear_post_update_step. */
RPU_API int rpu_conv2d_post_update_step(rpu_conv2d *c);

/* W as [C_out, C_in*kh*kw] row-major and, if any, the bias (C_out). */
RPU_API int rpu_conv2d_get_weights(rpu_conv2d *c, float *w, float *bias);
RPU_API int rpu_conv2d_set_weights(rpu_conv2d *c, const float *w,
                                   const float *bias);

/* ----- 2-D max pooling (torch MaxPool2d, no padding, dilation 1) --------- */

/* Output size (h - kernel) / stride + 1 (and likewise for w).  RPU_EINVAL
 * for h, w, kernel or stride < 1; RPU_ESHAPE if kernel > h or w. */
RPU_API int rpu_maxpool2d_output_size(int h, int w, int kernel, int stride,
                                      int *h_out, int *w_out);

/* y (n x c x h_out x w_out) = max over each kernel x kernel window of x
 * (n x c x h x w, NCHW).  argmax (same count as y; may be NULL) receives
 * the offset of the maximum inside its input plane (row * w + col): the
 * first maximum in row-major window order, a NaN wins (as torch). */
RPU_API int rpu_maxpool2d_forward(const float *x, float *y, int32_t *argmax,
                                  int n, int c, int h, int w, int kernel,
                                  int stride);

/* dx (n x c x h x w) = 0 except dx[argmax] += dy (overlapping windows
 * accumulate).  RPU_ERANGE for an argmax outside the plane. */
RPU_API int rpu_maxpool2d_backward(const float *dy, const int32_t *argmax,
                                   float *dx, int n, int c, int h, int w,
                                   int kernel, int stride);

/* Flatten: NCHW tensors are already row-major per sample, so a conv or
 * pooling output of n x c x h x w IS the n x (c*h*w) input of a linear
 * layer (torch's flatten order) -- no copy or function is needed. */

#ifdef __cplusplus
}
#endif

#endif /* RPU_NN_H */
