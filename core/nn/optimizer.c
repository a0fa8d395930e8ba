/* SGD learning-rate schedule: torch StepLR (SPEC.md §8.4: lr 0.05 halved
 * every 10 epochs). */
#include <math.h>

#include "core/util/error.h"
#include "rpu/nn.h"

int rpu_step_lr(double lr0, double gamma, int step_size, int epoch, double *lr) {
  if (lr == NULL || !isfinite(lr0) || !isfinite(gamma) || lr0 < 0.0 || !(gamma > 0.0) ||
      step_size < 1 || epoch < 0)
    return rpu__error_set(RPU_EINVAL, "rpu_step_lr",
                          "rpu_step_lr: need lr0 >= 0, gamma > 0, step_size >= 1, "
                          "epoch >= 0 (got %g, %g, %d, %d)", lr0, gamma, step_size, epoch);
  *lr = lr0 * pow(gamma, (double)(epoch / step_size));
  return 0;
}
