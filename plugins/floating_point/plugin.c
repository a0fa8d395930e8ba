/* The floating_point plugin: FloatingPointDevice (SPEC.md §1.1). */
#include "rpu/plugin.h"

/* Defined in floating_point_device.c (one file per model). */
extern const rpu_model_desc rpu__floating_point_device_model;

static const rpu_model_desc *const models[] = {
    &rpu__floating_point_device_model,
};

static const rpu_plugin_info info = {
    RPU_PLUGIN_INFO_HEAD,
    "floating_point",
    "1.0",
    "floating-point device: exact weights, optional decay/diffusion/drift",
    models,
    (uint32_t)(sizeof models / sizeof models[0]),
};

RPU_PLUGIN_DEFINE(floating_point, &info)
