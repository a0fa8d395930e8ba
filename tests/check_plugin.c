/* Plugin loader and registry (DESIGN.md §4): every class of broken plugin
 * is refused with its reason and leaves the registry untouched; search
 * order, first registration wins, directory scans; model look-up errors;
 * kind, class and type names.
 *
 * Test plugins live in $RPU_TEST_MODULES (sources in tests/modules); the shipped
 * plugins come from $RPU_PLUGIN_PATH (the build tree's plugins/). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/suites.h"
#include "tests/testutil.h"

/* ----- helpers -------------------------------------------------------------- */

static char *module_path(const char *name) {
  return tu_path(tu_env("RPU_TEST_MODULES"), name);
}

/* The built shared object of a test module (libtool's objdir is .libs). */
static char *module_so_path(const char *base) {
  char name[256];
  snprintf(name, sizeof name, ".libs/%s.so", base);
  return module_path(name);
}

static void copy_file(const char *src, const char *dst) {
  size_t len;
  char *data = tu_read_file(src, &len);
  tu_write_file(dst, data, len);
  free(data);
}

/* All registered names, in order, as one string ("A B C "). */
static char *snapshot(const rpu_context *ctx) {
  size_t n = rpu_context_model_count(ctx), len = 1;
  rpu_model_entry e;
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(rpu_context_model_at(ctx, i, &e), 0);
    len += strlen(e.name) + 1;
  }
  char *s = malloc(len);
  ck_assert_ptr_nonnull(s);
  s[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    rpu_context_model_at(ctx, i, &e);
    strcat(s, e.name);
    strcat(s, " ");
  }
  return s;
}

static int has_model(const rpu_context *ctx, const char *name) {
  return rpu_context_find_model(ctx, name, 0, NULL) == 0;
}

static rpu_plugin_file file_rec(const rpu_context *ctx, size_t i) {
  rpu_plugin_file f;
  ck_assert_int_eq(rpu_context_file_at(ctx, i, &f), 0);
  return f;
}

/* A context from options only (environment ignored unless use_env). */
static rpu_context *context_with(const char *const *files, size_t nf, const char *const *dirs,
                                 size_t nd, int use_env, int use_system) {
  rpu_context_options o = RPU_CONTEXT_OPTIONS_INIT;
  o.plugin_files = files;
  o.n_plugin_files = nf;
  o.plugin_dirs = dirs;
  o.n_plugin_dirs = nd;
  o.ignore_env = !use_env;
  o.no_system = !use_system;
  rpu_context *ctx = NULL;
  ck_assert_msg(rpu_context_new(&ctx, &o) == 0, "%s", rpu_error_last()->message);
  return ctx;
}

/* The tests below change the plugin environment; restore it after each. */
static char *saved_path, *saved_system;
static int had_path, had_system;

static void save_env(void) {
  const char *p = getenv("RPU_PLUGIN_PATH"), *s = getenv("RPU_PLUGIN_SYSTEM_PATH");
  had_path = p != NULL;
  had_system = s != NULL;
  saved_path = p ? strdup(p) : NULL;
  saved_system = s ? strdup(s) : NULL;
}

static void restore_env(void) {
  if (had_path) setenv("RPU_PLUGIN_PATH", saved_path, 1); else unsetenv("RPU_PLUGIN_PATH");
  if (had_system)
    setenv("RPU_PLUGIN_SYSTEM_PATH", saved_system, 1);
  else
    unsetenv("RPU_PLUGIN_SYSTEM_PATH");
  free(saved_path);
  free(saved_system);
  saved_path = saved_system = NULL;
}

/* ----- broken plugins ---------------------------------------------------------- */

typedef struct broken_case {
  const char *file;
  int code;
  const char *reason1; /* both must appear in the message */
  const char *reason2;
} broken_case;

static char abi_major_text[32], abi_minor_text[32];

