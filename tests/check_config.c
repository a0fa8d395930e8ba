/* Configs (DESIGN.md §5, SPEC.md §1): parsing, defaults, errors that name
 * the culprit, round trips.  Expected defaults are the Python defaults of
 * SPEC.md §2.1, §3.1, §6.7-§6.9, §7.1 and §7.3, typed in here from the
 * SPEC tables (never copied from the code's output). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"
#include "tests/testutil.h"

/* A context with the test module good_extra loaded: it provides
 * TestGoodDevice (pulsed), TestNoiseModel and TestDriftCompensation, so
 * SingleRPUConfig and InferenceRPUConfig can be built before the shipped
 * pulsed and PCM plugins exist. */
static rpu_context *ctx_with_test_models(void) {
  rpu_context *ctx = tu_context();
  char *path = tu_path(tu_env("RPU_TEST_MODULES"), "good_extra.la");
  int rc = rpu_context_load_plugin(ctx, path);
  ck_assert_msg(rc == 0, "loading %s: %s", path, rpu_error_last()->message);
  free(path);
  return ctx;
}

/* Parses `json` expecting failure; the output pointer must stay NULL. */
static int parse_fails(rpu_context *ctx, const char *json) {
  rpu_config *cfg = (rpu_config *)&cfg; /* poison: must be reset to NULL */
  int rc = rpu_config_from_string(&cfg, ctx, json, "t.json");
  ck_assert_ptr_null(cfg);
  return rc;
}

/* Address of a model parameter inside a spec, found through the model's
 * public schema (the typed structs of plugins are private to them). */
static const void *spec_field(const rpu_device_spec *s, const char *name) {
  const rpu_model_desc *m = rpu_device_spec_model(s);
  for (uint32_t i = 0; i < m->n_params; i++) {
    const rpu_param_desc *d =
        (const rpu_param_desc *)((const char *)m->params + (size_t)i * m->param_desc_size);
    if (strcmp(d->name, name) == 0) return (const char *)rpu_device_spec_params(s) + d->offset;
  }
  ck_abort_msg("model %s has no parameter %s", m->name, name);
  return NULL;
}

static double spec_real(const rpu_device_spec *s, const char *name) {
  double v;
  memcpy(&v, spec_field(s, name), sizeof v);
  return v;
}

/* ----- malformed input ---------------------------------------------------- */

START_TEST(test_not_json) {
  rpu_context *ctx = tu_context();
  tu_assert_error(parse_fails(ctx, "hello"), RPU_EPARSE, "t.json:1:1");
  tu_assert_error(parse_fails(ctx, "[1, 2]"), RPU_ETYPE, "t.json: the top level must be");
  tu_assert_error(parse_fails(ctx, "   \n "), RPU_EPARSE, "t.json: empty");
  /* json-c's lenient corners, rejected by the lint pass; the columns are
   * counted by hand: col of the offending character, 1-based. */
  tu_assert_error(parse_fails(ctx, "{'rpu_config': 1}"), RPU_EPARSE, "t.json:1:2: single-quoted");
  tu_assert_error(parse_fails(ctx, "{\"a\": NaN}"), RPU_EPARSE, "t.json:1:7: \"NaN\"");
  tu_assert_error(parse_fails(ctx, "{\"a\": 1.}"), RPU_EPARSE, "t.json:1:7: malformed number");
  tu_assert_error(parse_fails(ctx, "{\"a\": 1, /* c */ \"b\": 2}"), RPU_EPARSE, "t.json:1:10");
  tu_assert_error(parse_fails(ctx, "{\"a\": 1,\n \"a\": 2}"), RPU_EPARSE,
                  "t.json:2:2: duplicate key \"a\"");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\"} x"), RPU_EPARSE,
                  "t.json:1:");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_trailing_comma) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = NULL;
  char *path = tu_path(tu_env("RPU_TEST_DATA"), "bad_trailing_comma.json");
  /* The file is "{\n  \"rpu_config\": \"...\",\n}\n": the '}' that follows
   * the comma is line 3, column 1. */
  char needle[1024];
  snprintf(needle, sizeof needle, "%s:3:1: malformed JSON", path);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, path), RPU_EPARSE, needle);
  ck_assert_ptr_null(cfg);
  tu_assert_error(parse_fails(ctx, "{\"a\": [1, 2,]}"), RPU_EPARSE, "t.json:1:13");
  free(path);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_empty_and_missing_file) {
  rpu_context *ctx = tu_context();
  char *dir = tu_tempdir();
  char *empty = tu_path(dir, "empty.json");
  char *missing = tu_path(dir, "missing.json");
  tu_write_file(empty, "", 0);
  rpu_config *cfg = NULL;
  char needle[1024];
  snprintf(needle, sizeof needle, "%s: empty", empty);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, empty), RPU_EPARSE, needle);
  snprintf(needle, sizeof needle, "%s: cannot open: No such file", missing);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, missing), RPU_EIO, needle);
  snprintf(needle, sizeof needle, "%s: cannot read", dir);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, dir), RPU_EIO, needle);
  ck_assert_ptr_null(cfg);
  tu_rmdir(dir);
  free(empty);
  free(missing);
  free(dir);
  rpu_context_free(ctx);
}
END_TEST

