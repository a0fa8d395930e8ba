/* Broken test plugin: a pulsed device without pulse_row, which DESIGN.md §4
 * makes mandatory for pulsed devices. */
#include "rpu/plugin.h"

static int stub_create(void **state, const rpu_device_init *init, rpu_weights w) {
  (void)init;
  (void)w;
  *state = NULL;
  return 0;
}

static void stub_destroy(void *state) { (void)state; }

static double stub_granularity(const void *params) {
  (void)params;
  return 0.001;
}

static const rpu_device_vtable vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = stub_create,
    .destroy = stub_destroy,
    .granularity = stub_granularity,
    .pulse_row = NULL, /* the missing hook */
};

static const rpu_model_desc model = {
    .struct_size = sizeof(rpu_model_desc),
    .name = "TestMissingHookDevice",
    .kind = RPU_MODEL_DEVICE,
    .device_class = RPU_DEVICE_PULSED,
    .summary = "never registered: pulsed without pulse_row",
    .param_desc_size = sizeof(rpu_param_desc),
    .vtable = &vtable,
};

static const rpu_model_desc *const models[] = {&model};

static const rpu_plugin_info info = {RPU_PLUGIN_INFO_HEAD, "missing_hook", "1.0",
                                     "pulsed device without pulse_row", models, 1};

RPU_PLUGIN_DEFINE(missing_hook, &info)