static const broken_case broken[] = {
    {"abi_major.la", RPU_EABI, abi_major_text, "major"},
    {"abi_minor_newer.la", RPU_EABI, abi_minor_text, "newer"},
    {"no_entry.la", RPU_EPLUGIN, "no entry point", "rpu_plugin_entry"},
    {"entry_null.la", RPU_EPLUGIN, "rpu_plugin_entry", "NULL"},
    /* names the model and the file that registered it first */
    {"duplicate_model.la", RPU_EDUPLICATE, "FloatingPointDevice", "floating_point.la"},
    /* names the model and the parameter whose default is out of range */
    {"bad_default.la", RPU_EPLUGIN, "TestBadDefaultDevice", "gain"},
    {"missing_hook.la", RPU_EPLUGIN, "TestMissingHookDevice", "pulse_row"},
};

START_TEST(test_broken_module_rejected) {
  const broken_case *c = &broken[_i];
  /* The versions the modules were built with: the host's +1 (see
   * tests/modules/abi_major.c and abi_minor_newer.c). */
  snprintf(abi_major_text, sizeof abi_major_text, "ABI %d.%d", RPU_ABI_MAJOR + 1,
           RPU_ABI_MINOR);
  snprintf(abi_minor_text, sizeof abi_minor_text, "ABI %d.%d", RPU_ABI_MAJOR,
           RPU_ABI_MINOR + 1);
  rpu_context *ctx = tu_context();
  ck_assert_msg(has_model(ctx, "FloatingPointDevice"),
                "the floating_point plugin must be on RPU_PLUGIN_PATH");
  char *before = snapshot(ctx);
  size_t nfiles = rpu_context_file_count(ctx);
  char *path = module_path(c->file);

  int rc = rpu_context_load_plugin(ctx, path);
  tu_assert_error(rc, c->code, path);
  tu_assert_error(rc, c->code, c->reason1);
  tu_assert_error(rc, c->code, c->reason2);
  char *msg = strdup(rpu_error_last()->message);

  /* Registry unchanged: same models in the same order. */
  char *after = snapshot(ctx);
  ck_assert_str_eq(after, before);
  /* The file is recorded as rejected with the same reason. */
  ck_assert_uint_eq(rpu_context_file_count(ctx), nfiles + 1);
  rpu_plugin_file f = file_rec(ctx, nfiles);
  ck_assert_str_eq(f.file, path);
  ck_assert_uint_eq(f.status, RPU_PLUGIN_REJECTED);
  ck_assert_int_eq(f.code, c->code);
  ck_assert_str_eq(f.error, msg);
  ck_assert_uint_eq(f.n_models, 0);
  if (strcmp(c->file, "duplicate_model.la") == 0) {
    /* All or nothing: its other, unique model is not registered either. */
    ck_assert(!has_model(ctx, "TestDuplicateUniqueDevice"));
    ck_assert_str_eq(f.plugin, "duplicate_model");
  }
  free(msg);
  free(after);
  free(before);
  free(path);
  rpu_context_free(ctx);
}
END_TEST

/* A file of random bytes named like a plugin is refused, by explicit load
 * and by a directory scan (which still creates the context). */
START_TEST(test_random_bytes_rejected) {
  char *dir = tu_tempdir();
  uint32_t bytes[1024];
  rpu_rng_stream s = rpu_rng_stream_make(12345, 0, RPU_RNG_USER);
  rpu_rng_fill_u32(&s, 0, bytes, 1024);
  char *so = tu_path(dir, "x.so"), *la = tu_path(dir, "y.la");
  tu_write_file(so, bytes, sizeof bytes);
  tu_write_file(la, bytes, sizeof bytes);

  rpu_context *ctx = tu_context();
  char *before = snapshot(ctx);
  int rc = rpu_context_load_plugin(ctx, so);
  tu_assert_error(rc, RPU_EPLUGIN, so);
  tu_assert_error(rc, RPU_EPLUGIN, "cannot open plugin");
  rc = rpu_context_load_plugin(ctx, la);
  ck_assert_int_lt(rc, 0);
  ck_assert_msg(strstr(rpu_error_last()->message, la) != NULL, "%s",
                rpu_error_last()->message);
  char *after = snapshot(ctx);
  ck_assert_str_eq(after, before);
  rpu_context_free(ctx);

  const char *dirs[] = {dir};
  ctx = context_with(NULL, 0, dirs, 1, 0, 0);
  ck_assert_uint_eq(rpu_context_model_count(ctx), 0);
  ck_assert_uint_eq(rpu_context_file_count(ctx), 2);
  /* sorted by name: x.so before y.la */
  ck_assert_str_eq(file_rec(ctx, 0).file, so);
  ck_assert_uint_eq(file_rec(ctx, 0).status, RPU_PLUGIN_REJECTED);
  ck_assert_str_eq(file_rec(ctx, 1).file, la);
  ck_assert_uint_eq(file_rec(ctx, 1).status, RPU_PLUGIN_REJECTED);
  rpu_context_free(ctx);
  free(after);
  free(before);
  free(so);
  free(la);
  tu_rmdir(dir);
  free(dir);
}
END_TEST

