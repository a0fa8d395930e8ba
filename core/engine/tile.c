/* The public tile API (DESIGN.md §6): argument checks, device creation
 * through the plugin vtable, weights, counters and dispatch to the engine
 * chosen by the config type.  Engines see validated arguments only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine/tile_impl.h"
#include "core/plugin/params.h"
#include "core/util/error.h"
#include "core/util/finite.h"

static const rpu__tile_engine *engine_for(rpu_config_type type);
static int create_device(rpu_tile *t);
static int check_size(const char *fn, const char *what, int v);
static int check_tile(const char *fn, const rpu_tile *t);
static int check_buf(const char *fn, const char *what, const void *p);
static int check_finite(const char *fn, const char *what, const float *v, size_t n);
static int check_batch(const char *fn, int batch);
static int engine_fail(int rc, const char *fn);
static int hook_result(int rc, const rpu_tile *t, const char *hook);
static int unsupported(const rpu_tile *t, const char *fn, const char *what);

int rpu_tile_new(rpu_tile **out, rpu_context *ctx, const rpu_config *cfg,
                 int out_size, int in_size, uint64_t seed) {
  return rpu_tile_new_with_id(out, ctx, cfg, out_size, in_size, seed, 0);
}

int rpu_tile_new_with_id(rpu_tile **out, rpu_context *ctx,
                         const rpu_config *cfg, int out_size, int in_size,
                         uint64_t seed, uint32_t tile_id) {
  static const char fn[] = "rpu_tile_new";
  int rc;
  if ((rc = check_buf(fn, "out", out)) < 0) return rc;
  *out = NULL;
  if ((rc = check_buf(fn, "ctx", ctx)) < 0) return rc;
  if ((rc = check_buf(fn, "cfg", cfg)) < 0) return rc;
  if ((rc = check_size(fn, "out_size", out_size)) < 0) return rc;
  if ((rc = check_size(fn, "in_size", in_size)) < 0) return rc;
  rpu_config_type type = rpu_config_get_type(cfg);
  const rpu__tile_engine *engine = engine_for(type);
  if (engine == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: cfg has unknown config type %d",
                          fn, (int)type);

  rpu_tile *t = calloc(1, sizeof *t);
  if (t == NULL) return rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory", fn);
  t->ctx = ctx;
  t->type = type;
  t->out_size = out_size;
  t->in_size = in_size;
  t->seed = seed;
  t->tile_id = tile_id & 0xffffffu;
  t->engine = engine;
  if ((rc = rpu_config_clone(&t->cfg, cfg)) < 0) {
    rpu__error_prefix("%s: copying the config", fn);
    goto fail;
  }
  t->w = calloc((size_t)out_size * (size_t)in_size, sizeof(float));
  if (t->w == NULL) {
    rc = rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory for %d x %d weights",
                        fn, out_size, in_size);
    goto fail;
  }
  if ((rc = create_device(t)) < 0) {
    rpu__error_prefix("%s", fn);
    goto fail;
  }
  if (engine->init != NULL && (rc = engine->init(t)) < 0) {
    engine_fail(rc, fn);
    t->engine = NULL; /* nothing of the engine to destroy */
    goto fail;
  }
  *out = t;
  return 0;
fail:
  t->engine = NULL;
  rpu_tile_free(t);
  return rc;
}

void rpu_tile_free(rpu_tile *t) {
  if (t == NULL) return;
  if (t->engine != NULL && t->engine->destroy != NULL) t->engine->destroy(t);
  if (t->dev_state != NULL) t->dev_vt->destroy(t->dev_state);
  rpu_config_free(t->cfg);
  free(t->w);
  free(t);
}

int rpu_tile_out_size(const rpu_tile *t) { return t ? t->out_size : 0; }
int rpu_tile_in_size(const rpu_tile *t) { return t ? t->in_size : 0; }
const rpu_config *rpu_tile_config(const rpu_tile *t) {
  return t ? t->cfg : NULL;
}

int rpu_tile_forward(rpu_tile *t, const float *x, float *y, int batch) {
  static const char fn[] = "rpu_tile_forward";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "x", x)) < 0 ||
      (rc = check_buf(fn, "y", y)) < 0 || (rc = check_batch(fn, batch)) < 0)
    return rc;
  if ((rc = t->engine->forward(t, x, y, batch)) < 0) return engine_fail(rc, fn);
  t->counters.forward_mvms += (uint64_t)batch;
  t->steps.read++;
  return 0;
}

