/* Broken test plugin: the real parameter "gain" has default 2, outside its
 * own range [0, 1]; the schema check must name the parameter. */
#include <stddef.h>

#include "rpu/plugin.h"

typedef struct bad_params {
  double gain;
} bad_params;

static const rpu_param_desc params[] = {
    RPU_PARAM_DEF_REAL("gain", bad_params, gain, 2.0, 0.0, 1.0, "", "default above max"),
};

static int stub_create(void **state, const rpu_device_init *init, rpu_weights w) {
  (void)init;
  (void)w;
  *state = NULL;
  return 0;
}

static void stub_destroy(void *state) { (void)state; }

static const rpu_device_vtable stub_vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = stub_create,
    .destroy = stub_destroy,
};

static const rpu_model_desc model = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestBadDefaultDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_FLOATING_POINT,
    .summary = "never registered: default out of range",
    RPU_MODEL_PARAMS(params, bad_params),
    .vtable = &stub_vtable,
};

static const rpu_model_desc *const models[] = {&model};

static const rpu_plugin_info info = {RPU_PLUGIN_INFO_HEAD, "bad_default", "1.0",
                                     "default outside the range", models, 1};

RPU_PLUGIN_DEFINE(bad_default, &info)
