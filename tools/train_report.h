/* rpu-train's outputs besides the terminal: metrics.json (DESIGN.md §8) and
 * the SVG report (learning curve; accuracy versus inference time on a log
 * axis).  Tools never see json-c, so the JSON is written by hand here. */
#ifndef RPU_TOOLS_TRAIN_REPORT_H
#define RPU_TOOLS_TRAIN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/rpu.h"

/* One evaluated inference time: accuracy mean and std over the repeats
 * (fractions in [0, 1]). */
typedef struct train_report_inference {
  double t_inference; /* seconds, >= 0 */
  double accuracy_mean;
  double accuracy_std;
} train_report_inference;

/* Writes DESIGN.md §8's metrics.json:
 *   {"experiment": NAME, "seed": S, "threads": T,
 *    "epochs":[{"epoch","lr","train_loss","train_accuracy","test_accuracy","seconds"}],
 *    "inference":[{"t_inference","accuracy_mean","accuracy_std"}]}
 * epochs are 1-based in the file (epoch 0 of rpu_epoch_metrics is "epoch":
 * 1), accuracies are fractions, numbers printed so they read back exactly
 * (%.17g; never NaN/Inf: those are written as null).  The file is written
 * to PATH.tmp and renamed.  0, or -1 with a message in err (naming the
 * path and the system error). */
int train_report_metrics_json(const char *path, const char *experiment, uint64_t seed,
                              int threads, const rpu_epoch_metrics *epochs, int n_epochs,
                              const train_report_inference *inf, int n_inf, char *err,
                              size_t errlen);

/* Writes the SVG report: panel 1 the learning curve (train loss on its own
 * axis; train and test accuracy in % over epochs 1..n), panel 2 test
 * accuracy (mean ± std band) versus inference time on a log axis (t = 0
 * drawn at the left edge and labelled "0"), or a note "no inference
 * section" / "inference not evaluated: WHY" when n_inf is 0 (`why` may be
 * NULL).  Written to PATH.tmp and renamed; 0 or -1 with a message in err. */
int train_report_svg(const char *path, const char *title, const rpu_epoch_metrics *epochs,
                     int n_epochs, const train_report_inference *inf, int n_inf,
                     const char *why, char *err, size_t errlen);

#endif
