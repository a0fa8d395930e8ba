/* Analog 2-D convolution via im2col (SPEC.md §8.1): the input is unfolded
 * into one patch row per output pixel, rows = N*H_out*W_out, columns =
 * C_in*kh*kw (torch unfold order ci, i, j), and a linear layer of
 * C_in*kh*kw -> C_out runs on all patches at once, so every patch is one
 * MVM and the update sees m_batch = N*L.  Output rows are then transposed
 * to NCHW.  Backward: dy to patch rows, linear backward, col2im sums. */
#include <stdlib.h>
#include <string.h>

#include "core/nn/nn_internal.h"
#include "core/util/error.h"
#include "rpu/nn.h"

struct rpu_conv2d {
  rpu_linear *lin;
  int c_in, c_out, kh, kw, stride, pad;
  int n, h, w, ho, wo;  /* shape of the last forward (n = 0: none) */
  float *patch, *prow;  /* rows x K patches; rows x C_out outputs */
  size_t patch_cap, prow_cap;
};

static void im2col(const rpu_conv2d *c, const float *x, float *p);
static void col2im(const rpu_conv2d *c, const float *p, float *dx);

int rpu_conv2d_new(rpu_conv2d **out, rpu_context *ctx, const rpu_config *cfg,
                   int in_channels, int out_channels, int kh, int kw, int stride,
                   int padding, int bias, uint64_t seed, uint32_t base_tile_id) {
  static const char *origin = "rpu_conv2d_new";
  if (out == NULL || ctx == NULL || cfg == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_conv2d_new: NULL argument");
  *out = NULL;
  if (in_channels < 1 || out_channels < 1 || kh < 1 || kw < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_conv2d_new: channels and kernel sizes must be >= 1 "
                          "(in %d, out %d, kernel %d x %d)",
                          in_channels, out_channels, kh, kw);
  if (stride < 1 || padding < 0)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_conv2d_new: stride must be >= 1 and padding >= 0 "
                          "(stride %d, padding %d)",
                          stride, padding);
  if ((long long)in_channels * kh * kw > 0x7fffffff)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_conv2d_new: C_in*kh*kw too large");
  rpu_conv2d *c = calloc(1, sizeof *c);
  if (c == NULL) return rpu__error_set(RPU_ENOMEM, origin, "rpu_conv2d_new: out of memory");
  /* torch Conv2d init = Linear's with fan_in = C_in*kh*kw (SPEC.md §8.4) */
  int rc = rpu_linear_new(&c->lin, ctx, cfg, in_channels * kh * kw, out_channels, bias, seed,
                          base_tile_id);
  if (rc != 0) {
    free(c);
    return rc;
  }
  c->c_in = in_channels;
  c->c_out = out_channels;
  c->kh = kh;
  c->kw = kw;
  c->stride = stride;
  c->pad = padding;
  *out = c;
  return 0;
}

void rpu_conv2d_free(rpu_conv2d *c) {
  if (c == NULL) return;
  rpu_linear_free(c->lin);
  free(c->patch);
  free(c->prow);
  free(c);
}

