/* The ideal plugin: IdealDevice (SPEC.md §1.1). */
#include "rpu/plugin.h"

/* Defined in ideal_device.c (one file per model). */
extern const rpu_model_desc rpu__ideal_device_model;

static const rpu_model_desc *const models[] = {&rpu__ideal_device_model};

static const rpu_plugin_info info = {
    RPU_PLUGIN_INFO_HEAD,
    "ideal",
    "1.0",
    "ideal device of inference tiles: exact weights, decay/diffusion/reset",
    models,
    (uint32_t)(sizeof models / sizeof models[0]),
};

RPU_PLUGIN_DEFINE(ideal, &info)
