/* Experiments: the JSON file of rpu-train (DESIGN.md §8, docs/experiments.md)
 * parsed into struct rpu_experiment (core/nn/experiment_impl.h), and back.
 *
 * The parser is strict like the config parser: unknown keys, wrong JSON
 * types and out-of-range numbers are errors whose message is
 * "FILE: JSON.path: what is wrong".  Inner functions record messages that
 * start at the JSON path; the public entry points prefix the file name
 * once.  Embedded configs go through rpu__config_from_json and their
 * messages get the outer path ("model[2].rpu_config: device.dw_min: ...").
 *
 * Integers accept integral numbers written as reals ("3.0"), as configs
 * do; a fraction or a value outside the field's range is RPU_ERANGE.
 * Seeds are kept below 2^63 so that they are JSON integers everywhere.
 *
 * One concept, one file: parsing, then writing (rpu_experiment_to_json),
 * copying and freeing the same struct. */
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config/config_impl.h"
#include "core/nn/experiment_impl.h"
#include "core/util/error.h"
#include "core/util/json.h"

#define PATH_LEN 256 /* a JSON path such as "model[12].rpu_config" */
#define LIST_LEN 256 /* a list of valid names or keys */
#define DATASET_DIR "/usr/share/datasets"

/* Standard file names of (Fashion-)MNIST under the dataset's "dir". */
static const char *const std_files[4] = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
/* The keys naming the four files of an "idx" dataset, in the same order. */
const char *const rpu__experiment_idx_keys[4] = {"train_images", "train_labels", "test_images",
                                        "test_labels"};

static const char *const top_keys[] = {"name",  "seed",     "dataset",   "rpu_config",
                                       "model", "training", "inference", NULL};
static const char *const dataset_names[] = {"fashion-mnist", "mnist", "idx", NULL};
static const char *const std_dataset_keys[] = {"name",        "dir",        "normalize",
                                               "train_limit", "test_limit", NULL};
static const char *const idx_dataset_keys[] = {
    "name",      "train_images", "train_labels", "test_images", "test_labels",
    "normalize", "train_limit",  "test_limit",   NULL};
static const char *const normalize_keys[] = {"mean", "std", NULL};
static const char *const training_keys[] = {"epochs", "batch_size", "loss", "lr",
                                            "lr_schedule", NULL};
static const char *const schedule_keys[] = {"type", "step_size", "gamma", NULL};
static const char *const schedule_types[] = {"step", NULL};
static const char *const inference_keys[] = {"t_inference", "repeats", NULL};
/* Index + 1 is the rpu__loss_kind. */
const char *const rpu__experiment_loss_names[] = {"nll", "cross_entropy", "mse", NULL};

static const char *const linear_keys[] = {"type", "in_features", "out_features", "bias",
                                          "rpu_config", NULL};
static const char *const conv_keys[] = {"type",   "in_channels", "out_channels",
                                        "kernel_size", "stride", "padding",
                                        "bias",   "rpu_config",  NULL};
static const char *const pool_keys[] = {"type", "kernel_size", "stride", NULL};
static const char *const plain_keys[] = {"type", NULL};

/* "type" of a layer; index + 1 is the rpu__layer_kind. */
const char *const rpu__experiment_layer_names[] = {"linear", "conv2d",  "maxpool2d", "flatten",
                                          "sigmoid", "tanh",   "relu",      "log_softmax",
                                          NULL};
static const char *const *const layer_keys[] = {linear_keys, conv_keys,  pool_keys,
                                                plain_keys,  plain_keys, plain_keys,
                                                plain_keys,  plain_keys};

/* Default StepLR factor when "gamma" is omitted (PyTorch's StepLR). */
#define DEFAULT_GAMMA 0.1

typedef struct parser {
  rpu_context *ctx;
  const char *file; /* the experiment file; NULL for a string (paths: cwd) */
  rpu_experiment *e;
} parser;

static int build(rpu_experiment **out, rpu_context *ctx, struct json_object *root,
                 const char *origin, const char *file);
static int with_origin(int rc, const char *origin);
static void join_names(const char *const *names, char *buf, size_t len);
static char *dup_str(const char *s);

/* ----- public API ------------------------------------------------------- */

