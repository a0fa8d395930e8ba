/* Losses with torch's default mean reduction: log-softmax + NLL,
 * cross-entropy from logits, MSE (SPEC.md §8.4: LogSoftmax + NLLLoss).
 * Log-softmax subtracts the row maximum first, so exp never overflows. */
#include <math.h>

#include "core/util/error.h"
#include "rpu/nn.h"

static int check_shape(const char *origin, const void *a, const void *b, int batch,
                       int classes) {
  if (a == NULL || b == NULL || batch < 1 || classes < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "%s: NULL buffer or batch/classes < 1 (%d x %d)", origin, batch,
                          classes);
  return 0;
}

static int check_labels(const char *origin, const int *labels, int batch, int classes) {
  for (int b = 0; b < batch; b++)
    if (labels[b] < 0 || labels[b] >= classes)
      return rpu__error_set(RPU_ERANGE, origin,
                            "%s: label %d of sample %d is outside 0..%d", origin,
                            labels[b], b, classes - 1);
  return 0;
}

int rpu_log_softmax(const float *z, float *out, int batch, int classes) {
  int rc = check_shape("rpu_log_softmax", z, out, batch, classes);
  if (rc != 0) return rc;
  for (int b = 0; b < batch; b++) {
    const float *zr = z + (size_t)b * classes;
    float *o = out + (size_t)b * classes;
    float m = zr[0];
    for (int c = 1; c < classes; c++) m = zr[c] > m ? zr[c] : m;
    double s = 0.0;
    for (int c = 0; c < classes; c++) s += exp((double)(zr[c] - m));
    float lse = m + (float)log(s);
    for (int c = 0; c < classes; c++) o[c] = zr[c] - lse;
  }
  return 0;
}

int rpu_log_softmax_backward(const float *out, const float *g, float *dz, int batch,
                             int classes) {
  int rc = check_shape("rpu_log_softmax_backward", out, g, batch, classes);
  if (rc == 0 && dz == NULL)
    rc = rpu__error_set(RPU_EINVAL, "rpu_log_softmax_backward",
                        "rpu_log_softmax_backward: dz must not be NULL");
  if (rc != 0) return rc;
  for (int b = 0; b < batch; b++) {
    const float *o = out + (size_t)b * classes, *gr = g + (size_t)b * classes;
    float *d = dz + (size_t)b * classes;
    float sg = 0.0f;
    for (int c = 0; c < classes; c++) sg += gr[c];
    for (int c = 0; c < classes; c++) d[c] = gr[c] - expf(o[c]) * sg;
  }
  return 0;
}

int rpu_nll_loss(const float *logp, const int *labels, int batch, int classes, float *loss,
                 float *grad) {
  static const char *origin = "rpu_nll_loss";
  int rc = check_shape(origin, logp, labels, batch, classes);
  if (rc == 0 && loss == NULL)
    rc = rpu__error_set(RPU_EINVAL, origin, "%s: loss must not be NULL", origin);
  if (rc == 0) rc = check_labels(origin, labels, batch, classes);
  if (rc != 0) return rc;
  double s = 0.0;
  for (int b = 0; b < batch; b++) s -= logp[(size_t)b * classes + labels[b]];
  *loss = (float)(s / batch);
  if (grad) {
    for (size_t k = 0; k < (size_t)batch * classes; k++) grad[k] = 0.0f;
    for (int b = 0; b < batch; b++) grad[(size_t)b * classes + labels[b]] = -1.0f / (float)batch;
  }
  return 0;
}

int rpu_cross_entropy_loss(const float *z, const int *labels, int batch, int classes,
                           float *loss, float *grad) {
  static const char *origin = "rpu_cross_entropy_loss";
  int rc = check_shape(origin, z, labels, batch, classes);
  if (rc == 0 && loss == NULL)
    rc = rpu__error_set(RPU_EINVAL, origin, "%s: loss must not be NULL", origin);
  if (rc == 0) rc = check_labels(origin, labels, batch, classes);
  if (rc != 0) return rc;
  double s = 0.0;
  for (int b = 0; b < batch; b++) {
    const float *zr = z + (size_t)b * classes;
    float m = zr[0];
    for (int c = 1; c < classes; c++) m = zr[c] > m ? zr[c] : m;
    double e = 0.0;
    for (int c = 0; c < classes; c++) e += exp((double)(zr[c] - m));
    double lse = m + log(e);
    s += lse - zr[labels[b]];
    if (grad) {
      float *g = grad + (size_t)b * classes;
      for (int c = 0; c < classes; c++)
        g[c] = (float)((exp((double)zr[c] - lse) - (c == labels[b])) / batch);
    }
  }
  *loss = (float)(s / batch);
  return 0;
}

int rpu_mse_loss(const float *y, const float *target, int batch, int features, float *loss,
                 float *grad) {
  static const char *origin = "rpu_mse_loss";
  int rc = check_shape(origin, y, target, batch, features);
  if (rc == 0 && loss == NULL)
    rc = rpu__error_set(RPU_EINVAL, origin, "%s: loss must not be NULL", origin);
  if (rc != 0) return rc;
  size_t n = (size_t)batch * features;
  double s = 0.0;
  for (size_t k = 0; k < n; k++) {
    double e = (double)y[k] - target[k];
    s += e * e;
    if (grad) grad[k] = (float)(2.0 * e / (double)n);
  }
  *loss = (float)(s / (double)n);
  return 0;
}

int rpu_count_correct(const float *scores, const int *labels, int batch, int classes,
                      int *correct) {
  static const char *origin = "rpu_count_correct";
  int rc = check_shape(origin, scores, labels, batch, classes);
  if (rc == 0 && correct == NULL)
    rc = rpu__error_set(RPU_EINVAL, origin, "%s: correct must not be NULL", origin);
  if (rc != 0) return rc;
  int n = 0;
  for (int b = 0; b < batch; b++) {
    const float *s = scores + (size_t)b * classes;
    int best = 0;
    for (int c = 1; c < classes; c++)
      if (s[c] > s[best]) best = c;
    n += best == labels[b];
  }
  *correct = n;
  return 0;
}
