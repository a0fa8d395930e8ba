/* The "simple" device behaviour shared by FloatingPointDevice and
 * IdealDevice (SPEC.md §1.1): decay, diffusion, reset, clip and the simple
 * weight drifter of SPEC.md §6.6.  One copy of each formula; the two
 * plugins only map their typed parameters onto rpu__simple_cfg and point
 * their vtables at these hooks.
 *
 * Built as a static convenience library linked into both plugins, so it
 * sees only include/rpu (DESIGN.md §1). */
#ifndef RPU_PLUGINS_COMMON_SIMPLE_DEVICE_H
#define RPU_PLUGINS_COMMON_SIMPLE_DEVICE_H

#include <stddef.h>

#include "rpu/plugin.h"

/* What a simple device does, from its model's typed parameters. */
typedef struct rpu__simple_cfg {
  const char *model; /* model name for error messages */
  double diffusion;  /* w += diffusion * xi per post-update (>= 0) */
  double lifetime;   /* decay rate 1/lifetime if lifetime > 1 */
  double reset_std;  /* reset: w = reset_std * xi (0: w = 0) */
  double drift_nu;   /* simple drift exponent; 0: no drifter */
  double drift_t0;   /* time unit of the drifter (> 0) */
  double drift_reset_tol; /* |prev - w| above this restarts an element */
} rpu__simple_cfg;

/* Allocates the state of a simple device for init->rows x init->cols;
 * the drifter (SPEC.md §6.6) exists only if cfg->drift_nu > 0.  Leaves
 * the weights as they are (a simple device has no bounds). */
int rpu__simple_create(void **state, const rpu__simple_cfg *cfg,
                       const rpu_device_init *init);

/* Device vtable hooks (see rpu_device_vtable in rpu/plugin.h). */
void rpu__simple_destroy(void *state);
int rpu__simple_post_update(void *state, rpu_weights w, rpu_rng_cursor *rng);
void rpu__simple_clip(void *state, rpu_weights w, double c);
void rpu__simple_reset_cols(void *state, rpu_weights w, int start, int n,
                            double prob, rpu_rng_cursor *rng);
int rpu__simple_drift(void *state, rpu_weights w, double dt,
                      rpu_rng_cursor *rng);
size_t rpu__simple_state_size(const void *state);
int rpu__simple_save(const void *state, void *buf, size_t len);
int rpu__simple_load(void *state, const void *buf, size_t len);

/* The formulas themselves, on a weight view (exposed for reuse). */

/* Decay (SPEC.md §1.1): rate = 1/lifetime if lifetime > 1 else 0;
 * s = 1 - rate; w *= s only if 0 < s < 1. */
void rpu__simple_decay(rpu_weights w, double lifetime);

/* Diffusion (SPEC.md §1.1): w += diffusion * xi, xi ~ N(0,1) drawn one row
 * at a time into `row_buf` (w.cols floats). */
void rpu__simple_diffuse(rpu_weights w, double diffusion, float *row_buf,
                         rpu_rng_cursor *rng);

#endif