START_TEST(test_missing_and_odd_files) {
  rpu_context *ctx = tu_context();
  size_t n = rpu_context_model_count(ctx);
  tu_assert_error(rpu_context_load_plugin(ctx, "/nonexistent/dir/p.so"), RPU_EIO,
                  "/nonexistent/dir/p.so");
  rpu_plugin_file f = file_rec(ctx, rpu_context_file_count(ctx) - 1);
  ck_assert_uint_eq(f.status, RPU_PLUGIN_REJECTED);
  ck_assert_int_eq(f.code, RPU_EIO);
  char *dir = tu_tempdir();
  tu_assert_error(rpu_context_load_plugin(ctx, dir), RPU_EPLUGIN, "not a regular file");
  tu_assert_error(rpu_context_load_plugin(ctx, NULL), RPU_EINVAL, "path");
  tu_assert_error(rpu_context_load_plugin(ctx, ""), RPU_EINVAL, "path");
  tu_assert_error(rpu_context_load_plugin(NULL, "x.so"), RPU_EINVAL, "ctx");
  ck_assert_uint_eq(rpu_context_model_count(ctx), n);
  rpu_context_free(ctx);
  tu_rmdir(dir);
  free(dir);
}
END_TEST

/* ----- the good plugin ------------------------------------------------------------ */

