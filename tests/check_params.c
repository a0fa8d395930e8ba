/* The parameter-schema engine (DESIGN.md §4 "Parameter schema"), driven
 * through the public API: config sections, and a test plugin whose models
 * use every parameter type and flag (tests/modules/all_types.c, built
 * once good and once per broken schema variant).
 * Every error asserts its code and the JSON path it names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/suites.h"
#include "tests/testutil.h"

/* Path of the test plugin built from tests/modules/all_types.c: variant
 * `broken` 0 is the good one (all_types.la), N > 0 was built with
 * -DBROKEN=N (all_types_bN.la).  Malloc'ed. */
static char *module_path(int broken) {
  char name[64];
  if (broken)
    snprintf(name, sizeof name, "all_types_b%d.la", broken);
  else
    snprintf(name, sizeof name, "all_types.la");
  return tu_path(tu_env("RPU_TEST_MODULES"), name);
}

/* A context with the test plugin loaded. */
typedef struct fixture {
  rpu_context *ctx;
} fixture;

static void fixture_open(fixture *f) {
  char *so = module_path(0);
  f->ctx = tu_context();
  int rc = rpu_context_load_plugin(f->ctx, so);
  ck_assert_msg(rc == 0, "loading %s: %s", so, rpu_error_last()->message);
  free(so);
}

static void fixture_close(fixture *f) { rpu_context_free(f->ctx); }

static const rpu_param_desc *find_desc(const rpu_model_desc *m, const char *name) {
  for (uint32_t i = 0; i < m->n_params; i++) {
    const rpu_param_desc *d =
        (const rpu_param_desc *)((const char *)m->params + (size_t)i * m->param_desc_size);
    if (strcmp(d->name, name) == 0) return d;
  }
  ck_abort_msg("model %s has no parameter %s", m->name, name);
  return NULL;
}

/* The typed field of parameter `name` of a spec, located through the
 * model's public schema. */
static const void *field(const rpu_device_spec *s, const char *name) {
  return (const char *)rpu_device_spec_params(s) +
         find_desc(rpu_device_spec_model(s), name)->offset;
}

#define FIELD(T, s, name) (*(const T *)field((s), (name)))

/* {"rpu_config": "UnitCellRPUConfig", "device": {"type": "TestAllTypesCell", BODY}} */
static int unit_cell(rpu_context *ctx, const char *body, rpu_config **out) {
  char json[4096];
  snprintf(json, sizeof json,
           "{\"rpu_config\": \"UnitCellRPUConfig\", \"device\": {\"type\": "
           "\"TestAllTypesCell\"%s%s}}",
           body[0] ? ", " : "", body);
  *out = NULL;
  return rpu_config_from_string(out, ctx, json, "cell.json");
}

/* ----- every type: defaults ----------------------------------------------- */