int rpu_experiment_from_file(rpu_experiment **out, rpu_context *ctx, const char *path) {
  if (out == NULL || ctx == NULL || path == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_experiment_from_file",
                          "rpu_experiment_from_file: out, ctx and path must not be NULL");
  *out = NULL;
  struct json_object *root = NULL;
  int rc = rpu__json_read_file(&root, path);
  if (rc < 0) return rc; /* the message names the file already */
  rc = build(out, ctx, root, path, path);
  json_object_put(root);
  return rc;
}

int rpu_experiment_from_string(rpu_experiment **out, rpu_context *ctx, const char *json,
                               const char *origin) {
  if (out == NULL || ctx == NULL || json == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_experiment_from_string",
                          "rpu_experiment_from_string: out, ctx and json must not be NULL");
  *out = NULL;
  if (origin == NULL) origin = "<string>";
  struct json_object *root = NULL;
  int rc = rpu__json_parse(&root, json, strlen(json), origin);
  if (rc < 0) return rc;
  rc = build(out, ctx, root, origin, NULL);
  json_object_put(root);
  return rc;
}

void rpu_experiment_free(rpu_experiment *e) {
  if (e == NULL) return;
  free(e->origin);
  free(e->name);
  free(e->dataset_name);
  free(e->train_images);
  free(e->train_labels);
  free(e->test_images);
  free(e->test_labels);
  rpu_config_free(e->cfg);
  for (int i = 0; e->layers != NULL && i < e->n_layers; i++) rpu_config_free(e->layers[i].cfg);
  free(e->layers);
  free(e->t_inference);
  free(e);
}

const char *rpu_experiment_name(const rpu_experiment *e) { return e ? e->name : NULL; }

int rpu_experiment_epochs(const rpu_experiment *e) { return e ? e->epochs : 0; }

int rpu_experiment_batch_size(const rpu_experiment *e) { return e ? e->batch_size : 0; }

int rpu_experiment_set_epochs(rpu_experiment *e, int n) {
  if (e == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_experiment_set_epochs",
                          "rpu_experiment_set_epochs: e must not be NULL");
  if (n < 1)
    return rpu__error_set(RPU_ERANGE, e->origin, "%s: epochs: %d is below minimum 1", e->origin,
                          n);
  e->epochs = n;
  return 0;
}

uint64_t rpu_experiment_seed(const rpu_experiment *e) { return e ? e->seed : 0; }

void rpu_experiment_set_seed(rpu_experiment *e, uint64_t seed) {
  if (e != NULL) e->seed = seed;
}

int rpu_experiment_inference_count(const rpu_experiment *e) { return e ? e->n_t_inference : 0; }

double rpu_experiment_inference_time(const rpu_experiment *e, int i) {
  if (e == NULL || i < 0 || i >= e->n_t_inference) return NAN;
  return e->t_inference[i];
}

int rpu_experiment_inference_repeats(const rpu_experiment *e) {
  return e ? e->inference_repeats : 0;
}

/* ----- reading JSON values ---------------------------------------------- */

/* "parent.key", or "key" at the top level. */
static void sub_path(char *buf, const char *parent, const char *key) {
  /* Paths are short; a cut one only shortens a message. */
  if (snprintf(buf, PATH_LEN, "%s%s%s", parent, parent[0] ? "." : "", key) >= PATH_LEN)
    buf[PATH_LEN - 1] = '\0';
}

/* The JSON text of a value, for messages (json-c keeps the source text of
 * reals, so "1.5" reads as written). */
static const char *text_of(struct json_object *v) {
  return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
}

