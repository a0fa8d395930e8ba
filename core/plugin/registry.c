/* The library context: search path, model registry and the record of every
 * candidate plugin file (DESIGN.md §4, include/rpu/context.h).
 *
 * Registration normalises each model descriptor into context-owned memory:
 * rpu_model_desc, its vtable and its parameter table are copied into
 * host-sized structures, zero-filled beyond what the plugin provided.  So
 * an older plugin with shorter structures reads as one whose newer hooks
 * are NULL, and the rest of the core never checks struct_size itself.
 * Strings and functions still point into the plugin, which stays loaded
 * until the context is freed.  Compare models by name, not by pointer. */
#include "core/plugin/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin/loader.h"
#include "core/util/error.h"

#ifndef RPU_PLUGIN_DIR
#define RPU_PLUGIN_DIR "/usr/local/lib/rpu/plugins"
#endif

static int load_path_list(rpu_context *ctx, const char *list);
static int check_options(const rpu_context_options *o);
static const rpu_model_desc *normalise_model(rpu__arena *a, const rpu_model_desc *m);
static int grow(void **arr, size_t *cap, size_t need, size_t elem);
static void append(char *buf, size_t cap, size_t *len, const char *s);

/* ----- public API --------------------------------------------------------- */

int rpu_context_new(rpu_context **out, const rpu_context_options *opts) {
  static const rpu_context_options defaults = RPU_CONTEXT_OPTIONS_INIT;
  if (out == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_new", "rpu_context_new: out is NULL");
  *out = NULL;
  if (opts == NULL) opts = &defaults;
  int rc = check_options(opts);
  if (rc != 0) return rc;
  rpu_context *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return rpu__error_set(RPU_ENOMEM, "rpu_context_new", "rpu_context_new: out of memory");
  if ((rc = rpu__ltdl_init()) != 0) {
    free(ctx);
    return rc;
  }
  ctx->ltdl_ready = 1;
  /* Search order (DESIGN.md §4); only running out of memory fails. */
  for (size_t i = 0; i < opts->n_plugin_files && rc == 0; i++)
    if (rpu__load_file(ctx, opts->plugin_files[i]) == RPU_ENOMEM) rc = RPU_ENOMEM;
  for (size_t i = 0; i < opts->n_plugin_dirs && rc == 0; i++)
    rc = rpu__load_dir(ctx, opts->plugin_dirs[i]);
  if (rc == 0 && !opts->ignore_env) rc = load_path_list(ctx, getenv("RPU_PLUGIN_PATH"));
  if (rc == 0 && !opts->no_system) {
    const char *sys = opts->ignore_env ? NULL : getenv("RPU_PLUGIN_SYSTEM_PATH");
    /* Set, even empty, replaces the installed directory. */
    rc = sys != NULL ? load_path_list(ctx, sys) : rpu__load_dir(ctx, rpu_plugin_system_dir());
  }
  if (rc != 0) {
    rpu_context_free(ctx);
    return rpu__error_set(RPU_ENOMEM, "rpu_context_new",
                          "rpu_context_new: out of memory while loading plugins");
  }
  *out = ctx;
  return 0;
}

void rpu_context_free(rpu_context *ctx) {
  if (ctx == NULL) return;
  /* Reverse order of loading, like destructors. */
  for (size_t i = ctx->n_files; i-- > 0;) rpu__ltdl_close(ctx->files[i].handle);
  if (ctx->ltdl_ready) rpu__ltdl_exit();
  free(ctx->models);
  free(ctx->files);
  rpu__arena_free(&ctx->arena);
  free(ctx);
}

int rpu_context_load_plugin(rpu_context *ctx, const char *path) {
  return rpu__load_file(ctx, path);
}

const char *rpu_plugin_system_dir(void) { return RPU_PLUGIN_DIR; }

size_t rpu_context_model_count(const rpu_context *ctx) {
  return ctx != NULL ? ctx->n_models : 0;
}

int rpu_context_model_at(const rpu_context *ctx, size_t i, rpu_model_entry *out) {
  if (ctx == NULL || out == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_model_at",
                          "rpu_context_model_at: %s is NULL", ctx == NULL ? "ctx" : "out");
  if (i >= ctx->n_models)
    return rpu__error_set(RPU_ERANGE, "rpu_context_model_at",
                          "rpu_context_model_at: index %zu is out of range (%zu models)", i,
                          ctx->n_models);
  *out = ctx->models[i];
  return 0;
}

int rpu_context_find_model(const rpu_context *ctx, const char *name, uint32_t kind,
                           rpu_model_entry *out) {
  if (ctx == NULL || name == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_find_model",
                          "rpu_context_find_model: %s is NULL", ctx == NULL ? "ctx" : "name");
  if (kind > RPU_MODEL_DRIFT_COMPENSATION)
    return rpu__error_set(RPU_EINVAL, "rpu_context_find_model",
                          "rpu_context_find_model: unknown model kind %u", (unsigned)kind);
  const rpu_model_entry *e = rpu__registry_lookup(ctx, name);
  if (e != NULL && (kind == 0 || e->kind == kind)) {
    if (out != NULL) *out = *e;
    return 0;
  }
  /* Not found: name the valid choices (DESIGN.md §3). */
  const char *what = kind != 0 ? rpu_model_kind_name(kind) : "model";
  char list[1536];
  size_t len = 0;
  list[0] = '\0';
  for (size_t i = 0; i < ctx->n_models; i++) {
    if (kind != 0 && ctx->models[i].kind != kind) continue;
    if (len > 0) append(list, sizeof list, &len, ", ");
    append(list, sizeof list, &len, ctx->models[i].name);
  }
  char wrong[256] = "";
  if (e != NULL)
    snprintf(wrong, sizeof wrong, " ('%s' is a %s, not a %s)", name,
             rpu_model_kind_name(e->kind), what);
  if (len == 0)
    return rpu__error_set(RPU_ENOTFOUND, name,
                          "unknown %s '%s'%s (no %s is registered; check RPU_PLUGIN_PATH "
                          "and `rpu-plugins list --all`)",
                          what, name, wrong, what);
  return rpu__error_set(RPU_ENOTFOUND, name, "unknown %s '%s'%s (known: %s)", what, name,
                        wrong, list);
}

size_t rpu_context_file_count(const rpu_context *ctx) {
  return ctx != NULL ? ctx->n_files : 0;
}

int rpu_context_file_at(const rpu_context *ctx, size_t i, rpu_plugin_file *out) {
  if (ctx == NULL || out == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_file_at",
                          "rpu_context_file_at: %s is NULL", ctx == NULL ? "ctx" : "out");
  if (i >= ctx->n_files)
    return rpu__error_set(RPU_ERANGE, "rpu_context_file_at",
                          "rpu_context_file_at: index %zu is out of range (%zu files)", i,
                          ctx->n_files);
  const rpu__file_rec *r = &ctx->files[i];
  out->file = r->file;
  out->status = r->status;
  out->plugin = r->plugin;
  out->error = r->error;
  out->code = r->code;
  out->n_models = r->n_models;
  return 0;
}

/* ----- internal API (registry.h) ------------------------------------------ */

int rpu__registry_add_file(rpu_context *ctx, const char *file, const char *realpath,
                           size_t *index) {
  if (grow((void **)&ctx->files, &ctx->cap_files, ctx->n_files + 1, sizeof *ctx->files) != 0)
    return rpu__error_set(RPU_ENOMEM, file, "%s: out of memory", file);
  rpu__file_rec r;
  memset(&r, 0, sizeof r);
  r.file = rpu__arena_strdup(&ctx->arena, file);
  r.realpath = rpu__arena_strdup(&ctx->arena, realpath);
  r.plugin = rpu__arena_strdup(&ctx->arena, "");
  r.error = r.plugin;
  if (r.file == NULL || r.realpath == NULL || r.plugin == NULL)
    return rpu__error_set(RPU_ENOMEM, file, "%s: out of memory", file);
  r.status = RPU_PLUGIN_LOADED;
  ctx->files[ctx->n_files] = r;
  *index = ctx->n_files++;
  return 0;
}

int rpu__registry_reject(rpu_context *ctx, size_t index, int code, const char *plugin) {
  rpu__file_rec *r = &ctx->files[index];
  char *err = rpu__arena_strdup(&ctx->arena, rpu_error_last()->message);
  char *pn = plugin != NULL ? rpu__arena_strdup(&ctx->arena, plugin) : NULL;
  r->status = RPU_PLUGIN_REJECTED;
  r->code = code;
  r->n_models = 0;
  r->handle = NULL;
  if (err != NULL) r->error = err;
  if (pn != NULL) r->plugin = pn;
  if (err == NULL || (plugin != NULL && pn == NULL)) return RPU_ENOMEM;
  return code;
}

int rpu__registry_add_plugin(rpu_context *ctx, size_t file_index,
                             const rpu_plugin_info *info) {
  size_t need = ctx->n_models + info->n_models;
  if (grow((void **)&ctx->models, &ctx->cap_models, need, sizeof *ctx->models) != 0)
    return rpu__error_set(RPU_ENOMEM, info->name, "out of memory registering plugin '%s'",
                          info->name);
  rpu__file_rec *f = &ctx->files[file_index];
  char *pn = rpu__arena_strdup(&ctx->arena, info->name);
  if (pn == NULL) return RPU_ENOMEM;
  /* Normalise everything first so a failure registers nothing. */
  for (uint32_t i = 0; i < info->n_models; i++) {
    const rpu_model_desc *d = normalise_model(&ctx->arena, info->models[i]);
    if (d == NULL) return RPU_ENOMEM;
    rpu_model_entry *e = &ctx->models[ctx->n_models + i];
    e->name = d->name;
    e->kind = d->kind;
    e->device_class = d->device_class;
    e->plugin = pn;
    e->file = f->file;
    e->desc = d;
  }
  ctx->n_models = need;
  f->plugin = pn;
  f->n_models = info->n_models;
  return 0;
}

const rpu_model_entry *rpu__registry_lookup(const rpu_context *ctx, const char *name) {
  for (size_t i = 0; i < ctx->n_models; i++)
    if (strcmp(ctx->models[i].name, name) == 0) return &ctx->models[i];
  return NULL;
}

long rpu__registry_loaded_realpath(const rpu_context *ctx, const char *realpath) {
  for (size_t i = 0; i < ctx->n_files; i++)
    if (ctx->files[i].status == RPU_PLUGIN_LOADED && ctx->files[i].handle != NULL &&
        strcmp(ctx->files[i].realpath, realpath) == 0)
      return (long)i;
  return -1;
}

long rpu__registry_loaded_handle(const rpu_context *ctx, const void *handle) {
  for (size_t i = 0; i < ctx->n_files; i++)
    if (ctx->files[i].status == RPU_PLUGIN_LOADED && ctx->files[i].handle == handle)
      return (long)i;
  return -1;
}

/* ----- helpers ------------------------------------------------------------- */

/* Loads each non-empty entry of a colon-separated directory list. */
static int load_path_list(rpu_context *ctx, const char *list) {
  if (list == NULL) return 0;
  const char *p = list;
  while (*p != '\0') {
    const char *end = strchr(p, ':');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    if (n > 0) {
      char *dir = malloc(n + 1);
      if (dir == NULL) return RPU_ENOMEM;
      memcpy(dir, p, n);
      dir[n] = '\0';
      int rc = rpu__load_dir(ctx, dir);
      free(dir);
      if (rc != 0) return rc;
    }
    if (end == NULL) break;
    p = end + 1;
  }
  return 0;
}

static int check_options(const rpu_context_options *o) {
  if (o->version != RPU_CONTEXT_OPTIONS_VERSION)
    return rpu__error_set(RPU_EINVAL, "rpu_context_new",
                          "rpu_context_new: options version %u is not supported (expected %d; "
                          "initialise the options with RPU_CONTEXT_OPTIONS_INIT)",
                          o->version, RPU_CONTEXT_OPTIONS_VERSION);
  if (o->n_plugin_files > 0 && o->plugin_files == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_new",
                          "rpu_context_new: plugin_files is NULL but n_plugin_files is %zu",
                          o->n_plugin_files);
  if (o->n_plugin_dirs > 0 && o->plugin_dirs == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_context_new",
                          "rpu_context_new: plugin_dirs is NULL but n_plugin_dirs is %zu",
                          o->n_plugin_dirs);
  for (size_t i = 0; i < o->n_plugin_files; i++)
    if (o->plugin_files[i] == NULL || o->plugin_files[i][0] == '\0')
      return rpu__error_set(RPU_EINVAL, "rpu_context_new",
                            "rpu_context_new: plugin_files[%zu] is NULL or empty", i);
  for (size_t i = 0; i < o->n_plugin_dirs; i++)
    if (o->plugin_dirs[i] == NULL || o->plugin_dirs[i][0] == '\0')
      return rpu__error_set(RPU_EINVAL, "rpu_context_new",
                            "rpu_context_new: plugin_dirs[%zu] is NULL or empty", i);
  return 0;
}

/* Host-sized copies of a validated descriptor, its vtable and its
 * parameter table; fields beyond the plugin's sizes read as zero. */
static const rpu_model_desc *normalise_model(rpu__arena *a, const rpu_model_desc *m) {
  rpu_model_desc *d = rpu__arena_alloc(a, sizeof *d);
  if (d == NULL) return NULL;
  memcpy(d, m, m->struct_size < sizeof *d ? m->struct_size : sizeof *d);
  d->struct_size = (uint32_t)sizeof *d;

  size_t host_vt = rpu__vtable_size(m->kind);
  uint32_t plugin_vt;
  memcpy(&plugin_vt, m->vtable, sizeof plugin_vt);
  void *vt = rpu__arena_alloc(a, host_vt);
  if (vt == NULL) return NULL;
  memcpy(vt, m->vtable, plugin_vt < host_vt ? plugin_vt : host_vt);
  uint32_t host_vt32 = (uint32_t)host_vt;
  memcpy(vt, &host_vt32, sizeof host_vt32);
  d->vtable = vt;

  if (m->n_params > 0) {
    rpu_param_desc *p = rpu__arena_alloc(a, m->n_params * sizeof *p);
    if (p == NULL) return NULL;
    size_t each = m->param_desc_size < sizeof *p ? m->param_desc_size : sizeof *p;
    for (uint32_t i = 0; i < m->n_params; i++)
      memcpy(&p[i], (const char *)m->params + (size_t)i * m->param_desc_size, each);
    d->params = p;
  }
  d->param_desc_size = (uint32_t)sizeof(rpu_param_desc);
  return d;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) ncap *= 2;
  void *p = realloc(*arr, ncap * elem);
  if (p == NULL) return RPU_ENOMEM;
  *arr = p;
  *cap = ncap;
  return 0;
}

/* Appends s, ending with "..." once the buffer is full. */
static void append(char *buf, size_t cap, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (*len + n + 4 >= cap) {
    if (*len + 4 < cap && strcmp(buf + (*len >= 3 ? *len - 3 : 0), "...") != 0) {
      memcpy(buf + *len, "...", 4);
      *len += 3;
    }
    return;
  }
  memcpy(buf + *len, s, n + 1);
  *len += n;
}