int rpu_conv2d_output_size(const rpu_conv2d *c, int h, int w, int *h_out, int *w_out) {
  static const char *origin = "rpu_conv2d_output_size";
  if (c == NULL || h_out == NULL || w_out == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_conv2d_output_size: NULL argument");
  if (h < 1 || w < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_conv2d: input height and width must be >= 1 (got %d x %d)",
                          h, w);
  long long hp = (long long)h + 2LL * c->pad, wp = (long long)w + 2LL * c->pad;
  if (c->kh > hp || c->kw > wp)
    return rpu__error_set(RPU_ESHAPE, origin,
                          "rpu_conv2d: kernel %d x %d is larger than the padded input "
                          "%lld x %lld",
                          c->kh, c->kw, hp, wp);
  *h_out = (int)((hp - c->kh) / c->stride + 1);
  *w_out = (int)((wp - c->kw) / c->stride + 1);
  return 0;
}

rpu_linear *rpu_conv2d_linear(rpu_conv2d *c) { return c ? c->lin : NULL; }

int rpu_conv2d_forward(rpu_conv2d *c, const float *x, float *y, int n, int h, int w) {
  static const char *origin = "rpu_conv2d_forward";
  if (c == NULL || x == NULL || y == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_conv2d_forward: NULL argument");
  if (n < 1)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_conv2d_forward: batch %d < 1", n);
  int ho, wo;
  int rc = rpu_conv2d_output_size(c, h, w, &ho, &wo);
  if (rc != 0) return rc;
  size_t L = (size_t)ho * wo, rows = (size_t)n * L, K = (size_t)c->c_in * c->kh * c->kw;
  if (rows > 0x7fffffff)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_conv2d_forward: %zu patches exceed the batch limit", rows);
  c->n = 0;
  if ((rc = rpu__nn_grow(&c->patch, &c->patch_cap, rows * K, origin)) != 0) return rc;
  if ((rc = rpu__nn_grow(&c->prow, &c->prow_cap, rows * (size_t)c->c_out, origin)) != 0)
    return rc;
  c->h = h;
  c->w = w;
  c->ho = ho;
  c->wo = wo;
  for (int s = 0; s < n; s++)
    im2col(c, x + (size_t)s * c->c_in * h * w, c->patch + (size_t)s * L * K);
  rc = rpu_linear_forward(c->lin, c->patch, c->prow, (int)rows);
  if (rc != 0) return rc;
  /* patch rows (n, l) x C_out -> NCHW (n, C_out, l) */
  for (int s = 0; s < n; s++)
    for (size_t l = 0; l < L; l++) {
      const float *r = c->prow + ((size_t)s * L + l) * c->c_out;
      float *ys = y + (size_t)s * c->c_out * L + l;
      for (int o = 0; o < c->c_out; o++) ys[(size_t)o * L] = r[o];
    }
  c->n = n;
  return 0;
}

int rpu_conv2d_backward(rpu_conv2d *c, const float *dy, float *dx, int n) {
  static const char *origin = "rpu_conv2d_backward";
  if (c == NULL || dy == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_conv2d_backward: NULL argument");
  if (c->n == 0)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_conv2d_backward: no forward pass to go back through");
  if (n != c->n)
    return rpu__error_set(RPU_ESHAPE, origin,
                          "rpu_conv2d_backward: batch %d differs from the forward's %d", n,
                          c->n);
  size_t L = (size_t)c->ho * c->wo, rows = (size_t)n * L, K = (size_t)c->c_in * c->kh * c->kw;
  /* NCHW (n, C_out, l) -> patch rows (n, l) x C_out */
  for (int s = 0; s < n; s++)
    for (size_t l = 0; l < L; l++) {
      float *r = c->prow + ((size_t)s * L + l) * c->c_out;
      const float *ds = dy + (size_t)s * c->c_out * L + l;
      for (int o = 0; o < c->c_out; o++) r[o] = ds[(size_t)o * L];
    }
  /* the patch buffer is free after the forward (the linear layer keeps its
   * own copy of x), so it takes the patch gradients */
  int rc = rpu_linear_backward(c->lin, c->prow, dx ? c->patch : NULL, (int)rows);
  if (rc != 0 || dx == NULL) return rc;
  memset(dx, 0, (size_t)n * c->c_in * c->h * c->w * sizeof(float));
  for (int s = 0; s < n; s++)
    col2im(c, c->patch + (size_t)s * L * K, dx + (size_t)s * c->c_in * c->h * c->w);
  return 0;
}

int rpu_conv2d_update(rpu_conv2d *c, float lr) {
  if (c == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_conv2d_update",
                          "rpu_conv2d_update: layer must not be NULL");
  return rpu_linear_update(c->lin, lr);
}

int rpu_conv2d_post_update_step(rpu_conv2d *c) {
  if (c == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_conv2d_post_update_step",
                          "rpu_conv2d_post_update_step: layer must not be NULL");
  return rpu_linear_post_update_step(c->lin);
}

int rpu_conv2d_get_weights(rpu_conv2d *c, float *w, float *bias) {
  if (c == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_conv2d_get_weights",
                          "rpu_conv2d_get_weights: layer must not be NULL");
  return rpu_linear_get_weights(c->lin, w, bias);
}

int rpu_conv2d_set_weights(rpu_conv2d *c, const float *w, const float *bias) {
  if (c == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_conv2d_set_weights",
                          "rpu_conv2d_set_weights: layer must not be NULL");
  return rpu_linear_set_weights(c->lin, w, bias);
}

/* ----- helpers ------------------------------------------------------------ */

/* 1 if the kh x kw window at (h0, w0) lies inside the input (the common
 * case: no per-element bounds checks needed). */
static int inside(const rpu_conv2d *c, int h0, int w0) {
  return h0 >= 0 && w0 >= 0 && h0 + c->kh <= c->h && w0 + c->kw <= c->w;
}

/* One sample x (C_in x h x w) -> p (L x K), zero outside the input. */
static void im2col(const rpu_conv2d *c, const float *x, float *p) {
  size_t K = (size_t)c->c_in * c->kh * c->kw;
  for (int oh = 0; oh < c->ho; oh++)
    for (int ow = 0; ow < c->wo; ow++) {
      float *r = p + ((size_t)oh * c->wo + ow) * K;
      int h0 = oh * c->stride - c->pad, w0 = ow * c->stride - c->pad;
      if (inside(c, h0, w0)) {
        for (int ci = 0; ci < c->c_in; ci++) {
          const float *xc = x + (size_t)ci * c->h * c->w + (size_t)h0 * c->w + w0;
          for (int i = 0; i < c->kh; i++, r += c->kw)
            memcpy(r, xc + (size_t)i * c->w, sizeof(float) * (size_t)c->kw);
        }
        continue;
      }
      for (int ci = 0; ci < c->c_in; ci++) {
        const float *xc = x + (size_t)ci * c->h * c->w;
        for (int i = 0; i < c->kh; i++) {
          int hh = h0 + i;
          for (int j = 0; j < c->kw; j++) {
            int ww = w0 + j;
            *r++ = (hh >= 0 && hh < c->h && ww >= 0 && ww < c->w)
                       ? xc[(size_t)hh * c->w + ww]
                       : 0.0f;
          }
        }
      }
    }
}

/* The adjoint of im2col: dx (C_in x h x w) += every patch entry at the
 * pixel it was read from (padding entries dropped). */
static void col2im(const rpu_conv2d *c, const float *p, float *dx) {
  size_t K = (size_t)c->c_in * c->kh * c->kw;
  for (int oh = 0; oh < c->ho; oh++)
    for (int ow = 0; ow < c->wo; ow++) {
      const float *r = p + ((size_t)oh * c->wo + ow) * K;
      int h0 = oh * c->stride - c->pad, w0 = ow * c->stride - c->pad;
      if (inside(c, h0, w0)) {
        for (int ci = 0; ci < c->c_in; ci++) {
          float *dc = dx + (size_t)ci * c->h * c->w + (size_t)h0 * c->w + w0;
          for (int i = 0; i < c->kh; i++, r += c->kw) {
            float *row = dc + (size_t)i * c->w;
            for (int j = 0; j < c->kw; j++) row[j] += r[j];
          }
        }
        continue;
      }
      for (int ci = 0; ci < c->c_in; ci++) {
        float *dc = dx + (size_t)ci * c->h * c->w;
        for (int i = 0; i < c->kh; i++) {
          int hh = h0 + i;
          for (int j = 0; j < c->kw; j++, r++) {
            int ww = w0 + j;
            if (hh >= 0 && hh < c->h && ww >= 0 && ww < c->w) dc[(size_t)hh * c->w + ww] += *r;
          }
        }
      }
    }
}