static int is_number(struct json_object *v) {
  return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int need_object(struct json_object *v, const char *path) {
  if (json_object_is_type(v, json_type_object)) return 0;
  return rpu__error_set(RPU_ETYPE, NULL, "%s: expected an object, got %s", path,
                        rpu__json_type_name(v));
}

/* Every key of obj must be in `keys`; `what` ("for linear") may be "". */
static int check_keys(struct json_object *obj, const char *path, const char *const *keys,
                      const char *what) {
  json_object_object_foreach(obj, key, val) {
    (void)val;
    int known = 0;
    for (size_t i = 0; keys[i] != NULL && !known; i++) known = strcmp(keys[i], key) == 0;
    if (known) continue;
    char p[PATH_LEN], list[LIST_LEN];
    sub_path(p, path, key);
    join_names(keys, list, sizeof list);
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: unknown key%s; valid keys: %s", p, what, list);
  }
  return 0;
}

/* An integer in [lo, hi].  json-c keeps integers beyond int64 as uint64 (up
 * to 2^64 - 1) and clamps larger ones, so get_int64 alone would hide them. */
static int read_int(struct json_object *v, const char *path, int64_t lo, int64_t hi,
                    int64_t *out) {
  int64_t x;
  if (json_object_is_type(v, json_type_int)) {
    x = json_object_get_int64(v);
    if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
      return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is above maximum %lld", path, text_of(v),
                            (long long)hi);
  } else if (json_object_is_type(v, json_type_double)) {
    double d = json_object_get_double(v);
    if (!isfinite(d) || d != floor(d))
      return rpu__error_set(RPU_ERANGE, NULL, "%s: expected an integer, got %s", path,
                            text_of(v));
    /* (double)hi + 1 is exact for int and rounds to 2^63 for INT64_MAX. */
    if (d < (double)lo)
      return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is below minimum %lld", path, text_of(v),
                            (long long)lo);
    if (d >= (double)hi + 1.0)
      return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is above maximum %lld", path, text_of(v),
                            (long long)hi);
    x = (int64_t)d;
  } else {
    return rpu__error_set(RPU_ETYPE, NULL, "%s: expected an integer, got %s", path,
                          rpu__json_type_name(v));
  }
  if (x < lo)
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is below minimum %lld", path, text_of(v),
                          (long long)lo);
  if (x > hi)
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is above maximum %lld", path, text_of(v),
                          (long long)hi);
  *out = x;
  return 0;
}

/* obj.key as an int in [lo, INT_MAX]: required (missing: RPU_ECONFIG) or
 * optional (absent: *out keeps its default). */
static int field_int(struct json_object *obj, const char *parent, const char *key, int required,
                     int lo, int *out) {
  struct json_object *v = NULL;
  char p[PATH_LEN];
  sub_path(p, parent, key);
  if (!json_object_object_get_ex(obj, key, &v)) {
    if (!required) return 0;
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: missing (an integer >= %d)", p, lo);
  }
  int64_t x;
  int rc = read_int(v, p, lo, INT_MAX, &x);
  if (rc == 0) *out = (int)x;
  return rc;
}

/* A finite number >= lo (> lo if `open`). */
static int read_real(struct json_object *v, const char *path, double lo, int open,
                     double *out) {
  if (!is_number(v))
    return rpu__error_set(RPU_ETYPE, NULL, "%s: expected a number, got %s", path,
                          rpu__json_type_name(v));
  double d = json_object_get_double(v);
  if (!isfinite(d))
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is not a finite number", path, text_of(v));
  if (open ? !(d > lo) : !(d >= lo)) {
    char b[40];
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s must be %s %s", path, text_of(v),
                          open ? ">" : ">=", rpu__json_format_real(b, sizeof b, lo));
  }
  *out = d;
  return 0;
}

/* obj.key as a number (see read_real); absent: *out keeps its default. */
static int field_real(struct json_object *obj, const char *parent, const char *key, double lo,
                      int open, double *out) {
  struct json_object *v = NULL;
  char p[PATH_LEN];
  if (!json_object_object_get_ex(obj, key, &v)) return 0;
  sub_path(p, parent, key);
  return read_real(v, p, lo, open, out);
}

/* A non-empty string without NUL characters (borrowed from v). */
static int read_string(struct json_object *v, const char *path, const char **out) {
  if (!json_object_is_type(v, json_type_string))
    return rpu__error_set(RPU_ETYPE, NULL, "%s: expected a string, got %s", path,
                          rpu__json_type_name(v));
  const char *s = json_object_get_string(v);
  if (strlen(s) != (size_t)json_object_get_string_len(v))
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: string contains a NUL character", path);
  if (s[0] == '\0') return rpu__error_set(RPU_ECONFIG, NULL, "%s: empty string", path);
  *out = s;
  return 0;
}

