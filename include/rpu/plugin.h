/* rpu — the plugin ABI (DESIGN.md §4).
 *
 * A plugin is one shared object exporting one entry, written with
 * RPU_PLUGIN_DEFINE.  The entry returns a static, constant rpu_plugin_info
 * that lists the plugin's models; calling it has no side effects, so listing
 * plugins creates nothing.
 *
 * Compatibility rules: the host accepts a plugin only if abi_major equals
 * RPU_ABI_MAJOR and abi_minor is not newer than RPU_ABI_MINOR.  Structures
 * only grow by appending; every structure and vtable carries its size and
 * the host treats fields beyond that size as absent (NULL hooks).
 */
#ifndef RPU_PLUGIN_H
#define RPU_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/common.h"
#include "rpu/params.h"
#include "rpu/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RPU_ABI_MAJOR 1
#define RPU_ABI_MINOR 1

typedef enum rpu_model_kind {
  RPU_MODEL_DEVICE = 1,
  RPU_MODEL_NOISE_MODEL = 2,
  RPU_MODEL_DRIFT_COMPENSATION = 3
} rpu_model_kind;

typedef enum rpu_device_class {
  RPU_DEVICE_CLASS_NONE = 0, /* not a device */
  RPU_DEVICE_FLOATING_POINT = 1,
  RPU_DEVICE_IDEAL = 2,
  RPU_DEVICE_PULSED = 3,
  RPU_DEVICE_UNIT_CELL = 4,
  RPU_DEVICE_DIGITAL_RANK_UPDATE = 5
} rpu_device_class;

/* "device", "noise_model", "drift_compensation"; "?" if unknown. */
RPU_API const char *rpu_model_kind_name(uint32_t kind);
/* "floating_point", "ideal", "pulsed", "unit_cell", "digital_rank_update";
 * "" for RPU_DEVICE_CLASS_NONE. */
RPU_API const char *rpu_device_class_name(uint32_t device_class);

/* A view of (part of) a row-major float matrix owned by the core. */
typedef struct rpu_weights {
  float *w;
  int rows;
  int cols;
  size_t ld; /* distance between rows, in elements (>= cols) */
} rpu_weights;

/* A random stream plus a position: draws consume positions.  Plugins use
 * the rpu_rng_cursor_* functions; the engine hands out cursors whose
 * streams are keyed by (seed, tile, purpose, step, sub). */
typedef struct rpu_rng_cursor {
  rpu_rng_stream stream;
  uint64_t pos;
} rpu_rng_cursor;

RPU_API void rpu_rng_cursor_uniform(rpu_rng_cursor *c, float *out, size_t n);
RPU_API void rpu_rng_cursor_normal(rpu_rng_cursor *c, float *out, size_t n);

/* Reports an error from inside a plugin hook: records it as the thread's
 * last error (origin: the model name is a good choice) and returns code,
 * so a hook can `return rpu_error_set(RPU_EINVAL, "MyDevice", "...")`. */