START_TEST(test_all_types_defaults) {
  fixture f;
  fixture_open(&f);
  rpu_config *cfg = NULL;
  int rc = unit_cell(f.ctx, "", &cfg);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  const rpu_device_spec *d = rpu_config_device(cfg);
  /* The defaults declared in all_types_plugin.c. */
  ck_assert_int_eq(FIELD(int, d, "flag"), 1);
  ck_assert_int_eq(FIELD(int, d, "count"), 3);
  ck_assert_double_eq(FIELD(double, d, "gain"), 0.5);
  ck_assert_int_eq(FIELD(int, d, "mode"), 1); /* index of BETA in ALPHA, BETA, GAMMA */
  ck_assert_str_eq(FIELD(const char *, d, "label"), "hello");
  ck_assert_ptr_null(FIELD(const char *, d, "note"));
  rpu_real_array co = FIELD(rpu_real_array, d, "coeffs");
  ck_assert_uint_eq(co.n, 2);
  ck_assert_double_eq(co.v[0], 1.0);
  ck_assert_double_eq(co.v[1], 2.0);
  /* Default nested device: IdealDevice with its own defaults (SPEC §1.1). */
  const rpu_device_spec *inner = FIELD(const rpu_device_spec *, d, "inner");
  ck_assert_str_eq(rpu_device_spec_model(inner)->name, "IdealDevice");
  ck_assert_double_eq(FIELD(double, inner, "reset_std"), 0.01);
  ck_assert_ptr_null(FIELD(const rpu_device_spec *, d, "optional"));
  ck_assert_uint_eq(FIELD(rpu_device_list, d, "devices").n, 0);
  /* Nested IO / update parameters take the SPEC §2.1 / §3.1 defaults. */
  const rpu_io_params *io = FIELD(const rpu_io_params *, d, "transfer_forward");
  ck_assert_double_eq(io->out_noise, 0.06);
  ck_assert_int_eq(io->noise_management, RPU_NM_ABS_MAX);
  const rpu_update_params *up = FIELD(const rpu_update_params *, d, "transfer_update");
  ck_assert_int_eq(up->desired_bl, 31);
  ck_assert_double_eq(FIELD(double, d, "group.a"), 1.0);
  ck_assert_int_eq(FIELD(int, d, "group.sub.b"), 2);
  /* Written out complete (nested groups as objects), except the derived
   * parameter, and read back identically. */
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"label\": \"hello\""));
  ck_assert_ptr_nonnull(strstr(text, "\"note\": null"));
  ck_assert_ptr_nonnull(strstr(text, "\"optional\": null"));
  ck_assert_ptr_nonnull(strstr(text, "\"devices\": ["));
  ck_assert_ptr_nonnull(strstr(text, "\"mode\": \"BETA\""));
  ck_assert_ptr_nonnull(strstr(text, "\"sub\": {"));
  ck_assert_ptr_null(strstr(text, "\"derived\""));
  ck_assert_ptr_null(strstr(text, "group.a"));
  rpu_free(text);
  tu_assert_round_trip(f.ctx, cfg);
  rpu_config_free(cfg);
  fixture_close(&f);
}
END_TEST

/* ----- every type: given values arrive ------------------------------------ */

START_TEST(test_all_types_values) {
  fixture f;
  fixture_open(&f);
  rpu_config *cfg = NULL;
  int rc = unit_cell(
      f.ctx,
      "\"flag\": false, \"count\": 5, \"gain\": 0.25, \"mode\": \"GAMMA\", "
      "\"label\": \"x\\ty\", \"note\": \"n\", \"coeffs\": [-5, 0, 5.0], "
      "\"inner\": {\"type\": \"FloatingPointDevice\", \"lifetime\": 3}, "
      "\"optional\": {\"type\": \"IdealDevice\"}, "
      "\"devices\": [{\"type\": \"IdealDevice\", \"reset_std\": 0.5}, "
      "              {\"type\": \"FloatingPointDevice\", \"drift\": {\"nu\": 0.2}}], "
      "\"transfer_forward\": {\"out_noise\": 0.0, \"is_perfect\": true}, "
      "\"transfer_update\": {\"desired_bl\": 5}, "
      "\"group\": {\"a\": -7, \"sub\": {\"b\": -3}}",
      &cfg);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  const rpu_device_spec *d = rpu_config_device(cfg);
  ck_assert_int_eq(FIELD(int, d, "flag"), 0);
  ck_assert_int_eq(FIELD(int, d, "count"), 5);
  ck_assert_double_eq(FIELD(double, d, "gain"), 0.25);
  ck_assert_int_eq(FIELD(int, d, "mode"), 2);
  ck_assert_str_eq(FIELD(const char *, d, "label"), "x\ty");
  ck_assert_str_eq(FIELD(const char *, d, "note"), "n");
  rpu_real_array co = FIELD(rpu_real_array, d, "coeffs");
  ck_assert_uint_eq(co.n, 3);
  ck_assert_double_eq(co.v[0], -5.0);
  ck_assert_double_eq(co.v[2], 5.0);
  const rpu_device_spec *inner = FIELD(const rpu_device_spec *, d, "inner");
  ck_assert_str_eq(rpu_device_spec_model(inner)->name, "FloatingPointDevice");
  ck_assert_double_eq(FIELD(double, inner, "lifetime"), 3.0);
  ck_assert_str_eq(rpu_device_spec_model(FIELD(const rpu_device_spec *, d, "optional"))->name,
                   "IdealDevice");
  rpu_device_list l = FIELD(rpu_device_list, d, "devices");
  ck_assert_uint_eq(l.n, 2);
  ck_assert_double_eq(FIELD(double, l.v[0], "reset_std"), 0.5);
  ck_assert_double_eq(FIELD(double, l.v[1], "drift.nu"), 0.2);
  ck_assert_double_eq(FIELD(double, l.v[1], "drift.t_0"), 1.0); /* default */
  const rpu_io_params *io = FIELD(const rpu_io_params *, d, "transfer_forward");
  ck_assert_double_eq(io->out_noise, 0.0);
  ck_assert_int_eq(io->is_perfect, 1);
  ck_assert_double_eq(io->out_bound, 12.0); /* default kept */
  ck_assert_int_eq(FIELD(const rpu_update_params *, d, "transfer_update")->desired_bl, 5);
  ck_assert_double_eq(FIELD(double, d, "group.a"), -7.0);
  ck_assert_int_eq(FIELD(int, d, "group.sub.b"), -3);
  tu_assert_round_trip(f.ctx, cfg);
  rpu_config_free(cfg);

  /* null where allowed; an integral real is a fine int. */
  rc = unit_cell(f.ctx, "\"note\": null, \"optional\": null, \"count\": 2.0", &cfg);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  ck_assert_ptr_null(FIELD(const char *, rpu_config_device(cfg), "note"));
  ck_assert_ptr_null(FIELD(const rpu_device_spec *, rpu_config_device(cfg), "optional"));
  ck_assert_int_eq(FIELD(int, rpu_config_device(cfg), "count"), 2);
  rpu_config_free(cfg);
  fixture_close(&f);
}
END_TEST

