/* Stub until the runner lands. */
#include "core/nn/trainer_impl.h"
#include "core/util/error.h"

int rpu_trainer_new(rpu_trainer **out, rpu_context *ctx, const rpu_experiment *e) {
  (void)ctx; (void)e; *out = NULL;
  return rpu__error_set(RPU_EUNSUPPORTED, "rpu_trainer_new", "not implemented yet");
}
void rpu_trainer_free(rpu_trainer *t) { (void)t; }
int rpu_trainer_run_epoch(rpu_trainer *t, rpu_train_progress_fn fn, void *user,
                          rpu_epoch_metrics *m) {
  (void)t; (void)fn; (void)user; (void)m;
  return RPU_EUNSUPPORTED;
}
int rpu_trainer_epochs_done(const rpu_trainer *t) { (void)t; return 0; }
int rpu_trainer_history(const rpu_trainer *t, const rpu_epoch_metrics **m, int *n) {
  (void)t; *m = NULL; *n = 0; return 0;
}
int rpu_trainer_evaluate(rpu_trainer *t, double *accuracy) { (void)t; (void)accuracy; return RPU_EUNSUPPORTED; }
int rpu_trainer_inference(rpu_trainer *t, double t_seconds, int repeats, double *mean,
                          double *std) {
  (void)t; (void)t_seconds; (void)repeats; (void)mean; (void)std; return RPU_EUNSUPPORTED;
}
int rpu_trainer_layer_count(const rpu_trainer *t) { (void)t; return 0; }
int rpu_trainer_layer_profile(const rpu_trainer *t, int i, rpu_layer_profile *p) {
  (void)t; (void)i; (void)p; return RPU_EUNSUPPORTED;
}