START_TEST(test_good_plugin_registers_all) {
  rpu_context *ctx = tu_context();
  size_t n0 = rpu_context_model_count(ctx), f0 = rpu_context_file_count(ctx);
  char *path = module_path("good_extra.la");
  ck_assert_msg(rpu_context_load_plugin(ctx, path) == 0, "%s", rpu_error_last()->message);
  ck_assert_uint_eq(rpu_context_model_count(ctx), n0 + 3);

  /* In descriptor order, with kind, class, plugin and file (good_extra.c). */
  static const struct {
    const char *name;
    uint32_t kind, cls;
  } want[] = {{"TestGoodDevice", RPU_MODEL_DEVICE, RPU_DEVICE_PULSED},
              {"TestNoiseModel", RPU_MODEL_NOISE_MODEL, RPU_DEVICE_CLASS_NONE},
              {"TestDriftCompensation", RPU_MODEL_DRIFT_COMPENSATION, RPU_DEVICE_CLASS_NONE}};
  for (size_t i = 0; i < 3; i++) {
    rpu_model_entry e;
    ck_assert_int_eq(rpu_context_model_at(ctx, n0 + i, &e), 0);
    ck_assert_str_eq(e.name, want[i].name);
    ck_assert_uint_eq(e.kind, want[i].kind);
    ck_assert_uint_eq(e.device_class, want[i].cls);
    ck_assert_str_eq(e.plugin, "good_extra");
    ck_assert_str_eq(e.file, path);
    ck_assert_ptr_nonnull(e.desc);
    ck_assert_str_eq(e.desc->name, want[i].name);
    /* normalised copies: host sizes everywhere */
    ck_assert_uint_eq(e.desc->struct_size, sizeof(rpu_model_desc));
    ck_assert_uint_eq(e.desc->param_desc_size, sizeof(rpu_param_desc));
  }
  rpu_model_entry dev;
  ck_assert_int_eq(rpu_context_find_model(ctx, "TestGoodDevice", RPU_MODEL_DEVICE, &dev), 0);
  ck_assert_uint_eq(dev.desc->n_params, 3);
  ck_assert_str_eq(dev.desc->params[0].name, "dw_min");
  ck_assert_str_eq(dev.desc->params[2].name, "w_max");
  const rpu_device_vtable *vt = dev.desc->vtable;
  ck_assert_uint_eq(vt->struct_size, sizeof(rpu_device_vtable));
  ck_assert_ptr_nonnull(vt->pulse_row);
  ck_assert_ptr_nonnull(vt->set_weights); /* the last hook inside its struct_size */
  ck_assert_ptr_null(vt->post_update);    /* not provided by good_extra.c */
  /* good_extra.c sets get_weights beyond its declared struct_size: absent */
  ck_assert_ptr_null(vt->get_weights);
  ck_assert_ptr_null(vt->load);

  ck_assert_uint_eq(rpu_context_file_count(ctx), f0 + 1);
  rpu_plugin_file f = file_rec(ctx, f0);
  ck_assert_uint_eq(f.status, RPU_PLUGIN_LOADED);
  ck_assert_str_eq(f.plugin, "good_extra");
  ck_assert_str_eq(f.error, "");
  ck_assert_int_eq(f.code, 0);
  ck_assert_uint_eq(f.n_models, 3);

  /* The same file again: recorded as rejected, nothing registered twice. */
  tu_assert_error(rpu_context_load_plugin(ctx, path), RPU_EDUPLICATE, "already loaded");
  ck_assert_uint_eq(rpu_context_model_count(ctx), n0 + 3);
  ck_assert_uint_eq(file_rec(ctx, f0 + 1).status, RPU_PLUGIN_REJECTED);
  /* Its shared object under another name: the same library. */
  char *so = module_so_path("good_extra");
  tu_assert_error(rpu_context_load_plugin(ctx, so), RPU_EDUPLICATE, "already loaded");
  ck_assert_uint_eq(rpu_context_model_count(ctx), n0 + 3);
  free(so);
  free(path);
  rpu_context_free(ctx);
}
END_TEST

/* ----- search order ------------------------------------------------------------------ */

/* Two directories A and B, each with its own copy of good_extra.so. */
typedef struct two_dirs {
  char *a, *b, *a_so, *b_so;
} two_dirs;

static two_dirs make_two_dirs(void) {
  two_dirs t;
  char *so = module_so_path("good_extra");
  t.a = tu_tempdir();
  t.b = tu_tempdir();
  t.a_so = tu_path(t.a, "good_extra.so");
  t.b_so = tu_path(t.b, "good_extra.so");
  copy_file(so, t.a_so);
  copy_file(so, t.b_so);
  free(so);
  return t;
}

static void free_two_dirs(two_dirs *t) {
  tu_rmdir(t->a);
  tu_rmdir(t->b);
  free(t->a);
  free(t->b);
  free(t->a_so);
  free(t->b_so);
}

/* Asserts TestGoodDevice came from `winner` and `loser` was rejected with
 * a reason naming the model and the winner. */
static void assert_first_wins(const rpu_context *ctx, const char *winner, const char *loser) {
  rpu_model_entry e;
  ck_assert_int_eq(rpu_context_find_model(ctx, "TestGoodDevice", RPU_MODEL_DEVICE, &e), 0);
  ck_assert_str_eq(e.file, winner);
  ck_assert_uint_eq(rpu_context_model_count(ctx), 3);
  int seen = 0;
  for (size_t i = 0; i < rpu_context_file_count(ctx); i++) {
    rpu_plugin_file f = file_rec(ctx, i);
    if (strcmp(f.file, loser) != 0) continue;
    seen = 1;
    ck_assert_uint_eq(f.status, RPU_PLUGIN_REJECTED);
    ck_assert_int_eq(f.code, RPU_EDUPLICATE);
    ck_assert_msg(strstr(f.error, "TestGoodDevice") && strstr(f.error, winner) &&
                      strstr(f.error, loser),
                  "reason: %s", f.error);
  }
  ck_assert_msg(seen, "%s was not recorded", loser);
}

