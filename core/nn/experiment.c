/* Stub until the experiment parser lands (see rpu/experiment.h). */
#include <stdlib.h>

#include "core/nn/experiment_impl.h"
#include "core/util/error.h"

int rpu_experiment_from_file(rpu_experiment **out, rpu_context *ctx, const char *path) {
  (void)ctx;
  if (out) *out = NULL;
  return rpu__error_set(RPU_EUNSUPPORTED, path, "%s: experiments not implemented yet", path);
}
int rpu_experiment_from_string(rpu_experiment **out, rpu_context *ctx, const char *json,
                               const char *origin) {
  (void)ctx; (void)json;
  if (out) *out = NULL;
  return rpu__error_set(RPU_EUNSUPPORTED, origin, "experiments not implemented yet");
}
void rpu_experiment_free(rpu_experiment *e) { (void)e; }
const char *rpu_experiment_name(const rpu_experiment *e) { return e ? e->name : NULL; }
int rpu_experiment_epochs(const rpu_experiment *e) { return e ? e->epochs : 0; }
int rpu_experiment_set_epochs(rpu_experiment *e, int n) { e->epochs = n; return 0; }
uint64_t rpu_experiment_seed(const rpu_experiment *e) { return e ? e->seed : 0; }
void rpu_experiment_set_seed(rpu_experiment *e, uint64_t seed) { e->seed = seed; }
int rpu_experiment_to_json(const rpu_experiment *e, char **json) {
  (void)e; *json = NULL;
  return rpu__error_set(RPU_EUNSUPPORTED, "rpu_experiment_to_json", "not implemented yet");
}
int rpu_experiment_inference_count(const rpu_experiment *e) { return e ? e->n_t_inference : 0; }
double rpu_experiment_inference_time(const rpu_experiment *e, int i) { return e->t_inference[i]; }
int rpu_experiment_inference_repeats(const rpu_experiment *e) { return e ? e->inference_repeats : 0; }
int rpu__experiment_clone(const rpu_experiment *e, rpu_experiment **out) {
  (void)e; *out = NULL;
  return rpu__error_set(RPU_EUNSUPPORTED, "rpu__experiment_clone", "not implemented yet");
}
