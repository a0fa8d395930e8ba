/* The machinery every model of the `pulsed` plugin shares (SPEC.md §4.1,
 * §4.2, §4.4, §4.5, §4.7, §6.6): the common typed parameters and their
 * schema entries, the device state with its per-element parameters as flat
 * float arrays (structure of arrays), device-to-device sampling, decay,
 * diffusion, reset, clip, drift, set-weights, write noise and hidden-state
 * serialisation.  A model file adds its own parameters, its extra sampling,
 * its granularity and its pulse_row; everything else points at the hooks
 * declared here.
 *
 * Conventions: element (i, j) of a state array is at i*cols + j; the core's
 * weight views may have ld > cols.  pulse_row runs on several rows at once
 * (the pulse engine parallelises over rows), so it only touches its row and
 * uses stack buffers; the tile-level hooks run alone and may use
 * s->scratch. */
#ifndef RPU_PLUGINS_PULSED_COMMON_H
#define RPU_PLUGINS_PULSED_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpu/plugin.h"

/* ----- Typed parameters --------------------------------------------------- */

/* DriftParameter of SPEC.md §6.6 (nested object "drift" in JSON). */
typedef struct rpu__drift_params {
  double nu, nu_dtod, nu_std, wg_ratio, g_offset, w_offset, nu_k, log_g0;
  double t_0, reset_tol, w_noise_std;
} rpu__drift_params;

/* The common PulsedDevice parameters of SPEC.md §4.1; every model's typed
 * struct starts with one of these (member `c`).  write_noise_std and
 * apply_write_noise_on_set are only in the schema of the models that
 * support write noise; the others never read them. */
typedef struct rpu__pulsed_params {
  int construction_seed;
  double corrupt_devices_prob, corrupt_devices_range;
  double diffusion, diffusion_dtod;
  double dw_min, dw_min_dtod;
  int dw_min_dtod_log_normal;
  double dw_min_std;
  int enforce_consistency;
  double lifetime, lifetime_dtod;
  int perfect_bias;
  double reset, reset_dtod, reset_std;
  double up_down, up_down_dtod;
  double w_max, w_max_dtod, w_min, w_min_dtod;
  int count_pulses;
  double write_noise_std;
  int apply_write_noise_on_set;
  rpu__drift_params drift;
} rpu__pulsed_params;

/* Schema entries for struct S whose first member `c` is an
 * rpu__pulsed_params.  Split so SoftBoundsPmaxDevice can leave out the
 * four parameters it derives (SPEC.md §4.6). */
