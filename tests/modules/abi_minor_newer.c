/* Broken test plugin: built for a newer minor ABI than the host's
 * (abi_minor + 1); the host may not understand what it relies on. */
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

static const rpu_model_desc model = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestAbiMinorDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_FLOATING_POINT,
    .summary = "never registered: newer ABI minor",
    .param_desc_size = sizeof(rpu_param_desc),
    .vtable = &stub_vtable,
};

static const rpu_model_desc *const models[] = {&model};

static const rpu_plugin_info info = {RPU_ABI_MAJOR, RPU_ABI_MINOR + 1,
                                     (uint32_t)sizeof(rpu_plugin_info), "abi_minor_newer",
                                     "1.0", "newer ABI minor", models, 1};

RPU_PLUGIN_DEFINE(abi_minor_newer, &info)
