/* rpu — the library context: loaded plugins and the model registry.
 *
 * A context owns everything that plugins provide.  Creating one scans the
 * plugin search path (DESIGN.md §4):
 *   1. the directories given in the options (e.g. --plugin-path),
 *   2. RPU_PLUGIN_PATH (colon-separated),
 *   3. RPU_PLUGIN_SYSTEM_PATH if set (even empty), else the installed
 *      plugin directory.
 * Every candidate file is recorded, loaded or rejected with the reason.
 * The first registration of a model name wins; a plugin registers all of
 * its models or none.  Plugins stay loaded until the context is freed;
 * descriptors and names borrowed from a context live as long as it.
 */
#ifndef RPU_CONTEXT_H
#define RPU_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/common.h"
#include "rpu/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rpu_context rpu_context;

#define RPU_CONTEXT_OPTIONS_VERSION 1

typedef struct rpu_context_options {
  unsigned version;                /* RPU_CONTEXT_OPTIONS_VERSION */
  const char *const *plugin_files; /* loaded first, in order */
  size_t n_plugin_files;
  const char *const *plugin_dirs;  /* then these directories, in order */
  size_t n_plugin_dirs;
  int ignore_env;  /* do not read RPU_PLUGIN_PATH / RPU_PLUGIN_SYSTEM_PATH */
  int no_system;   /* do not scan the system (installed) directory */
} rpu_context_options;

#define RPU_CONTEXT_OPTIONS_INIT {RPU_CONTEXT_OPTIONS_VERSION, NULL, 0, NULL, 0, 0, 0}

/* Creates a context and loads the plugins of the search path (opts may be
 * NULL for the defaults).  A plugin that fails to load is recorded as
 * rejected and does not make this call fail. */
RPU_API int rpu_context_new(rpu_context **out, const rpu_context_options *opts);

/* Unloads all plugins and frees the context (NULL is fine). */
RPU_API void rpu_context_free(rpu_context *ctx);

/* Loads one plugin file explicitly.  Returns 0, or the reason it was
 * rejected (the file is recorded either way). */
RPU_API int rpu_context_load_plugin(rpu_context *ctx, const char *path);

/* The installed plugin directory this library was built with. */
RPU_API const char *rpu_plugin_system_dir(void);

/* One registered model. */
typedef struct rpu_model_entry {
  const char *name;
  uint32_t kind;         /* rpu_model_kind */
  uint32_t device_class; /* rpu_device_class */
  const char *plugin;    /* plugin name */
  const char *file;      /* file it was loaded from */
  const rpu_model_desc *desc;
} rpu_model_entry;

/* Number of registered models, in registration order. */
RPU_API size_t rpu_context_model_count(const rpu_context *ctx);
/* The i-th registered model; RPU_ERANGE if i is out of range. */
RPU_API int rpu_context_model_at(const rpu_context *ctx, size_t i,
                                 rpu_model_entry *out);
/* Looks a model up by name; RPU_ENOTFOUND (message lists the known names
 * of that kind, or all if kind is 0) if there is none. */
RPU_API int rpu_context_find_model(const rpu_context *ctx, const char *name,
                                   uint32_t kind, rpu_model_entry *out);

typedef enum rpu_plugin_status {
  RPU_PLUGIN_LOADED = 0,
  RPU_PLUGIN_REJECTED = 1
} rpu_plugin_status;

/* One candidate plugin file seen while loading. */
typedef struct rpu_plugin_file {
  const char *file;
  uint32_t status;     /* rpu_plugin_status */
  const char *plugin;  /* plugin name if the descriptor was read, else "" */
  const char *error;   /* reason for rejection, "" if loaded */
  int code;            /* status code of the rejection, 0 if loaded */
  uint32_t n_models;   /* models registered from this file */
} rpu_plugin_file;

RPU_API size_t rpu_context_file_count(const rpu_context *ctx);
RPU_API int rpu_context_file_at(const rpu_context *ctx, size_t i,
                                rpu_plugin_file *out);

/* Self-test of one registered model with its default parameters: builds
 * the defaults, then for a device creates it on a small tile, applies a
 * few pulses (pulsed devices), runs the post-update step and destroys it;
 * for noise models and drift compensations creates and destroys them.
 * The same code backs `rpu-plugins check` and the every-model test. */
RPU_API int rpu_context_check_model(rpu_context *ctx, const char *name);

/* Threads used by the library (BLAS and OpenMP alike); n <= 0 means all
 * cores.  Process-wide, like the BLAS setting it governs. */
RPU_API void rpu_set_num_threads(int n);
RPU_API int rpu_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* RPU_CONTEXT_H */