START_TEST(test_first_registration_wins) {
  two_dirs t = make_two_dirs();
  const char *ab[] = {t.a, t.b}, *ba[] = {t.b, t.a};
  rpu_context *ctx = context_with(NULL, 0, ab, 2, 0, 0);
  assert_first_wins(ctx, t.a_so, t.b_so);
  rpu_context_free(ctx);
  ctx = context_with(NULL, 0, ba, 2, 0, 0);
  assert_first_wins(ctx, t.b_so, t.a_so);
  rpu_context_free(ctx);
  /* plugin_files come before plugin_dirs */
  const char *files[] = {t.b_so};
  ctx = context_with(files, 1, ab, 1, 0, 0);
  assert_first_wins(ctx, t.b_so, t.a_so);
  rpu_context_free(ctx);
  free_two_dirs(&t);
}
END_TEST

START_TEST(test_env_search_order) {
  two_dirs t = make_two_dirs();
  const char *a[] = {t.a};
  /* options before RPU_PLUGIN_PATH */
  setenv("RPU_PLUGIN_PATH", t.b, 1);
  setenv("RPU_PLUGIN_SYSTEM_PATH", "", 1);
  rpu_context *ctx = context_with(NULL, 0, a, 1, 1, 1);
  assert_first_wins(ctx, t.a_so, t.b_so);
  rpu_context_free(ctx);

  /* RPU_PLUGIN_PATH before RPU_PLUGIN_SYSTEM_PATH; empty entries ignored */
  char list[4096];
  snprintf(list, sizeof list, "::%s:", t.b);
  setenv("RPU_PLUGIN_PATH", list, 1);
  setenv("RPU_PLUGIN_SYSTEM_PATH", t.a, 1);
  ctx = tu_context();
  assert_first_wins(ctx, t.b_so, t.a_so);
  ck_assert_uint_eq(rpu_context_file_count(ctx), 2);
  rpu_context_free(ctx);

  /* no_system skips RPU_PLUGIN_SYSTEM_PATH; ignore_env skips both */
  setenv("RPU_PLUGIN_PATH", "", 1);
  ctx = context_with(NULL, 0, NULL, 0, 1, 0);
  ck_assert_uint_eq(rpu_context_file_count(ctx), 0);
  rpu_context_free(ctx);
  setenv("RPU_PLUGIN_PATH", t.a, 1);
  ctx = context_with(NULL, 0, NULL, 0, 0, 0);
  ck_assert_uint_eq(rpu_context_file_count(ctx), 0);
  rpu_context_free(ctx);

  /* Set but empty: no system directory at all, and nothing else found. */
  setenv("RPU_PLUGIN_PATH", "", 1);
  setenv("RPU_PLUGIN_SYSTEM_PATH", "", 1);
  ctx = tu_context();
  ck_assert_uint_eq(rpu_context_file_count(ctx), 0);
  ck_assert_uint_eq(rpu_context_model_count(ctx), 0);
  /* ... and the look-up error says nothing is registered */
  tu_assert_error(rpu_context_find_model(ctx, "X", RPU_MODEL_DEVICE, NULL), RPU_ENOTFOUND,
                  "no device is registered");
  rpu_context_free(ctx);

  /* A directory that does not exist is skipped silently. */
  setenv("RPU_PLUGIN_PATH", "/nonexistent/rpu/plugins", 1);
  ctx = tu_context();
  ck_assert_uint_eq(rpu_context_file_count(ctx), 0);
  rpu_context_free(ctx);
  free_two_dirs(&t);
}
END_TEST

/* The modules directory: every .la is a candidate, sorted by name.  Without
 * the shipped plugins, duplicate_model registers both of its models (there
 * is no earlier FloatingPointDevice) — first registration wins. */