#define RPU__PULSED_BASE_PARAMS(S)                                             \
  RPU_PARAM_DEF_INT("construction_seed", S, c.construction_seed, 0, 0,         \
                    2147483647, "",                                            \
                    "if not 0, seeds the device-to-device sampling instead "   \
                    "of the tile seed (SPEC 4.1, 12.2)"),                      \
  RPU_PARAM_DEF_REAL("corrupt_devices_prob", S, c.corrupt_devices_prob, 0.0,   \
                     0.0, 1.0, "",                                             \
                     "probability that a device is stuck at a random value "   \
                     "(SPEC 4.2 step 6)"),                                     \
  RPU_PARAM_DEF_REAL("corrupt_devices_range", S, c.corrupt_devices_range, 0.1, \
                     0.0, INFINITY, "weight",                                  \
                     "stuck values are uniform in [-range, range] within the " \
                     "bounds"),                                                \
  RPU_PARAM_DEF_REAL("diffusion", S, c.diffusion, 0.0, 0.0, INFINITY,          \
                     "weight",                                                 \
                     "std of the Gaussian added to each weight per "           \
                     "mini-batch (SPEC 4.5)"),                                 \
  RPU_PARAM_DEF_REAL("diffusion_dtod", S, c.diffusion_dtod, 0.0, 0.0,          \
                     INFINITY, "relative",                                     \
                     "device-to-device spread of diffusion"),                  \
  RPU_PARAM_DEF_REAL("dw_min_dtod", S, c.dw_min_dtod, 0.3, 0.0, INFINITY,      \
                     "relative", "device-to-device spread of the step size"),  \
  RPU_PARAM_DEF_BOOL("dw_min_dtod_log_normal", S, c.dw_min_dtod_log_normal, 0, \
                     "step-size gain exp(dw_min_dtod*xi) instead of "          \
                     "1 + dw_min_dtod*xi"),                                    \
  RPU_PARAM_DEF_REAL("dw_min_std", S, c.dw_min_std, 0.3, 0.0, INFINITY,        \
                     "relative",                                               \
                     "cycle-to-cycle noise of each step (SPEC 4.4, 4.6)"),     \
  RPU_PARAM_DEF_BOOL("enforce_consistency", S, c.enforce_consistency, 1,       \
                     "make sampled steps positive and bounds straddle 0 "      \
                     "(SPEC 4.2 step 5)"),                                     \
  RPU_PARAM_DEF_REAL("lifetime", S, c.lifetime, 0.0, 0.0, INFINITY,            \
                     "mini-batches",                                           \
                     "decay towards the reset bias: w = (w-b)(1-1/lifetime)+b" \
                     " per mini-batch; 0 = off"),                              \
  RPU_PARAM_DEF_REAL("lifetime_dtod", S, c.lifetime_dtod, 0.0, 0.0, INFINITY,  \
                     "relative", "device-to-device spread of the lifetime"),   \
  RPU_PARAM_DEF_BOOL("perfect_bias", S, c.perfect_bias, 0,                     \
                     "the last column (analog bias) gets nominal steps and "   \
                     "100x wider bounds"),                                     \
  RPU_PARAM_DEF_REAL("reset", S, c.reset, 0.0, -INFINITY, INFINITY, "weight",  \
                     "reset value and decay target (reset bias) mean"),        \
  RPU_PARAM_DEF_REAL("reset_dtod", S, c.reset_dtod, 0.0, 0.0, INFINITY,        \
                     "weight", "device-to-device spread of the reset bias"),   \
  RPU_PARAM_DEF_REAL("reset_std", S, c.reset_std, 0.01, 0.0, INFINITY,         \
                     "weight", "cycle-to-cycle spread of a reset"),            \
  RPU_PARAM_DEF_REAL("up_down_dtod", S, c.up_down_dtod, 0.01, 0.0, INFINITY,   \
                     "relative",                                               \
                     "device-to-device spread of the up/down asymmetry"),      \
  RPU_PARAM_DEF_REAL("w_max_dtod", S, c.w_max_dtod, 0.3, 0.0, INFINITY,        \
                     "relative", "device-to-device spread of the upper bound"),\
  RPU_PARAM_DEF_REAL("w_min_dtod", S, c.w_min_dtod, 0.3, 0.0, INFINITY,        \
                     "relative", "device-to-device spread of the lower bound"),\
  RPU_PARAM_DEF_BOOL("count_pulses", S, c.count_pulses, 0,                     \
                     "accepted for aihwkit compatibility (GPU only there); "   \
                     "no effect"),                                             \
  RPU__PULSED_DRIFT_PARAMS(S)

#define RPU__PULSED_BOUND_PARAMS(S)                                            \
  RPU_PARAM_DEF_REAL("dw_min", S, c.dw_min, 0.001, 0.0, INFINITY, "weight",    \
                     "mean step size of one pulse"),                           \
  RPU_PARAM_DEF_REAL("up_down", S, c.up_down, 0.0, -1.0, 1.0, "relative",      \
                     "systematic asymmetry; > 0 makes down steps smaller "     \
                     "(SPEC 4.2)"),                                            \
  RPU_PARAM_DEF_REAL("w_max", S, c.w_max, 0.6, -INFINITY, INFINITY, "weight",  \
                     "mean upper bound (must be >= 0)"),                       \
  RPU_PARAM_DEF_REAL("w_min", S, c.w_min, -0.6, -INFINITY, INFINITY, "weight", \
                     "mean lower bound (must be <= 0)")

#define RPU__PULSED_WRITE_NOISE_PARAMS(S)                                      \
  RPU_PARAM_DEF_REAL("write_noise_std", S, c.write_noise_std, 0.0, 0.0,        \
                     INFINITY, "dw_min",                                       \
                     "std of the write noise on the apparent weight; > 0 "     \
                     "keeps a hidden persistent weight (SPEC 4.4)"),           \
  RPU_PARAM_DEF_BOOL("apply_write_noise_on_set", S,                            \
                     c.apply_write_noise_on_set, 1,                            \
                     "also draw write noise when weights are set")

