/* Experiments (DESIGN.md §8, docs/experiments.md): parsing with defaults,
 * the canonical JSON and its round trip, dataset path resolution, and one
 * negative test per error class that checks the code, the file name and
 * the exact JSON path.  Expected values are the numbers written in the
 * test's own JSON or the defaults stated in docs/experiments.md (and the
 * comments of core/nn/experiment_impl.h); expected messages are spelled
 * out by hand from the format "FILE: JSON.path: what is wrong". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/nn/experiment_impl.h" /* struct layout only: the parsed values */
#include "tests/suites.h"
#include "tests/testutil.h"

/* ConstantStepDevice comes from the pulsed plugin of the build tree. */
#define CFG_SINGLE \
  "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": \"ConstantStepDevice\"}}"
#define CFG_FP "{\"rpu_config\": \"FloatingPointRPUConfig\"}"
#define DS "\"dataset\": {\"name\": \"mnist\"}"
#define TOP_CFG "\"rpu_config\": " CFG_SINGLE
#define MLP "\"model\": [{\"type\": \"linear\", \"out_features\": 10}, {\"type\": \"log_softmax\"}]"
#define TRAIN "\"training\": {}"
/* A "model" without the final log_softmax, for the losses on raw outputs. */
#define LOGITS_MODEL "[{\"type\": \"linear\", \"out_features\": 10}]"
/* A valid experiment with one section replaced by the test's. */
#define WITH_DS(ds) "{" ds ", " TOP_CFG ", " MLP ", " TRAIN "}"
#define WITH_MODEL(model) "{" DS ", " TOP_CFG ", \"model\": " model ", " TRAIN "}"
#define WITH_TRAIN(train) "{" DS ", " TOP_CFG ", " MLP ", \"training\": " train "}"
#define WITH_EXTRA(extra) "{" DS ", " TOP_CFG ", " MLP ", " TRAIN ", " extra "}"

/* The reference MLP of docs/experiments.md. */
static const char reference_mlp[] =
    "{ \"name\": \"fashion-mlp\", \"seed\": 42,\n"
    "  \"dataset\": { \"name\": \"fashion-mnist\",\n"
    "               \"normalize\": {\"mean\": 0.2860, \"std\": 0.3530},\n"
    "               \"train_limit\": 1000, \"test_limit\": 500 },\n"
    "  \"rpu_config\": " CFG_SINGLE ",\n"
    "  \"model\": [ {\"type\": \"linear\", \"in_features\": 784, \"out_features\": 256},\n"
    "             {\"type\": \"sigmoid\"},\n"
    "             {\"type\": \"linear\", \"out_features\": 128},\n"
    "             {\"type\": \"sigmoid\"},\n"
    "             {\"type\": \"linear\", \"out_features\": 10, \"bias\": false},\n"
    "             {\"type\": \"log_softmax\"} ],\n"
    "  \"training\": { \"epochs\": 30, \"batch_size\": 64, \"loss\": \"nll\", \"lr\": 0.05,\n"
    "                \"lr_schedule\": {\"type\": \"step\", \"step_size\": 10, \"gamma\": 0.5} },\n"
    "  \"inference\": { \"t_inference\": [0, 3600, 86400.5], \"repeats\": 5 } }\n";

/* Parses `json` as "exp.json" expecting failure; *out must stay NULL. */
static int parse_fails(rpu_context *ctx, const char *json) {
  rpu_experiment *e = (rpu_experiment *)&e; /* poison: must be reset to NULL */
  int rc = rpu_experiment_from_string(&e, ctx, json, "exp.json");
  ck_assert_ptr_null(e);
  return rc;
}

static rpu_experiment *parse_ok(rpu_context *ctx, const char *json, const char *origin) {
  rpu_experiment *e = NULL;
  int rc = rpu_experiment_from_string(&e, ctx, json, origin);
  ck_assert_msg(rc == 0, "experiment rejected: %s", rpu_error_last()->message);
  ck_assert_ptr_nonnull(e);
  return e;
}

static char *config_text(const rpu_config *cfg) {
  char *text = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &text), 0);
  return text;
}

static void assert_same_config(const rpu_config *a, const rpu_config *b) {
  ck_assert_int_eq(a == NULL, b == NULL);
  if (a == NULL) return;
  char *ta = config_text(a), *tb = config_text(b);
  ck_assert_str_eq(ta, tb);
  free(ta);
  free(tb);
}