START_TEST(test_directory_scan_sorted) {
  const char *dirs[] = {tu_env("RPU_TEST_MODULES")};
  rpu_context *ctx = context_with(NULL, 0, dirs, 1, 0, 0);
  /* strcmp order: '.' sorts before '_', so all_types.la precedes
   * all_types_b1.la.  The all_types_bN variants have broken schemas. */
  static const char *const sorted[] = {
      "abi_major.la",       "abi_minor_newer.la", "all_types.la",
      "all_types_b1.la",    "all_types_b2.la",    "all_types_b3.la",
      "all_types_b4.la",    "all_types_b5.la",    "all_types_b6.la",
      "all_types_b7.la",    "all_types_b8.la",    "all_types_b9.la",
      "bad_default.la",     "duplicate_model.la", "entry_null.la",
      "good_extra.la",      "missing_hook.la",    "no_entry.la"};
  size_t n = sizeof sorted / sizeof sorted[0];
  ck_assert_uint_eq(rpu_context_file_count(ctx), n);
  for (size_t i = 0; i < n; i++) {
    rpu_plugin_file f = file_rec(ctx, i);
    char *want = module_path(sorted[i]);
    ck_assert_str_eq(f.file, want);
    int good = strcmp(sorted[i], "good_extra.la") == 0 ||
               strcmp(sorted[i], "duplicate_model.la") == 0 ||
               strcmp(sorted[i], "all_types.la") == 0;
    ck_assert_uint_eq(f.status, good ? RPU_PLUGIN_LOADED : RPU_PLUGIN_REJECTED);
    ck_assert_msg(good || strstr(f.error, want) != NULL, "reason %s", f.error);
    free(want);
  }
  /* good_extra: 3 models, duplicate_model: 2, all_types: 4. */
  ck_assert_uint_eq(rpu_context_model_count(ctx), 9);
  ck_assert(has_model(ctx, "TestDuplicateUniqueDevice"));
  ck_assert(has_model(ctx, "FloatingPointDevice"));
  ck_assert(has_model(ctx, "TestAllTypesCell"));
  ck_assert(!has_model(ctx, "TestBrokenSchema"));
  rpu_context_free(ctx);
}
END_TEST

/* A directory holding x.la and x.so of one module lists only x.la. */
START_TEST(test_la_preferred_over_so) {
  char *dir = tu_tempdir();
  char *src_la = module_path("good_extra.la"), *src_so = module_so_path("good_extra");
  char *la = tu_path(dir, "good_extra.la"), *so = tu_path(dir, "good_extra.so");
  copy_file(src_la, la);
  copy_file(src_so, so);
  const char *dirs[] = {dir};
  rpu_context *ctx = context_with(NULL, 0, dirs, 1, 0, 0);
  ck_assert_uint_eq(rpu_context_file_count(ctx), 1);
  rpu_plugin_file f = file_rec(ctx, 0);
  ck_assert_str_eq(f.file, la);
  ck_assert_msg(f.status == RPU_PLUGIN_LOADED, "%s", f.error);
  ck_assert_uint_eq(rpu_context_model_count(ctx), 3);
  rpu_context_free(ctx);
  free(src_la);
  free(src_so);
  free(la);
  free(so);
  tu_rmdir(dir);
  free(dir);
}
END_TEST

/* ----- look-up, names, arguments -------------------------------------------------- */