#define RPU__PULSED_DRIFT_PARAMS(S)                                            \
  RPU_PARAM_DEF_REAL("drift.nu", S, c.drift.nu, 0.0, 0.0, INFINITY, "",        \
                     "drift exponent: w = w0 (t/t_0)^-nu (SPEC 4.7, 6.6); "    \
                     "0 = no drift"),                                          \
  RPU_PARAM_DEF_REAL("drift.nu_dtod", S, c.drift.nu_dtod, 0.0, 0.0, INFINITY,  \
                     "relative", "device-to-device spread of nu"),             \
  RPU_PARAM_DEF_REAL("drift.nu_std", S, c.drift.nu_std, 0.0, 0.0, INFINITY,    \
                     "relative", "spread of nu redrawn at every drift call"),  \
  RPU_PARAM_DEF_REAL("drift.wg_ratio", S, c.drift.wg_ratio, 1.0, 0.0,          \
                     INFINITY, "weight/conductance",                           \
                     "weight-to-conductance ratio (> 0) of the nu_k term"),    \
  RPU_PARAM_DEF_REAL("drift.g_offset", S, c.drift.g_offset, 0.0, -INFINITY,    \
                     INFINITY, "conductance", "conductance offset"),           \
  RPU_PARAM_DEF_REAL("drift.w_offset", S, c.drift.w_offset, 0.0, -INFINITY,    \
                     INFINITY, "weight", "weight offset"),                     \
  RPU_PARAM_DEF_REAL("drift.nu_k", S, c.drift.nu_k, 0.0, -INFINITY, INFINITY,  \
                     "", "dependence of nu on log conductance; 0 = none"),     \
  RPU_PARAM_DEF_REAL("drift.log_g0", S, c.drift.log_g0, 0.0, -INFINITY,        \
                     INFINITY, "", "log conductance where the nu_k term is 0"),\
  RPU_PARAM_DEF_REAL("drift.t_0", S, c.drift.t_0, 1.0, 0.0, INFINITY, "s",     \
                     "drift time unit (> 0)"),                                 \
  RPU_PARAM_DEF_REAL("drift.reset_tol", S, c.drift.reset_tol, 1e-7, 0.0,       \
                     INFINITY, "weight",                                       \
                     "a weight that moved more than this since the last "      \
                     "drift call restarts its drift"),                         \
  RPU_PARAM_DEF_REAL("drift.w_noise_std", S, c.drift.w_noise_std, 0.0, 0.0,    \
                     INFINITY, "weight", "read-out noise added at each drift "  \
                     "call")

/* ----- Models -------------------------------------------------------------- */

typedef struct rpu__pulsed_state rpu__pulsed_state;

/* Model flags. */
#define RPU__PM_WRITE_NOISE 0x1u /* schema has write_noise_std (SPEC 4.1) */

/* What the common code needs to know about a model. */
typedef struct rpu__pulsed_model {
  const char *name;
  unsigned flags;
  int n_extra;        /* per-element float arrays of the model (<= 4) */
  size_t params_size; /* sizeof its typed parameter struct */
  rpu_params_check_fn check;
  /* Writes the common parameters the model derives from its own ones
   * (SoftBoundsPmaxDevice); NULL if none. */
  void (*derive)(rpu__pulsed_params *c, const void *params);
  /* Samples the model's own per-element parameters after the common ones
   * (SPEC.md §4.2 last paragraph); may also adjust bounds and reset bias.
   * NULL if none. */
  int (*sample)(rpu__pulsed_state *s, rpu_rng_cursor *rng);
} rpu__pulsed_model;

#define RPU__PULSED_MAX_EXTRA 4

/* The state of one pulsed device array. */
struct rpu__pulsed_state {
  const rpu__pulsed_model *m;
  rpu__pulsed_params p; /* common parameters (derived ones filled in) */
  void *mp;             /* copy of the model's typed parameters */
  int rows, cols;
  size_t n; /* rows * cols */
  /* Per-element parameters (SPEC.md §4.2), n floats each. */
  float *b_max, *b_min;    /* bounds */
  float *dw_up, *dw_down;  /* step sizes, both nominally > 0 */
  float *diff_rate;        /* diffusion std rho */
  float *reset_bias;       /* b_reset */
  float *decay;            /* decay scale delta (1: none) */
  float *extra[RPU__PULSED_MAX_EXTRA]; /* the model's own arrays */
  float *wp;               /* persistent weights, NULL without write noise */
  float write_noise;       /* write_noise_std * dw_min, 0 if none */
  float dw_std;            /* dw_min_std as float (cycle-to-cycle noise) */
  /* Drift (SPEC.md §4.7, §6.6); arrays NULL if drift.nu == 0. */
  float *nu, *w0, *prev;
  double *t_start;
  double drift_T;
  int drift_active;
  float *scratch; /* 2 * cols floats for the tile-level hooks */
  /* Model scalars and tables, filled by the model's sample hook from its
   * typed parameters (the meaning of each slot is the model's). */
  double k[8];
  int flag[2];
  float *aux; /* freed by destroy; not part of the hidden state */
};

