/* Plugin loading: libltdl behind one lock, directory scans, and the
 * descriptor validation that runs before anything registers (DESIGN.md §4).
 *
 * The order of checks follows what can be read safely: the three leading
 * fields of rpu_plugin_info exist forever, so the ABI version is checked
 * before any other field is touched; sizes are checked before the fields
 * they cover; a model is checked completely before the next one. */
#include "core/plugin/loader.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/plugin/params.h"
#include "core/plugin/registry.h"
#include "core/util/error.h"

/* The only global mutable state of the library (STYLE.md): libltdl keeps
 * a global handle list and error string, so every call goes through here. */
static pthread_mutex_t ltdl_lock = PTHREAD_MUTEX_INITIALIZER;

#define ENTRY_SYMBOL "rpu_plugin_entry"

static void copy_ltdl_error(char *err, size_t err_len);
static int open_and_register(rpu_context *ctx, size_t idx, const char *path);
static const char *readable_plugin_name(const rpu_plugin_info *info);
static int validate_model(const rpu_plugin_info *info, uint32_t i,
                          const rpu_model_desc *m);
static int validate_vtable(const char *plugin, const rpu_model_desc *m);
static int hook_present(const void *vt, uint32_t vt_size, size_t offset);
static int is_candidate(const char *name);
static int cmp_names(const void *a, const void *b);
static char *join_path(const char *dir, const char *name);

/* ----- libltdl wrappers ------------------------------------------------- */

int rpu__ltdl_init(void) {
  char err[256] = "";
  pthread_mutex_lock(&ltdl_lock);
  int rc = lt_dlinit(); /* libltdl counts init/exit pairs itself */
  if (rc != 0) copy_ltdl_error(err, sizeof err);
  pthread_mutex_unlock(&ltdl_lock);
  if (rc != 0)
    return rpu__error_set(RPU_EPLUGIN, "libltdl", "cannot initialise libltdl: %s", err);
  return 0;
}

void rpu__ltdl_exit(void) {
  pthread_mutex_lock(&ltdl_lock);
  lt_dlexit();
  pthread_mutex_unlock(&ltdl_lock);
}

void *rpu__ltdl_open(const char *path, char *err, size_t err_len) {
  lt_dlhandle h = NULL;
  lt_dladvise adv;
  pthread_mutex_lock(&ltdl_lock);
  if (lt_dladvise_init(&adv) != 0) {
    copy_ltdl_error(err, err_len);
  } else {
    /* Local symbols: two plugins may define the same internal names. */
    if (lt_dladvise_local(&adv) == 0) h = lt_dlopenadvise(path, adv);
    if (h == NULL) copy_ltdl_error(err, err_len);
    lt_dladvise_destroy(&adv);
  }
  pthread_mutex_unlock(&ltdl_lock);
  return h;
}

void *rpu__ltdl_sym(void *handle, const char *name) {
  pthread_mutex_lock(&ltdl_lock);
  void *p = lt_dlsym((lt_dlhandle)handle, name);
  if (p == NULL) (void)lt_dlerror(); /* drop the error: absence is an answer */
  pthread_mutex_unlock(&ltdl_lock);
  return p;
}

void rpu__ltdl_close(void *handle) {
  if (handle == NULL) return;
  pthread_mutex_lock(&ltdl_lock);
  lt_dlclose((lt_dlhandle)handle);
  pthread_mutex_unlock(&ltdl_lock);
}

/* ----- loading one file / one directory --------------------------------- */

