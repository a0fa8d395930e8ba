/* The experiment runner behind rpu-train (DESIGN.md §8): builds the network
 * of an experiment on its dataset and trains it with analog SGD, one
 * mini-batch at a time as SPEC.md §1.2 describes (forward, backward, then
 * the update of every analog layer and its post-update step).
 *
 * Reproducibility (DESIGN.md §7): weights are initialised from the
 * experiment's seed with distinct tile ids per layer, the epoch's order is
 * rpu_shuffle_order(seed, epoch), and every tile draws from its own keyed
 * streams, so a run is a pure function of the experiment.  The position
 * (epoch, batch) and the epoch's accumulators are plain numbers, which is
 * what makes a checkpoint taken between two batches resume bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/nn/trainer_impl.h"
#include "core/util/error.h"
#include "rpu/nn.h"

static int build_layers(rpu_trainer *t);
static int alloc_buffers(rpu_trainer *t);
static int load_data(rpu_trainer *t);
static int forward(rpu_trainer *t, int b, int timed);
static int train_batch(rpu_trainer *t, double lr, int b, float *loss, int *correct);
static const rpu_config *layer_config(const rpu_trainer *t, const rpu__layer_spec *s);
static int epoch_lr(const rpu_trainer *t, int epoch, double *lr);

/* ----- public API ---------------------------------------------------------- */