/* ----- Hooks and helpers --------------------------------------------------- */

/* Checks the common parameters (SPEC.md §4.2: w_min <= 0 <= w_max; drift
 * t_0 and wg_ratio > 0); models call it first in their check hook. */
int rpu__pulsed_check_common(const rpu__pulsed_params *c, const char **param,
                             char *msg, size_t msg_len);

/* The create hook body: checks the parameters, copies them, samples the
 * device-to-device variation of SPEC.md §4.2 (then model->sample, then the
 * drift exponents of §4.7) from the construction stream (re-keyed by
 * construction_seed if not 0), clips the initial weights to the bounds and
 * sets up persistent weights (§4.4). */
int rpu__pulsed_create(void **state, const rpu__pulsed_model *model,
                       const rpu_device_init *init, rpu_weights w);

/* Device vtable hooks shared by all models (see rpu_device_vtable). */
void rpu__pulsed_destroy(void *state);
int rpu__pulsed_post_update(void *state, rpu_weights w, rpu_rng_cursor *rng);
void rpu__pulsed_clip(void *state, rpu_weights w, double c);
void rpu__pulsed_reset_cols(void *state, rpu_weights w, int start, int n,
                            double prob, rpu_rng_cursor *rng);
int rpu__pulsed_drift(void *state, rpu_weights w, double dt,
                      rpu_rng_cursor *rng);
int rpu__pulsed_set_weights(void *state, rpu_weights w, rpu_rng_cursor *rng);
size_t rpu__pulsed_state_size(const void *state);
int rpu__pulsed_save(const void *state, void *buf, size_t len);
int rpu__pulsed_load(void *state, const void *buf, size_t len);

/* The vtable every model uses, with its own granularity and pulse_row. */
#define RPU__PULSED_VTABLE(CREATE, GRANULARITY, PULSE_ROW)                    \
  {                                                                          \
    .struct_size = sizeof(rpu_device_vtable), .create = CREATE,              \
    .destroy = rpu__pulsed_destroy, .granularity = GRANULARITY,              \
    .pulse_row = PULSE_ROW, .post_update = rpu__pulsed_post_update,          \
    .clip = rpu__pulsed_clip, .reset_cols = rpu__pulsed_reset_cols,          \
    .drift = rpu__pulsed_drift, .set_weights = rpu__pulsed_set_weights,      \
    .state_size = rpu__pulsed_state_size, .save = rpu__pulsed_save,          \
    .load = rpu__pulsed_load,                                                \
  }

/* The same with the dense pulse hook (plugin.h pulse_row_dense). */
#define RPU__PULSED_VTABLE_DENSE(CREATE, GRANULARITY, PULSE_ROW, DENSE)      \
  {                                                                          \
    .struct_size = sizeof(rpu_device_vtable), .create = CREATE,              \
    .destroy = rpu__pulsed_destroy, .granularity = GRANULARITY,              \
    .pulse_row = PULSE_ROW, .post_update = rpu__pulsed_post_update,          \
    .clip = rpu__pulsed_clip, .reset_cols = rpu__pulsed_reset_cols,          \
    .drift = rpu__pulsed_drift, .set_weights = rpu__pulsed_set_weights,      \
    .state_size = rpu__pulsed_state_size, .save = rpu__pulsed_save,          \
    .load = rpu__pulsed_load, .pulse_row_dense = DENSE,                      \
  }

/* Nominal up and down steps of a parameter set (SPEC.md §4.2 step 4 with
 * no variation): up = (1 + min(up_down, 0)) dw_min, down = (1 - max(up_down,
 * 0)) dw_min. */
void rpu__pulsed_nominal_steps(const rpu__pulsed_params *c, double *up,
                               double *down);

/* A bound on |xi| for every normal the plugin draws.  They come from
 * rpu_rng_cursor_normal (Box-Muller, DESIGN.md §7): |xi| <= sqrt(-2 ln u1)
 * with u1 the smallest uniform the generator can return.  The library's
 * float normals take the radius uniform from 31 bits (u1 >= 2^-32,
 * |xi| <= sqrt(64 ln 2) = 6.66, core/util/rng.c); even 53-bit uniforms
 * (u1 >= 2^-54) give |xi| <= 8.65.  So 9 holds with margin
 * for any such generator.  The ConstantStep multi-pulse criterion relies on
 * it (constant_step.c); a larger value only makes that criterion stricter. */