/* ----- every type: errors name their path --------------------------------- */

static const struct {
  const char *body;
  int code;
  const char *needle;
} bad_values[] = {
    {"\"flag\": 1", RPU_ETYPE, "cell.json: device.flag: expected a boolean, got number"},
    {"\"flag\": null", RPU_ETYPE, "device.flag: expected a boolean, got null"},
    {"\"count\": 11", RPU_ERANGE, "device.count: 11 is above maximum 10"},
    {"\"count\": -1", RPU_ERANGE, "device.count: -1 is below minimum 0"},
    {"\"count\": 2.5", RPU_ETYPE, "device.count: expected an integer, got 2.5"},
    {"\"count\": true", RPU_ETYPE, "device.count: expected an integer, got boolean"},
    {"\"gain\": \"0.5\"", RPU_ETYPE, "device.gain: expected a number, got string"},
    {"\"gain\": 1.0000001", RPU_ERANGE, "device.gain: 1.0000001 is above maximum 1"},
    {"\"mode\": \"beta\"", RPU_ECONFIG,
     "device.mode: unknown value \"beta\" (did you mean \"BETA\"?); valid: ALPHA, BETA, GAMMA"},
    {"\"mode\": \"DELTA\"", RPU_ECONFIG, "device.mode: unknown value \"DELTA\"; valid: ALPHA"},
    {"\"mode\": 1", RPU_ETYPE, "device.mode: expected a string, got number"},
    {"\"label\": 3", RPU_ETYPE, "device.label: expected a string, got number"},
    {"\"label\": null", RPU_ETYPE, "device.label: expected a string, got null"},
    {"\"label\": \"a\\u0000b\"", RPU_ECONFIG, "device.label: string contains a NUL"},
    {"\"coeffs\": 1", RPU_ETYPE, "device.coeffs: expected an array of numbers, got number"},
    {"\"coeffs\": [1, 6]", RPU_ERANGE, "device.coeffs[1]: 6 is above maximum 5"},
    {"\"coeffs\": [1, null]", RPU_ETYPE, "device.coeffs[1]: expected a number, got null"},
    {"\"inner\": null", RPU_ETYPE, "device.inner: expected a device object"},
    {"\"inner\": {\"type\": \"NopeDevice\"}", RPU_ENOTFOUND, "device.inner.type: "},
    {"\"inner\": {\"lifetime\": 1}", RPU_ECONFIG, "device.inner.type: missing"},
    {"\"inner\": {\"type\": 7}", RPU_ETYPE, "device.inner.type: expected a string"},
    {"\"inner\": {\"type\": \"TestNoiseModel\"}", RPU_ENOTFOUND, "device.inner.type: "},
    {"\"devices\": {}", RPU_ETYPE,
     "device.devices: expected an array of device objects, got object"},
    {"\"devices\": [{\"type\": \"IdealDevice\"}, 3]", RPU_ETYPE,
     "device.devices[1]: expected a device object {\"type\": NAME, ...}, got number"},
    {"\"devices\": [{\"type\": \"IdealDevice\"}, {\"type\": \"FloatingPointDevice\", "
     "\"lifetime\": -2}]",
     RPU_ERANGE, "device.devices[1].lifetime: -2 is below minimum 0"},
    {"\"devices\": [{\"type\": \"TestAllTypesCell\", \"inner\": {\"type\": "
     "\"FloatingPointDevice\", \"drift\": {\"nu\": -1}}}]",
     RPU_ERANGE, "device.devices[0].inner.drift.nu: -1 is below minimum 0"},
    {"\"transfer_forward\": {\"inp_bound\": 2}", RPU_ECONFIG,
     "device.transfer_forward.inp_bound: must be 1 when noise_management is ABS_MAX"},
    {"\"transfer_forward\": {\"bogus\": 1}", RPU_ECONFIG,
     "device.transfer_forward.bogus: unknown key; valid keys: is_perfect, mv_type"},
    {"\"transfer_forward\": null", RPU_ETYPE,
     "device.transfer_forward: expected an object, got null"},
    {"\"transfer_update\": []", RPU_ETYPE, "device.transfer_update: expected an object, got array"},
    {"\"transfer_update\": {\"pulse_type\": \"NONEE\"}", RPU_ECONFIG,
     "device.transfer_update.pulse_type: unknown value \"NONEE\" (did you mean \"NONE\"?)"},
    {"\"group\": 1", RPU_ETYPE, "device.group: expected an object, got number"},
    {"\"group\": {\"sub\": {\"c\": 1}}", RPU_ECONFIG,
     "device.group.sub.c: unknown key; valid keys: b"},
    {"\"group\": {\"sub\": 1}", RPU_ETYPE, "device.group.sub: expected an object, got number"},
    {"\"group\": {\"subb\": 1}", RPU_ECONFIG,
     "device.group.subb: unknown key (did you mean \"sub\"?); valid keys: a, sub"},
    {"\"derived\": 1", RPU_ECONFIG, "device.derived: is derived"},
    {"\"derivd\": 1", RPU_ECONFIG, "valid keys: type, flag, count, gain, mode, label, note"},
    {"\"group.a\": 1", RPU_ECONFIG, "device.group.a: unknown key (a dotted parameter"},
    /* The model's check hook: count <= number of devices + 3. */
    {"\"count\": 4", RPU_ECONFIG, "cell.json: device.count: exceeds the number of devices"},
};