/* One of `names` (NULL-terminated); *out is its index. */
static int read_enum(struct json_object *v, const char *path, const char *what,
                     const char *const *names, int *out) {
  char list[LIST_LEN];
  join_names(names, list, sizeof list);
  if (!json_object_is_type(v, json_type_string))
    return rpu__error_set(RPU_ETYPE, NULL, "%s: expected a string (one of %s), got %s", path,
                          list, rpu__json_type_name(v));
  const char *s = json_object_get_string(v);
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], s) == 0) {
      *out = i;
      return 0;
    }
  return rpu__error_set(RPU_ECONFIG, NULL, "%s: unknown %s \"%s\"; valid: %s", path, what, s,
                        list);
}

/* An embedded config; its messages get `path` in front. */
static int read_config(parser *p, struct json_object *v, const char *path, rpu_config **out) {
  int rc = rpu__config_from_json(out, p->ctx, v);
  return rc < 0 ? rpu__error_prefix("%s", path) : 0;
}

/* ----- paths ------------------------------------------------------------ */

/* An absolute path without "." components and repeated slashes (".." is
 * kept: removing it is only right without symlinks). */
static char *clean_path(const char *in) {
  char *out = malloc(strlen(in) + 2);
  if (out == NULL) return NULL;
  size_t o = 0;
  for (const char *s = in; *s != '\0';) {
    while (*s == '/') s++;
    const char *t = s;
    while (*t != '\0' && *t != '/') t++;
    size_t len = (size_t)(t - s);
    if (len > 0 && !(len == 1 && s[0] == '.')) {
      out[o++] = '/';
      memcpy(out + o, s, len);
      o += len;
    }
    s = t;
  }
  if (o == 0) out[o++] = '/';
  out[o] = '\0';
  return out;
}

/* `rel` resolved against the experiment file's directory (the current
 * directory for a string, or when the file name is relative), as a clean
 * absolute path in *out. */
static int resolve_path(parser *p, const char *path, const char *rel, char **out) {
  *out = NULL;
  const char *file = p->file ? p->file : "";
  const char *slash = strrchr(file, '/');
  int relative = rel[0] != '/';
  int dir_len = relative && slash ? (int)(slash - file) + 1 : 0;
  char *cwd = NULL;
  if (relative && file[0] != '/' && (cwd = getcwd(NULL, 0)) == NULL)
    return rpu__error_set(RPU_EIO, NULL,
                          "%s: cannot resolve the relative path \"%s\": the current "
                          "directory is unknown",
                          path, rel);
  /* cwd + "/" + file's dir + rel; clean_path drops the extra slashes. */
  size_t n = (cwd ? strlen(cwd) : 0) + 1 + (size_t)dir_len + strlen(rel) + 1;
  char *joined = malloc(n);
  if (joined != NULL) {
    snprintf(joined, n, "%s/%.*s%s", cwd ? cwd : "", dir_len, file, rel);
    *out = clean_path(joined);
  }
  free(cwd);
  free(joined);
  return *out ? 0 : rpu__error_set(RPU_ENOMEM, NULL, "%s: out of memory", path);
}

/* dir + "/" + name, cleaned. */
static int dir_file(const char *path, const char *dir, const char *name, char **out) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *joined = malloc(n);
  *out = NULL;
  if (joined != NULL) {
    snprintf(joined, n, "%s/%s", dir, name);
    *out = clean_path(joined);
    free(joined);
  }
  return *out ? 0 : rpu__error_set(RPU_ENOMEM, NULL, "%s: out of memory", path);
}

/* ----- sections --------------------------------------------------------- */

static int parse_normalize(rpu_experiment *e, struct json_object *v) {
  const char *path = "dataset.normalize";
  int rc = need_object(v, path);
  if (rc == 0) rc = check_keys(v, path, normalize_keys, "");
  double mean = 0, std = 0;
  struct json_object *m = NULL, *s = NULL;
  if (rc == 0 && !json_object_object_get_ex(v, "mean", &m))
    rc = rpu__error_set(RPU_ECONFIG, NULL, "%s.mean: missing (a number)", path);
  if (rc == 0 && !json_object_object_get_ex(v, "std", &s))
    rc = rpu__error_set(RPU_ECONFIG, NULL, "%s.std: missing (a number > 0)", path);
  if (rc == 0) rc = read_real(m, "dataset.normalize.mean", -INFINITY, 0, &mean);
  if (rc == 0) rc = read_real(s, "dataset.normalize.std", 0, 1, &std);
  if (rc < 0) return rc;
  /* Images are float: the values must stay finite, and std nonzero, in
   * single precision. */
  if (!isfinite((float)mean))
    return rpu__error_set(RPU_ERANGE, NULL, "%s.mean: %s is too large for a float", path,
                          text_of(m));
  if (!isfinite((float)std) || (float)std <= 0)
    return rpu__error_set(RPU_ERANGE, NULL, "%s.std: %s is not a positive float", path,
                          text_of(s));
  e->normalize = 1;
  e->mean = (float)mean;
  e->std = (float)std;
  return 0;
}