int rpu_tile_backward(rpu_tile *t, const float *d, float *dx, int batch) {
  static const char fn[] = "rpu_tile_backward";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "d", d)) < 0 ||
      (rc = check_buf(fn, "dx", dx)) < 0 || (rc = check_batch(fn, batch)) < 0)
    return rc;
  if ((rc = t->engine->backward(t, d, dx, batch)) < 0)
    return engine_fail(rc, fn);
  t->counters.backward_mvms += (uint64_t)batch;
  t->steps.read++;
  return 0;
}

/* lr == 0 skips the update, as aihwkit's optimizer does (SPEC.md §1.2). */
int rpu_tile_update(rpu_tile *t, const float *x, const float *d, int batch,
                    float lr) {
  static const char fn[] = "rpu_tile_update";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "x", x)) < 0 ||
      (rc = check_buf(fn, "d", d)) < 0 || (rc = check_batch(fn, batch)) < 0)
    return rc;
  if (!isfinite(lr))
    return rpu__error_set(RPU_EINVAL, fn, "%s: lr %g is not finite", fn,
                          (double)lr);
  if (lr == 0.0f) return 0;
  /* NaN/Inf would silently poison every weight of an exact update. */
  if ((rc = check_finite(fn, "x", x, (size_t)batch * (size_t)t->in_size)) < 0 ||
      (rc = check_finite(fn, "d", d, (size_t)batch * (size_t)t->out_size)) < 0)
    return rc;
  if ((rc = t->engine->update(t, x, d, batch, lr)) < 0)
    return engine_fail(rc, fn);
  t->counters.updates += (uint64_t)batch;
  t->steps.update++;
  return 0;
}

int rpu_tile_post_update_step(rpu_tile *t) {
  static const char fn[] = "rpu_tile_post_update_step";
  int rc;
  if ((rc = check_tile(fn, t)) < 0) return rc;
  if (t->engine->post_update != NULL && (rc = t->engine->post_update(t)) < 0)
    return engine_fail(rc, fn);
  t->steps.post_update++;
  return 0;
}

/* Refuses NaN / Inf before touching anything; if the engine (device
 * set_weights hook) then fails, the old weights are put back. */
int rpu_tile_set_weights(rpu_tile *t, const float *w) {
  static const char fn[] = "rpu_tile_set_weights";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "w", w)) < 0)
    return rc;
  size_t n = (size_t)t->out_size * (size_t)t->in_size;
  size_t k = rpu__first_non_finite(w, n);
  if (k < n)
    return rpu__error_set(RPU_EINVAL, fn,
                          "%s: w[%zu] (row %zu, column %zu) is %s; weights must be finite", fn,
                          k, k / (size_t)t->in_size, k % (size_t)t->in_size,
                          isnan(w[k]) ? "NaN" : "infinite");
  float *backup = NULL;
  if (t->engine->set_weights != NULL) {
    backup = malloc(n * sizeof(float));
    if (backup == NULL)
      return rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory", fn);
    memcpy(backup, t->w, n * sizeof(float));
  }
  memcpy(t->w, w, n * sizeof(float));
  if (t->engine->set_weights != NULL && (rc = t->engine->set_weights(t)) < 0) {
    memcpy(t->w, backup, n * sizeof(float));
    free(backup);
    return engine_fail(rc, fn);
  }
  free(backup);
  t->steps.set_weights++;
  return 0;
}

int rpu_tile_get_weights(rpu_tile *t, float *w) {
  static const char fn[] = "rpu_tile_get_weights";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "w", w)) < 0)
    return rc;
  if (t->engine->get_weights != NULL && (rc = t->engine->get_weights(t)) < 0)
    return engine_fail(rc, fn);
  memcpy(w, t->w, (size_t)t->out_size * (size_t)t->in_size * sizeof(float));
  return 0;
}

int rpu_tile_program(rpu_tile *t) {
  static const char fn[] = "rpu_tile_program";
  int rc;
  if ((rc = check_tile(fn, t)) < 0) return rc;
  if (t->engine->program == NULL)
    return unsupported(t, fn, "only inference tiles can be programmed");
  if ((rc = t->engine->program(t)) < 0) return engine_fail(rc, fn);
  t->steps.program++;
  return 0;
}

int rpu_tile_drift(rpu_tile *t, double t_seconds) {
  static const char fn[] = "rpu_tile_drift";
  int rc;
  if ((rc = check_tile(fn, t)) < 0) return rc;
  if (!isfinite(t_seconds) || t_seconds < 0)
    return rpu__error_set(RPU_EINVAL, fn,
                          "%s: t_seconds %g is not a finite number >= 0", fn,
                          t_seconds);
  if (t->engine->drift == NULL)
    return unsupported(t, fn, "this tile cannot drift");
  if ((rc = t->engine->drift(t, t_seconds)) < 0) return engine_fail(rc, fn);
  t->steps.drift++;
  return 0;
}

