/* Stub until it lands (see train_report.h). */
#include <stdio.h>

#include "tools/train_report.h"

int train_report_metrics_json(const char *path, const char *experiment, uint64_t seed,
                              int threads, const rpu_epoch_metrics *epochs, int n_epochs,
                              const train_report_inference *inf, int n_inf, char *err,
                              size_t errlen) {
  (void)experiment; (void)seed; (void)threads; (void)epochs; (void)n_epochs; (void)inf;
  (void)n_inf;
  snprintf(err, errlen, "%s: not implemented", path);
  return -1;
}

int train_report_svg(const char *path, const char *title, const rpu_epoch_metrics *epochs,
                     int n_epochs, const train_report_inference *inf, int n_inf,
                     const char *why, char *err, size_t errlen) {
  (void)title; (void)epochs; (void)n_epochs; (void)inf; (void)n_inf; (void)why;
  snprintf(err, errlen, "%s: not implemented", path);
  return -1;
}
