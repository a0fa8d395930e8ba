/* Experiments written back: the canonical JSON of rpu_experiment_to_json
 * (every default filled in, paths absolute, configs complete, so parsing it
 * gives an equal experiment) and deep copies.  Reading is experiment.c. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/experiment_impl.h"
#include "core/util/error.h"
#include "core/util/json.h"

static struct json_object *experiment_json(const rpu_experiment *e);
static int copy_str(char **dst, const char *src);

int rpu_experiment_to_json(const rpu_experiment *e, char **json) {
  if (e == NULL || json == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_experiment_to_json",
                          "rpu_experiment_to_json: e and json must not be NULL");
  *json = NULL;
  /* An experiment file holds seeds as JSON integers below 2^63; a larger
   * one can only come from rpu_experiment_set_seed. */
  if (e->seed > (uint64_t)INT64_MAX)
    return rpu__error_set(RPU_ERANGE, e->origin, "%s: seed: %llu is above maximum %lld",
                          e->origin, (unsigned long long)e->seed, (long long)INT64_MAX);
  struct json_object *root = experiment_json(e);
  char *text = root ? rpu__json_to_text(root) : NULL;
  json_object_put(root);
  if (text == NULL)
    return rpu__error_set(RPU_ENOMEM, e->origin, "%s: out of memory writing the experiment",
                          e->origin);
  *json = text;
  return 0;
}

