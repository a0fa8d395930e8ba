/* Broken test plugin: a unique model plus one named "FloatingPointDevice",
 * which the floating_point plugin registers first.  The plugin must be
 * rejected whole: TestDuplicateUniqueDevice must not appear either. */
#include "rpu/plugin.h"

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

static const rpu_model_desc unique_model = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestDuplicateUniqueDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_FLOATING_POINT,
    .summary = "never registered: its plugin also redefines FloatingPointDevice",
    .param_desc_size = sizeof(rpu_param_desc),
    .vtable = &stub_vtable,
};

static const rpu_model_desc duplicate_model = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "FloatingPointDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_FLOATING_POINT,
    .summary = "a second FloatingPointDevice",
    .param_desc_size = sizeof(rpu_param_desc),
    .vtable = &stub_vtable,
};

/* The unique model first, so a loader that registered model by model
 * would have added it before noticing the duplicate. */
static const rpu_model_desc *const models[] = {&unique_model, &duplicate_model};

static const rpu_plugin_info info = {RPU_PLUGIN_INFO_HEAD, "duplicate_model", "1.0",
                                     "redefines FloatingPointDevice", models, 2};

RPU_PLUGIN_DEFINE(duplicate_model, &info)
