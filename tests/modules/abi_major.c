/* Broken test plugin: built for the next major ABI (abi_major + 1).  The
 * loader must refuse it before reading anything past the ABI fields. */
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
    .name = "TestAbiMajorDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_FLOATING_POINT,
    .summary = "never registered: wrong ABI major",
    .param_desc_size = sizeof(rpu_param_desc),
    .vtable = &stub_vtable,
};

static const rpu_model_desc *const models[] = {&model};

static const rpu_plugin_info info = {RPU_ABI_MAJOR + 1, RPU_ABI_MINOR,
                                     (uint32_t)sizeof(rpu_plugin_info), "abi_major", "1.0",
                                     "wrong ABI major", models, 1};

RPU_PLUGIN_DEFINE(abi_major, &info)
