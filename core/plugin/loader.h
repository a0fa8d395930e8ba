/* Internal: opening plugin files with libltdl and validating their
 * descriptors before anything is registered (DESIGN.md §4).
 *
 * Every libltdl call goes through the rpu__ltdl_* wrappers, which hold one
 * static mutex — the only global mutable state of the library — because
 * libltdl keeps global state (its handle list, lt_dlerror) of its own. */
#ifndef RPU_CORE_PLUGIN_LOADER_H
#define RPU_CORE_PLUGIN_LOADER_H

#include <stddef.h>

#include "rpu/context.h"
#include "rpu/plugin.h"

/* Reference-counted lt_dlinit / lt_dlexit.  init returns 0 or RPU_EPLUGIN
 * (last error set). */
int rpu__ltdl_init(void);
void rpu__ltdl_exit(void);

/* Opens a module by file name (no search).  NULL on failure, with
 * libltdl's reason copied into err. */
void *rpu__ltdl_open(const char *path, char *err, size_t err_len);
/* Looks up `name` (libltdl tries "<module>_LTX_<name>" first); NULL if
 * absent. */
void *rpu__ltdl_sym(void *handle, const char *name);
/* Closes a handle returned by rpu__ltdl_open (NULL is fine). */
void rpu__ltdl_close(void *handle);

/* Loads one plugin file into ctx.  The file is recorded either way; a
 * plugin registers all of its models or none.  Returns 0 or the rejection
 * code (the last error says why, naming the file). */
int rpu__load_file(rpu_context *ctx, const char *path);

/* Loads every *.la / *.so file of `dir` (a .la wins over a .so of the same
 * base name), sorted by name.  A directory that does not exist or cannot
 * be read is skipped silently; rejected files are only recorded.  Returns
 * 0 or RPU_ENOMEM. */
int rpu__load_dir(rpu_context *ctx, const char *dir);

/* Checks a plugin descriptor against the host ABI and the registry of ctx:
 * ABI version, sizes, names, kinds, classes, schemas, mandatory hooks,
 * duplicates inside the plugin and names already registered.  Returns 0
 * or the code of the first problem (message without the file name). */
int rpu__plugin_validate(const rpu_context *ctx, const rpu_plugin_info *info);

/* Size of the leading fields of rpu_plugin_info / rpu_model_desc /
 * rpu_param_desc that ABI 1.0 defines; smaller struct_size values are
 * refused. */
size_t rpu__plugin_info_min_size(void);
size_t rpu__model_desc_min_size(void);
size_t rpu__param_desc_min_size(void);

/* Size of the host's vtable for a model kind (0 for an unknown kind). */
size_t rpu__vtable_size(uint32_t kind);

#endif
