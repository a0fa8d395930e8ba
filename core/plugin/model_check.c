/* Self-test of one registered model with its defaults (DESIGN.md §10): the
 * code behind `rpu-plugins check` and the every-model test.
 *
 * A device is created on a small 3x4 tile, given a few pulses of both signs
 * (if it has pulse_row), a post-update step and a clip, its hidden state is
 * saved and loaded back, and it is destroyed; after every hook all weights
 * must still be finite.  Noise models and drift compensations are created
 * and destroyed.  Nothing here depends on what the model computes. */
#include <math.h>
#include <stdlib.h>

#include "core/plugin/params.h"
#include "core/util/arena.h"
#include "core/util/error.h"
#include "rpu/context.h"
#include "rpu/rng.h"

#define CHECK_ROWS 3
#define CHECK_COLS 4
#define CHECK_SEED UINT64_C(0x5eed)

static int check_device(const rpu_model_entry *e, const rpu_device_spec *spec);
static int check_noise_model(const rpu_model_entry *e, const rpu_device_spec *spec);
static int check_drift_compensation(const rpu_model_entry *e, const rpu_device_spec *spec);
static int hook_failed(int rc, const char *model, const char *hook);
static int finite_or_fail(const float *w, const char *model, const char *hook);
static rpu_rng_cursor cursor(uint32_t purpose);

int rpu_context_check_model(rpu_context *ctx, const char *name) {
  if (ctx == NULL || name == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_check_model",
                          "rpu_context_check_model: %s is NULL", ctx == NULL ? "ctx" : "name");
  rpu_model_entry e;
  int rc = rpu_context_find_model(ctx, name, 0, &e);
  if (rc != 0) return rc;
  rpu__arena arena = RPU__ARENA_INIT;
  rpu_device_spec *spec = NULL;
  rc = rpu__spec_default(&spec, &arena, ctx, &e, e.name);
  if (rc != 0) {
    rpu__error_prefix("cannot build the defaults");
  } else {
    switch (e.kind) {
    case RPU_MODEL_DEVICE: rc = check_device(&e, spec); break;
    case RPU_MODEL_NOISE_MODEL: rc = check_noise_model(&e, spec); break;
    default: rc = check_drift_compensation(&e, spec); break;
    }
  }
  rpu__arena_free(&arena);
  if (rc != 0) rpu__error_prefix("model '%s' (plugin '%s', %s)", e.name, e.plugin, e.file);
  return rc;
}

/* Pulses of both signs, several per element, over all, some and one
 * column(s) of a row, in unsorted column order. */
static const int cols_all[] = {0, 1, 2, 3};
static const int32_t counts_all[] = {1, -1, 2, -3};
static const int cols_some[] = {3, 1};
static const int32_t counts_some[] = {-2, 1};
static const int cols_one[] = {2};
static const int32_t counts_one[] = {5};