RPU_API int rpu_error_set(int code, const char *origin, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ----- Device models ---------------------------------------------------- */

/* What a device's create hook receives. */
typedef struct rpu_device_init {
  uint32_t struct_size;
  const void *params;            /* the model's typed parameter struct */
  const rpu_device_spec *spec;   /* the same device as a spec */
  int rows;                      /* d_size: outputs */
  int cols;                      /* x_size: inputs */
  rpu_rng_cursor *construction;  /* device-to-device sampling stream */
} rpu_device_init;

/* Hooks of a device model.  Hooks work on rows or whole tiles, never per
 * element.  Optional hooks may be NULL.  Pulse direction convention
 * (SPEC.md §3.3): a positive count means "down" pulses (weight decreases),
 * a negative count "up" pulses. */
typedef struct rpu_device_vtable {
  uint32_t struct_size;
  /* Allocates the device state; samples device-to-device variation from
   * init->construction; may initialise w (e.g. clip to bounds).
   * Mandatory. */
  int (*create)(void **state, const rpu_device_init *init, rpu_weights w);
  /* Frees the state. Mandatory. */
  void (*destroy)(void *state);
  /* Weight granularity (SPEC.md §4.3) from the typed parameters.
   * Mandatory for pulsed devices. */
  double (*granularity)(const void *params);
  /* Applies counts[k] signed pulses to column cols[k] of row `row`, k in
   * [0, n).  w_row points at the row's first element.  Mandatory for
   * pulsed devices. */
  void (*pulse_row)(void *state, float *w_row, int row, const int *cols,
                    const int32_t *counts, int n, rpu_rng_cursor *rng);
  /* Once per mini-batch: diffusion, then decay (SPEC.md §1.2, §4.5). */
  int (*post_update)(void *state, rpu_weights w, rpu_rng_cursor *rng);
  /* Clips to the device bounds (c < 0) or to [-c, c] within them. */
  void (*clip)(void *state, rpu_weights w, double c);
  /* Resets columns start..start+n-1 (wrapping), each element with
   * probability prob (SPEC.md §4.5). */
  void (*reset_cols)(void *state, rpu_weights w, int start, int n,
                     double prob, rpu_rng_cursor *rng);
  /* Advances drift by dt (in the device's time units, SPEC.md §6.6). */
  int (*drift)(void *state, rpu_weights w, double dt, rpu_rng_cursor *rng);
  /* Called after the core has copied user weights into w: adjust them to
   * the device (clip to bounds, write noise) and update hidden state. */
  int (*set_weights)(void *state, rpu_weights w, rpu_rng_cursor *rng);
  /* Refreshes the visible weights w from hidden state before a read. */
  int (*get_weights)(void *state, rpu_weights w);
  /* Hidden state serialisation: size in bytes, then save into / load from
   * a buffer of exactly that size.  NULL if the device has none. */
  size_t (*state_size)(const void *state);
  int (*save)(const void *state, void *buf, size_t len);
  int (*load)(void *state, const void *buf, size_t len);
  /* ABI 1.1.  Optional (a plugin built against the 1.0 header has a
   * shorter struct_size and reads as NULL here).  Dense form of
   * pulse_row: counts[j] signed pulses for every column j
   * in [0, cols) of row `row` (0 = no pulse, so the element must be left
   * as it is), same sign convention as pulse_row.  The pulse engine calls
   * it instead of pulse_row when present, which saves compacting the
   * counts and lets the device vectorise over the row.  The result must
   * follow the same model as pulse_row (the two may consume the random
   * stream differently).  Runs on several rows at once, like pulse_row. */
  void (*pulse_row_dense)(void *state, float *w_row, int row,
                          const int32_t *counts, rpu_rng_cursor *rng);
} rpu_device_vtable;

/* ----- Noise models and drift compensation (inference) ----------------- */

typedef struct rpu_noise_model_vtable {
  uint32_t struct_size;
  int (*create)(void **state, const void *params);
  void (*destroy)(void *state);
  /* Weights to programmed weights (programming noise); fills per-element
   * drift exponents nu for the later drift calls. */
  int (*program)(void *state, const float *w_ref, float *w_prog, float *nu,
                 size_t n, rpu_rng_cursor *rng);
  /* Programmed weights at t seconds after programming, with read noise. */
  int (*drift)(void *state, const float *w_prog, const float *nu,
               float *w_out, size_t n, double t, rpu_rng_cursor *rng);
} rpu_noise_model_vtable;

typedef struct rpu_drift_compensation_vtable {
  uint32_t struct_size;
  int (*create)(void **state, const void *params);
  void (*destroy)(void *state);
  /* Reduces a read-out y (rows x cols, one row per one-hot input) to
   * `n_out` reference values. */
  int (*readout)(void *state, const float *y, int rows, int cols,
                 float *ref, int n_out);
} rpu_drift_compensation_vtable;

/* ----- Descriptors ------------------------------------------------------ */

/* Cross-field check of a model's typed parameters; on failure sets
 * *param to the offending parameter's name, writes a message and returns
 * a negative code. */
typedef int (*rpu_params_check_fn)(const void *params, const char **param,
                                   char *msg, size_t msg_len);

typedef struct rpu_model_desc {
  uint32_t struct_size;
  const char *name;      /* registry name, e.g. "ConstantStepDevice" */
  uint32_t kind;         /* rpu_model_kind */
  uint32_t device_class; /* rpu_device_class */
  const char *summary;   /* one line */
  const rpu_param_desc *params;
  uint32_t n_params;
  uint32_t param_desc_size; /* sizeof(rpu_param_desc) at build time */
  size_t params_size;       /* sizeof the typed parameter struct */
  rpu_params_check_fn check; /* optional */
  const void *vtable; /* rpu_device_vtable, rpu_noise_model_vtable or
                         rpu_drift_compensation_vtable, by kind */
} rpu_model_desc;

typedef struct rpu_plugin_info {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  const char *name;    /* plugin name, e.g. "pulsed" */
  const char *version; /* plugin version string */
  const char *summary;
  const rpu_model_desc *const *models;
  uint32_t n_models;
} rpu_plugin_info;

typedef const rpu_plugin_info *(*rpu_plugin_entry_fn)(void);

/* Emits the exported entry of a plugin.  `module` is the plugin's file
 * base name (libtool's module_LTX_ prefix lets it be preloaded into a
 * static binary); a plain `rpu_plugin_entry` is emitted as well so the
 * file may be renamed (define RPU_PLUGIN_STATIC to omit it when several
 * plugins are linked into one binary).  The entry returns `info_ptr`. */
#if defined(__GNUC__)
#define RPU__EXPORT __attribute__((visibility("default")))
#else
#define RPU__EXPORT
#endif
#if defined(RPU_PLUGIN_STATIC)
#define RPU__PLUGIN_PLAIN_ENTRY(info_ptr)
#else
#define RPU__PLUGIN_PLAIN_ENTRY(info_ptr)                                   \
  RPU__EXPORT const rpu_plugin_info *rpu_plugin_entry(void);                \
  const rpu_plugin_info *rpu_plugin_entry(void) { return (info_ptr); }
#endif
#define RPU_PLUGIN_DEFINE(module, info_ptr)                                 \
  RPU__EXPORT const rpu_plugin_info *module##_LTX_rpu_plugin_entry(void);   \
  const rpu_plugin_info *module##_LTX_rpu_plugin_entry(void) {              \
    return (info_ptr);                                                      \
  }                                                                         \
  RPU__PLUGIN_PLAIN_ENTRY(info_ptr)

