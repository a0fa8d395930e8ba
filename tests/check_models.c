/* The every-model test (DESIGN.md §10): each registered model, built with
 * its default parameters, survives rpu_context_check_model — create, a few
 * pulses of both signs, post-update, clip, save/load, destroy for devices;
 * create/destroy for noise models and drift compensations.  The models of
 * the test plugin good_extra are included so all three kinds are covered. */
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"
#include "tests/testutil.h"

static rpu_context *context_with_test_models(void) {
  rpu_context *ctx = tu_context();
  char *path = tu_path(tu_env("RPU_TEST_MODULES"), "good_extra.la");
  ck_assert_msg(rpu_context_load_plugin(ctx, path) == 0, "%s", rpu_error_last()->message);
  free(path);
  return ctx;
}

START_TEST(test_every_model_passes_check) {
  rpu_context *ctx = context_with_test_models();
  size_t n = rpu_context_model_count(ctx);
  int kinds_seen[4] = {0, 0, 0, 0};
  /* The shipped plugins the build tree must provide (DESIGN.md §1). */
  ck_assert_int_eq(rpu_context_find_model(ctx, "FloatingPointDevice", RPU_MODEL_DEVICE, NULL),
                   0);
  ck_assert_int_eq(rpu_context_find_model(ctx, "IdealDevice", RPU_MODEL_DEVICE, NULL), 0);
  for (size_t i = 0; i < n; i++) {
    rpu_model_entry e;
    ck_assert_int_eq(rpu_context_model_at(ctx, i, &e), 0);
    int rc = rpu_context_check_model(ctx, e.name);
    ck_assert_msg(rc == 0, "%s (%s from %s): %s", e.name, rpu_model_kind_name(e.kind), e.file,
                  rpu_error_last()->message);
    kinds_seen[e.kind]++;
  }
  ck_assert_int_gt(kinds_seen[RPU_MODEL_DEVICE], 0);
  ck_assert_int_gt(kinds_seen[RPU_MODEL_NOISE_MODEL], 0);
  ck_assert_int_gt(kinds_seen[RPU_MODEL_DRIFT_COMPENSATION], 0);
  /* The check leaves the registry as it was. */
  ck_assert_uint_eq(rpu_context_model_count(ctx), n);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_check_unknown_model) {
  rpu_context *ctx = context_with_test_models();
  int rc = rpu_context_check_model(ctx, "NoSuchModel");
  tu_assert_error(rc, RPU_ENOTFOUND, "NoSuchModel");
  tu_assert_error(rc, RPU_ENOTFOUND, "TestGoodDevice"); /* lists the known names */
  tu_assert_error(rpu_context_check_model(ctx, NULL), RPU_EINVAL, "name");
  tu_assert_error(rpu_context_check_model(NULL, "TestGoodDevice"), RPU_EINVAL, "ctx");
  rpu_context_free(ctx);
}
END_TEST

Suite *suite_models(void) {
  Suite *s = suite_create("models");
  TCase *tc = tcase_create("every_model");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_every_model_passes_check);
  tcase_add_test(tc, test_check_unknown_model);
  suite_add_tcase(s, tc);
  return s;
}