static int check_device(const rpu_model_entry *e, const rpu_device_spec *spec) {
  const rpu_device_vtable *vt = e->desc->vtable; /* normalised: all hooks readable */
  float w[CHECK_ROWS * CHECK_COLS] = {0};
  rpu_weights view = {w, CHECK_ROWS, CHECK_COLS, CHECK_COLS};
  rpu_rng_cursor construction = cursor(RPU_RNG_CONSTRUCTION);
  rpu_rng_cursor update = cursor(RPU_RNG_UPDATE);
  rpu_device_init init = {(uint32_t)sizeof(rpu_device_init), spec->params, spec,
                          CHECK_ROWS, CHECK_COLS, &construction};
  void *state = NULL;
  rpu_error_clear();
  int rc = vt->create(&state, &init, view);
  if (rc != 0) return hook_failed(rc, e->name, "create");
  if ((rc = finite_or_fail(w, e->name, "create")) != 0) goto out;

  if (e->device_class == RPU_DEVICE_PULSED) {
    double g = vt->granularity(spec->params);
    if (!(g > 0.0) || !isfinite(g)) {
      rc = rpu__error_set(RPU_EPLUGIN, e->name,
                          "granularity returned %g (must be positive and finite)", g);
      goto out;
    }
  }
  if (vt->pulse_row != NULL) {
    vt->pulse_row(state, w, 0, cols_all, counts_all, 4, &update);
    vt->pulse_row(state, w + CHECK_COLS, 1, cols_some, counts_some, 2, &update);
    vt->pulse_row(state, w + 2 * CHECK_COLS, 2, cols_one, counts_one, 1, &update);
    if ((rc = finite_or_fail(w, e->name, "pulse_row")) != 0) goto out;
  }
  if (vt->post_update != NULL) {
    rpu_error_clear();
    if ((rc = vt->post_update(state, view, &update)) != 0) {
      rc = hook_failed(rc, e->name, "post_update");
      goto out;
    }
    if ((rc = finite_or_fail(w, e->name, "post_update")) != 0) goto out;
  }
  if (vt->clip != NULL) {
    vt->clip(state, view, -1.0); /* to the device bounds */
    if ((rc = finite_or_fail(w, e->name, "clip")) != 0) goto out;
  }
  if (vt->state_size != NULL && vt->save != NULL && vt->load != NULL) {
    size_t n = vt->state_size(state);
    void *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
      rc = rpu__error_set(RPU_ENOMEM, e->name, "out of memory for %zu bytes of state", n);
      goto out;
    }
    rpu_error_clear();
    rc = vt->save(state, buf, n);
    if (rc != 0) {
      rc = hook_failed(rc, e->name, "save");
    } else {
      rpu_error_clear();
      if ((rc = vt->load(state, buf, n)) != 0) rc = hook_failed(rc, e->name, "load");
    }
    free(buf);
  }
out:
  vt->destroy(state);
  return rc;
}

static int check_noise_model(const rpu_model_entry *e, const rpu_device_spec *spec) {
  const rpu_noise_model_vtable *vt = e->desc->vtable;
  void *state = NULL;
  rpu_error_clear();
  int rc = vt->create(&state, spec->params);
  if (rc != 0) return hook_failed(rc, e->name, "create");
  vt->destroy(state);
  return 0;
}

static int check_drift_compensation(const rpu_model_entry *e, const rpu_device_spec *spec) {
  const rpu_drift_compensation_vtable *vt = e->desc->vtable;
  void *state = NULL;
  rpu_error_clear();
  int rc = vt->create(&state, spec->params);
  if (rc != 0) return hook_failed(rc, e->name, "create");
  vt->destroy(state);
  return 0;
}

/* Keeps the plugin's own message if it set one (rpu_error_set), else says
 * which hook returned what. */
static int hook_failed(int rc, const char *model, const char *hook) {
  if (rc > 0 || rc <= RPU__STATUS_LAST_) /* not one of the RPU_E* codes */
    return rpu__error_set(RPU_EPLUGIN, model, "hook %s returned the invalid status %d", hook,
                          rc);
  if (rpu__error_code() == RPU_OK)
    return rpu__error_set(rc, model, "hook %s failed: %s", hook, rpu_strerror(rc));
  rpu__error_prefix("hook %s failed", hook);
  return rc;
}

static int finite_or_fail(const float *w, const char *model, const char *hook) {
  for (int i = 0; i < CHECK_ROWS * CHECK_COLS; i++)
    if (!isfinite(w[i]))
      return rpu__error_set(RPU_EPLUGIN, model,
                            "hook %s left a non-finite weight %g at row %d, column %d", hook,
                            (double)w[i], i / CHECK_COLS, i % CHECK_COLS);
  return 0;
}

static rpu_rng_cursor cursor(uint32_t purpose) {
  rpu_rng_cursor c;
  c.stream = rpu_rng_stream_make(CHECK_SEED, 0, purpose);
  c.pos = 0;
  return c;
}
