/* 2-D max pooling as torch's MaxPool2d (no padding, dilation 1): forward
 * keeps the argmax of every window, backward routes dy to it.
 *
 * Flatten needs no code: NCHW buffers are row-major per sample, so
 * n x c x h x w is already the n x (c*h*w) input a linear layer takes. */
#include <math.h>
#include <string.h>

#include "core/util/error.h"
#include "rpu/nn.h"

int rpu_maxpool2d_output_size(int h, int w, int kernel, int stride, int *h_out, int *w_out) {
  static const char *origin = "rpu_maxpool2d";
  if (h_out == NULL || w_out == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_maxpool2d: NULL argument");
  if (h < 1 || w < 1 || kernel < 1 || stride < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_maxpool2d: input %d x %d, kernel %d and stride %d must all "
                          "be >= 1",
                          h, w, kernel, stride);
  if (kernel > h || kernel > w)
    return rpu__error_set(RPU_ESHAPE, origin,
                          "rpu_maxpool2d: kernel %d is larger than the input %d x %d", kernel,
                          h, w);
  *h_out = (h - kernel) / stride + 1;
  *w_out = (w - kernel) / stride + 1;
  return 0;
}

int rpu_maxpool2d_forward(const float *x, float *y, int32_t *argmax, int n, int c, int h,
                          int w, int kernel, int stride) {
  static const char *origin = "rpu_maxpool2d_forward";
  if (x == NULL || y == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_maxpool2d_forward: NULL argument");
  if (n < 1 || c < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_maxpool2d_forward: batch %d and channels %d must be >= 1", n, c);
  int ho, wo;
  int rc = rpu_maxpool2d_output_size(h, w, kernel, stride, &ho, &wo);
  if (rc != 0) return rc;
  size_t planes = (size_t)n * c, in_sz = (size_t)h * w, out_sz = (size_t)ho * wo;
  for (size_t p = 0; p < planes; p++) {
    const float *xp = x + p * in_sz;
    for (int oh = 0; oh < ho; oh++)
      for (int ow = 0; ow < wo; ow++) {
        /* The first maximum, with a NaN check that only flags the window;
         * a window holding NaN is searched again (rare), as the NaN must win
         * (torch). */
        int base = oh * stride * w + ow * stride, best = base;
        float m = xp[base];
        int nan = 0;
        for (int i = 0; i < kernel; i++) {
          const float *row = xp + base + i * w;
          for (int j = 0; j < kernel; j++) {
            float v = row[j];
            nan |= v != v;
            if (v > m) { /* strictly greater keeps the first maximum */
              m = v;
              best = base + i * w + j;
            }
          }
        }
        for (int i = 0; nan && i < kernel; i++)
          for (int j = 0; j < kernel; j++)
            if (isnan(xp[base + i * w + j])) {
              m = xp[base + i * w + j];
              best = base + i * w + j;
              nan = 0;
              break;
            }
        size_t o = p * out_sz + (size_t)oh * wo + ow;
        y[o] = m;
        if (argmax) argmax[o] = best;
      }
  }
  return 0;
}

int rpu_maxpool2d_backward(const float *dy, const int32_t *argmax, float *dx, int n, int c,
                           int h, int w, int kernel, int stride) {
  static const char *origin = "rpu_maxpool2d_backward";
  if (dy == NULL || argmax == NULL || dx == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_maxpool2d_backward: NULL argument");
  if (n < 1 || c < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_maxpool2d_backward: batch %d and channels %d must be >= 1", n,
                          c);
  int ho, wo;
  int rc = rpu_maxpool2d_output_size(h, w, kernel, stride, &ho, &wo);
  if (rc != 0) return rc;
  size_t planes = (size_t)n * c, in_sz = (size_t)h * w, out_sz = (size_t)ho * wo;
  /* validate first so dx is untouched on error */
  for (size_t o = 0; o < planes * out_sz; o++)
    if (argmax[o] < 0 || (size_t)argmax[o] >= in_sz)
      return rpu__error_set(RPU_ERANGE, origin,
                            "rpu_maxpool2d_backward: argmax[%zu] = %d is outside the %d x %d "
                            "plane",
                            o, (int)argmax[o], h, w);
  memset(dx, 0, planes * in_sz * sizeof(float));
  for (size_t p = 0; p < planes; p++)
    for (size_t o = 0; o < out_sz; o++) dx[p * in_sz + argmax[p * out_sz + o]] += dy[p * out_sz + o];
  return 0;
}
