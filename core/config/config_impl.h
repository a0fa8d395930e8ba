/* Internal: the layout of an rpu_config (DESIGN.md §5, SPEC.md §1), for the
 * tile engines.  Everything a config holds lives in its arena, so freeing a
 * config is one call; models and their descriptors are borrowed from the
 * context, which must outlive the config. */
#ifndef RPU_CORE_CONFIG_CONFIG_IMPL_H
#define RPU_CORE_CONFIG_CONFIG_IMPL_H

#include "core/config/sections.h"
#include "core/plugin/params.h"
#include "core/util/arena.h"
#include "rpu/config.h"

struct rpu_config {
  rpu_context *ctx; /* borrowed */
  rpu__arena arena; /* owns everything below */
  rpu_config_type type;
  const rpu_device_spec *device;
  /* IO and update parameters.  FloatingPointRPUConfig has none (the
   * accessors return NULL).  InferenceRPUConfig has a configurable forward,
   * a fixed perfect backward and a fixed exact update (pulse_type NONE),
   * as aihwkit's InferenceRPUConfig (SPEC.md §1). */
  int has_io;
  rpu_io_params forward;
  rpu_io_params backward;
  rpu_update_params update;
  rpu__mapping_params mapping;
  rpu__input_range_params input_range; /* "pre_post": {"input_range": ...} */
  /* InferenceRPUConfig only (NULL / defaults otherwise). */
  const rpu_device_spec *noise_model;
  const rpu_device_spec *drift_compensation; /* NULL: JSON null, none */
  rpu__clip_params clip;
  rpu__modifier_params modifier;
  rpu__remap_params remap;
};

struct json_object;

/* Parses an already-read config object (the experiment parser embeds
 * configs).  Messages carry the path inside the object only
 * ("device.dw_min: ..."); the caller prefixes file and outer path. */
int rpu__config_from_json(rpu_config **out, rpu_context *ctx, struct json_object *root);

#endif