#define RPU__XI_MAX 9.0f

/* A row's normals, drawn in as few bulk calls as possible: the caller
 * announces how many it will take, and they come from one
 * rpu_rng_cursor_normal call per RPU__NORMALS_BUF values (one call for
 * a whole row in the usual case).  Lives on the stack of pulse_row. */
#define RPU__NORMALS_BUF 2048
typedef struct rpu__normals {
  rpu_rng_cursor *rng;
  size_t left; /* announced values not yet drawn */
  int i, n;    /* next index and fill of buf */
  float buf[RPU__NORMALS_BUF];
} rpu__normals;

void rpu__normals_refill(rpu__normals *z);

static inline void rpu__normals_init(rpu__normals *z, rpu_rng_cursor *rng,
                                     size_t need) {
  z->rng = rng;
  z->left = need;
  z->i = z->n = 0;
}

static inline float rpu__normals_next(rpu__normals *z) {
  if (z->i == z->n) rpu__normals_refill(z);
  return z->buf[z->i++];
}

/* min then max, written so the compiler emits minss/maxss (no branch). */
static inline float rpu__clampf(float w, float lo, float hi) {
  w = w < hi ? w : hi;
  return w > lo ? w : lo;
}

/* up (count < 0) ? a : -b without a branch: the signs of a row's counts
 * are random, and a mispredicted branch per element costs more than the
 * selection.  Done on the bit patterns so the compiler cannot turn it back
 * into a branch. */
static inline float rpu__signed_step(int32_t count, float a, float b) {
  uint32_t ua, ub, mask = (uint32_t)(count >> 31); /* all ones if < 0 */
  memcpy(&ua, &a, sizeof ua);
  memcpy(&ub, &b, sizeof ub);
  ub ^= 0x80000000u; /* -b */
  const uint32_t r = (ua & mask) | (ub & ~mask);
  float f;
  memcpy(&f, &r, sizeof f);
  return f;
}

/* count < 0 ? a : b without a branch (see rpu__signed_step). */
static inline float rpu__select_up(int32_t count, float a, float b) {
  uint32_t ua, ub, mask = (uint32_t)(count >> 31);
  memcpy(&ua, &a, sizeof ua);
  memcpy(&ub, &b, sizeof ub);
  const uint32_t r = (ua & mask) | (ub & ~mask);
  float f;
  memcpy(&f, &r, sizeof f);
  return f;
}

/* The weight row pulses act on: the persistent row if there is one. */
static inline float *rpu__pulsed_target_row(rpu__pulsed_state *s, float *w_row,
                                            int row) {
  return s->wp != NULL ? s->wp + (size_t)row * (size_t)s->cols : w_row;
}

/* Total number of pulses of a pulse_row call, and of touched elements. */
static inline int64_t rpu__abs_count(int32_t c) {
  return c < 0 ? -(int64_t)c : (int64_t)c;
}

/* The pulse-by-pulse driver of the models whose step depends on the
 * weight.  `pulse` maps (state, element index i*cols+j, count sign, weight,
 * xi) to the weight after one pulse, clipped (xi = 0 without cycle-to-cycle
 * noise); it is inlined into each model's pulse_row, so there is no call per
 * pulse.  Normals: one per pulse (if noisy) and one per touched element for
 * write noise, announced exactly and drawn in bulk (one call per row up to
 * RPU__NORMALS_BUF).  (Running the pulses "pulse-major" across elements to
 * overlap their dependency chains was measured: no faster, since the
 * normals and the arithmetic, not latency, bound the loop.) */
typedef float (*rpu__pulse_fn)(const rpu__pulsed_state *s, size_t i,
                               int32_t count, float x, float xi);

#if defined(__GNUC__)
#define RPU__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define RPU__ALWAYS_INLINE inline
#endif