START_TEST(test_all_types_errors) {
  fixture f;
  fixture_open(&f);
  rpu_config *cfg = NULL;
  int rc = unit_cell(f.ctx, bad_values[_i].body, &cfg);
  ck_assert_msg(rc == bad_values[_i].code, "%s: expected %s, got %s (%s)", bad_values[_i].body,
                rpu_status_name(bad_values[_i].code), rpu_status_name(rc),
                rpu_error_last()->message);
  tu_assert_error(rc, bad_values[_i].code, bad_values[_i].needle);
  ck_assert_ptr_null(cfg);
  fixture_close(&f);
}
END_TEST

START_TEST(test_required_and_nesting) {
  fixture f;
  fixture_open(&f);
  rpu_config *cfg = NULL;
  tu_assert_error(rpu_config_from_string(&cfg, f.ctx,
                                         "{\"rpu_config\": \"UnitCellRPUConfig\", \"device\": "
                                         "{\"type\": \"TestRequiredCell\"}}",
                                         "req.json"),
                  RPU_ECONFIG, "req.json: device.must: required parameter missing");
  tu_assert_error(rpu_config_from_string(&cfg, f.ctx,
                                         "{\"rpu_config\": \"UnitCellRPUConfig\", \"device\": "
                                         "{\"type\": \"TestRequiredCell\", \"must\": 11}}",
                                         "req.json"),
                  RPU_ERANGE, "device.must: 11 is above maximum 10");
  cfg = tu_config(f.ctx, "{\"rpu_config\": \"UnitCellRPUConfig\", \"device\": "
                         "{\"type\": \"TestRequiredCell\", \"must\": 2.5}}");
  ck_assert_double_eq(FIELD(double, rpu_config_device(cfg), "must"), 2.5);
  tu_assert_round_trip(f.ctx, cfg);
  rpu_config_free(cfg);
  cfg = NULL;
  /* A default device that contains itself must end with an error, not a
   * stack overflow. */
  tu_assert_error(rpu_config_from_string(&cfg, f.ctx,
                                         "{\"rpu_config\": \"UnitCellRPUConfig\", \"device\": "
                                         "{\"type\": \"TestSelfNestingCell\"}}",
                                         "self.json"),
                  RPU_ECONFIG, "self.json: device.inner.inner.inner");
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "nested more than"));
  ck_assert_ptr_null(cfg);
  /* A digital rank update cell in its own config type, and not elsewhere. */
  cfg = tu_config(f.ctx, "{\"rpu_config\": \"DigitalRankUpdateRPUConfig\", \"device\": "
                         "{\"type\": \"TestDigitalCell\", \"device\": {\"type\": "
                         "\"FloatingPointDevice\"}}}");
  ck_assert_int_eq(rpu_config_get_type(cfg), RPU_CONFIG_DIGITAL_RANK_UPDATE);
  ck_assert_ptr_nonnull(rpu_config_update(cfg));
  tu_assert_round_trip(f.ctx, cfg);
  rpu_config_free(cfg);
  cfg = NULL;
  tu_assert_error(rpu_config_from_string(&cfg, f.ctx,
                                         "{\"rpu_config\": \"UnitCellRPUConfig\", \"device\": "
                                         "{\"type\": \"TestDigitalCell\"}}",
                                         NULL),
                  RPU_ECONFIG,
                  "device.type: TestDigitalCell is a device of class digital_rank_update; "
                  "UnitCellRPUConfig accepts class unit_cell");
  fixture_close(&f);
}
END_TEST