/* Every field of the parsed form (origin aside: it names the text). */
static void assert_same_experiment(const rpu_experiment *a, const rpu_experiment *b) {
  ck_assert_str_eq(a->name, b->name);
  ck_assert_uint_eq(a->seed, b->seed);
  ck_assert_str_eq(a->dataset_name, b->dataset_name);
  ck_assert_str_eq(a->train_images, b->train_images);
  ck_assert_str_eq(a->train_labels, b->train_labels);
  ck_assert_str_eq(a->test_images, b->test_images);
  ck_assert_str_eq(a->test_labels, b->test_labels);
  ck_assert_int_eq(a->normalize, b->normalize);
  ck_assert(a->mean == b->mean && a->std == b->std); /* exact: floats written shortest */
  ck_assert_int_eq(a->train_limit, b->train_limit);
  ck_assert_int_eq(a->test_limit, b->test_limit);
  assert_same_config(a->cfg, b->cfg);
  ck_assert_int_eq(a->n_layers, b->n_layers);
  for (int i = 0; i < a->n_layers; i++) {
    const rpu__layer_spec *x = &a->layers[i], *y = &b->layers[i];
    ck_assert_int_eq(x->kind, y->kind);
    ck_assert_int_eq(x->in_features, y->in_features);
    ck_assert_int_eq(x->out_features, y->out_features);
    ck_assert_int_eq(x->bias, y->bias);
    ck_assert_int_eq(x->in_channels, y->in_channels);
    ck_assert_int_eq(x->out_channels, y->out_channels);
    ck_assert_int_eq(x->kernel_size, y->kernel_size);
    ck_assert_int_eq(x->stride, y->stride);
    ck_assert_int_eq(x->padding, y->padding);
    assert_same_config(x->cfg, y->cfg);
  }
  ck_assert_int_eq(a->epochs, b->epochs);
  ck_assert_int_eq(a->batch_size, b->batch_size);
  ck_assert_int_eq(a->loss, b->loss);
  ck_assert(a->lr == b->lr);
  ck_assert_int_eq(a->lr_step_size, b->lr_step_size);
  ck_assert(a->lr_gamma == b->lr_gamma);
  ck_assert_int_eq(a->n_t_inference, b->n_t_inference);
  for (int i = 0; i < a->n_t_inference; i++) ck_assert(a->t_inference[i] == b->t_inference[i]);
  ck_assert_int_eq(a->inference_repeats, b->inference_repeats);
}

/* An absolute form of a directory name (tu_tempdir follows TMPDIR, which
 * may be relative). */
static char *absolute(const char *dir) {
  if (dir[0] == '/') return strdup(dir);
  char *cwd = getcwd(NULL, 0);
  ck_assert_ptr_nonnull(cwd);
  char *p = tu_path(cwd, dir);
  free(cwd);
  return p;
}

/* ----- good input --------------------------------------------------------- */