/* Probes the device the way rpu-response does: counts go straight to the
 * device's pulse hook, row by row, bypassing the pulse engine. */
int rpu_tile_apply_pulses(rpu_tile *t, const int32_t *counts) {
  static const char fn[] = "rpu_tile_apply_pulses";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "counts", counts)) < 0)
    return rc;
  if (!RPU__DEV_HAS(t->dev_vt, pulse_row))
    return unsupported(t, fn, "the device takes no pulses (not a pulsed device)");
  size_t in = (size_t)t->in_size;
  int *cols = malloc(in * sizeof *cols);
  int32_t *row_counts = malloc(in * sizeof *row_counts);
  if (cols == NULL || row_counts == NULL) {
    free(cols);
    free(row_counts);
    return rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory", fn);
  }
  uint64_t pulses = 0;
  for (int i = 0; i < t->out_size; i++) {
    const int32_t *c = counts + (size_t)i * in;
    int n = 0;
    for (size_t j = 0; j < in; j++) {
      if (c[j] == 0) continue;
      cols[n] = (int)j;
      row_counts[n++] = c[j];
      pulses += c[j] < 0 ? (uint64_t)(-(int64_t)c[j]) : (uint64_t)c[j];
    }
    if (n == 0) continue;
    rpu_rng_cursor cur = rpu__tile_cursor(t, RPU_RNG_UPDATE, t->steps.apply_pulses,
                                          RPU__SUB_APPLY_PULSES + (uint32_t)i);
    t->dev_vt->pulse_row(t->dev_state, t->w + (size_t)i * in, i, cols, row_counts, n,
                         &cur);
  }
  free(cols);
  free(row_counts);
  t->counters.pulses += pulses;
  t->steps.apply_pulses++;
  return 0;
}

int rpu_tile_get_counters(const rpu_tile *t, rpu_tile_counters *out) {
  static const char fn[] = "rpu_tile_get_counters";
  int rc;
  if ((rc = check_tile(fn, t)) < 0 || (rc = check_buf(fn, "out", out)) < 0)
    return rc;
  *out = t->counters;
  return 0;
}

/* ----- services for the engines ------------------------------------------ */

rpu_weights rpu__tile_weights(rpu_tile *t) {
  rpu_weights v = {t->w, t->out_size, t->in_size, (size_t)t->in_size};
  return v;
}

rpu_rng_cursor rpu__tile_cursor(const rpu_tile *t, uint32_t purpose,
                                uint32_t step, uint32_t sub) {
  rpu_rng_cursor c;
  c.stream = rpu_rng_stream_make(t->seed, t->tile_id, purpose);
  c.stream.step = step;
  c.stream.sub = sub;
  c.pos = 0;
  return c;
}

int rpu__tile_device_post_update(rpu_tile *t) {
  if (!RPU__DEV_HAS(t->dev_vt, post_update)) return 0;
  rpu_rng_cursor c = rpu__tile_cursor(t, RPU_RNG_UPDATE, t->steps.post_update,
                                      RPU__SUB_POST_UPDATE);
  return hook_result(
      t->dev_vt->post_update(t->dev_state, rpu__tile_weights(t), &c), t,
      "post_update");
}

int rpu__tile_device_drift(rpu_tile *t, double t_seconds) {
  if (!RPU__DEV_HAS(t->dev_vt, drift)) return 0;
  rpu_rng_cursor c = rpu__tile_cursor(t, RPU_RNG_DRIFT, t->steps.drift, 0);
  return hook_result(
      t->dev_vt->drift(t->dev_state, rpu__tile_weights(t), t_seconds, &c), t,
      "drift");
}

int rpu__tile_device_set_weights(rpu_tile *t) {
  if (!RPU__DEV_HAS(t->dev_vt, set_weights)) return 0;
  rpu_rng_cursor c = rpu__tile_cursor(t, RPU_RNG_UPDATE, t->steps.set_weights,
                                      RPU__SUB_SET_WEIGHTS);
  return hook_result(
      t->dev_vt->set_weights(t->dev_state, rpu__tile_weights(t), &c), t,
      "set_weights");
}

int rpu__tile_device_get_weights(rpu_tile *t) {
  if (!RPU__DEV_HAS(t->dev_vt, get_weights)) return 0;
  return hook_result(t->dev_vt->get_weights(t->dev_state, rpu__tile_weights(t)),
                     t, "get_weights");
}

void rpu__tile_device_clip(rpu_tile *t, double c) {
  if (RPU__DEV_HAS(t->dev_vt, clip))
    t->dev_vt->clip(t->dev_state, rpu__tile_weights(t), c);
}