/* ----- schema self-check: broken schemas are refused by the loader -------- */

static const struct {
  int variant; /* -DBROKEN=variant, see tests/modules/all_types.c */
  const char *needle;
} broken[] = {
    {1, "parameter \"a\": default 2 is outside [0, 1]"},
    {2, "parameter \"e\": default \"Z\" is not one of its enum values"},
    {3, "parameter \"b\": field overlaps the field of \"a\""},
    {4, "parameter \"drift.nu\" clashes with \"drift\""},
    {5, "parameter \"a\" is declared twice"},
    {6, "parameter \"type\": \"type\" is reserved"},
    {7, "parameter \"e\": integer default 1.5 is not an int"},
    {8, "parameter \"a\": invalid range [1, -1]"},
    {9, "lies outside the"},
};

START_TEST(test_schema_check) {
  char *so = module_path(broken[_i].variant);
  rpu_context *ctx = tu_context();
  size_t before = rpu_context_model_count(ctx);
  int rc = rpu_context_load_plugin(ctx, so);
  tu_assert_error(rc, RPU_EPLUGIN, broken[_i].needle);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "TestBrokenSchema"));
  /* Nothing registered. */
  ck_assert_uint_eq(rpu_context_model_count(ctx), before);
  rpu_model_entry e;
  ck_assert_int_eq(rpu_context_find_model(ctx, "TestBrokenSchema", 0, &e), RPU_ENOTFOUND);
  rpu_context_free(ctx);
  free(so);
}
END_TEST