static int parse_dataset(parser *p, struct json_object *ds) {
  rpu_experiment *e = p->e;
  struct json_object *v = NULL;
  char list[LIST_LEN], path[PATH_LEN];
  int kind = 0;
  int rc = need_object(ds, "dataset");
  if (rc < 0) return rc;
  if (!json_object_object_get_ex(ds, "name", &v)) {
    join_names(dataset_names, list, sizeof list);
    return rpu__error_set(RPU_ECONFIG, NULL, "dataset.name: missing (one of %s)", list);
  }
  rc = read_enum(v, "dataset.name", "dataset", dataset_names, &kind);
  if (rc < 0) return rc;
  const char *name = dataset_names[kind];
  int is_idx = strcmp(name, "idx") == 0;
  if (!is_idx) {
    for (int i = 0; i < 4; i++)
      if (json_object_object_get_ex(ds, rpu__experiment_idx_keys[i], NULL))
        return rpu__error_set(RPU_ECONFIG, NULL,
                              "dataset.%s: only allowed with \"name\": \"idx\"; %s reads the "
                              "standard files under \"dir\"",
                              rpu__experiment_idx_keys[i], name);
  } else if (json_object_object_get_ex(ds, "dir", NULL)) {
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "dataset.dir: not used with \"name\": \"idx\"; give train_images, "
                          "train_labels, test_images and test_labels");
  }
  rc = check_keys(ds, "dataset", is_idx ? idx_dataset_keys : std_dataset_keys, "");
  if (rc < 0) return rc;
  if ((e->dataset_name = dup_str(name)) == NULL)
    return rpu__error_set(RPU_ENOMEM, NULL, "dataset: out of memory");

  char **files[4] = {&e->train_images, &e->train_labels, &e->test_images, &e->test_labels};
  if (is_idx) {
    for (int i = 0; rc == 0 && i < 4; i++) {
      const char *s = NULL;
      sub_path(path, "dataset", rpu__experiment_idx_keys[i]);
      if (!json_object_object_get_ex(ds, rpu__experiment_idx_keys[i], &v))
        return rpu__error_set(RPU_ECONFIG, NULL,
                              "%s: missing (a file name, required for \"name\": \"idx\")", path);
      rc = read_string(v, path, &s);
      if (rc == 0) rc = resolve_path(p, path, s, files[i]);
    }
  } else {
    char *dir = NULL;
    if (json_object_object_get_ex(ds, "dir", &v)) {
      const char *s = NULL;
      rc = read_string(v, "dataset.dir", &s);
      if (rc == 0) rc = resolve_path(p, "dataset.dir", s, &dir);
    } else {
      size_t n = sizeof DATASET_DIR + strlen(name) + 1;
      dir = malloc(n);
      if (dir == NULL) return rpu__error_set(RPU_ENOMEM, NULL, "dataset: out of memory");
      snprintf(dir, n, "%s/%s", DATASET_DIR, name);
    }
    for (int i = 0; rc == 0 && i < 4; i++)
      rc = dir_file("dataset.dir", dir, std_files[i], files[i]);
    free(dir);
  }
  if (rc < 0) return rc;
  if (json_object_object_get_ex(ds, "normalize", &v)) rc = parse_normalize(e, v);
  if (rc == 0) rc = field_int(ds, "dataset", "train_limit", 0, 0, &e->train_limit);
  if (rc == 0) rc = field_int(ds, "dataset", "test_limit", 0, 0, &e->test_limit);
  return rc;
}