int rpu__load_file(rpu_context *ctx, const char *path) {
  char real[PATH_MAX];
  struct stat st;
  size_t idx;
  int rc;
  if (ctx == NULL || path == NULL || *path == '\0')
    return rpu__error_set(RPU_EINVAL, "rpu_context_load_plugin",
                          "rpu_context_load_plugin: %s is NULL or empty",
                          ctx == NULL ? "ctx" : "path");
  if (realpath(path, real) == NULL) {
    int e = errno;
    if ((rc = rpu__registry_add_file(ctx, path, "", &idx)) != 0) return rc;
    rpu__error_set(RPU_EIO, path, "%s: cannot open plugin: %s", path, strerror(e));
    return rpu__registry_reject(ctx, idx, RPU_EIO, NULL);
  }
  long prev = rpu__registry_loaded_realpath(ctx, real);
  if ((rc = rpu__registry_add_file(ctx, path, real, &idx)) != 0) return rc;
  if (prev >= 0) {
    rpu__error_set(RPU_EDUPLICATE, path, "%s: already loaded (as %s)", path,
                   ctx->files[prev].file);
    return rpu__registry_reject(ctx, idx, RPU_EDUPLICATE, ctx->files[prev].plugin);
  }
  if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
    rpu__error_set(RPU_EPLUGIN, path, "%s: cannot open plugin: not a regular file", path);
    return rpu__registry_reject(ctx, idx, RPU_EPLUGIN, NULL);
  }
  return open_and_register(ctx, idx, path);
}

int rpu__load_dir(rpu_context *ctx, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return 0; /* a missing directory is not an error (DESIGN §4) */
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_candidate(e->d_name)) continue;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      char **nn = realloc(names, ncap * sizeof *nn);
      if (nn == NULL) { rc = RPU_ENOMEM; break; }
      names = nn;
      cap = ncap;
    }
    if ((names[n] = strdup(e->d_name)) == NULL) { rc = RPU_ENOMEM; break; }
    n++;
  }
  closedir(d);
  if (rc == 0) {
    /* Sorted by name so the first-registration-wins rule is deterministic. */
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
      size_t len = strlen(names[i]);
      if (strcmp(names[i] + len - 3, ".so") == 0) {
        /* A libtool archive describes the same module; prefer it. */
        char la[NAME_MAX + 1];
        snprintf(la, sizeof la, "%.*s.la", (int)(len - 3), names[i]);
        const char *key = la;
        if (bsearch(&key, names, n, sizeof *names, cmp_names) != NULL) continue;
      }
      char *path = join_path(dir, names[i]);
      if (path == NULL) { rc = RPU_ENOMEM; break; }
      if (rpu__load_file(ctx, path) == RPU_ENOMEM) rc = RPU_ENOMEM;
      free(path);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  if (rc == RPU_ENOMEM)
    return rpu__error_set(RPU_ENOMEM, dir, "%s: out of memory while scanning for plugins", dir);
  return 0;
}

/* ----- descriptor validation -------------------------------------------- */

size_t rpu__plugin_info_min_size(void) {
  return offsetof(rpu_plugin_info, n_models) + sizeof(uint32_t);
}

size_t rpu__model_desc_min_size(void) {
  return offsetof(rpu_model_desc, vtable) + sizeof(const void *);
}

size_t rpu__param_desc_min_size(void) {
  return offsetof(rpu_param_desc, offset) + sizeof(size_t);
}

size_t rpu__vtable_size(uint32_t kind) {
  switch (kind) {
  case RPU_MODEL_DEVICE: return sizeof(rpu_device_vtable);
  case RPU_MODEL_NOISE_MODEL: return sizeof(rpu_noise_model_vtable);
  case RPU_MODEL_DRIFT_COMPENSATION: return sizeof(rpu_drift_compensation_vtable);
  default: return 0;
  }
}

