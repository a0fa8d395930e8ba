/* FloatingPointDevice (SPEC.md §1.1): the device of FloatingPointRPUConfig.
 * Exact weights with optional simple decay, diffusion and the simple
 * weight drifter of SPEC.md §6.6; no bounds.  The behaviour lives in
 * plugins/common/simple_device.c; this file declares the parameters. */
#include <math.h>
#include <stdio.h>

#include "plugins/common/simple_device.h"
#include "rpu/plugin.h"

#define MODEL "FloatingPointDevice"

/* Typed parameters (filled by the core from the schema below). */
typedef struct fp_device_params {
  double diffusion;
  double lifetime;
  double drift_nu;
  double drift_t_0;
  double drift_reset_tol;
} fp_device_params;

static int fp_check(const void *params, const char **param, char *msg,
                    size_t msg_len);
static int fp_create(void **state, const rpu_device_init *init, rpu_weights w);

static const rpu_param_desc fp_params[] = {
    RPU_PARAM_DEF_REAL("diffusion", fp_device_params, diffusion, 0.0, 0.0,
                       INFINITY, "",
                       "std of the Gaussian added to each weight per "
                       "mini-batch (SPEC 1.1)"),
    RPU_PARAM_DEF_REAL("lifetime", fp_device_params, lifetime, 0.0, 0.0,
                       INFINITY, "mini-batches",
                       "decay: w *= 1 - 1/lifetime per mini-batch if "
                       "lifetime > 1 (SPEC 1.1)"),
    RPU_PARAM_DEF_REAL("drift.nu", fp_device_params, drift_nu, 0.0, 0.0,
                       INFINITY, "",
                       "drift exponent: w = w0 * (t/t_0)^-nu (SPEC 6.6); "
                       "0 = no drift"),
    RPU_PARAM_DEF_REAL("drift.t_0", fp_device_params, drift_t_0, 1.0, 0.0,
                       INFINITY, "s", "drift time unit (> 0)"),
    RPU_PARAM_DEF_REAL("drift.reset_tol", fp_device_params, drift_reset_tol,
                       1e-7, 0.0, INFINITY, "",
                       "a weight that moved by more than this since the "
                       "last drift call restarts its drift"),
};

static const rpu_device_vtable fp_vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = fp_create,
    .destroy = rpu__simple_destroy,
    .post_update = rpu__simple_post_update,
    .clip = rpu__simple_clip,
    .reset_cols = rpu__simple_reset_cols,
    .drift = rpu__simple_drift,
    .state_size = rpu__simple_state_size,
    .save = rpu__simple_save,
    .load = rpu__simple_load,
};

/* Referenced by plugins/floating_point/plugin.c. */
const rpu_model_desc rpu__floating_point_device_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_FLOATING_POINT,
    "exact floating-point weights with optional decay, diffusion and drift",
    RPU_MODEL_PARAMS(fp_params, fp_device_params),
    fp_check,
    &fp_vtable,
};

/* Range checks are inclusive, so "t_0 > 0" needs this cross-check. */
static int fp_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  const fp_device_params *p = params;
  if (!(p->drift_t_0 > 0)) {
    *param = "drift.t_0";
    snprintf(msg, msg_len, "%g must be greater than 0", p->drift_t_0);
    return RPU_ERANGE;
  }
  return 0;
}

static int fp_create(void **state, const rpu_device_init *init, rpu_weights w) {
  const fp_device_params *p = init->params;
  (void)w; /* no bounds, no device-to-device variation */
  rpu__simple_cfg cfg = {MODEL,         p->diffusion, p->lifetime,
                         0.0,           p->drift_nu,  p->drift_t_0,
                         p->drift_reset_tol};
  return rpu__simple_create(state, &cfg, init);
}