static int parse_layer(parser *p, struct json_object *obj, int i, rpu__layer_spec *l) {
  char path[PATH_LEN], list[LIST_LEN], what[32];
  struct json_object *v = NULL;
  int kind = 0;
  snprintf(path, sizeof path, "model[%d]", i);
  int rc = need_object(obj, path);
  if (rc < 0) return rc;
  if (!json_object_object_get_ex(obj, "type", &v)) {
    join_names(rpu__experiment_layer_names, list, sizeof list);
    return rpu__error_set(RPU_ECONFIG, NULL, "%s.type: missing (one of %s)", path, list);
  }
  char tpath[PATH_LEN];
  sub_path(tpath, path, "type");
  rc = read_enum(v, tpath, "layer type", rpu__experiment_layer_names, &kind);
  if (rc < 0) return rc;
  snprintf(what, sizeof what, " for %s", rpu__experiment_layer_names[kind]);
  rc = check_keys(obj, path, layer_keys[kind], what);
  if (rc < 0) return rc;
  l->kind = (rpu__layer_kind)(kind + 1);
  l->bias = 1;
  l->stride = 1;
  switch (l->kind) {
  case RPU__LAYER_LINEAR:
    rc = field_int(obj, path, "in_features", 0, 1, &l->in_features);
    if (rc == 0) rc = field_int(obj, path, "out_features", 1, 1, &l->out_features);
    break;
  case RPU__LAYER_CONV2D:
    rc = field_int(obj, path, "in_channels", 0, 1, &l->in_channels);
    if (rc == 0) rc = field_int(obj, path, "out_channels", 1, 1, &l->out_channels);
    if (rc == 0) rc = field_int(obj, path, "kernel_size", 1, 1, &l->kernel_size);
    if (rc == 0) rc = field_int(obj, path, "stride", 0, 1, &l->stride);
    if (rc == 0) rc = field_int(obj, path, "padding", 0, 0, &l->padding);
    break;
  case RPU__LAYER_MAXPOOL2D:
    rc = field_int(obj, path, "kernel_size", 1, 1, &l->kernel_size);
    l->stride = l->kernel_size; /* PyTorch's MaxPool2d default */
    if (rc == 0) rc = field_int(obj, path, "stride", 0, 1, &l->stride);
    break;
  default:
    break;
  }
  if (rc < 0) return rc;
  if (l->kind != RPU__LAYER_LINEAR && l->kind != RPU__LAYER_CONV2D) return 0;
  if (json_object_object_get_ex(obj, "bias", &v)) {
    if (!json_object_is_type(v, json_type_boolean))
      return rpu__error_set(RPU_ETYPE, NULL, "%s.bias: expected a boolean, got %s", path,
                            rpu__json_type_name(v));
    l->bias = json_object_get_boolean(v) ? 1 : 0;
  }
  if (json_object_object_get_ex(obj, "rpu_config", &v)) {
    sub_path(tpath, path, "rpu_config");
    return read_config(p, v, tpath, &l->cfg);
  }
  if (p->e->cfg == NULL)
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "%s: %s layer has no \"rpu_config\" and the experiment has no "
                          "top-level \"rpu_config\"; give one of them",
                          path, rpu__experiment_layer_names[kind]);
  return 0;
}

static int parse_model(parser *p, struct json_object *arr) {
  rpu_experiment *e = p->e;
  if (!json_object_is_type(arr, json_type_array))
    return rpu__error_set(RPU_ETYPE, NULL, "model: expected an array of layer objects, got %s",
                          rpu__json_type_name(arr));
  size_t n = json_object_array_length(arr);
  if (n == 0)
    return rpu__error_set(RPU_ECONFIG, NULL, "model: empty; at least one layer is required");
  if (n > INT_MAX) return rpu__error_set(RPU_ERANGE, NULL, "model: too many layers (%zu)", n);
  e->layers = calloc(n, sizeof *e->layers);
  if (e->layers == NULL) return rpu__error_set(RPU_ENOMEM, NULL, "model: out of memory");
  e->n_layers = (int)n; /* zeroed entries free cleanly */
  for (int i = 0; i < e->n_layers; i++) {
    int rc = parse_layer(p, json_object_array_get_idx(arr, (size_t)i), i, &e->layers[i]);
    if (rc < 0) return rc;
  }
  return 0;
}