/* ----- helpers ------------------------------------------------------------ */

static int check_finite(const char *fn, const char *what, const float *v, size_t n) {
  size_t k = rpu__first_non_finite(v, n);
  if (k < n)
    return rpu__error_set(RPU_EINVAL, fn, "%s: %s[%zu] is %s; the tile is unchanged", fn,
                          what, k, isnan(v[k]) ? "NaN" : "infinite");
  return 0;
}

static const rpu__tile_engine *engine_for(rpu_config_type type) {
  switch (type) {
  case RPU_CONFIG_FLOATING_POINT:
    return &rpu__tile_engine_fp;
  case RPU_CONFIG_SINGLE:
  case RPU_CONFIG_UNIT_CELL:
  case RPU_CONFIG_DIGITAL_RANK_UPDATE:
    return &rpu__tile_engine_analog;
  case RPU_CONFIG_INFERENCE:
    return &rpu__tile_engine_inference;
  default:
    return NULL;
  }
}

/* Creates the config's device through its plugin, with the construction
 * stream (seed, tile id, RPU_RNG_CONSTRUCTION) for device-to-device
 * variation (DESIGN.md §7). */
static int create_device(rpu_tile *t) {
  const rpu_device_spec *spec = rpu_config_device(t->cfg);
  if (spec == NULL || spec->model == NULL)
    return rpu__error_set(RPU_ECONFIG, "device", "the config has no device");
  const rpu_model_desc *m = spec->model;
  const rpu_device_vtable *vt = m->vtable;
  if (m->kind != RPU_MODEL_DEVICE || vt == NULL || !RPU__DEV_HAS(vt, create) ||
      !RPU__DEV_HAS(vt, destroy))
    return rpu__error_set(RPU_EPLUGIN, m->name,
                          "device %s (plugin %s) has no create/destroy hooks",
                          m->name, spec->plugin ? spec->plugin : "?");
  t->dev_spec = spec;
  t->dev_model = m;
  t->dev_params = spec->params;
  t->dev_vt = vt;
  rpu_rng_cursor c = rpu__tile_cursor(t, RPU_RNG_CONSTRUCTION, 0, 0);
  rpu_device_init init = {sizeof(rpu_device_init), spec->params, spec,
                          t->out_size, t->in_size, &c};
  void *state = NULL;
  int rc = vt->create(&state, &init, rpu__tile_weights(t));
  if (rc != 0) return hook_result(rc, t, "create");
  if (state == NULL)
    return rpu__error_set(RPU_EPLUGIN, m->name,
                          "device %s: create returned no state", m->name);
  t->dev_state = state;
  return 0;
}

static int check_size(const char *fn, const char *what, int v) {
  if (v >= 1 && v <= RPU__TILE_MAX_DIM) return 0;
  return rpu__error_set(RPU_EINVAL, fn, "%s: %s %d is out of range [1, %d]", fn,
                        what, v, RPU__TILE_MAX_DIM);
}

static int check_tile(const char *fn, const rpu_tile *t) {
  return check_buf(fn, "t", t);
}

static int check_buf(const char *fn, const char *what, const void *p) {
  if (p != NULL) return 0;
  return rpu__error_set(RPU_EINVAL, fn, "%s: %s is NULL", fn, what);
}

static int check_batch(const char *fn, int batch) {
  if (batch >= 1) return 0;
  return rpu__error_set(RPU_EINVAL, fn, "%s: batch %d must be >= 1", fn, batch);
}

/* An engine hook failed: keep its message, name the API function. */
static int engine_fail(int rc, const char *fn) {
  if (rc >= 0 || rc <= RPU__STATUS_LAST_) rc = RPU_EINTERNAL;
  if (rpu__error_code() != rc)
    return rpu__error_set(rc, fn, "%s: failed (%s)", fn, rpu_strerror(rc));
  rpu__error_prefix("%s", fn);
  return rc;
}

/* A device hook returned rc: make sure a failure carries a message that
 * names the model and the hook, even if the plugin did not set one. */
static int hook_result(int rc, const rpu_tile *t, const char *hook) {
  if (rc == 0) return 0;
  if (rc > 0 || rc <= RPU__STATUS_LAST_) rc = RPU_EPLUGIN;
  if (rpu__error_code() != rc)
    return rpu__error_set(rc, t->dev_model->name,
                          "device %s: %s hook failed (%s)", t->dev_model->name,
                          hook, rpu_strerror(rc));
  return rc;
}

static int unsupported(const rpu_tile *t, const char *fn, const char *what) {
  return rpu__error_set(RPU_EUNSUPPORTED, fn, "%s: %s; this is a %s tile", fn,
                        what, rpu_config_type_name(t->type));
}