/* ----- section fields through configs ------------------------------------- */

START_TEST(test_section_types) {
  rpu_context *ctx = tu_context();
  rpu_config *cfg = NULL;
  static const struct {
    const char *body;
    int code;
    const char *needle;
  } bad[] = {
      {"\"mapping\": {\"digital_bias\": 1}", RPU_ETYPE,
       "mapping.digital_bias: expected a boolean, got number"},
      {"\"mapping\": {\"max_output_size\": -1}", RPU_ERANGE,
       "mapping.max_output_size: -1 is below minimum 0"},
      {"\"mapping\": {\"max_output_size\": 4294967296}", RPU_ERANGE,
       "mapping.max_output_size: 4294967296 is above maximum 2147483647"},
      {"\"mapping\": [1]", RPU_ETYPE, "mapping: expected an object, got array"},
      {"\"pre_post\": {\"input_range\": null}", RPU_ETYPE,
       "pre_post.input_range: expected an object, got null"},
      {"\"pre_post\": {\"input_range\": {\"input_min_percentage\": 2}}", RPU_ERANGE,
       "pre_post.input_range.input_min_percentage: 2 is above maximum 1"},
      {"\"pre_post\": 0", RPU_ETYPE, "pre_post: expected an object, got number"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char json[512];
    snprintf(json, sizeof json, "{\"rpu_config\": \"FloatingPointRPUConfig\", %s}",
             bad[i].body);
    tu_assert_error(rpu_config_from_string(&cfg, ctx, json, "s.json"), bad[i].code,
                    bad[i].needle);
    ck_assert_ptr_null(cfg);
  }
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_device_spec_accessors) {
  ck_assert_ptr_null(rpu_device_spec_model(NULL));
  ck_assert_ptr_null(rpu_device_spec_params(NULL));
  rpu_context *ctx = tu_context();
  rpu_config *cfg = tu_config(ctx, "{\"rpu_config\": \"FloatingPointRPUConfig\"}");
  const rpu_device_spec *d = rpu_config_device(cfg);
  const rpu_model_desc *m = rpu_device_spec_model(d);
  ck_assert_str_eq(m->name, "FloatingPointDevice");
  ck_assert_int_eq(m->kind, RPU_MODEL_DEVICE);
  ck_assert_ptr_nonnull(rpu_device_spec_params(d));
  /* The typed struct holds the schema defaults at the schema's offsets. */
  for (uint32_t i = 0; i < m->n_params; i++) {
    const rpu_param_desc *p =
        (const rpu_param_desc *)((const char *)m->params + (size_t)i * m->param_desc_size);
    if (p->type != RPU_PARAM_REAL) continue;
    double v;
    memcpy(&v, (const char *)rpu_device_spec_params(d) + p->offset, sizeof v);
    ck_assert_msg(v == p->def, "%s = %g, default %g", p->name, v, p->def);
  }
  rpu_config_free(cfg);
  rpu_context_free(ctx);
}
END_TEST

Suite *suite_params(void) {
  Suite *s = suite_create("params");
  TCase *tc = tcase_create("all_types");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_all_types_defaults);
  tcase_add_test(tc, test_all_types_values);
  tcase_add_loop_test(tc, test_all_types_errors, 0,
                      (int)(sizeof bad_values / sizeof bad_values[0]));
  tcase_add_test(tc, test_required_and_nesting);
  tcase_add_loop_test(tc, test_schema_check, 0, (int)(sizeof broken / sizeof broken[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("sections");
  tcase_add_test(tc, test_section_types);
  tcase_add_test(tc, test_device_spec_accessors);
  suite_add_tcase(s, tc);
  return s;
}