START_TEST(test_find_model_errors) {
  rpu_context *ctx = tu_context();
  char *path = module_path("good_extra.la");
  ck_assert_int_eq(rpu_context_load_plugin(ctx, path), 0);
  free(path);
  int rc = rpu_context_find_model(ctx, "NoSuchDevice", RPU_MODEL_DEVICE, NULL);
  tu_assert_error(rc, RPU_ENOTFOUND, "NoSuchDevice");
  tu_assert_error(rc, RPU_ENOTFOUND, "FloatingPointDevice");
  tu_assert_error(rc, RPU_ENOTFOUND, "IdealDevice");
  tu_assert_error(rc, RPU_ENOTFOUND, "TestGoodDevice");
  /* only names of the kind asked for */
  ck_assert_ptr_null(strstr(rpu_error_last()->message, "TestNoiseModel"));
  rc = rpu_context_find_model(ctx, "NoSuchModel", 0, NULL);
  tu_assert_error(rc, RPU_ENOTFOUND, "TestNoiseModel");
  tu_assert_error(rc, RPU_ENOTFOUND, "TestDriftCompensation");
  rc = rpu_context_find_model(ctx, "NoSuchModel", RPU_MODEL_NOISE_MODEL, NULL);
  tu_assert_error(rc, RPU_ENOTFOUND, "TestNoiseModel");
  ck_assert_ptr_null(strstr(rpu_error_last()->message, "TestGoodDevice"));
  /* the right name of the wrong kind */
  rc = rpu_context_find_model(ctx, "TestNoiseModel", RPU_MODEL_DEVICE, NULL);
  tu_assert_error(rc, RPU_ENOTFOUND, "is a noise_model");
  rpu_model_entry e;
  ck_assert_int_eq(rpu_context_find_model(ctx, "TestNoiseModel", RPU_MODEL_NOISE_MODEL, &e),
                   0);
  ck_assert_str_eq(e.name, "TestNoiseModel");
  ck_assert_int_eq(rpu_context_find_model(ctx, "TestNoiseModel", 0, &e), 0);
  tu_assert_error(rpu_context_find_model(ctx, "X", 7, NULL), RPU_EINVAL, "kind");
  tu_assert_error(rpu_context_find_model(ctx, NULL, 0, NULL), RPU_EINVAL, "name");
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_names) {
  ck_assert_str_eq(rpu_model_kind_name(RPU_MODEL_DEVICE), "device");
  ck_assert_str_eq(rpu_model_kind_name(RPU_MODEL_NOISE_MODEL), "noise_model");
  ck_assert_str_eq(rpu_model_kind_name(RPU_MODEL_DRIFT_COMPENSATION), "drift_compensation");
  ck_assert_str_eq(rpu_model_kind_name(0), "?");
  ck_assert_str_eq(rpu_model_kind_name(99), "?");
  ck_assert_str_eq(rpu_device_class_name(RPU_DEVICE_CLASS_NONE), "");
  ck_assert_str_eq(rpu_device_class_name(RPU_DEVICE_FLOATING_POINT), "floating_point");
  ck_assert_str_eq(rpu_device_class_name(RPU_DEVICE_IDEAL), "ideal");
  ck_assert_str_eq(rpu_device_class_name(RPU_DEVICE_PULSED), "pulsed");
  ck_assert_str_eq(rpu_device_class_name(RPU_DEVICE_UNIT_CELL), "unit_cell");
  ck_assert_str_eq(rpu_device_class_name(RPU_DEVICE_DIGITAL_RANK_UPDATE),
                   "digital_rank_update");
  ck_assert_str_eq(rpu_device_class_name(6), "?");
  static const char *const types[] = {"?",           "bool",       "int",         "real",
                                      "enum",        "string",     "real_array",  "device",
                                      "device_list", "io_params",  "update_params"};
  for (uint32_t t = 0; t <= 10; t++) ck_assert_str_eq(rpu_param_type_name(t), types[t]);
  ck_assert_str_eq(rpu_param_type_name(11), "?");
}
END_TEST