int rpu__plugin_validate(const rpu_context *ctx, const rpu_plugin_info *info) {
  /* Only abi_major, abi_minor and struct_size are fixed forever. */
  if (info->abi_major != RPU_ABI_MAJOR)
    return rpu__error_set(RPU_EABI, NULL,
                          "plugin ABI %u.%u is incompatible with this library's ABI %d.%d "
                          "(major versions differ; rebuild the plugin against this rpu)",
                          (unsigned)info->abi_major, (unsigned)info->abi_minor,
                          RPU_ABI_MAJOR, RPU_ABI_MINOR);
  if (info->abi_minor > RPU_ABI_MINOR)
    return rpu__error_set(RPU_EABI, NULL,
                          "plugin ABI %u.%u is newer than this library's ABI %d.%d "
                          "(upgrade rpu or rebuild the plugin against this rpu)",
                          (unsigned)info->abi_major, (unsigned)info->abi_minor,
                          RPU_ABI_MAJOR, RPU_ABI_MINOR);
  if (info->struct_size < rpu__plugin_info_min_size())
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "rpu_plugin_info.struct_size is %u, less than the %zu bytes of ABI %d.0",
                          (unsigned)info->struct_size, rpu__plugin_info_min_size(),
                          RPU_ABI_MAJOR);
  if (info->name == NULL || info->name[0] == '\0')
    return rpu__error_set(RPU_EPLUGIN, NULL, "the plugin descriptor has no name");
  if (info->models == NULL || info->n_models == 0)
    return rpu__error_set(RPU_EPLUGIN, NULL, "plugin '%s' lists no models", info->name);
  for (uint32_t i = 0; i < info->n_models; i++) {
    const rpu_model_desc *m = info->models[i];
    int rc = validate_model(info, i, m);
    if (rc != 0) return rc;
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(info->models[j]->name, m->name) == 0)
        return rpu__error_set(RPU_EDUPLICATE, NULL, "plugin '%s' lists model '%s' twice",
                              info->name, m->name);
    const rpu_model_entry *prev = rpu__registry_lookup(ctx, m->name);
    if (prev != NULL)
      return rpu__error_set(RPU_EDUPLICATE, NULL,
                            "plugin '%s': model '%s' is already registered by plugin '%s' "
                            "from %s (the first registration wins)",
                            info->name, m->name, prev->plugin, prev->file);
  }
  return 0;
}

/* ----- helpers ----------------------------------------------------------- */

static void copy_ltdl_error(char *err, size_t err_len) {
  const char *e = lt_dlerror();
  snprintf(err, err_len, "%s", e != NULL ? e : "unknown libltdl error");
}

/* Opens file record idx, finds the entry, validates and registers.  On any
 * failure the handle is closed after the record has copied what it needs. */
static int open_and_register(rpu_context *ctx, size_t idx, const char *path) {
  char err[512];
  char *open_path = NULL;
  /* libltdl searches its path for a bare name; "./" pins the file. */
  if (strchr(path, '/') == NULL) {
    open_path = join_path(".", path);
    if (open_path == NULL) {
      rpu__error_set(RPU_ENOMEM, path, "%s: out of memory", path);
      return rpu__registry_reject(ctx, idx, RPU_ENOMEM, NULL);
    }
  }
  void *h = rpu__ltdl_open(open_path != NULL ? open_path : path, err, sizeof err);
  free(open_path);
  if (h == NULL) {
    rpu__error_set(RPU_EPLUGIN, path, "%s: cannot open plugin: %s", path, err);
    return rpu__registry_reject(ctx, idx, RPU_EPLUGIN, NULL);
  }
  long same = rpu__registry_loaded_handle(ctx, h);
  if (same >= 0) {
    /* The same library under another name (a .la and its .so, a link). */
    rpu__error_set(RPU_EDUPLICATE, path, "%s: already loaded (same library as %s)", path,
                   ctx->files[same].file);
    int rc = rpu__registry_reject(ctx, idx, RPU_EDUPLICATE, ctx->files[same].plugin);
    rpu__ltdl_close(h);
    return rc;
  }
  union {
    void *obj;
    rpu_plugin_entry_fn fn;
  } entry;
  entry.obj = rpu__ltdl_sym(h, ENTRY_SYMBOL);
  const rpu_plugin_info *info = NULL;
  int rc;
  if (entry.obj == NULL) {
    rc = rpu__error_set(RPU_EPLUGIN, path,
                        "%s: no entry point '%s' (a plugin defines it with RPU_PLUGIN_DEFINE)",
                        path, ENTRY_SYMBOL);
  } else if ((info = entry.fn()) == NULL) {
    rc = rpu__error_set(RPU_EPLUGIN, path, "%s: %s() returned NULL", path, ENTRY_SYMBOL);
  } else if ((rc = rpu__plugin_validate(ctx, info)) != 0) {
    rpu__error_prefix("%s", path);
  } else if ((rc = rpu__registry_add_plugin(ctx, idx, info)) != 0) {
    rpu__error_prefix("%s", path);
  } else {
    ctx->files[idx].handle = h;
    return 0;
  }
  rc = rpu__registry_reject(ctx, idx, rc, info != NULL ? readable_plugin_name(info) : NULL);
  rpu__ltdl_close(h);
  return rc;
}