/* 10 MB of '[' must give a clean depth error, not a stack overflow. */
START_TEST(test_deeply_nested) {
  rpu_context *ctx = tu_context();
  char *dir = tu_tempdir();
  char *path = tu_path(dir, "deep.json");
  size_t n = (size_t)10 << 20;
  char *text = malloc(n);
  ck_assert_ptr_nonnull(text);
  static const char head[] = "{\"rpu_config\": ";
  memset(text, '[', n);
  memcpy(text, head, sizeof head - 1);
  tu_write_file(path, text, n);
  free(text);
  rpu_config *cfg = NULL;
  char needle[1024];
  snprintf(needle, sizeof needle, "%s:1:", path);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, path), RPU_EPARSE, needle);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, path), RPU_EPARSE, "too deeply nested");
  ck_assert_ptr_null(cfg);
  tu_rmdir(dir);
  free(path);
  free(dir);
  rpu_context_free(ctx);
}
END_TEST

/* ----- wrong configs ------------------------------------------------------ */

START_TEST(test_rpu_config_key) {
  rpu_context *ctx = tu_context();
  int rc = parse_fails(ctx, "{\"rpu_config\": \"SuperRPUConfig\"}");
  tu_assert_error(rc, RPU_ECONFIG, "t.json: rpu_config: unknown config type \"SuperRPUConfig\"");
  /* The message lists all five names. */
  const char *names[] = {"FloatingPointRPUConfig", "SingleRPUConfig", "UnitCellRPUConfig",
                         "InferenceRPUConfig", "DigitalRankUpdateRPUConfig"};
  for (size_t i = 0; i < 5; i++) ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, names[i]));
  tu_assert_error(parse_fails(ctx, "{\"device\": {}}"), RPU_ECONFIG, "rpu_config: missing");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": 3}"), RPU_ETYPE,
                  "rpu_config: expected a string");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_schema_version) {
  rpu_context *ctx = tu_context();
  tu_assert_error(
      parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"schema_version\": 2}"),
      RPU_EVERSION, "t.json: schema_version: 2 is newer");
  tu_assert_error(
      parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"schema_version\": 0}"),
      RPU_ERANGE, "schema_version: 0 is below minimum 1");
  tu_assert_error(
      parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"schema_version\": \"1\"}"),
      RPU_ETYPE, "schema_version: expected an integer");
  tu_assert_error(
      parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"schema_version\": 1.5}"),
      RPU_ETYPE, "schema_version: expected an integer, got a fraction");
  rpu_config *cfg = tu_config(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"schema_version\": 1}");
  rpu_config_free(cfg);
  cfg = tu_config(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"schema_version\": 1.0}");
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_unknown_device_type) {
  rpu_context *ctx = tu_context();
  int rc = parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                            "\"device\": {\"type\": \"BogusDevice\"}}");
  tu_assert_error(rc, RPU_ENOTFOUND, "t.json: device.type: ");
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "BogusDevice"));
  /* The known devices are listed. */
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "FloatingPointDevice"));
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "IdealDevice"));
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"device\": {\"lifetime\": 1}}"),
                  RPU_ECONFIG, "device.type: missing");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"device\": null}"),
                  RPU_ETYPE, "device: expected a device object");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_unknown_key) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = NULL;
  char *path = tu_path(tu_env("RPU_TEST_DATA"), "bad_unknown_key.json");
  char needle[1024];
  /* Every message of rpu_config_from_file starts with the file name. */
  snprintf(needle, sizeof needle, "%s: device.lifetimee: unknown key", path);
  tu_assert_error(rpu_config_from_file(&cfg, ctx, path), RPU_ECONFIG, needle);
  ck_assert_ptr_eq(strstr(rpu_error_last()->message, path), rpu_error_last()->message);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "did you mean \"lifetime\""));
  ck_assert_str_eq(rpu_error_last()->origin, path);
  ck_assert_ptr_null(cfg);
  free(path);
  /* A section a type does not take is an unknown key too. */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"forward\": {}}"),
                  RPU_ECONFIG, "t.json: forward: unknown key for FloatingPointRPUConfig");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"pre_post\": {\"input_ranges\": {}}}"),
                  RPU_ECONFIG, "pre_post.input_ranges: unknown key");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"mapping\": {\"max_inputsize\": 3}}"),
                  RPU_ECONFIG, "mapping.max_inputsize: unknown key (did you mean "
                               "\"max_input_size\"?)");
  /* The issue's own example, on a pulsed device. */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"SingleRPUConfig\", \"device\": "
                                   "{\"type\": \"SoftBoundsDevice\", \"dw_minn\": 0.1}}"),
                  RPU_ECONFIG, "t.json: device.dw_minn: unknown key (did you mean \"dw_min\"?)");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_wrong_type_and_range) {
  rpu_context *ctx = tu_context();
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                                   "{\"type\": \"FloatingPointDevice\", \"lifetime\": \"x\"}}"),
                  RPU_ETYPE, "t.json: device.lifetime: expected a number, got string");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                                   "{\"type\": \"FloatingPointDevice\", \"lifetime\": -1}}"),
                  RPU_ERANGE, "t.json: device.lifetime: -1 is below minimum 0");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                                   "{\"type\": \"FloatingPointDevice\", \"lifetime\": 1e999}}"),
                  RPU_ERANGE, "device.lifetime: inf is not a finite number");
  /* The model's own check hook (FloatingPointDevice: drift.t_0 > 0, SPEC
   * §6.6) is reported at the parameter it names. */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                                   "{\"type\": \"FloatingPointDevice\", \"drift\": {\"t_0\": 0}}}"),
                  RPU_ERANGE, "t.json: device.drift.t_0: ");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                                   "{\"type\": \"FloatingPointDevice\", \"drift\": 0.1}}"),
                  RPU_ETYPE, "device.drift: expected an object, got number");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_device_class) {
  rpu_context *ctx = ctx_with_test_models();
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", "
                                   "\"device\": {\"type\": \"IdealDevice\"}}"),
                  RPU_ECONFIG,
                  "t.json: device.type: IdealDevice is a device of class ideal; "
                  "FloatingPointRPUConfig accepts class floating_point");
  /* The class is checked before the device's parameters. */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"InferenceRPUConfig\", \"device\": "
                                   "{\"type\": \"TestGoodDevice\", \"bogus\": 1}}"),
                  RPU_ECONFIG,
                  "device.type: TestGoodDevice is a device of class pulsed; "
                  "InferenceRPUConfig accepts class ideal");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"SingleRPUConfig\", "
                                   "\"device\": {\"type\": \"FloatingPointDevice\"}}"),
                  RPU_ECONFIG, "SingleRPUConfig accepts class pulsed");
  /* Abstract configs: the device must be given (SPEC.md §1). */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"UnitCellRPUConfig\"}"), RPU_ECONFIG,
                  "device: required for UnitCellRPUConfig");
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"DigitalRankUpdateRPUConfig\"}"),
                  RPU_ECONFIG, "device: required for DigitalRankUpdateRPUConfig");
  /* A noise model is not a device. */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"InferenceRPUConfig\", "
                                   "\"device\": {\"type\": \"TestNoiseModel\"}}"),
                  RPU_ENOTFOUND, "device.type: ");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_io_errors) {
  rpu_context *ctx = ctx_with_test_models();
  static const char *pre = "{\"rpu_config\": \"SingleRPUConfig\", "
                           "\"device\": {\"type\": \"TestGoodDevice\"}, ";
  char json[1024];
  snprintf(json, sizeof json, "%s\"forward\": {\"noise_management\": \"ABS_MAXX\"}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ECONFIG,
                  "t.json: forward.noise_management: unknown value \"ABS_MAXX\" (did you "
                  "mean \"ABS_MAX\"?); valid: NONE, ABS_MAX, ABS_MAX_NP_SUM");
  snprintf(json, sizeof json, "%s\"backward\": {\"bound_management\": \"SHIFT\"}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ECONFIG,
                  "backward.bound_management: unknown value \"SHIFT\"");
  snprintf(json, sizeof json, "%s\"forward\": {\"noise_management\": 1}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ETYPE,
                  "forward.noise_management: expected a string, got number");
  /* SPEC.md §2.2: noise management needs inp_bound = 1. */
  snprintf(json, sizeof json, "%s\"forward\": {\"inp_bound\": 2, "
                              "\"noise_management\": \"ABS_MAX\"}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ECONFIG,
                  "t.json: forward.inp_bound: must be 1 when noise_management is ABS_MAX "
                  "(got 2)");
  snprintf(json, sizeof json, "%s\"backward\": {\"inp_bound\": 0.5}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ECONFIG, "backward.inp_bound: must be 1");
  /* Without noise management (or with a perfect MVM) any bound is fine. */
  snprintf(json, sizeof json, "%s\"forward\": {\"inp_bound\": 2, "
                              "\"noise_management\": \"NONE\"}, "
                              "\"backward\": {\"inp_bound\": 3, \"is_perfect\": true}}", pre);
  rpu_config *cfg = tu_config(ctx, json);
  ck_assert_double_eq(rpu_config_forward(cfg)->inp_bound, 2.0);
  ck_assert_double_eq(rpu_config_backward(cfg)->inp_bound, 3.0);
  rpu_config_free(cfg);
  snprintf(json, sizeof json, "%s\"update\": {\"desired_bl\": 0}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ERANGE,
                  "update.desired_bl: 0 is below minimum 1");
  snprintf(json, sizeof json, "%s\"update\": {\"desired_bl\": 31.5}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ETYPE,
                  "update.desired_bl: expected an integer, got 31.5");
  snprintf(json, sizeof json, "%s\"update\": null}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ETYPE, "update: expected an object, got null");
  /* InferenceRPUConfig's backward and update are fixed (SPEC.md §1). */
  tu_assert_error(parse_fails(ctx, "{\"rpu_config\": \"InferenceRPUConfig\", "
                                   "\"noise_model\": {\"type\": \"TestNoiseModel\"}, "
                                   "\"backward\": {}}"),
                  RPU_ECONFIG, "backward: unknown key for InferenceRPUConfig");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_inference_errors) {
  rpu_context *ctx = ctx_with_test_models();
  static const char *pre = "{\"rpu_config\": \"InferenceRPUConfig\", "
                           "\"noise_model\": {\"type\": \"TestNoiseModel\"}, "
                           "\"drift_compensation\": null, ";
  char json[1024];
  snprintf(json, sizeof json, "%s\"clip\": {\"type\": \"FIXED\"}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ECONFIG,
                  "clip.type: unknown value \"FIXED\"; valid: NONE, FIXED_VALUE, "
                  "LAYER_GAUSSIAN, AVERAGE_CHANNEL_MAX");
  snprintf(json, sizeof json, "%s\"modifier\": {\"coeffs\": [1, \"x\"]}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ETYPE,
                  "modifier.coeffs[1]: expected a number, got string");
  snprintf(json, sizeof json, "%s\"modifier\": {\"pdrop\": 1.5}}", pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ERANGE,
                  "modifier.pdrop: 1.5 is above maximum 1");
  snprintf(json, sizeof json, "%s\"remap\": {\"max_scale_range\": 2, \"remapped_wmax\": 0.5}}",
           pre);
  tu_assert_error(parse_fails(ctx, json), RPU_ECONFIG,
                  "remap.max_scale_range: requires remapped_wmax = 1");
  snprintf(json, sizeof json, "%s\"drift_compensation\": {\"type\": \"TestNoiseModel\"}}",
           "{\"rpu_config\": \"InferenceRPUConfig\", "
           "\"noise_model\": {\"type\": \"TestNoiseModel\"}, ");
  tu_assert_error(parse_fails(ctx, json), RPU_ENOTFOUND, "drift_compensation.type: ");
  snprintf(json, sizeof json, "%s\"noise_model\": null}", "{\"rpu_config\": "
                                                          "\"InferenceRPUConfig\", ");
  tu_assert_error(parse_fails(ctx, json), RPU_ETYPE, "noise_model: expected a noise_model");
  snprintf(json, sizeof json, "%s\"noise_model\": {\"type\": \"TestNoiseModel\", "
                              "\"g_max\": -3}}",
           "{\"rpu_config\": \"InferenceRPUConfig\", ");
  tu_assert_error(parse_fails(ctx, json), RPU_ERANGE, "noise_model.g_max: -3 is below minimum 0");
  rpu_context_free(ctx);
}
END_TEST

/* ----- defaults (SPEC.md tables) ------------------------------------------ */

/* SPEC.md §2.1 Python defaults of IOParameters. */
static void assert_io_defaults(const rpu_io_params *io) {
  ck_assert_int_eq(io->is_perfect, 0);
  ck_assert_int_eq(io->mv_type, RPU_MV_ONE_PASS);
  ck_assert_double_eq(io->inp_bound, 1.0);
  ck_assert_double_eq(io->inp_noise, 0.0);
  ck_assert_double_eq(io->inp_res, 1.0 / (128 - 2)); /* 1/(2^7 - 2) */
  ck_assert_int_eq(io->inp_sto_round, 0);
  ck_assert_double_eq(io->inp_asymmetry, 0.0);
  ck_assert_double_eq(io->out_bound, 12.0);
  ck_assert_double_eq(io->out_noise, 0.06);
  ck_assert_double_eq(io->out_noise_std, 0.0);
  ck_assert_double_eq(io->out_res, 1.0 / (512 - 2)); /* 1/(2^9 - 2) */
  ck_assert_int_eq(io->out_sto_round, 0);
  ck_assert_double_eq(io->out_scale, 1.0);
  ck_assert_double_eq(io->out_asymmetry, 0.0);
  ck_assert_int_eq(io->bound_management, RPU_BM_ITERATIVE);
  ck_assert_int_eq(io->noise_management, RPU_NM_ABS_MAX);
  ck_assert_double_eq(io->w_noise, 0.0);
  ck_assert_int_eq(io->w_noise_type, RPU_W_NOISE_NONE);
  ck_assert_double_eq(io->ir_drop, 0.0);
  /* 1/0.35/5e-6 = 571428.571...: tolerance far below the last digit shown. */
  ck_assert_double_eq_tol(io->ir_drop_g_ratio, 571428.5714285714, 1e-6);
  ck_assert_double_eq(io->out_nonlinearity, 0.0);
  ck_assert_double_eq(io->out_nonlinearity_std, 0.0);
  ck_assert_double_eq(io->slope_calibration, 0.0); /* Python 0, not C++ 0.5 */
  ck_assert_double_eq(io->v_offset_std, 0.0);
  ck_assert_double_eq(io->v_offset_w_min, -1.0); /* Python -1, not C++ 0 */
  ck_assert_double_eq(io->r_series, 0.0);
  ck_assert(io->r_series_max_total >= FLT_MAX * 0.99 && isfinite(io->r_series_max_total));
  ck_assert_double_eq(io->w_read_asymmetry_dtod, 0.0);
  ck_assert_int_eq(io->max_bm_factor, 1000);
  ck_assert_double_eq(io->max_bm_res, 0.25);
  ck_assert_int_eq(io->bm_test_negative_bound, 1);
  ck_assert_double_eq(io->nm_thres, 0.0);
  ck_assert_double_eq(io->nm_assumed_wmax, 0.6);
  ck_assert_double_eq(io->nm_decay, 1e-3);
}

START_TEST(test_defaults_single) {
  rpu_context *ctx = ctx_with_test_models();
  rpu_config *cfg =
      tu_config(ctx, "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": "
                     "\"TestGoodDevice\"}}");
  ck_assert_int_eq(rpu_config_get_type(cfg), RPU_CONFIG_SINGLE);
  assert_io_defaults(rpu_config_forward(cfg));
  assert_io_defaults(rpu_config_backward(cfg));
  /* SPEC.md §3.1 */
  const rpu_update_params *up = rpu_config_update(cfg);
  ck_assert_int_eq(up->desired_bl, 31);
  ck_assert_int_eq(up->fixed_bl, 1);
  ck_assert_int_eq(up->pulse_type, RPU_PULSE_STOCHASTIC_COMPRESSED);
  ck_assert_double_eq(up->res, 0.0);
  ck_assert_double_eq(up->x_res_implicit, 0.0);
  ck_assert_double_eq(up->d_res_implicit, 0.0);
  ck_assert_int_eq(up->d_sparsity, 0);
  ck_assert_int_eq(up->sto_round, 0);
  ck_assert_int_eq(up->update_bl_management, 1);
  ck_assert_int_eq(up->update_management, 1);
  ck_assert_double_eq(up->um_grad_scale, 1.0);
  const rpu_device_spec *dev = rpu_config_device(cfg);
  ck_assert_str_eq(rpu_device_spec_model(dev)->name, "TestGoodDevice");
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_defaults_floating_point) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = NULL;
  ck_assert_int_eq(rpu_config_default(&cfg, ctx, "FloatingPointRPUConfig"), 0);
  ck_assert_int_eq(rpu_config_get_type(cfg), RPU_CONFIG_FLOATING_POINT);
  /* FloatingPointRPUConfig has no IO or update parameters. */
  ck_assert_ptr_null(rpu_config_forward(cfg));
  ck_assert_ptr_null(rpu_config_backward(cfg));
  ck_assert_ptr_null(rpu_config_update(cfg));
  /* SPEC.md §1.1: FloatingPointDevice() with diffusion 0, lifetime 0. */
  const rpu_device_spec *dev = rpu_config_device(cfg);
  ck_assert_str_eq(rpu_device_spec_model(dev)->name, "FloatingPointDevice");
  ck_assert_double_eq(spec_real(dev, "lifetime"), 0.0);
  ck_assert_double_eq(spec_real(dev, "diffusion"), 0.0);
  ck_assert_double_eq(spec_real(dev, "drift.nu"), 0.0);
  /* The text names every section with every default (SPEC.md §7.1, §7.3). */
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"rpu_config\": \"FloatingPointRPUConfig\""));
  ck_assert_ptr_nonnull(strstr(text, "\"schema_version\": 1"));
  ck_assert_ptr_nonnull(strstr(text, "\"type\": \"FloatingPointDevice\""));
  ck_assert_ptr_nonnull(strstr(text, "\"max_input_size\": 512"));
  ck_assert_ptr_nonnull(strstr(text, "\"digital_bias\": true"));
  ck_assert_ptr_nonnull(strstr(text, "\"init_value\": 3.0"));
  ck_assert_ptr_nonnull(strstr(text, "\"input_min_percentage\": 0.95"));
  ck_assert_ptr_nonnull(strstr(text, "\"reset_tol\": 1e-7"));
  ck_assert_ptr_null(strstr(text, "\"forward\""));
  rpu_free(text);
  rpu_config_free(cfg);
  tu_assert_error(rpu_config_default(&cfg, ctx, "NoSuchRPUConfig"), RPU_ENOTFOUND,
                  "unknown config type \"NoSuchRPUConfig\"");
  ck_assert_ptr_null(cfg);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_defaults_inference) {
  rpu_context *ctx = ctx_with_test_models();
  rpu_config *cfg = tu_config(ctx, "{\"rpu_config\": \"InferenceRPUConfig\", "
                                   "\"noise_model\": {\"type\": \"TestNoiseModel\"}, "
                                   "\"drift_compensation\": null}");
  ck_assert_int_eq(rpu_config_get_type(cfg), RPU_CONFIG_INFERENCE);
  /* SPEC.md §1: IdealDevice with reset_std 0.01; configurable forward;
   * perfect backward; exact update (pulse_type NONE). */
  const rpu_device_spec *dev = rpu_config_device(cfg);
  ck_assert_str_eq(rpu_device_spec_model(dev)->name, "IdealDevice");
  ck_assert_double_eq(spec_real(dev, "reset_std"), 0.01);
  assert_io_defaults(rpu_config_forward(cfg));
  ck_assert_int_eq(rpu_config_backward(cfg)->is_perfect, 1);
  ck_assert_int_eq(rpu_config_update(cfg)->pulse_type, RPU_PULSE_NONE);
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"drift_compensation\": null"));
  /* SPEC.md §6.7-§6.9 defaults, as written out. */
  ck_assert_ptr_nonnull(strstr(text, "\"fixed_value\": -1.0"));
  ck_assert_ptr_nonnull(strstr(text, "\"sigma\": 2.5"));
  ck_assert_ptr_nonnull(strstr(text, "\"dorefa_clip\": 0.6"));
  ck_assert_ptr_nonnull(strstr(text, "\"pcm_t0\": 20.0"));
  ck_assert_ptr_nonnull(strstr(text, "\"remapped_wmax\": 1.0"));
  ck_assert_ptr_null(strstr(text, "\"backward\""));
  ck_assert_ptr_null(strstr(text, "\"update\""));
  rpu_free(text);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