int rpu_trainer_new(rpu_trainer **out, rpu_context *ctx, const rpu_experiment *e) {
  static const char fn[] = "rpu_trainer_new";
  if (out == NULL || ctx == NULL || e == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: out, ctx and experiment must not be NULL", fn);
  *out = NULL;
  rpu_trainer *t = calloc(1, sizeof *t);
  if (t == NULL) return rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory", fn);
  t->ctx = ctx;
  int rc = rpu__experiment_clone(e, &t->e);
  if (rc == 0) rc = load_data(t);
  if (rc == 0) rc = build_layers(t);
  if (rc == 0) rc = alloc_buffers(t);
  if (rc == 0) rc = rpu__trainer_prepare_epoch(t);
  if (rc != 0) {
    rpu_trainer_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void rpu_trainer_free(rpu_trainer *t) {
  if (t == NULL) return;
  for (int i = 0; i < t->n_layers; i++) {
    rpu__trainer_layer *l = &t->layers[i];
    if (l->conv) rpu_conv2d_free(l->conv);
    else rpu_linear_free(l->lin);
    free(l->argmax);
  }
  free(t->layers);
  if (t->act)
    for (int i = 0; i <= t->n_layers; i++) free(t->act[i]);
  if (t->grad)
    for (int i = 0; i <= t->n_layers; i++) free(t->grad[i]);
  free(t->act);
  free(t->grad);
  free(t->target);
  free(t->labels);
  free(t->order);
  free(t->test_index);
  free(t->hist);
  rpu_dataset_free(t->train);
  rpu_dataset_free(t->test);
  rpu_experiment_free(t->e);
  free(t);
}

int rpu_trainer_run_epoch(rpu_trainer *t, rpu_train_progress_fn fn, void *user,
                          rpu_epoch_metrics *m) {
  static const char name[] = "rpu_trainer_run_epoch";
  if (t == NULL) return rpu__error_set(RPU_EINVAL, name, "%s: trainer must not be NULL", name);
  const rpu_experiment *e = t->e;
  if (t->epoch >= e->epochs)
    return rpu__error_set(RPU_ERANGE, name, "%s: %s: all %d epochs are done", name, e->name,
                          e->epochs);
  double lr;
  int rc = epoch_lr(t, t->epoch, &lr);
  if (rc != 0) return rc;
  while (t->batch < t->batches) {
    int b = e->batch_size;
    int start = t->batch * e->batch_size;
    if (start + b > t->n_train) b = t->n_train - start;
    float loss;
    int correct;
    double t0 = rpu__trainer_now();
    rc = rpu_dataset_gather(t->train, t->order + start, b, t->act[0], t->labels);
    if (rc == 0) rc = train_batch(t, lr, b, &loss, &correct);
    if (rc != 0) return rpu__error_prefix("%s: epoch %d, batch %d", e->name, t->epoch + 1,
                                          t->batch + 1);
    t->seconds += rpu__trainer_now() - t0;
    t->loss_sum += loss;
    t->correct += correct;
    t->seen += b;
    t->batch++;
    if (fn != NULL) {
      rpu_train_progress p = {t->epoch,
                              e->epochs,
                              t->batch,
                              t->batches,
                              t->loss_sum / t->batch,
                              (double)t->correct / (double)t->seen,
                              t->seconds,
                              lr};
      if (fn(&p, user) != 0 && t->batch < t->batches)
        return rpu__error_set(RPU_ECANCELED, name, "%s: stopped in epoch %d after batch %d of %d",
                              e->name, t->epoch + 1, t->batch, t->batches);
    }
  }
  rpu_epoch_metrics r = {t->epoch, lr, t->loss_sum / t->batches,
                         (double)t->correct / (double)t->seen, 0.0, t->seconds};
  rc = rpu_trainer_evaluate(t, &r.test_accuracy);
  if (rc == 0) rc = rpu__trainer_push_history(t, &r);
  if (rc != 0) return rc;
  t->epoch++;
  t->batch = 0;
  t->loss_sum = 0.0;
  t->correct = t->seen = 0;
  t->seconds = 0.0;
  if (t->epoch < e->epochs) {
    rc = rpu__trainer_prepare_epoch(t);
    if (rc != 0) return rc;
  }
  if (m != NULL) *m = r;
  return 0;
}

int rpu_trainer_epochs_done(const rpu_trainer *t) { return t ? t->epoch : 0; }

int rpu_trainer_sizes(const rpu_trainer *t, int *n_train, int *n_test) {
  if (t == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_trainer_sizes", "rpu_trainer_sizes: NULL trainer");
  if (n_train) *n_train = t->n_train;
  if (n_test) *n_test = t->n_test;
  return 0;
}

const rpu_experiment *rpu_trainer_experiment(const rpu_trainer *t) { return t ? t->e : NULL; }

int rpu_trainer_history(const rpu_trainer *t, const rpu_epoch_metrics **m, int *n) {
  if (t == NULL || m == NULL || n == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_trainer_history",
                          "rpu_trainer_history: arguments must not be NULL");
  *m = t->hist;
  *n = t->n_hist;
  return 0;
}

int rpu_trainer_evaluate(rpu_trainer *t, double *accuracy) {
  static const char fn[] = "rpu_trainer_evaluate";
  if (t == NULL || accuracy == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: arguments must not be NULL", fn);
  int64_t correct = 0;
  /* The training batch size: the tiles' noise draws then follow one fixed
   * partition of the test set, so the accuracy is reproducible. */
  for (int start = 0; start < t->n_test; start += t->e->batch_size) {
    int b = t->e->batch_size;
    if (start + b > t->n_test) b = t->n_test - start;
    int rc = rpu_dataset_gather(t->test, t->test_index + start, b, t->act[0], t->labels);
    if (rc == 0) rc = forward(t, b, 0);
    int c = 0;
    if (rc == 0) rc = rpu_count_correct(t->act[t->n_layers], t->labels, b, t->classes, &c);
    if (rc != 0) return rpu__error_prefix("%s: test set", t->e->name);
    correct += c;
  }
  *accuracy = t->n_test > 0 ? (double)correct / (double)t->n_test : 0.0;
  return 0;
}

int rpu_trainer_inference(rpu_trainer *t, double t_seconds, int repeats, double *mean,
                          double *std) {
  static const char fn[] = "rpu_trainer_inference";
  if (t == NULL || mean == NULL || std == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: arguments must not be NULL", fn);
  if (!(t_seconds >= 0.0) || !isfinite(t_seconds) || repeats < 1)
    return rpu__error_set(RPU_ERANGE, fn, "%s: need t_inference >= 0 and repeats >= 1", fn);
  /* Programming and drift are the inference noise models' (SPEC.md §6.1);
   * until a tile can be programmed the answer is a clear refusal, checked
   * before anything changes.  rpu_tile_program on a tile that cannot be
   * programmed changes nothing. */
  if (t->first_param == t->n_layers) /* first_param: the first analog layer */
    return rpu__error_set(RPU_EUNSUPPORTED, fn, "%s: inference: the model has no analog layer",
                          t->e->name);
  const rpu__trainer_layer *l = &t->layers[t->first_param];
  const rpu_config *cfg = rpu_tile_config(rpu_linear_tile(l->lin, 0, 0));
  return rpu__error_set(RPU_EUNSUPPORTED, fn,
                        "%s: inference: %s: a %s tile cannot be programmed and drifted yet "
                        "(the inference noise models of SPEC.md 6 are not implemented)",
                        t->e->name, l->name, rpu_config_type_name(rpu_config_get_type(cfg)));
}

int rpu_trainer_layer_count(const rpu_trainer *t) { return t ? t->n_layers : 0; }

int rpu_trainer_layer_profile(const rpu_trainer *t, int i, rpu_layer_profile *p) {
  if (t == NULL || p == NULL || i < 0 || i >= t->n_layers)
    return rpu__error_set(RPU_EINVAL, "rpu_trainer_layer_profile",
                          "rpu_trainer_layer_profile: no layer %d", i);
  const rpu__trainer_layer *l = &t->layers[i];
  p->name = l->name;
  p->forward = l->t_forward;
  p->backward = l->t_backward;
  p->update = l->t_update;
  return 0;
}

/* ----- shared internals ---------------------------------------------------- */

double rpu__trainer_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int rpu__trainer_prepare_epoch(rpu_trainer *t) {
  return rpu_shuffle_order(t->order, (uint32_t)t->n_train, t->e->seed, (uint32_t)t->epoch);
}

int rpu__trainer_push_history(rpu_trainer *t, const rpu_epoch_metrics *m) {
  if (t->n_hist == t->cap_hist) {
    int cap = t->cap_hist ? 2 * t->cap_hist : 16;
    rpu_epoch_metrics *h = realloc(t->hist, sizeof *h * (size_t)cap);
    if (h == NULL) return rpu__error_set(RPU_ENOMEM, "rpu_trainer", "out of memory");
    t->hist = h;
    t->cap_hist = cap;
  }
  t->hist[t->n_hist++] = *m;
  return 0;
}

/* ----- building ------------------------------------------------------------ */

static int load_data(rpu_trainer *t) {
  const rpu_experiment *e = t->e;
  int rc = rpu_dataset_load_idx(&t->train, e->train_images, e->train_labels, e->train_limit);
  if (rc == 0)
    rc = rpu_dataset_load_idx(&t->test, e->test_images, e->test_labels, e->test_limit);
  if (rc == 0 && e->normalize) {
    rc = rpu_dataset_normalize(t->train, e->mean, e->std);
    if (rc == 0) rc = rpu_dataset_normalize(t->test, e->mean, e->std);
  }
  if (rc != 0) return rpu__error_prefix("%s: dataset", e->origin);
  if (rpu_dataset_rows(t->train) != rpu_dataset_rows(t->test) ||
      rpu_dataset_cols(t->train) != rpu_dataset_cols(t->test))
    return rpu__error_set(RPU_ESHAPE, e->origin,
                          "%s: dataset: training images are %dx%d, test images %dx%d",
                          e->origin, rpu_dataset_rows(t->train), rpu_dataset_cols(t->train),
                          rpu_dataset_rows(t->test), rpu_dataset_cols(t->test));
  t->n_train = rpu_dataset_size(t->train);
  t->n_test = rpu_dataset_size(t->test);
  if (t->n_train < 1)
    return rpu__error_set(RPU_ESHAPE, e->origin, "%s: dataset: no training samples",
                          e->origin);
  t->batches = (t->n_train + e->batch_size - 1) / e->batch_size;
  t->order = malloc(sizeof *t->order * (size_t)t->n_train);
  t->test_index = malloc(sizeof *t->test_index * (size_t)(t->n_test > 0 ? t->n_test : 1));
  if (t->order == NULL || t->test_index == NULL)
    return rpu__error_set(RPU_ENOMEM, e->origin, "%s: out of memory", e->origin);
  for (int i = 0; i < t->n_test; i++) t->test_index[i] = (uint32_t)i;
  return 0;
}

static const char *kind_name(rpu__layer_kind k) { return rpu__experiment_layer_names[k - 1]; }

/* Shapes flow from the dataset (1 x rows x cols) through the layers; a
 * linear layer takes everything as one feature vector (torch needs an
 * explicit flatten; here it is implied, so an MLP needs none). */
static int build_layers(rpu_trainer *t) {
  const rpu_experiment *e = t->e;
  const char *org = e->origin;
  t->layers = calloc((size_t)e->n_layers, sizeof *t->layers);
  if (t->layers == NULL) return rpu__error_set(RPU_ENOMEM, org, "%s: out of memory", org);
  int c = 1, h = rpu_dataset_rows(t->train), w = rpu_dataset_cols(t->train);
  uint32_t tile_id = 1; /* 0 would share the data-shuffle tile id */
  t->first_param = e->n_layers;
  for (int i = 0; i < e->n_layers; i++) {
    const rpu__layer_spec *s = &e->layers[i];
    rpu__trainer_layer *l = &t->layers[i];
    t->n_layers = i + 1; /* so that a failure frees what exists */
    l->kind = s->kind;
    l->in_c = c;
    l->in_h = h;
    l->in_w = w;
    int rc = 0;
    snprintf(l->name, sizeof l->name, "model[%d] %s", i, kind_name(s->kind));
    switch (s->kind) {
      case RPU__LAYER_LINEAR: {
        int in = c * h * w;
        if (s->in_features != 0 && s->in_features != in)
          return rpu__error_set(RPU_ESHAPE, org,
                                "%s: model[%d].in_features: is %d, but the layer receives %d "
                                "features (%dx%dx%d)",
                                org, i, s->in_features, in, c, h, w);
        rc = rpu_linear_new(&l->lin, t->ctx, layer_config(t, s), in, s->out_features, s->bias,
                            e->seed, tile_id);
        c = s->out_features;
        h = w = 1;
        break;
      }
      case RPU__LAYER_CONV2D: {
        if (s->in_channels != 0 && s->in_channels != c)
          return rpu__error_set(RPU_ESHAPE, org,
                                "%s: model[%d].in_channels: is %d, but the layer receives %d "
                                "channels",
                                org, i, s->in_channels, c);
        rc = rpu_conv2d_new(&l->conv, t->ctx, layer_config(t, s), c, s->out_channels,
                            s->kernel_size, s->kernel_size, s->stride, s->padding, s->bias,
                            e->seed, tile_id);
        int ho = 0, wo = 0;
        if (rc == 0) rc = rpu_conv2d_output_size(l->conv, h, w, &ho, &wo);
        if (rc == 0) l->lin = rpu_conv2d_linear(l->conv);
        c = s->out_channels;
        h = ho;
        w = wo;
        break;
      }
      case RPU__LAYER_MAXPOOL2D: {
        int ho = 0, wo = 0;
        l->pool_k = s->kernel_size;
        l->pool_s = s->stride;
        rc = rpu_maxpool2d_output_size(h, w, s->kernel_size, s->stride, &ho, &wo);
        h = ho;
        w = wo;
        break;
      }
      case RPU__LAYER_FLATTEN:
        c = c * h * w;
        h = w = 1;
        break;
      case RPU__LAYER_LOG_SOFTMAX:
        if (i != e->n_layers - 1)
          return rpu__error_set(RPU_ECONFIG, org,
                                "%s: model[%d]: log_softmax must be the last layer", org, i);
        c = c * h * w;
        h = w = 1;
        break;
      case RPU__LAYER_SIGMOID:
      case RPU__LAYER_TANH:
      case RPU__LAYER_RELU:
        break;
    }
    if (rc != 0) return rpu__error_prefix("%s: model[%d] (%s)", org, i, kind_name(s->kind));
    l->out_c = c;
    l->out_h = h;
    l->out_w = w;
    l->in_n = (size_t)l->in_c * l->in_h * l->in_w;
    l->out_n = (size_t)c * h * w;
    if (l->lin != NULL) {
      int n_in = 1, n_out = 1;
      rpu_linear_tile_grid(l->lin, &n_in, &n_out);
      tile_id += (uint32_t)(n_in * n_out);
      if (i < t->first_param) t->first_param = i;
      snprintf(l->name, sizeof l->name, "model[%d] %s %zux%zu (%d tile%s)", i,
               kind_name(s->kind), (size_t)rpu_linear_in_features(l->lin),
               (size_t)rpu_linear_out_features(l->lin), n_in * n_out,
               n_in * n_out == 1 ? "" : "s");
    }
  }
  const rpu__trainer_layer *last = &t->layers[e->n_layers - 1];
  int classes = (int)last->out_n;
  int need = rpu_dataset_classes(t->train);
  if (rpu_dataset_classes(t->test) > need) need = rpu_dataset_classes(t->test);
  if (classes < need)
    return rpu__error_set(RPU_ESHAPE, org,
                          "%s: model[%d]: the network ends with %d outputs, but the dataset "
                          "has %d classes",
                          org, e->n_layers - 1, classes, need);
  t->classes = classes;
  return 0;
}

static const rpu_config *layer_config(const rpu_trainer *t, const rpu__layer_spec *s) {
  return s->cfg != NULL ? s->cfg : t->e->cfg;
}

static int alloc_buffers(rpu_trainer *t) {
  int bs = t->e->batch_size, n = t->n_layers;
  t->act = calloc((size_t)n + 1, sizeof *t->act);
  t->grad = calloc((size_t)n + 1, sizeof *t->grad);
  t->labels = malloc(sizeof *t->labels * (size_t)bs);
  if (t->act == NULL || t->grad == NULL || t->labels == NULL)
    return rpu__error_set(RPU_ENOMEM, t->e->origin, "%s: out of memory", t->e->origin);
  for (int i = 0; i <= n; i++) {
    size_t sz = i < n ? t->layers[i].in_n : t->layers[n - 1].out_n;
    t->act[i] = malloc(sizeof(float) * sz * (size_t)bs);
    t->grad[i] = malloc(sizeof(float) * sz * (size_t)bs);
    if (t->act[i] == NULL || t->grad[i] == NULL)
      return rpu__error_set(RPU_ENOMEM, t->e->origin, "%s: out of memory", t->e->origin);
  }
  for (int i = 0; i < n; i++)
    if (t->layers[i].kind == RPU__LAYER_MAXPOOL2D) {
      t->layers[i].argmax = malloc(sizeof(int32_t) * t->layers[i].out_n * (size_t)bs);
      if (t->layers[i].argmax == NULL)
        return rpu__error_set(RPU_ENOMEM, t->e->origin, "%s: out of memory", t->e->origin);
    }
  if (t->e->loss == RPU__LOSS_MSE) {
    t->target = malloc(sizeof(float) * (size_t)t->classes * (size_t)bs);
    if (t->target == NULL)
      return rpu__error_set(RPU_ENOMEM, t->e->origin, "%s: out of memory", t->e->origin);
  }
  return 0;
}

/* ----- running ------------------------------------------------------------- */

static int epoch_lr(const rpu_trainer *t, int epoch, double *lr) {
  const rpu_experiment *e = t->e;
  if (e->lr_step_size < 1) {
    *lr = e->lr;
    return 0;
  }
  return rpu_step_lr(e->lr, e->lr_gamma, e->lr_step_size, epoch, lr);
}

/* act[0] (b samples) through every layer into act[n]. */
static int forward(rpu_trainer *t, int b, int timed) {
  for (int i = 0; i < t->n_layers; i++) {
    rpu__trainer_layer *l = &t->layers[i];
    const float *x = t->act[i];
    float *y = t->act[i + 1];
    size_t n = l->in_n * (size_t)b;
    double t0 = timed ? rpu__trainer_now() : 0.0;
    int rc = 0;
    switch (l->kind) {
      case RPU__LAYER_LINEAR: rc = rpu_linear_forward(l->lin, x, y, b); break;
      case RPU__LAYER_CONV2D: rc = rpu_conv2d_forward(l->conv, x, y, b, l->in_h, l->in_w); break;
      case RPU__LAYER_MAXPOOL2D:
        rc = rpu_maxpool2d_forward(x, y, l->argmax, b, l->in_c, l->in_h, l->in_w, l->pool_k,
                                   l->pool_s);
        break;
      case RPU__LAYER_FLATTEN: memcpy(y, x, sizeof(float) * n); break;
      case RPU__LAYER_SIGMOID: rc = rpu_activation_forward(RPU_ACT_SIGMOID, x, y, n); break;
      case RPU__LAYER_TANH: rc = rpu_activation_forward(RPU_ACT_TANH, x, y, n); break;
      case RPU__LAYER_RELU: rc = rpu_activation_forward(RPU_ACT_RELU, x, y, n); break;
      case RPU__LAYER_LOG_SOFTMAX: rc = rpu_log_softmax(x, y, b, (int)l->in_n); break;
    }
    if (timed) l->t_forward += rpu__trainer_now() - t0;
    if (rc != 0) return rpu__error_prefix("%s", l->name);
  }
  return 0;
}

static int backward(rpu_trainer *t, int b) {
  for (int i = t->n_layers - 1; i >= t->first_param; i--) {
    rpu__trainer_layer *l = &t->layers[i];
    const float *x = t->act[i], *y = t->act[i + 1], *dy = t->grad[i + 1];
    float *dx = i > t->first_param ? t->grad[i] : NULL; /* nothing needs the first one */
    size_t n = l->in_n * (size_t)b;
    double t0 = rpu__trainer_now();
    int rc = 0;
    switch (l->kind) {
      case RPU__LAYER_LINEAR: rc = rpu_linear_backward(l->lin, dy, dx, b); break;
      case RPU__LAYER_CONV2D: rc = rpu_conv2d_backward(l->conv, dy, dx, b); break;
      case RPU__LAYER_MAXPOOL2D:
        rc = rpu_maxpool2d_backward(dy, l->argmax, dx, b, l->in_c, l->in_h, l->in_w, l->pool_k,
                                    l->pool_s);
        break;
      case RPU__LAYER_FLATTEN: memcpy(dx, dy, sizeof(float) * n); break;
      case RPU__LAYER_SIGMOID: rc = rpu_activation_backward(RPU_ACT_SIGMOID, x, y, dy, dx, n); break;
      case RPU__LAYER_TANH: rc = rpu_activation_backward(RPU_ACT_TANH, x, y, dy, dx, n); break;
      case RPU__LAYER_RELU: rc = rpu_activation_backward(RPU_ACT_RELU, x, y, dy, dx, n); break;
      case RPU__LAYER_LOG_SOFTMAX: rc = rpu_log_softmax_backward(y, dy, dx, b, (int)l->in_n); break;
    }
    l->t_backward += rpu__trainer_now() - t0;
    if (rc != 0) return rpu__error_prefix("%s", l->name);
  }
  return 0;
}

static int loss_and_grad(rpu_trainer *t, int b, float *loss) {
  const float *z = t->act[t->n_layers];
  float *g = t->grad[t->n_layers];
  int c = t->classes;
  switch (t->e->loss) {
    case RPU__LOSS_NLL: return rpu_nll_loss(z, t->labels, b, c, loss, g);
    case RPU__LOSS_CROSS_ENTROPY: return rpu_cross_entropy_loss(z, t->labels, b, c, loss, g);
    case RPU__LOSS_MSE:
      memset(t->target, 0, sizeof(float) * (size_t)b * (size_t)c);
      for (int s = 0; s < b; s++) {
        if (t->labels[s] < 0 || t->labels[s] >= c)
          return rpu__error_set(RPU_ERANGE, "mse", "label %d outside 0..%d", t->labels[s], c - 1);
        t->target[(size_t)s * c + t->labels[s]] = 1.0f;
      }
      return rpu_mse_loss(z, t->target, b, c, loss, g);
  }
  return rpu__error_set(RPU_EINTERNAL, "loss", "unknown loss kind");
}

/* One SGD step on act[0] / labels (SPEC.md §1.2). */
static int train_batch(rpu_trainer *t, double lr, int b, float *loss, int *correct) {
  int rc = forward(t, b, 1);
  if (rc == 0) rc = loss_and_grad(t, b, loss);
  if (rc == 0)
    rc = rpu_count_correct(t->act[t->n_layers], t->labels, b, t->classes, correct);
  if (rc == 0 && !isfinite(*loss))
    return rpu__error_set(RPU_ERANGE, t->e->origin,
                          "%s: the training loss is not finite (diverged); lower training.lr",
                          t->e->origin);
  if (rc == 0) rc = backward(t, b);
  for (int i = t->first_param; rc == 0 && i < t->n_layers; i++) {
    rpu__trainer_layer *l = &t->layers[i];
    if (l->lin == NULL) continue;
    double t0 = rpu__trainer_now();
    rc = l->conv ? rpu_conv2d_update(l->conv, (float)lr) : rpu_linear_update(l->lin, (float)lr);
    if (rc == 0)
      rc = l->conv ? rpu_conv2d_post_update_step(l->conv) : rpu_linear_post_update_step(l->lin);
    l->t_update += rpu__trainer_now() - t0;
    if (rc != 0) return rpu__error_prefix("%s", l->name);
  }
  return rc;
}
