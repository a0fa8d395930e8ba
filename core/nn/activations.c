/* Element-wise activations (SPEC.md §8.4 uses sigmoid; LeNet uses tanh). */
#include <math.h>

#include "core/util/error.h"
#include "rpu/nn.h"

static int bad_act(const char *origin, rpu_activation act) {
  return rpu__error_set(RPU_EINVAL, origin, "%s: unknown activation %d", origin, (int)act);
}

int rpu_activation_forward(rpu_activation act, const float *x, float *y, size_t n) {
  static const char *origin = "rpu_activation_forward";
  if ((x == NULL || y == NULL) && n > 0)
    return rpu__error_set(RPU_EINVAL, origin, "%s: NULL buffer", origin);
  switch (act) {
  case RPU_ACT_SIGMOID:
    /* 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below: no overflow of e^-x. */
    for (size_t k = 0; k < n; k++) {
      float v = x[k];
      if (v >= 0.0f) {
        y[k] = 1.0f / (1.0f + expf(-v));
      } else {
        float e = expf(v);
        y[k] = e / (1.0f + e);
      }
    }
    return 0;
  case RPU_ACT_TANH:
    for (size_t k = 0; k < n; k++) y[k] = tanhf(x[k]);
    return 0;
  case RPU_ACT_RELU:
    for (size_t k = 0; k < n; k++) y[k] = x[k] > 0.0f ? x[k] : 0.0f;
    return 0;
  }
  return bad_act(origin, act);
}

int rpu_activation_backward(rpu_activation act, const float *x, const float *y,
                            const float *dy, float *dx, size_t n) {
  static const char *origin = "rpu_activation_backward";
  if ((x == NULL || y == NULL || dy == NULL || dx == NULL) && n > 0)
    return rpu__error_set(RPU_EINVAL, origin, "%s: NULL buffer", origin);
  switch (act) {
  case RPU_ACT_SIGMOID: /* s' = s (1 - s) */
    for (size_t k = 0; k < n; k++) dx[k] = dy[k] * y[k] * (1.0f - y[k]);
    return 0;
  case RPU_ACT_TANH: /* tanh' = 1 - tanh^2 */
    for (size_t k = 0; k < n; k++) dx[k] = dy[k] * (1.0f - y[k] * y[k]);
    return 0;
  case RPU_ACT_RELU: /* 0 at x = 0, as torch */
    for (size_t k = 0; k < n; k++) dx[k] = x[k] > 0.0f ? dy[k] : 0.0f;
    return 0;
  }
  return bad_act(origin, act);
}