/* ----- values arrive; round trips ----------------------------------------- */

START_TEST(test_values_arrive) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = NULL;
  char *path = tu_path(tu_env("RPU_TEST_DATA"), "fp_drift.json");
  int rc = rpu_config_from_file(&cfg, ctx, path);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  const rpu_device_spec *dev = rpu_config_device(cfg);
  ck_assert_double_eq(spec_real(dev, "lifetime"), 250.0);
  /* Dotted parameters come from nested objects: "drift": {"nu": 0.1}. */
  ck_assert_double_eq(spec_real(dev, "drift.nu"), 0.1);
  ck_assert_double_eq(spec_real(dev, "drift.t_0"), 2.5);
  ck_assert_double_eq(spec_real(dev, "drift.reset_tol"), 1e-7); /* default kept */
  tu_assert_round_trip(ctx, cfg);
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"max_input_size\": 256"));
  ck_assert_ptr_nonnull(strstr(text, "\"digital_bias\": false"));
  ck_assert_ptr_nonnull(strstr(text, "\"enable\": true"));
  ck_assert_ptr_nonnull(strstr(text, "\"nu\": 0.1,"));
  rpu_free(text);
  rpu_config_free(cfg);
  free(path);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_round_trip_single) {
  rpu_context *ctx = ctx_with_test_models();
  rpu_config *cfg = tu_config(
      ctx, "{\"rpu_config\": \"SingleRPUConfig\", "
           "\"device\": {\"type\": \"TestGoodDevice\", \"dw_min\": 0.002},"
           "\"forward\": {\"out_noise\": 0.1, \"noise_management\": \"NONE\", "
           "\"inp_res\": 0.0078740157, \"inp_bound\": 3, \"mv_type\": \"POS_NEG_SEPARATE\"},"
           "\"backward\": {\"is_perfect\": true},"
           "\"update\": {\"desired_bl\": 10, \"pulse_type\": \"MEAN_COUNT\", \"fixed_bl\": false}}");
  const rpu_io_params *fw = rpu_config_forward(cfg);
  ck_assert_double_eq(fw->out_noise, 0.1);
  ck_assert_int_eq(fw->noise_management, RPU_NM_NONE);
  ck_assert_double_eq(fw->inp_res, 0.0078740157);
  ck_assert_double_eq(fw->inp_bound, 3.0);
  ck_assert_int_eq(fw->mv_type, RPU_MV_POS_NEG_SEPARATE);
  ck_assert_int_eq(rpu_config_backward(cfg)->is_perfect, 1);
  ck_assert_int_eq(rpu_config_update(cfg)->desired_bl, 10);
  ck_assert_int_eq(rpu_config_update(cfg)->pulse_type, RPU_PULSE_MEAN_COUNT);
  ck_assert_int_eq(rpu_config_update(cfg)->fixed_bl, 0);
  ck_assert_double_eq(spec_real(rpu_config_device(cfg), "dw_min"), 0.002);
  tu_assert_round_trip(ctx, cfg);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_round_trip_inference) {
  rpu_context *ctx = ctx_with_test_models();
  rpu_config *cfg = NULL;
  char *path = tu_path(tu_env("RPU_TEST_DATA"), "inference_test_models.json");
  int rc = rpu_config_from_file(&cfg, ctx, path);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  ck_assert_int_eq(rpu_config_forward(cfg)->w_noise_type, RPU_W_NOISE_PCM_READ);
  ck_assert_double_eq(rpu_config_forward(cfg)->out_noise, 0.02);
  ck_assert_double_eq(spec_real(rpu_config_device(cfg), "reset_std"), 0.05);
  tu_assert_round_trip(ctx, cfg);
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"type\": \"TestNoiseModel\""));
  ck_assert_ptr_nonnull(strstr(text, "\"g_max\": 30.0"));
  ck_assert_ptr_nonnull(strstr(text, "\"type\": \"TestDriftCompensation\""));
  ck_assert_ptr_nonnull(strstr(text, "\"type\": \"FIXED_VALUE\""));
  ck_assert_ptr_nonnull(strstr(text, "\"fixed_value\": 1.5"));
  ck_assert_ptr_nonnull(strstr(text, "\"type\": \"CHANNELWISE_SYMMETRIC\""));
  ck_assert_ptr_nonnull(strstr(text, "0.1,"));
  ck_assert_ptr_nonnull(strstr(text, "0.4"));
  rpu_free(text);
  rpu_config_free(cfg);
  free(path);
  rpu_context_free(ctx);
}
END_TEST