static int parse_schedule(rpu_experiment *e, struct json_object *s) {
  const char *path = "training.lr_schedule";
  struct json_object *v = NULL;
  char list[LIST_LEN];
  int type = 0;
  int rc = need_object(s, path);
  if (rc == 0) rc = check_keys(s, path, schedule_keys, "");
  if (rc < 0) return rc;
  if (!json_object_object_get_ex(s, "type", &v)) {
    join_names(schedule_types, list, sizeof list);
    return rpu__error_set(RPU_ECONFIG, NULL, "%s.type: missing (one of %s)", path, list);
  }
  rc = read_enum(v, "training.lr_schedule.type", "schedule type", schedule_types, &type);
  if (rc == 0) rc = field_int(s, path, "step_size", 1, 1, &e->lr_step_size);
  e->lr_gamma = DEFAULT_GAMMA;
  if (rc == 0) rc = field_real(s, path, "gamma", 0, 1, &e->lr_gamma);
  return rc;
}

static int parse_training(rpu_experiment *e, struct json_object *t) {
  const char *path = "training";
  struct json_object *v = NULL;
  int loss = 0;
  int rc = need_object(t, path);
  if (rc == 0) rc = check_keys(t, path, training_keys, "");
  if (rc == 0) rc = field_int(t, path, "epochs", 0, 1, &e->epochs);
  if (rc == 0) rc = field_int(t, path, "batch_size", 0, 1, &e->batch_size);
  if (rc == 0 && json_object_object_get_ex(t, "loss", &v))
    rc = read_enum(v, "training.loss", "loss", rpu__experiment_loss_names, &loss);
  if (rc == 0) rc = field_real(t, path, "lr", 0, 0, &e->lr);
  if (rc == 0 && json_object_object_get_ex(t, "lr_schedule", &v)) rc = parse_schedule(e, v);
  if (rc < 0) return rc;
  e->loss = (rpu__loss_kind)(loss + 1);
  /* "nll" takes log-probabilities, the others the raw outputs. */
  int last = e->n_layers - 1;
  int log_softmax = e->layers[last].kind == RPU__LAYER_LOG_SOFTMAX;
  if (e->loss == RPU__LOSS_NLL && !log_softmax)
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "training.loss: \"nll\"%s needs a final log_softmax layer; "
                          "model[%d] is %s (or use \"cross_entropy\")",
                          json_object_object_get_ex(t, "loss", NULL) ? "" : " (the default)",
                          last, rpu__experiment_layer_names[e->layers[last].kind - 1]);
  if (e->loss != RPU__LOSS_NLL && log_softmax)
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "training.loss: \"%s\" works on the raw outputs, but the last layer "
                          "model[%d] is log_softmax (use \"nll\" or drop the layer)",
                          rpu__experiment_loss_names[loss], last);
  return 0;
}

static int parse_inference(rpu_experiment *e, struct json_object *inf) {
  const char *path = "inference";
  struct json_object *arr = NULL;
  char p[PATH_LEN];
  int rc = need_object(inf, path);
  if (rc == 0) rc = check_keys(inf, path, inference_keys, "");
  if (rc < 0) return rc;
  if (!json_object_object_get_ex(inf, "t_inference", &arr))
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "inference.t_inference: missing (an array of times in seconds)");
  if (!json_object_is_type(arr, json_type_array))
    return rpu__error_set(RPU_ETYPE, NULL,
                          "inference.t_inference: expected an array of numbers, got %s",
                          rpu__json_type_name(arr));
  size_t n = json_object_array_length(arr);
  if (n == 0)
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "inference.t_inference: empty; give at least one time");
  if (n > INT_MAX)
    return rpu__error_set(RPU_ERANGE, NULL, "inference.t_inference: too many times (%zu)", n);
  e->t_inference = malloc(n * sizeof *e->t_inference);
  if (e->t_inference == NULL)
    return rpu__error_set(RPU_ENOMEM, NULL, "inference.t_inference: out of memory");
  for (size_t i = 0; i < n; i++) {
    struct json_object *v = json_object_array_get_idx(arr, i);
    snprintf(p, sizeof p, "inference.t_inference[%zu]", i);
    rc = read_real(v, p, 0, 0, &e->t_inference[i]);
    if (rc < 0) return rc;
    if (i > 0 && !(e->t_inference[i] > e->t_inference[i - 1]))
      return rpu__error_set(RPU_ERANGE, NULL,
                            "%s: %s is not greater than the time before it; times must "
                            "increase strictly",
                            p, text_of(v));
    e->n_t_inference = (int)i + 1;
  }
  return field_int(inf, path, "repeats", 0, 1, &e->inference_repeats);
}

