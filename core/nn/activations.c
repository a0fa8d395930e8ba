/* Element-wise activations (SPEC.md §8.4 uses sigmoid; LeNet uses tanh).
 *
 * Sigmoid and tanh run over every hidden unit of every sample (LeNet's
 * conv1 alone: 553 M tanh per epoch), so they use branch-free float
 * approximations the compiler vectorises, with run-time dispatch
 * (target_clones) instead of libm's scalar calls: exp by Cody-Waite range
 * reduction and Cephes' degree-6 polynomial (max relative error 1.3 ulp
 * over [-87, 88]), tanh by the [13/6] odd rational approximation used by
 * Eigen (max absolute error 4.1e-7 on [-12, 12]; exact sign, tanh(x) = x (1 +- 2.5e-7)
 * for tiny x).  Both were checked against double-precision exp/tanh over
 * the whole float range that matters; NaN propagates. */
#if defined(__GNUC__) && !defined(__clang__)
/* Lets the selects below become blends (FP exceptions never trap here). */
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/util/error.h"
#include "core/util/simd.h"
#include "rpu/nn.h"

/* e^x for x in [-87, 88] (callers clamp).  n = round(x / ln 2) with the
 * 1.5 * 2^23 trick (no rint call, so the loop vectorises without SSE4.1). */
static inline float exp_approx(float x) {
  const float magic = 12582912.0f; /* 1.5 * 2^23 */
  float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) * (1 << 23);
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* NaN becomes lo (the callers put NaN back afterwards): the exponent
 * arithmetic must never see NaN (its int conversion would be undefined). */
static inline float clampf(float x, float lo, float hi) {
  return x > lo ? (x < hi ? x : hi) : lo;
}

/* e = e^-|x| as (e^(-|x|/2))^2, so it reaches the subnormal range
 * gradually (down to |x| = 174) instead of stopping at e^-87; then
 * 1/(1+e) for x >= 0 and e/(1+e) below: nothing overflows. */
RPU__CLONES static void sigmoid_rows(const float *x, float *y, size_t n) {
  RPU__SIMD
  for (size_t k = 0; k < n; k++) {
    float v = x[k];
    float h = exp_approx(clampf(-0.5f * fabsf(v), -87.0f, 0.0f));
    float e = h * h;
    float s = 1.0f / (1.0f + e);
    s = v >= 0.0f ? s : e * s;
    y[k] = v == v ? s : v; /* NaN stays NaN */
  }
}

RPU__CLONES static void tanh_rows(const float *x, float *y, size_t n) {
  RPU__SIMD
  for (size_t k = 0; k < n; k++) {
    float v = x[k];
    float c = clampf(v, -7.90531110763549805f, 7.90531110763549805f);
    float c2 = c * c;
    float p = -2.76076847742355e-16f;
    p = p * c2 + 2.00018790482477e-13f;
    p = p * c2 + -8.60467152213735e-11f;
    p = p * c2 + 5.12229709037114e-08f;
    p = p * c2 + 1.48572235717979e-05f;
    p = p * c2 + 6.37261928875436e-04f;
    p = p * c2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * c2 + 1.18534705686654e-04f;
    q = q * c2 + 2.26843463243900e-03f;
    q = q * c2 + 4.89352518554385e-03f;
    float t = c * p / q;
    y[k] = v == v ? t : v;
  }
}

static int bad_act(const char *origin, rpu_activation act) {
  return rpu__error_set(RPU_EINVAL, origin, "%s: unknown activation %d", origin, (int)act);
}

int rpu_activation_forward(rpu_activation act, const float *x, float *y, size_t n) {
  static const char *origin = "rpu_activation_forward";
  if ((x == NULL || y == NULL) && n > 0)
    return rpu__error_set(RPU_EINVAL, origin, "%s: NULL buffer", origin);
  switch (act) {
  case RPU_ACT_SIGMOID:
    sigmoid_rows(x, y, n);
    return 0;
  case RPU_ACT_TANH:
    tanh_rows(x, y, n);
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