/* Fills the leading fields of an rpu_plugin_info. */
#define RPU_PLUGIN_INFO_HEAD                                                \
  RPU_ABI_MAJOR, RPU_ABI_MINOR, (uint32_t)sizeof(rpu_plugin_info)

/* Parameter descriptor helpers: S is the typed struct, F its field. */
#define RPU__PD(nm, ty, fl, d, lo, hi, ds, ev, da, dn, un, dc, off)         \
  { nm, ty, fl, d, lo, hi, ds, ev, da, dn, un, dc, off }
#define RPU_PARAM_DEF_BOOL(N, S, F, D, DOC)                                 \
  RPU__PD(N, RPU_PARAM_BOOL, 0u, D, 0, 1, NULL, NULL, NULL, 0, "", DOC,     \
          offsetof(S, F))
#define RPU_PARAM_DEF_INT(N, S, F, D, LO, HI, UNIT, DOC)                    \
  RPU__PD(N, RPU_PARAM_INT, 0u, D, LO, HI, NULL, NULL, NULL, 0, UNIT, DOC,  \
          offsetof(S, F))
#define RPU_PARAM_DEF_REAL(N, S, F, D, LO, HI, UNIT, DOC)                   \
  RPU__PD(N, RPU_PARAM_REAL, 0u, D, LO, HI, NULL, NULL, NULL, 0, UNIT, DOC, \
          offsetof(S, F))
#define RPU_PARAM_DEF_ENUM(N, S, F, DEFNAME, VALUES, DOC)                   \
  RPU__PD(N, RPU_PARAM_ENUM, 0u, 0, 0, 0, DEFNAME, VALUES, NULL, 0, "",     \
          DOC, offsetof(S, F))
#define RPU_PARAM_DEF_REAL_ARRAY(N, S, F, DARR, DLEN, LO, HI, UNIT, DOC)    \
  RPU__PD(N, RPU_PARAM_REAL_ARRAY, 0u, 0, LO, HI, NULL, NULL, DARR, DLEN,   \
          UNIT, DOC, offsetof(S, F))
#define RPU_PARAM_DEF_DEVICE(N, S, F, DEFTYPE, FLAGS, DOC)                  \
  RPU__PD(N, RPU_PARAM_DEVICE, FLAGS, 0, 0, 0, DEFTYPE, NULL, NULL, 0, "",  \
          DOC, offsetof(S, F))
#define RPU_PARAM_DEF_DEVICE_LIST(N, S, F, DOC)                             \
  RPU__PD(N, RPU_PARAM_DEVICE_LIST, 0u, 0, 0, 0, NULL, NULL, NULL, 0, "",   \
          DOC, offsetof(S, F))
#define RPU_PARAM_DEF_IO(N, S, F, DOC)                                      \
  RPU__PD(N, RPU_PARAM_IO_PARAMS, 0u, 0, 0, 0, NULL, NULL, NULL, 0, "",     \
          DOC, offsetof(S, F))
#define RPU_PARAM_DEF_UPDATE(N, S, F, DOC)                                  \
  RPU__PD(N, RPU_PARAM_UPDATE_PARAMS, 0u, 0, 0, 0, NULL, NULL, NULL, 0, "", \
          DOC, offsetof(S, F))

/* Fills the schema fields of an rpu_model_desc from a static array. */
#define RPU_MODEL_PARAMS(ARR, S)                                            \
  ARR, (uint32_t)(sizeof(ARR) / sizeof((ARR)[0])),                          \
      (uint32_t)sizeof(rpu_param_desc), sizeof(S)

/* ----- Host services for plugins ---------------------------------------- */

/* The model and typed parameters of a device spec (borrowed). */
RPU_API const rpu_model_desc *rpu_device_spec_model(const rpu_device_spec *s);
RPU_API const void *rpu_device_spec_params(const rpu_device_spec *s);

#ifdef __cplusplus
}
#endif

#endif /* RPU_PLUGIN_H */