static RPU__ALWAYS_INLINE void rpu__pulse_elements(
    rpu__pulsed_state *s, float *w_row, int row, const int *cols,
    const int32_t *counts, int n, rpu_rng_cursor *rng, rpu__pulse_fn pulse) {
  if (row < 0 || row >= s->rows || n <= 0) return;
  const size_t o = (size_t)row * (size_t)s->cols;
  const unsigned ncols = (unsigned)s->cols;
  const int noisy = s->p.dw_min_std > 0, wn = s->wp != NULL;
  float *t = rpu__pulsed_target_row(s, w_row, row);
  size_t need = 0;
  for (int k = 0; k < n; k++)
    if (counts[k] != 0 && (unsigned)cols[k] < ncols)
      need += (noisy ? (size_t)rpu__abs_count(counts[k]) : 0) + (wn ? 1 : 0);
  rpu__normals z;
  rpu__normals_init(&z, rng, need);
  for (int k = 0; k < n; k++) {
    const int j = cols[k];
    const int32_t c = counts[k];
    if (c == 0 || (unsigned)j >= ncols) continue;
    const int64_t m = rpu__abs_count(c);
    const size_t i = o + (size_t)j;
    float x = t[j];
    if (noisy)
      for (int64_t p = 0; p < m; p++)
        x = pulse(s, i, c, x, rpu__normals_next(&z));
    else
      for (int64_t p = 0; p < m; p++) x = pulse(s, i, c, x, 0.0f);
    t[j] = x;
    if (wn) w_row[j] = x + s->write_noise * rpu__normals_next(&z);
  }
}

/* ----- Shared between models ---------------------------------------------- */

/* LinearStep family (linear_step.c; used by SoftBounds and SoftBoundsPmax):
 * slopes in extra[0] (up) and extra[1] (down), flag[0] = mult_noise. */
typedef struct rpu__ls_cfg {
  double gamma_up, gamma_down, gamma_up_dtod, gamma_down_dtod;
  int allow_increasing, mean_bound_reference, mult_noise;
  int reverse_up, reverse_down;
  double reverse_offset;
} rpu__ls_cfg;

/* Samples the slopes of SPEC.md §4.6 LinearStepDevice. */
int rpu__linear_step_setup(rpu__pulsed_state *s, const rpu__ls_cfg *cfg,
                           rpu_rng_cursor *rng);
void rpu__linear_step_pulse_row(void *state, float *w_row, int row,
                                const int *cols, const int32_t *counts, int n,
                                rpu_rng_cursor *rng);
/* Its dense twin: the same pulses and the same random positions as
 * pulse_row with the nonzero columns in ascending order (so the results
 * are identical); 16 columns at a time on CPUs with AVX-512. */
void rpu__linear_step_pulse_row_dense(void *state, float *w_row, int row,
                                      const int32_t *counts,
                                      rpu_rng_cursor *rng);
/* reverse_up / reverse_down need mult_noise (SPEC.md §4.6). */
int rpu__linear_step_check_reverse(int mult_noise, int reverse_up,
                                   int reverse_down, const char **param,
                                   char *msg, size_t msg_len);

/* SoftBounds (soft_bounds.c; used by SoftBoundsPmax): the LinearStep
 * configuration with gamma 1, no spread, device bounds as reference. */
rpu__ls_cfg rpu__soft_bounds_cfg(int mult_noise, int reverse_up,
                                 int reverse_down, double reverse_offset);

/* PowStep family (pow_step.c; used by PowStepReference): exponents in
 * extra[0] (up) and extra[1] (down). */
typedef struct rpu__pow_cfg {
  double pow_gamma, pow_gamma_dtod, pow_up_down, pow_up_down_dtod;
} rpu__pow_cfg;

int rpu__pow_step_setup(rpu__pulsed_state *s, const rpu__pow_cfg *cfg,
                        rpu_rng_cursor *rng);
void rpu__pow_step_pulse_row(void *state, float *w_row, int row,
                             const int *cols, const int32_t *counts, int n,
                             rpu_rng_cursor *rng);
/* SPEC.md §4.3: dw_min * 0.5^pow_gamma. */
double rpu__pow_step_granularity_of(const rpu__pulsed_params *c,
                                    double pow_gamma);

/* Reference devices (SPEC.md §4.6 SoftBoundsReference, PowStepReference):
 * the device computes on the physical value v = w + rho, with bounds and
 * reset bias sampled in v.  rpu__pulsed_to_weight_space moves bounds and
 * reset bias to the weight w = v - rho (b - rho), so decay, diffusion,
 * reset, clip and drift act consistently on w while being the same
 * operations on v; rho stays in `rho` for the models that need it. */
void rpu__pulsed_to_weight_space(rpu__pulsed_state *s, const float *rho);

/* Draws n normals (zeros with a NULL cursor) into out. */
void rpu__pulsed_draw_normals(rpu_rng_cursor *c, float *out, size_t n);

#endif