/* The experiment's name when "name" is absent: the file name without
 * directory and ".json". */
static int default_name(rpu_experiment *e, const char *origin) {
  const char *base = strrchr(origin, '/');
  base = base ? base + 1 : origin;
  size_t len = strlen(base);
  if (len > 5 && strcmp(base + len - 5, ".json") == 0) len -= 5;
  if (len == 0) base = "experiment", len = strlen(base);
  e->name = malloc(len + 1);
  if (e->name == NULL) return rpu__error_set(RPU_ENOMEM, NULL, "name: out of memory");
  memcpy(e->name, base, len);
  e->name[len] = '\0';
  return 0;
}

static int parse_root(parser *p, struct json_object *root, const char *origin) {
  rpu_experiment *e = p->e;
  struct json_object *v = NULL, *ds = NULL, *model = NULL, *train = NULL;
  int rc = check_keys(root, "", top_keys, "");
  if (rc < 0) return rc;
  if (!json_object_object_get_ex(root, "dataset", &ds))
    return rpu__error_set(RPU_ECONFIG, NULL, "dataset: missing (required)");
  if (!json_object_object_get_ex(root, "model", &model))
    return rpu__error_set(RPU_ECONFIG, NULL, "model: missing (required: an array of layers)");
  if (!json_object_object_get_ex(root, "training", &train))
    return rpu__error_set(RPU_ECONFIG, NULL, "training: missing (required)");

  if (json_object_object_get_ex(root, "name", &v)) {
    const char *s = NULL;
    rc = read_string(v, "name", &s);
    /* rpu-train writes to runs/NAME: one path component. */
    if (rc == 0 && (strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0))
      rc = rpu__error_set(RPU_ECONFIG, NULL,
                          "name: \"%s\" must not contain '/' or be \".\" or \"..\" (it names "
                          "the output directory runs/NAME)",
                          s);
    if (rc == 0 && (e->name = dup_str(s)) == NULL)
      rc = rpu__error_set(RPU_ENOMEM, NULL, "name: out of memory");
  } else {
    rc = default_name(e, origin);
  }
  if (rc == 0 && json_object_object_get_ex(root, "seed", &v)) {
    int64_t seed = 0;
    rc = read_int(v, "seed", 0, INT64_MAX, &seed);
    e->seed = (uint64_t)seed;
  }
  if (rc == 0) rc = parse_dataset(p, ds);
  if (rc == 0 && json_object_object_get_ex(root, "rpu_config", &v))
    rc = read_config(p, v, "rpu_config", &e->cfg);
  if (rc == 0) rc = parse_model(p, model);
  if (rc == 0) rc = parse_training(e, train);
  if (rc == 0 && json_object_object_get_ex(root, "inference", &v)) rc = parse_inference(e, v);
  return rc;
}

/* A new experiment from a parsed root; nothing is returned on error. */
static int build(rpu_experiment **out, rpu_context *ctx, struct json_object *root,
                 const char *origin, const char *file) {
  rpu_experiment *e = calloc(1, sizeof *e);
  if (e == NULL || (e->origin = dup_str(origin)) == NULL) {
    free(e);
    return rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  }
  /* Defaults of experiment_impl.h. */
  e->epochs = 1;
  e->batch_size = 64;
  e->loss = RPU__LOSS_NLL;
  e->lr = 0.01;
  e->lr_gamma = 1;
  e->inference_repeats = 1;
  parser p = {ctx, file, e};
  int rc = parse_root(&p, root, origin);
  if (rc < 0) {
    rpu_experiment_free(e);
    return with_origin(rc, origin);
  }
  *out = e;
  return 0;
}

/* ----- helpers ---------------------------------------------------------- */

/* Prefixes the current message with the origin (file or string name). */
static int with_origin(int rc, const char *origin) {
  const rpu_error *err = rpu_error_last();
  if (err->code == RPU_OK) return rpu__error_set(rc, origin, "%s: failed", origin);
  return rpu__error_set(err->code, origin, "%s: %s", origin, err->message);
}

static void join_names(const char *const *names, char *buf, size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; names[i] != NULL; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
  }
}

static char *dup_str(const char *s) { return s ? strdup(s) : NULL; }