/* Doubles are written with the shortest text that reads back exactly. */
START_TEST(test_numbers_exact) {
  rpu_context *ctx = tu_context();
  /* 0.1 + 0.2 has no short exact decimal: it needs 17 digits. */
  static const double values[] = {0.1, 1.0 / 3.0, 0.1 + 0.2, 1e-300, 123456789.125, 5e-324};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": {\"type\": "
             "\"FloatingPointDevice\", \"diffusion\": %.17g}}",
             values[i]);
    rpu_config *cfg = tu_config(ctx, json);
    ck_assert_double_eq(spec_real(rpu_config_device(cfg), "diffusion"), values[i]);
    rpu_config *clone = NULL;
    ck_assert_int_eq(rpu_config_clone(&clone, cfg), 0);
    ck_assert(spec_real(rpu_config_device(clone), "diffusion") == values[i]);
    rpu_config_free(clone);
    rpu_config_free(cfg);
  }
  rpu_config *cfg = tu_config(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
                                   "{\"type\": \"FloatingPointDevice\", \"diffusion\": 0.1}}");
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"diffusion\": 0.1,")); /* not 0.10000000000000001 */
  rpu_free(text);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_type_names) {
  static const struct {
    rpu_config_type type;
    const char *name;
  } t[] = {{RPU_CONFIG_FLOATING_POINT, "FloatingPointRPUConfig"},
           {RPU_CONFIG_SINGLE, "SingleRPUConfig"},
           {RPU_CONFIG_UNIT_CELL, "UnitCellRPUConfig"},
           {RPU_CONFIG_INFERENCE, "InferenceRPUConfig"},
           {RPU_CONFIG_DIGITAL_RANK_UPDATE, "DigitalRankUpdateRPUConfig"}};
  for (size_t i = 0; i < 5; i++) {
    rpu_config_type out = 0;
    ck_assert_str_eq(rpu_config_type_name(t[i].type), t[i].name);
    ck_assert_int_eq(rpu_config_type_from_name(t[i].name, &out), 0);
    ck_assert_int_eq(out, t[i].type);
  }
  rpu_config_type out;
  tu_assert_error(rpu_config_type_from_name("singlerpuconfig", &out), RPU_ENOTFOUND,
                  "valid: FloatingPointRPUConfig, SingleRPUConfig");
  ck_assert_str_eq(rpu_config_type_name((rpu_config_type)99), "?");
}
END_TEST