/* The plugin name if the descriptor is recent enough to have one. */
static const char *readable_plugin_name(const rpu_plugin_info *info) {
  if (info->abi_major != RPU_ABI_MAJOR ||
      info->struct_size < offsetof(rpu_plugin_info, name) + sizeof(const char *))
    return NULL;
  return info->name;
}

static int validate_model(const rpu_plugin_info *info, uint32_t i, const rpu_model_desc *m) {
  const char *pn = info->name;
  char msg[1024];
  if (m == NULL)
    return rpu__error_set(RPU_EPLUGIN, NULL, "plugin '%s': model #%u is NULL", pn, (unsigned)i);
  if (m->struct_size < rpu__model_desc_min_size())
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model #%u: rpu_model_desc.struct_size is %u, less "
                          "than the %zu bytes of ABI %d.0",
                          pn, (unsigned)i, (unsigned)m->struct_size,
                          rpu__model_desc_min_size(), RPU_ABI_MAJOR);
  if (m->name == NULL || m->name[0] == '\0')
    return rpu__error_set(RPU_EPLUGIN, NULL, "plugin '%s': model #%u has no name", pn,
                          (unsigned)i);
  const char *mn = m->name;
  if (rpu__vtable_size(m->kind) == 0)
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model '%s': unknown kind %u (expected 1 device, "
                          "2 noise_model or 3 drift_compensation)",
                          pn, mn, (unsigned)m->kind);
  if (m->kind == RPU_MODEL_DEVICE &&
      (m->device_class < RPU_DEVICE_FLOATING_POINT ||
       m->device_class > RPU_DEVICE_DIGITAL_RANK_UPDATE))
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model '%s': unknown device class %u (expected 1..5: "
                          "floating_point, ideal, pulsed, unit_cell, digital_rank_update)",
                          pn, mn, (unsigned)m->device_class);
  if (m->kind != RPU_MODEL_DEVICE && m->device_class != RPU_DEVICE_CLASS_NONE)
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model '%s': a %s must have device class 0 (none), "
                          "not %u",
                          pn, mn, rpu_model_kind_name(m->kind), (unsigned)m->device_class);
  if (m->summary == NULL)
    return rpu__error_set(RPU_EPLUGIN, NULL, "plugin '%s': model '%s' has no summary", pn, mn);
  if (m->n_params > 0 && m->params == NULL)
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model '%s' declares %u parameters but no table", pn,
                          mn, (unsigned)m->n_params);
  if (m->n_params > 0 && m->param_desc_size < rpu__param_desc_min_size())
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model '%s': param_desc_size is %u, less than the "
                          "%zu bytes of ABI %d.0",
                          pn, mn, (unsigned)m->param_desc_size, rpu__param_desc_min_size(),
                          RPU_ABI_MAJOR);
  if (m->n_params > 0) {
    msg[0] = '\0';
    int rc = rpu__schema_check(m->params, m->n_params, m->param_desc_size, m->params_size,
                               msg, sizeof msg);
    if (rc != 0)
      return rpu__error_set(rc, NULL, "plugin '%s': model '%s': invalid parameter schema: %s",
                            pn, mn, msg[0] != '\0' ? msg : rpu_strerror(rc));
  }
  return validate_vtable(pn, m);
}

/* Mandatory hooks per kind (DESIGN.md §4). */
typedef struct hook_rule {
  uint32_t kind;
  int pulsed_only;
  size_t offset;
  const char *name;
} hook_rule;

