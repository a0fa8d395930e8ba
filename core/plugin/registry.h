/* Internal: the library context — registered models, candidate plugin
 * files and the open plugin handles (DESIGN.md §4).
 *
 * A context owns copies of everything it hands out except the strings and
 * tables inside the plugins themselves, which stay valid because every
 * loaded plugin stays open until rpu_context_free.  Model descriptors are
 * normalised on registration (see registry.c), so the rest of the core can
 * read every field and hook of rpu_model_desc and its vtable without
 * checking struct_size: a hook beyond the plugin's struct_size reads NULL.
 */
#ifndef RPU_CORE_PLUGIN_REGISTRY_H
#define RPU_CORE_PLUGIN_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/arena.h"
#include "rpu/context.h"
#include "rpu/plugin.h"

/* One candidate plugin file, loaded or rejected.  All strings are owned by
 * the context's arena. */
typedef struct rpu__file_rec {
  char *file;     /* path as given or as found in a directory */
  char *realpath; /* resolved path ("" if it could not be resolved) */
  uint32_t status; /* rpu_plugin_status */
  char *plugin;    /* plugin name, "" if the descriptor was not read */
  char *error;     /* rejection reason, "" if loaded */
  int code;        /* rejection code, 0 if loaded */
  uint32_t n_models;
  void *handle;    /* lt_dlhandle of a loaded file, NULL if rejected */
} rpu__file_rec;

struct rpu_context {
  rpu__arena arena;         /* strings and normalised descriptors */
  rpu_model_entry *models;  /* registration order */
  size_t n_models, cap_models;
  rpu__file_rec *files;     /* in the order they were seen */
  size_t n_files, cap_files;
  int ltdl_ready;           /* lt_dlinit succeeded for this context */
};

/* Registers the validated models of a plugin that was opened from
 * `file_index` (all or nothing: RPU_ENOMEM leaves the registry as it was).
 * The loader has already checked names, kinds and hooks. */
int rpu__registry_add_plugin(rpu_context *ctx, size_t file_index,
                             const rpu_plugin_info *info);

/* Appends a file record (status LOADED, no models yet).  Returns its index
 * in *index, or RPU_ENOMEM. */
int rpu__registry_add_file(rpu_context *ctx, const char *file,
                           const char *realpath, size_t *index);

/* Marks file record `index` rejected with `code` and the current last error
 * message as reason; returns code. */
int rpu__registry_reject(rpu_context *ctx, size_t index, int code,
                         const char *plugin);

/* The registered model called `name` of any kind, or NULL. */
const rpu_model_entry *rpu__registry_lookup(const rpu_context *ctx,
                                            const char *name);

/* Index of a loaded file record with the same real path, or -1. */
long rpu__registry_loaded_realpath(const rpu_context *ctx,
                                   const char *realpath);

/* Index of a loaded file record that holds `handle`, or -1. */
long rpu__registry_loaded_handle(const rpu_context *ctx, const void *handle);

#endif