START_TEST(test_argument_errors) {
  rpu_context *ctx = NULL;
  tu_assert_error(rpu_context_new(NULL, NULL), RPU_EINVAL, "out");
  rpu_context_options o = RPU_CONTEXT_OPTIONS_INIT;
  o.version = 99;
  tu_assert_error(rpu_context_new(&ctx, &o), RPU_EINVAL, "version");
  ck_assert_ptr_null(ctx);
  o.version = RPU_CONTEXT_OPTIONS_VERSION;
  o.n_plugin_files = 1;
  tu_assert_error(rpu_context_new(&ctx, &o), RPU_EINVAL, "plugin_files");
  o.n_plugin_files = 0;
  o.n_plugin_dirs = 1;
  tu_assert_error(rpu_context_new(&ctx, &o), RPU_EINVAL, "plugin_dirs");
  const char *empty[] = {""};
  o.plugin_dirs = empty;
  tu_assert_error(rpu_context_new(&ctx, &o), RPU_EINVAL, "plugin_dirs[0]");

  ctx = tu_context();
  size_t n = rpu_context_model_count(ctx), nf = rpu_context_file_count(ctx);
  rpu_model_entry e;
  rpu_plugin_file f;
  tu_assert_error(rpu_context_model_at(ctx, n, &e), RPU_ERANGE, "out of range");
  tu_assert_error(rpu_context_file_at(ctx, nf, &f), RPU_ERANGE, "out of range");
  tu_assert_error(rpu_context_model_at(ctx, 0, NULL), RPU_EINVAL, "out");
  tu_assert_error(rpu_context_file_at(NULL, 0, &f), RPU_EINVAL, "ctx");
  ck_assert_uint_eq(rpu_context_model_count(NULL), 0);
  ck_assert_uint_eq(rpu_context_file_count(NULL), 0);
  rpu_context_free(ctx);
  rpu_context_free(NULL);

  const char *sys = rpu_plugin_system_dir();
  ck_assert_ptr_nonnull(sys);
  ck_assert_msg(sys[0] == '/' && strstr(sys, "plugins") != NULL, "system dir %s", sys);
}
END_TEST

/* Contexts in several threads at once: libltdl sits behind the loader's
 * lock, so every thread sees the same registry as a lone thread does. */
#define N_THREADS 4
#define N_ROUNDS 8

typedef struct thread_job {
  const char *module;
  size_t counts[N_ROUNDS]; /* models after loading good_extra; 0 = failure */
} thread_job;

static void *context_worker(void *arg) {
  thread_job *job = arg;
  for (int r = 0; r < N_ROUNDS; r++) {
    rpu_context *ctx = NULL;
    job->counts[r] = 0;
    if (rpu_context_new(&ctx, NULL) != 0) continue;
    if (rpu_context_load_plugin(ctx, job->module) == 0)
      job->counts[r] = rpu_context_model_count(ctx);
    rpu_context_free(ctx);
  }
  return NULL;
}

START_TEST(test_concurrent_contexts) {
  char *module = module_path("good_extra.la");
  rpu_context *ctx = tu_context();
  ck_assert_int_eq(rpu_context_load_plugin(ctx, module), 0);
  size_t want = rpu_context_model_count(ctx);
  rpu_context_free(ctx);
  pthread_t th[N_THREADS];
  thread_job jobs[N_THREADS];
  for (int t = 0; t < N_THREADS; t++) {
    jobs[t].module = module;
    ck_assert_int_eq(pthread_create(&th[t], NULL, context_worker, &jobs[t]), 0);
  }
  for (int t = 0; t < N_THREADS; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
  for (int t = 0; t < N_THREADS; t++)
    for (int r = 0; r < N_ROUNDS; r++)
      ck_assert_msg(jobs[t].counts[r] == want, "thread %d round %d: %zu models, want %zu", t,
                    r, jobs[t].counts[r], want);
  free(module);
}
END_TEST

Suite *suite_plugin(void) {
  Suite *s = suite_create("plugin");
  TCase *tc = tcase_create("loader");
  tcase_add_loop_test(tc, test_broken_module_rejected, 0,
                      (int)(sizeof broken / sizeof broken[0]));
  tcase_add_test(tc, test_random_bytes_rejected);
  tcase_add_test(tc, test_missing_and_odd_files);
  tcase_add_test(tc, test_good_plugin_registers_all);
  tcase_add_test(tc, test_directory_scan_sorted);
  tcase_add_test(tc, test_la_preferred_over_so);
  suite_add_tcase(s, tc);

  tc = tcase_create("search_order");
  tcase_add_checked_fixture(tc, save_env, restore_env);
  tcase_add_test(tc, test_first_registration_wins);
  tcase_add_test(tc, test_env_search_order);
  suite_add_tcase(s, tc);

  tc = tcase_create("registry");
  tcase_add_test(tc, test_find_model_errors);
  tcase_add_test(tc, test_names);
  tcase_add_test(tc, test_argument_errors);
  tcase_add_test(tc, test_concurrent_contexts);
  suite_add_tcase(s, tc);
  return s;
}