START_TEST(test_reference_file) {
  rpu_context *ctx = tu_context();
  char *dir = tu_tempdir(), *path = tu_path(dir, "mlp.json");
  tu_write_file(path, reference_mlp, strlen(reference_mlp));
  rpu_experiment *e = NULL;
  int rc = rpu_experiment_from_file(&e, ctx, path);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);

  ck_assert_str_eq(rpu_experiment_name(e), "fashion-mlp");
  ck_assert_uint_eq(rpu_experiment_seed(e), 42);
  ck_assert_str_eq(e->dataset_name, "fashion-mnist");
  /* Default dir /usr/share/datasets/<name> plus the standard file names. */
  ck_assert_str_eq(e->train_images,
                   "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  ck_assert_str_eq(e->train_labels,
                   "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
  ck_assert_str_eq(e->test_images, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  ck_assert_str_eq(e->test_labels, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  ck_assert_int_eq(e->normalize, 1);
  ck_assert(e->mean == 0.2860f && e->std == 0.3530f); /* stored as float */
  ck_assert_int_eq(e->train_limit, 1000);
  ck_assert_int_eq(e->test_limit, 500);
  ck_assert_ptr_nonnull(e->cfg);
  ck_assert_int_eq(rpu_config_get_type(e->cfg), RPU_CONFIG_SINGLE);

  ck_assert_int_eq(e->n_layers, 6);
  const rpu__layer_spec *l = e->layers;
  ck_assert_int_eq(l[0].kind, RPU__LAYER_LINEAR);
  ck_assert_int_eq(l[0].in_features, 784);
  ck_assert_int_eq(l[0].out_features, 256);
  ck_assert_int_eq(l[0].bias, 1); /* default */
  ck_assert_ptr_null(l[0].cfg);   /* uses the experiment's */
  ck_assert_int_eq(l[1].kind, RPU__LAYER_SIGMOID);
  ck_assert_int_eq(l[2].kind, RPU__LAYER_LINEAR);
  ck_assert_int_eq(l[2].in_features, 0); /* absent: inferred */
  ck_assert_int_eq(l[2].out_features, 128);
  ck_assert_int_eq(l[3].kind, RPU__LAYER_SIGMOID);
  ck_assert_int_eq(l[4].out_features, 10);
  ck_assert_int_eq(l[4].bias, 0);
  ck_assert_int_eq(l[5].kind, RPU__LAYER_LOG_SOFTMAX);

  ck_assert_int_eq(rpu_experiment_epochs(e), 30);
  ck_assert_int_eq(e->batch_size, 64);
  ck_assert_int_eq(e->loss, RPU__LOSS_NLL);
  ck_assert(e->lr == 0.05);
  ck_assert_int_eq(e->lr_step_size, 10);
  ck_assert(e->lr_gamma == 0.5);
  ck_assert_int_eq(rpu_experiment_inference_count(e), 3);
  ck_assert(rpu_experiment_inference_time(e, 0) == 0.0);
  ck_assert(rpu_experiment_inference_time(e, 1) == 3600.0);
  ck_assert(rpu_experiment_inference_time(e, 2) == 86400.5);
  ck_assert(isnan(rpu_experiment_inference_time(e, 3))); /* out of range */
  ck_assert_int_eq(rpu_experiment_inference_repeats(e), 5);

  rpu_experiment_free(e);
  unlink(path);
  free(path);
  tu_rmdir(dir);
  free(dir);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_defaults) {
  rpu_context *ctx = tu_context();
  rpu_experiment *e = parse_ok(
      ctx,
      "{\"dataset\": {\"name\": \"mnist\"}, \"model\": ["
      "{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, \"rpu_config\": " CFG_FP "},"
      "{\"type\": \"maxpool2d\", \"kernel_size\": 2}, {\"type\": \"relu\"}, {\"type\": \"tanh\"},"
      "{\"type\": \"flatten\"},"
      "{\"type\": \"linear\", \"out_features\": 10, \"rpu_config\": " CFG_FP "},"
      "{\"type\": \"log_softmax\"}], \"training\": {}}",
      "some/dir/small.json");
  /* name: the origin's file name without .json */
  ck_assert_str_eq(rpu_experiment_name(e), "small");
  ck_assert_uint_eq(rpu_experiment_seed(e), 0);
  ck_assert_str_eq(e->test_labels, "/usr/share/datasets/mnist/t10k-labels-idx1-ubyte.gz");
  ck_assert_int_eq(e->normalize, 0);
  ck_assert_int_eq(e->train_limit, 0);
  ck_assert_int_eq(e->test_limit, 0);
  ck_assert_ptr_null(e->cfg);
  ck_assert_int_eq(e->n_layers, 7);
  const rpu__layer_spec *l = e->layers;
  ck_assert_int_eq(l[0].kind, RPU__LAYER_CONV2D);
  ck_assert_int_eq(l[0].in_channels, 0);
  ck_assert_int_eq(l[0].out_channels, 4);
  ck_assert_int_eq(l[0].kernel_size, 3);
  ck_assert_int_eq(l[0].stride, 1);
  ck_assert_int_eq(l[0].padding, 0);
  ck_assert_int_eq(l[0].bias, 1);
  ck_assert_int_eq(rpu_config_get_type(l[0].cfg), RPU_CONFIG_FLOATING_POINT);
  ck_assert_int_eq(l[1].kind, RPU__LAYER_MAXPOOL2D);
  ck_assert_int_eq(l[1].kernel_size, 2);
  ck_assert_int_eq(l[1].stride, 2); /* = kernel_size */
  ck_assert_int_eq(l[2].kind, RPU__LAYER_RELU);
  ck_assert_int_eq(l[3].kind, RPU__LAYER_TANH);
  ck_assert_int_eq(l[4].kind, RPU__LAYER_FLATTEN);
  ck_assert_int_eq(rpu_experiment_epochs(e), 1);
  ck_assert_int_eq(e->batch_size, 64);
  ck_assert_int_eq(e->loss, RPU__LOSS_NLL);
  ck_assert(e->lr == 0.01);
  ck_assert_int_eq(e->lr_step_size, 0); /* constant lr */
  ck_assert_int_eq(rpu_experiment_inference_count(e), 0);
  rpu_experiment_free(e);

  /* gamma defaults to 0.1 (PyTorch's StepLR); "3.0" is the integer 3. */
  e = parse_ok(ctx,
               "{" DS ", " TOP_CFG ", \"model\": " LOGITS_MODEL ", \"training\": {\"epochs\": "
               "3.0, \"loss\": \"mse\", \"lr_schedule\": {\"type\": \"step\", \"step_size\": 2}}}",
               "x");
  ck_assert_str_eq(rpu_experiment_name(e), "x");
  ck_assert_int_eq(rpu_experiment_epochs(e), 3);
  ck_assert_int_eq(e->loss, RPU__LOSS_MSE);
  ck_assert_int_eq(e->lr_step_size, 2);
  ck_assert(e->lr_gamma == 0.1);
  rpu_experiment_free(e);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_round_trip) {
  rpu_context *ctx = tu_context();
  /* Everything non-default: idx paths, conv + pool, an own config, a
   * schedule, inference, a seed beyond 2^53 (exact only as an integer). */
  rpu_experiment *e = parse_ok(
      ctx,
      "{\"name\": \"rt\", \"seed\": 9007199254740993,"
      " \"dataset\": {\"name\": \"idx\", \"train_images\": \"/d/a\", \"train_labels\": \"/d/b\","
      "   \"test_images\": \"/d/c\", \"test_labels\": \"/d/d\","
      "   \"normalize\": {\"mean\": 0.1307, \"std\": 0.3081}, \"train_limit\": 7},"
      " \"rpu_config\": " CFG_SINGLE ","
      " \"model\": [{\"type\": \"conv2d\", \"in_channels\": 1, \"out_channels\": 2,"
      "   \"kernel_size\": 5, \"stride\": 2, \"padding\": 1, \"bias\": false,"
      "   \"rpu_config\": " CFG_FP "},"
      "  {\"type\": \"maxpool2d\", \"kernel_size\": 3, \"stride\": 1}, {\"type\": \"flatten\"},"
      "  {\"type\": \"linear\", \"in_features\": 9, \"out_features\": 10}],"
      " \"training\": {\"epochs\": 2, \"batch_size\": 10, \"loss\": \"cross_entropy\","
      "   \"lr\": 0.1, \"lr_schedule\": {\"type\": \"step\", \"step_size\": 3, \"gamma\": 0.7}},"
      " \"inference\": {\"t_inference\": [1e-3, 2.5, 1e9], \"repeats\": 3}}",
      "rt.json");
  ck_assert_uint_eq(rpu_experiment_seed(e), 9007199254740993ull);
  ck_assert_int_eq(rpu_experiment_set_epochs(e, 7), 0);
  rpu_experiment_set_seed(e, 5);

  char *text = NULL;
  ck_assert_int_eq(rpu_experiment_to_json(e, &text), 0);
  /* The overrides and the name are in the text, every default is filled in. */
  ck_assert_ptr_nonnull(strstr(text, "\"epochs\": 7"));
  ck_assert_ptr_nonnull(strstr(text, "\"seed\": 5"));
  ck_assert_ptr_nonnull(strstr(text, "\"name\": \"rt\""));
  ck_assert_ptr_nonnull(strstr(text, "\"test_limit\": 0"));
  ck_assert_ptr_nonnull(strstr(text, "\"mean\": 0.1307")); /* shortest float text */
  rpu_experiment *back = parse_ok(ctx, text, "<to_json>");
  ck_assert_int_eq(rpu_experiment_epochs(back), 7);
  ck_assert_uint_eq(rpu_experiment_seed(back), 5);
  assert_same_experiment(e, back);
  char *text2 = NULL;
  ck_assert_int_eq(rpu_experiment_to_json(back, &text2), 0);
  ck_assert_str_eq(text, text2);
  rpu_free(text);
  rpu_free(text2);
  rpu_experiment_free(back);

  /* A minimal experiment: its defaults are written and read back. */
  rpu_experiment_free(e);
  e = parse_ok(ctx, "{" DS ", " TOP_CFG ", " MLP ", " TRAIN "}", "min.json");
  ck_assert_int_eq(rpu_experiment_to_json(e, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"dir\": \"/usr/share/datasets/mnist\""));
  ck_assert_ptr_nonnull(strstr(text, "\"batch_size\": 64"));
  ck_assert_ptr_nonnull(strstr(text, "\"loss\": \"nll\""));
  back = parse_ok(ctx, text, "<to_json>");
  assert_same_experiment(e, back);
  rpu_free(text);
  rpu_experiment_free(back);

  /* Seeds of 2^63 and more cannot be written (docs/experiments.md). */
  rpu_experiment_set_seed(e, UINT64_C(1) << 63);
  text = (char *)&text;
  tu_assert_error(rpu_experiment_to_json(e, &text), RPU_ERANGE,
                  "min.json: seed: 9223372036854775808 is above maximum 9223372036854775807");
  ck_assert_ptr_null(text);
  rpu_experiment_free(e);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_relative_paths) {
  rpu_context *ctx = tu_context();
  char *dir = tu_tempdir(), *path = tu_path(dir, "idx.json");
  char *abs = absolute(dir);
  static const char json[] =
      "{\"dataset\": {\"name\": \"idx\", \"train_images\": \"data/train-img\","
      " \"train_labels\": \"./tl\", \"test_images\": \"/abs//x\", \"test_labels\": \"sub//./y\"},"
      " \"rpu_config\": " CFG_FP ", " MLP ", " TRAIN "}";
  tu_write_file(path, json, strlen(json));
  rpu_experiment *e = NULL;
  int rc = rpu_experiment_from_file(&e, ctx, path);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  /* Relative against the file's directory, "." and "//" cleaned, absolute
   * paths kept. */
  char *want = tu_path(abs, "data/train-img");
  ck_assert_str_eq(e->train_images, want);
  free(want);
  want = tu_path(abs, "tl");
  ck_assert_str_eq(e->train_labels, want);
  free(want);
  ck_assert_str_eq(e->test_images, "/abs/x");
  want = tu_path(abs, "sub/y");
  ck_assert_str_eq(e->test_labels, want);
  free(want);
  ck_assert_str_eq(rpu_experiment_name(e), "idx"); /* file name without .json */
  rpu_experiment_free(e);

  /* A relative "dir" of (Fashion-)MNIST resolves the same way. */
  static const char json2[] =
      "{\"dataset\": {\"name\": \"fashion-mnist\", \"dir\": \"fm\"}, \"rpu_config\": " CFG_FP
      ", " MLP ", " TRAIN "}";
  tu_write_file(path, json2, strlen(json2));
  rc = rpu_experiment_from_file(&e, ctx, path);
  ck_assert_msg(rc == 0, "%s", rpu_error_last()->message);
  want = tu_path(abs, "fm/t10k-images-idx3-ubyte.gz");
  ck_assert_str_eq(e->test_images, want);
  free(want);
  rpu_experiment_free(e);

  /* From a string: against the current directory. */
  e = parse_ok(ctx, WITH_DS("\"dataset\": {\"name\": \"mnist\", \"dir\": \"m\"}"), "s");
  char *cwd = getcwd(NULL, 0);
  char *m = tu_path(cwd, "m");
  want = tu_path(m, "train-images-idx3-ubyte.gz");
  ck_assert_str_eq(e->train_images, want);
  free(want);
  free(m);
  free(cwd);
  rpu_experiment_free(e);

  unlink(path);
  free(path);
  free(abs);
  tu_rmdir(dir);
  free(dir);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_file_errors) {
  rpu_context *ctx = tu_context();
  char *dir = tu_tempdir(), *path = tu_path(dir, "bad.json");
  rpu_experiment *e = (rpu_experiment *)&e;
  tu_assert_error(rpu_experiment_from_file(&e, ctx, path), RPU_EIO, path);
  ck_assert_ptr_null(e);
  tu_write_file(path, "{\"dataset\": ", 12);
  tu_assert_error(rpu_experiment_from_file(&e, ctx, path), RPU_EPARSE, path);
  /* An error inside the file names the file and the path. */
  static const char json[] = WITH_MODEL("[{\"type\": \"linear\"}]");
  tu_write_file(path, json, strlen(json));
  tu_assert_error(rpu_experiment_from_file(&e, ctx, path), RPU_ECONFIG,
                  "bad.json: model[0].out_features: missing");
  ck_assert_str_eq(rpu_error_last()->origin, path);
  ck_assert_ptr_null(e);
  unlink(path);
  free(path);
  tu_rmdir(dir);
  free(dir);
  rpu_context_free(ctx);
}
END_TEST

START_TEST(test_set_epochs) {
  rpu_context *ctx = tu_context();
  rpu_experiment *e = parse_ok(ctx, WITH_TRAIN("{\"epochs\": 4}"), "ep.json");
  tu_assert_error(rpu_experiment_set_epochs(e, 0), RPU_ERANGE, "epochs: 0 is below minimum 1");
  tu_assert_error(rpu_experiment_set_epochs(e, -3), RPU_ERANGE, "-3");
  ck_assert_int_eq(rpu_experiment_epochs(e), 4); /* unchanged */
  ck_assert_int_eq(rpu_experiment_set_epochs(e, 1), 0);
  ck_assert_int_eq(rpu_experiment_epochs(e), 1);
  rpu_experiment_free(e);
  rpu_context_free(ctx);
}
END_TEST

/* ----- bad input: one row per error class ------------------------------- */

typedef struct bad_case {
  const char *json;
  int code;
  const char *needle; /* "exp.json: <path>: <what>" */
} bad_case;

static const bad_case bad_cases[] = {
    /* JSON reader */
    {"hello", RPU_EPARSE, "exp.json:1:1"},
    {"[1, 2]", RPU_ETYPE, "exp.json: the top level must be a JSON object"},
    /* top level */
    {WITH_EXTRA("\"name\": \"a/b\""), RPU_ECONFIG, "exp.json: name: \"a/b\" must not contain '/'"},
    {WITH_EXTRA("\"name\": \"..\""), RPU_ECONFIG, "exp.json: name: \"..\" must not"},
    {"{\"foo\": 1, " DS ", " TOP_CFG ", " MLP ", " TRAIN "}", RPU_ECONFIG,
     "exp.json: foo: unknown key; valid keys: name, seed, dataset, rpu_config, model, training, "
     "inference"},
    {"{" TOP_CFG ", " MLP ", " TRAIN "}", RPU_ECONFIG, "exp.json: dataset: missing"},
    {"{" DS ", " TOP_CFG ", " TRAIN "}", RPU_ECONFIG, "exp.json: model: missing"},
    {"{" DS ", " TOP_CFG ", " MLP "}", RPU_ECONFIG, "exp.json: training: missing"},
    {WITH_EXTRA("\"name\": 5"), RPU_ETYPE, "exp.json: name: expected a string, got number"},
    {WITH_EXTRA("\"seed\": -1"), RPU_ERANGE, "exp.json: seed: -1 is below minimum 0"},
    {WITH_EXTRA("\"seed\": 9223372036854775808"), RPU_ERANGE,
     "exp.json: seed: 9223372036854775808 is above maximum 9223372036854775807"},
    /* dataset */
    {WITH_DS("\"dataset\": [1]"), RPU_ETYPE, "exp.json: dataset: expected an object, got array"},
    {WITH_DS("\"dataset\": {\"name\": \"cifar\"}"), RPU_ECONFIG,
     "exp.json: dataset.name: unknown dataset \"cifar\"; valid: fashion-mnist, mnist, idx"},
    {WITH_DS("\"dataset\": {\"name\": \"idx\"}"), RPU_ECONFIG,
     "exp.json: dataset.train_images: missing"},
    {WITH_DS("\"dataset\": {\"name\": \"idx\", \"train_images\": \"a\", \"train_labels\": \"b\","
             " \"test_images\": \"c\"}"),
     RPU_ECONFIG, "exp.json: dataset.test_labels: missing"},
    {WITH_DS("\"dataset\": {\"name\": \"fashion-mnist\", \"test_labels\": \"x\"}"), RPU_ECONFIG,
     "exp.json: dataset.test_labels: only allowed with \"name\": \"idx\""},
    {WITH_DS("\"dataset\": {\"name\": \"mnist\", \"limit\": 3}"), RPU_ECONFIG,
     "exp.json: dataset.limit: unknown key"},
    {WITH_DS("\"dataset\": {\"name\": \"mnist\", \"normalize\": {\"mean\": 0.1, \"std\": 0}}"),
     RPU_ERANGE, "exp.json: dataset.normalize.std: 0 must be > 0"},
    {WITH_DS("\"dataset\": {\"name\": \"mnist\", \"normalize\": {\"mean\": 0.1}}"), RPU_ECONFIG,
     "exp.json: dataset.normalize.std: missing"},
    {WITH_DS("\"dataset\": {\"name\": \"mnist\", \"train_limit\": -1}"), RPU_ERANGE,
     "exp.json: dataset.train_limit: -1 is below minimum 0"},
    {WITH_DS("\"dataset\": {\"name\": \"mnist\", \"dir\": 3}"), RPU_ETYPE,
     "exp.json: dataset.dir: expected a string, got number"},
    /* model */
    {WITH_MODEL("[]"), RPU_ECONFIG, "exp.json: model: empty"},
    {WITH_MODEL("{}"), RPU_ETYPE, "exp.json: model: expected an array"},
    {WITH_MODEL("[{\"type\": \"dropout\"}]"), RPU_ECONFIG,
     "exp.json: model[0].type: unknown layer type \"dropout\"; valid: linear, conv2d, maxpool2d, "
     "flatten, sigmoid, tanh, relu, log_softmax"},
    {WITH_MODEL("[{\"type\": \"relu\"}, {\"type\": \"linear\", \"out_features\": 0}]"),
     RPU_ERANGE, "exp.json: model[1].out_features: 0 is below minimum 1"},
    {WITH_MODEL("[{\"type\": \"linear\", \"out_features\": 1.5}]"), RPU_ERANGE,
     "exp.json: model[0].out_features: expected an integer, got 1.5"},
    {WITH_MODEL("[{\"type\": \"linear\", \"out_features\": 3000000000}]"), RPU_ERANGE,
     "exp.json: model[0].out_features: 3000000000 is above maximum 2147483647"},
    {WITH_MODEL("[{\"type\": \"linear\", \"out_features\": \"10\"}]"), RPU_ETYPE,
     "exp.json: model[0].out_features: expected an integer, got string"},
    {WITH_MODEL("[{\"type\": \"linear\"}]"), RPU_ECONFIG,
     "exp.json: model[0].out_features: missing"},
    {WITH_MODEL("[{\"type\": \"linear\", \"in_features\": 0, \"out_features\": 2}]"), RPU_ERANGE,
     "exp.json: model[0].in_features: 0 is below minimum 1"},
    {WITH_MODEL("[{\"type\": \"linear\", \"out_features\": 2, \"bias\": 1}]"), RPU_ETYPE,
     "exp.json: model[0].bias: expected a boolean, got number"},
    {WITH_MODEL("[{\"type\": \"linear\", \"out_features\": 2, \"kernel_size\": 1}]"), RPU_ECONFIG,
     "exp.json: model[0].kernel_size: unknown key for linear; valid keys: type, in_features, "
     "out_features, bias, rpu_config"},
    {WITH_MODEL("[{\"out_features\": 2}]"), RPU_ECONFIG, "exp.json: model[0].type: missing"},
    {WITH_MODEL("[3]"), RPU_ETYPE, "exp.json: model[0]: expected an object, got number"},
    {WITH_MODEL("[{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 0}]"), RPU_ERANGE,
     "exp.json: model[0].kernel_size: 0 is below minimum 1"},
    {WITH_MODEL("[{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3, "
                "\"padding\": -1}]"),
     RPU_ERANGE, "exp.json: model[0].padding: -1 is below minimum 0"},
    {WITH_MODEL("[{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3}, {\"type\": "
                "\"maxpool2d\", \"kernel_size\": 2, \"stride\": 0}]"),
     RPU_ERANGE, "exp.json: model[1].stride: 0 is below minimum 1"},
    {WITH_MODEL("[{\"type\": \"maxpool2d\", \"kernel_size\": 2, \"padding\": 1}]"), RPU_ECONFIG,
     "exp.json: model[0].padding: unknown key for maxpool2d"},
    /* configs */
    {"{" DS ", " MLP ", " TRAIN "}", RPU_ECONFIG,
     "exp.json: model[0]: linear layer has no \"rpu_config\" and the experiment has no top-level "
     "\"rpu_config\""},
    {"{" DS ", \"model\": [{\"type\": \"linear\", \"out_features\": 2, \"rpu_config\": {"
     "\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": \"NoSuchDevice\"}}}], " TRAIN
     "}",
     RPU_ENOTFOUND, "exp.json: model[0].rpu_config: device"},
    {"{" DS ", \"rpu_config\": {\"rpu_config\": \"NoSuchConfig\"}, " MLP ", " TRAIN "}",
     RPU_ECONFIG, "exp.json: rpu_config: rpu_config: unknown config type \"NoSuchConfig\""},
    {"{" DS ", \"rpu_config\": \"SingleRPUConfig\", " MLP ", " TRAIN "}", RPU_ETYPE,
     "exp.json: rpu_config: expected an object, got string"},
    /* training */
    {WITH_TRAIN("[]"), RPU_ETYPE, "exp.json: training: expected an object, got array"},
    {WITH_MODEL(LOGITS_MODEL), RPU_ECONFIG,
     "exp.json: training.loss: \"nll\" (the default) needs a final log_softmax layer; model[0] is "
     "linear"},
    {"{" DS ", " TOP_CFG ", " MLP ", \"training\": {\"loss\": \"mse\"}}", RPU_ECONFIG,
     "exp.json: training.loss: \"mse\" works on the raw outputs, but the last layer model[1] is "
     "log_softmax"},
    {WITH_TRAIN("{\"loss\": \"foo\"}"), RPU_ECONFIG,
     "exp.json: training.loss: unknown loss \"foo\"; valid: nll, cross_entropy, mse"},
    {WITH_TRAIN("{\"lr\": -1}"), RPU_ERANGE, "exp.json: training.lr: -1 must be >= 0"},
    {WITH_TRAIN("{\"lr\": 1e999}"), RPU_ERANGE, "exp.json: training.lr: 1e999 is not a finite"},
    {WITH_TRAIN("{\"epochs\": 0}"), RPU_ERANGE, "exp.json: training.epochs: 0 is below minimum 1"},
    {WITH_TRAIN("{\"epochs\": 1.5}"), RPU_ERANGE,
     "exp.json: training.epochs: expected an integer, got 1.5"},
    {WITH_TRAIN("{\"batch_size\": 0}"), RPU_ERANGE,
     "exp.json: training.batch_size: 0 is below minimum 1"},
    {WITH_TRAIN("{\"lr_schedule\": {\"type\": \"step\", \"step_size\": 1, \"gamma\": 0}}"),
     RPU_ERANGE, "exp.json: training.lr_schedule.gamma: 0 must be > 0"},
    {WITH_TRAIN("{\"lr_schedule\": {\"type\": \"step\", \"step_size\": 0}}"), RPU_ERANGE,
     "exp.json: training.lr_schedule.step_size: 0 is below minimum 1"},
    {WITH_TRAIN("{\"lr_schedule\": {\"type\": \"cosine\", \"step_size\": 1}}"), RPU_ECONFIG,
     "exp.json: training.lr_schedule.type: unknown schedule type \"cosine\"; valid: step"},
    /* inference */
    {WITH_EXTRA("\"inference\": {\"t_inference\": []}"), RPU_ECONFIG,
     "exp.json: inference.t_inference: empty"},
    {WITH_EXTRA("\"inference\": {\"repeats\": 2}"), RPU_ECONFIG,
     "exp.json: inference.t_inference: missing"},
    {WITH_EXTRA("\"inference\": {\"t_inference\": [0, -1]}"), RPU_ERANGE,
     "exp.json: inference.t_inference[1]: -1 must be >= 0"},
    {WITH_EXTRA("\"inference\": {\"t_inference\": [0, 5, 5]}"), RPU_ERANGE,
     "exp.json: inference.t_inference[2]: 5 is not greater than the time before it"},
    {WITH_EXTRA("\"inference\": {\"t_inference\": [0, \"1h\"]}"), RPU_ETYPE,
     "exp.json: inference.t_inference[1]: expected a number, got string"},
    {WITH_EXTRA("\"inference\": {\"t_inference\": [0], \"repeats\": 0}"), RPU_ERANGE,
     "exp.json: inference.repeats: 0 is below minimum 1"},
};

START_TEST(test_bad_input) {
  const bad_case *c = &bad_cases[_i];
  rpu_context *ctx = tu_context();
  tu_assert_error(parse_fails(ctx, c->json), c->code, c->needle);
  rpu_context_free(ctx);
}
END_TEST

Suite *suite_experiment(void) {
  Suite *s = suite_create("experiment");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, test_reference_file);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_relative_paths);
  tcase_add_test(tc, test_file_errors);
  tcase_add_test(tc, test_set_epochs);
  suite_add_tcase(s, tc);
  TCase *bad = tcase_create("errors");
  tcase_add_loop_test(bad, test_bad_input, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
  suite_add_tcase(s, bad);
  return s;
}