/* Every parameter named in SPEC.md §2.1 (and the three C++-only ones) is in
 * the forward schema, and nothing else. */
START_TEST(test_section_schemas) {
  static const char *io_names[] = {
      "is_perfect", "mv_type", "inp_bound", "inp_noise", "inp_res", "inp_sto_round",
      "inp_asymmetry", "out_bound", "out_noise", "out_noise_std", "out_res", "out_sto_round",
      "out_scale", "out_asymmetry", "bound_management", "noise_management", "w_noise",
      "w_noise_type", "ir_drop", "ir_drop_g_ratio", "out_nonlinearity", "out_nonlinearity_std",
      "slope_calibration", "v_offset_std", "v_offset_w_min", "r_series",
      "w_read_asymmetry_dtod", "max_bm_factor", "max_bm_res", "bm_test_negative_bound",
      "nm_thres", "nm_assumed_wmax", "nm_decay", "r_series_max_total"};
  const size_t n_io = sizeof io_names / sizeof io_names[0];
  const rpu_param_desc *p = NULL;
  size_t n = 0;
  ck_assert_int_eq(rpu_config_section_schema("forward", &p, &n), 0);
  ck_assert_uint_eq(n, n_io);
  for (size_t i = 0; i < n_io; i++) {
    int found = 0;
    for (size_t j = 0; j < n; j++) found += strcmp(p[j].name, io_names[i]) == 0;
    ck_assert_msg(found == 1, "forward schema lacks %s", io_names[i]);
  }
  /* SPEC.md §3.1 has 11 update parameters, §7.1 eight mapping ones, §6.8
   * three clip ones, §6.9 four remap ones, §6.7 nineteen modifier ones,
   * §7.3 eleven input-range ones (calibration_info is Python-only). */
  static const struct {
    const char *section;
    size_t n;
  } counts[] = {{"backward", 34}, {"update", 11}, {"mapping", 8}, {"clip", 3},
                {"remap", 4},     {"modifier", 19}, {"pre_post.input_range", 11}};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    ck_assert_int_eq(rpu_config_section_schema(counts[i].section, &p, &n), 0);
    ck_assert_msg(n == counts[i].n, "%s: %zu parameters", counts[i].section, n);
    for (size_t j = 0; j < n; j++) {
      ck_assert_ptr_nonnull(p[j].doc);
      ck_assert_msg(p[j].doc[0] != '\0', "%s.%s has no doc", counts[i].section, p[j].name);
    }
  }
  tu_assert_error(rpu_config_section_schema("device", &p, &n), RPU_ENOTFOUND,
                  "unknown config section \"device\"");
}
END_TEST

