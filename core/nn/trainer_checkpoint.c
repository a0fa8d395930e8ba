/* Stub until the runner lands. */
#include "core/nn/trainer_impl.h"
#include "core/util/error.h"

int rpu_trainer_save(rpu_trainer *t, const char *path) { (void)t; (void)path; return RPU_EUNSUPPORTED; }
int rpu_trainer_load(rpu_trainer *t, const char *path) { (void)t; (void)path; return RPU_EUNSUPPORTED; }
int rpu_trainer_load_new(rpu_trainer **out, rpu_context *ctx, const char *path, int epochs) {
  (void)ctx; (void)path; (void)epochs; *out = NULL; return RPU_EUNSUPPORTED;
}