static const hook_rule hook_rules[] = {
    {RPU_MODEL_DEVICE, 0, offsetof(rpu_device_vtable, create), "create"},
    {RPU_MODEL_DEVICE, 0, offsetof(rpu_device_vtable, destroy), "destroy"},
    {RPU_MODEL_DEVICE, 1, offsetof(rpu_device_vtable, granularity), "granularity"},
    {RPU_MODEL_DEVICE, 1, offsetof(rpu_device_vtable, pulse_row), "pulse_row"},
    {RPU_MODEL_NOISE_MODEL, 0, offsetof(rpu_noise_model_vtable, create), "create"},
    {RPU_MODEL_NOISE_MODEL, 0, offsetof(rpu_noise_model_vtable, destroy), "destroy"},
    {RPU_MODEL_NOISE_MODEL, 0, offsetof(rpu_noise_model_vtable, program), "program"},
    {RPU_MODEL_NOISE_MODEL, 0, offsetof(rpu_noise_model_vtable, drift), "drift"},
    {RPU_MODEL_DRIFT_COMPENSATION, 0, offsetof(rpu_drift_compensation_vtable, create),
     "create"},
    {RPU_MODEL_DRIFT_COMPENSATION, 0, offsetof(rpu_drift_compensation_vtable, destroy),
     "destroy"},
    {RPU_MODEL_DRIFT_COMPENSATION, 0, offsetof(rpu_drift_compensation_vtable, readout),
     "readout"},
};

static int validate_vtable(const char *pn, const rpu_model_desc *m) {
  const char *kind = rpu_model_kind_name(m->kind);
  if (m->vtable == NULL)
    return rpu__error_set(RPU_EPLUGIN, NULL, "plugin '%s': model '%s' has no %s vtable", pn,
                          m->name, kind);
  uint32_t vt_size;
  memcpy(&vt_size, m->vtable, sizeof vt_size); /* every vtable starts with it */
  if (vt_size < sizeof(uint32_t))
    return rpu__error_set(RPU_EPLUGIN, NULL,
                          "plugin '%s': model '%s': vtable struct_size %u is too small", pn,
                          m->name, (unsigned)vt_size);
  int pulsed = m->kind == RPU_MODEL_DEVICE && m->device_class == RPU_DEVICE_PULSED;
  for (size_t i = 0; i < sizeof hook_rules / sizeof hook_rules[0]; i++) {
    const hook_rule *r = &hook_rules[i];
    if (r->kind != m->kind || (r->pulsed_only && !pulsed)) continue;
    if (!hook_present(m->vtable, vt_size, r->offset))
      return rpu__error_set(RPU_EPLUGIN, NULL,
                            "plugin '%s': model '%s': the %s vtable has no '%s' hook "
                            "(mandatory for %s%s)",
                            pn, m->name, kind, r->name, r->pulsed_only ? "pulsed " : "",
                            r->pulsed_only ? "devices" : "every model of this kind");
  }
  return 0;
}

/* A hook is present if it lies inside the plugin's struct_size and is not
 * NULL (hooks beyond struct_size are absent, DESIGN.md §4). */
static int hook_present(const void *vt, uint32_t vt_size, size_t offset) {
  void (*fp)(void);
  if (offset + sizeof fp > vt_size) return 0;
  memcpy(&fp, (const char *)vt + offset, sizeof fp);
  return fp != NULL;
}

static int is_candidate(const char *name) {
  size_t len = strlen(name);
  if (name[0] == '.' || len <= 3) return 0; /* hidden files, bare ".so" */
  return strcmp(name + len - 3, ".la") == 0 || strcmp(name + len - 3, ".so") == 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *join_path(const char *dir, const char *name) {
  size_t dl = strlen(dir);
  while (dl > 0 && dir[dl - 1] == '/') dl--; /* "dir/" + "x" without "//" */
  size_t n = dl + strlen(name) + 2;
  char *p = malloc(n);
  if (p == NULL) return NULL;
  snprintf(p, n, "%.*s/%s", (int)dl, dir, name);
  return p;
}