START_TEST(test_bad_arguments) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = NULL;
  ck_assert_int_eq(rpu_config_from_string(&cfg, ctx, NULL, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu_config_from_string(&cfg, NULL, "{}", NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu_config_from_file(&cfg, ctx, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu_config_to_json(NULL, NULL), RPU_EINVAL);
  ck_assert_int_eq(rpu_config_clone(&cfg, NULL), RPU_EINVAL);
  ck_assert_ptr_null(cfg);
  rpu_config_free(NULL);
  ck_assert_ptr_null(rpu_config_forward(NULL));
  ck_assert_ptr_null(rpu_config_device(NULL));
  /* The origin defaults to "<string>". */
  tu_assert_error(rpu_config_from_string(&cfg, ctx, "{}", NULL), RPU_ECONFIG,
                  "<string>: rpu_config: missing");
  rpu_context_free(ctx);
}
END_TEST

Suite *suite_config(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("errors");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_not_json);
  tcase_add_test(tc, test_trailing_comma);
  tcase_add_test(tc, test_empty_and_missing_file);
  tcase_add_test(tc, test_deeply_nested);
  tcase_add_test(tc, test_rpu_config_key);
  tcase_add_test(tc, test_schema_version);
  tcase_add_test(tc, test_unknown_device_type);
  tcase_add_test(tc, test_unknown_key);
  tcase_add_test(tc, test_wrong_type_and_range);
  tcase_add_test(tc, test_device_class);
  tcase_add_test(tc, test_io_errors);
  tcase_add_test(tc, test_inference_errors);
  tcase_add_test(tc, test_bad_arguments);
  suite_add_tcase(s, tc);
  tc = tcase_create("values");
  tcase_add_test(tc, test_defaults_single);
  tcase_add_test(tc, test_defaults_floating_point);
  tcase_add_test(tc, test_defaults_inference);
  tcase_add_test(tc, test_values_arrive);
  tcase_add_test(tc, test_round_trip_single);
  tcase_add_test(tc, test_round_trip_inference);
  tcase_add_test(tc, test_numbers_exact);
  tcase_add_test(tc, test_type_names);
  tcase_add_test(tc, test_section_schemas);
  suite_add_tcase(s, tc);
  return s;
}