int rpu__experiment_clone(const rpu_experiment *e, rpu_experiment **out) {
  *out = NULL;
  rpu_experiment *c = calloc(1, sizeof *c);
  if (c == NULL) return rpu__error_set(RPU_ENOMEM, e->origin, "%s: out of memory", e->origin);
  *c = *e;
  /* Owned pointers are filled one by one, so a failure frees a valid
   * partial copy. */
  c->origin = c->name = c->dataset_name = NULL;
  c->train_images = c->train_labels = c->test_images = c->test_labels = NULL;
  c->cfg = NULL;
  c->layers = NULL;
  c->n_layers = 0;
  c->t_inference = NULL;
  c->n_t_inference = 0;
  int ok = copy_str(&c->origin, e->origin) && copy_str(&c->name, e->name) &&
           copy_str(&c->dataset_name, e->dataset_name) &&
           copy_str(&c->train_images, e->train_images) &&
           copy_str(&c->train_labels, e->train_labels) &&
           copy_str(&c->test_images, e->test_images) && copy_str(&c->test_labels, e->test_labels);
  int rc = ok ? 0 : rpu__error_set(RPU_ENOMEM, e->origin, "%s: out of memory", e->origin);
  if (rc == 0 && e->cfg != NULL) rc = rpu_config_clone(&c->cfg, e->cfg);
  if (rc == 0 && e->n_layers > 0) {
    c->layers = calloc((size_t)e->n_layers, sizeof *c->layers);
    if (c->layers == NULL)
      rc = rpu__error_set(RPU_ENOMEM, e->origin, "%s: out of memory", e->origin);
  }
  for (int i = 0; rc == 0 && i < e->n_layers; i++) {
    c->layers[i] = e->layers[i];
    c->layers[i].cfg = NULL;
    c->n_layers = i + 1;
    if (e->layers[i].cfg != NULL) rc = rpu_config_clone(&c->layers[i].cfg, e->layers[i].cfg);
  }
  if (rc == 0 && e->n_t_inference > 0) {
    c->t_inference = malloc((size_t)e->n_t_inference * sizeof *c->t_inference);
    if (c->t_inference == NULL) {
      rc = rpu__error_set(RPU_ENOMEM, e->origin, "%s: out of memory", e->origin);
    } else {
      memcpy(c->t_inference, e->t_inference, (size_t)e->n_t_inference * sizeof *c->t_inference);
      c->n_t_inference = e->n_t_inference;
    }
  }
  if (rc < 0) {
    rpu_experiment_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* ----- writing ---------------------------------------------------------- */

/* Adds v under key; on any failure (v NULL included) *ok becomes 0 and v
 * is released. */
static void put(struct json_object *obj, const char *key, struct json_object *v, int *ok) {
  if (*ok && v != NULL && json_object_object_add(obj, key, v) == 0) return;
  json_object_put(v);
  *ok = 0;
}

/* The shortest decimal that reads back as f in single precision, so
 * "0.286" stays "0.286" instead of the double 0.28600001335144043. */
static struct json_object *new_float(float f) {
  char buf[40];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
    if ((float)strtod(buf, NULL) == f) break;
  }
  return rpu__json_new_real(strtod(buf, NULL));
}

static struct json_object *config_json(const rpu_config *cfg) {
  char *text = NULL;
  struct json_object *o = NULL;
  if (rpu_config_to_json(cfg, &text) == 0) rpu__json_parse(&o, text, strlen(text), "<config>");
  free(text);
  return o;
}

/* The directory holding `file` (a path dir_file built, so never "" or
 * without a slash). */
static struct json_object *dir_of(const char *file) {
  const char *slash = strrchr(file, '/');
  size_t len = slash ? (size_t)(slash - file) : 0;
  if (len == 0) return json_object_new_string("/");
  return json_object_new_string_len(file, (int)len);
}

static struct json_object *dataset_json(const rpu_experiment *e, int *ok) {
  struct json_object *ds = json_object_new_object();
  if (ds == NULL) return NULL;
  const char *files[4] = {e->train_images, e->train_labels, e->test_images, e->test_labels};
  put(ds, "name", json_object_new_string(e->dataset_name), ok);
  if (strcmp(e->dataset_name, "idx") == 0) {
    for (int i = 0; i < 4; i++) put(ds, rpu__experiment_idx_keys[i], json_object_new_string(files[i]), ok);
  } else {
    put(ds, "dir", dir_of(e->train_images), ok);
  }
  if (e->normalize) {
    struct json_object *n = json_object_new_object();
    if (n != NULL) {
      put(n, "mean", new_float(e->mean), ok);
      put(n, "std", new_float(e->std), ok);
    }
    put(ds, "normalize", n, ok);
  }
  put(ds, "train_limit", json_object_new_int(e->train_limit), ok);
  put(ds, "test_limit", json_object_new_int(e->test_limit), ok);
  return ds;
}

static struct json_object *layer_json(const rpu__layer_spec *l, int *ok) {
  struct json_object *o = json_object_new_object();
  if (o == NULL) return NULL;
  put(o, "type", json_object_new_string(rpu__experiment_layer_names[l->kind - 1]), ok);
  switch (l->kind) {
  case RPU__LAYER_LINEAR:
    if (l->in_features > 0) put(o, "in_features", json_object_new_int(l->in_features), ok);
    put(o, "out_features", json_object_new_int(l->out_features), ok);
    break;
  case RPU__LAYER_CONV2D:
    if (l->in_channels > 0) put(o, "in_channels", json_object_new_int(l->in_channels), ok);
    put(o, "out_channels", json_object_new_int(l->out_channels), ok);
    put(o, "kernel_size", json_object_new_int(l->kernel_size), ok);
    put(o, "stride", json_object_new_int(l->stride), ok);
    put(o, "padding", json_object_new_int(l->padding), ok);
    break;
  case RPU__LAYER_MAXPOOL2D:
    put(o, "kernel_size", json_object_new_int(l->kernel_size), ok);
    put(o, "stride", json_object_new_int(l->stride), ok);
    return o;
  default:
    return o;
  }
  put(o, "bias", json_object_new_boolean(l->bias), ok);
  if (l->cfg != NULL) put(o, "rpu_config", config_json(l->cfg), ok);
  return o;
}

static struct json_object *training_json(const rpu_experiment *e, int *ok) {
  struct json_object *t = json_object_new_object();
  if (t == NULL) return NULL;
  put(t, "epochs", json_object_new_int(e->epochs), ok);
  put(t, "batch_size", json_object_new_int(e->batch_size), ok);
  put(t, "loss", json_object_new_string(rpu__experiment_loss_names[e->loss - 1]), ok);
  put(t, "lr", rpu__json_new_real(e->lr), ok);
  if (e->lr_step_size > 0) {
    struct json_object *s = json_object_new_object();
    if (s != NULL) {
      put(s, "type", json_object_new_string("step"), ok);
      put(s, "step_size", json_object_new_int(e->lr_step_size), ok);
      put(s, "gamma", rpu__json_new_real(e->lr_gamma), ok);
    }
    put(t, "lr_schedule", s, ok);
  }
  return t;
}

/* The whole experiment as a JSON object; NULL on out of memory. */
static struct json_object *experiment_json(const rpu_experiment *e) {
  struct json_object *root = json_object_new_object();
  int ok = root != NULL;
  if (!ok) return NULL;
  put(root, "name", json_object_new_string(e->name), &ok);
  put(root, "seed", json_object_new_int64((int64_t)e->seed), &ok);
  put(root, "dataset", dataset_json(e, &ok), &ok);
  if (e->cfg != NULL) put(root, "rpu_config", config_json(e->cfg), &ok);
  struct json_object *model = json_object_new_array();
  for (int i = 0; model != NULL && i < e->n_layers; i++) {
    struct json_object *l = layer_json(&e->layers[i], &ok);
    if (l == NULL || json_object_array_add(model, l) != 0) {
      json_object_put(l);
      ok = 0;
    }
  }
  put(root, "model", model, &ok);
  put(root, "training", training_json(e, &ok), &ok);
  if (e->n_t_inference > 0) {
    struct json_object *inf = json_object_new_object(), *ts = json_object_new_array();
    for (int i = 0; ts != NULL && i < e->n_t_inference; i++) {
      struct json_object *t = rpu__json_new_real(e->t_inference[i]);
      if (t == NULL || json_object_array_add(ts, t) != 0) {
        json_object_put(t);
        ok = 0;
      }
    }
    if (inf != NULL) {
      put(inf, "t_inference", ts, &ok);
      put(inf, "repeats", json_object_new_int(e->inference_repeats), &ok);
    } else {
      json_object_put(ts);
    }
    put(root, "inference", inf, &ok);
  }
  if (!ok) {
    json_object_put(root);
    return NULL;
  }
  return root;
}

/* ----- helpers ---------------------------------------------------------- */

/* *dst = a copy of src (NULL stays NULL); 0 on out of memory. */
static int copy_str(char **dst, const char *src) {
  *dst = src ? strdup(src) : NULL;
  return src == NULL || *dst != NULL;
}
