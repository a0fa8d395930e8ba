/* IdealDevice (SPEC.md §1.1): the fixed device of InferenceRPUConfig
 * (aihwkit's SimpleRPUDeviceMetaParameter).  Exact weights with optional
 * simple decay and diffusion, and a Gaussian reset; no bounds, no drift.
 * The behaviour lives in plugins/common/simple_device.c. */
#include <math.h>

#include "plugins/common/simple_device.h"
#include "rpu/plugin.h"

#define MODEL "IdealDevice"

typedef struct ideal_device_params {
  int construction_seed;
  double diffusion;
  double lifetime;
  double reset_std;
} ideal_device_params;

static int ideal_create(void **state, const rpu_device_init *init,
                        rpu_weights w);

static const rpu_param_desc ideal_params[] = {
    RPU_PARAM_DEF_INT("construction_seed", ideal_device_params,
                      construction_seed, 0, 0, 2147483647, "",
                      "accepted for aihwkit compatibility; an ideal device "
                      "has no device-to-device variation to seed"),
    RPU_PARAM_DEF_REAL("diffusion", ideal_device_params, diffusion, 0.0, 0.0,
                       INFINITY, "",
                       "std of the Gaussian added to each weight per "
                       "mini-batch (SPEC 1.1)"),
    RPU_PARAM_DEF_REAL("lifetime", ideal_device_params, lifetime, 0.0, 0.0,
                       INFINITY, "mini-batches",
                       "decay: w *= 1 - 1/lifetime per mini-batch if "
                       "lifetime > 1 (SPEC 1.1)"),
    RPU_PARAM_DEF_REAL("reset_std", ideal_device_params, reset_std, 0.01, 0.0,
                       INFINITY, "",
                       "a reset sets w = reset_std * N(0,1) (SPEC 1.1)"),
};

static const rpu_device_vtable ideal_vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = ideal_create,
    .destroy = rpu__simple_destroy,
    .post_update = rpu__simple_post_update,
    .clip = rpu__simple_clip,
    .reset_cols = rpu__simple_reset_cols,
};

/* Referenced by plugins/ideal/plugin.c. */
const rpu_model_desc rpu__ideal_device_model = {
    sizeof(rpu_model_desc),
    MODEL,
    RPU_MODEL_DEVICE,
    RPU_DEVICE_IDEAL,
    "ideal device: exact weights, optional decay/diffusion, Gaussian reset",
    RPU_MODEL_PARAMS(ideal_params, ideal_device_params),
    NULL,
    &ideal_vtable,
};

static int ideal_create(void **state, const rpu_device_init *init,
                        rpu_weights w) {
  const ideal_device_params *p = init->params;
  (void)w; /* no bounds, no device-to-device variation */
  rpu__simple_cfg cfg = {MODEL, p->diffusion, p->lifetime, p->reset_std,
                         0.0,   1.0,          0.0};
  return rpu__simple_create(state, &cfg, init);
}
