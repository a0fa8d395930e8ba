/* Internal: parameter schemas, device specs and JSON <-> typed structs
 * (DESIGN.md §4 "Parameter schema").  json-c stays on this side: plugins
 * only ever see the typed structs. */
#ifndef RPU_CORE_PLUGIN_PARAMS_H
#define RPU_CORE_PLUGIN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/arena.h"
#include "rpu/context.h"
#include "rpu/params.h"
#include "rpu/plugin.h"

struct json_object;

/* A model instance inside a config: the resolved model and its typed,
 * validated parameters.  Everything lives in the owning config's arena. */
struct rpu_device_spec {
  const rpu_model_desc *model;
  const char *plugin; /* name of the plugin that provides the model */
  void *params;       /* model->params_size bytes */
  const char *path;   /* JSON path of the object, e.g. "device" */
};

/* i-th entry of a schema whose entries are desc_size bytes apart. */
const rpu_param_desc *rpu__param_at(const rpu_param_desc *schema,
                                    uint32_t desc_size, size_t i);

/* Self-check of a schema (used by the loader before registering a model):
 * non-empty unique names, known types, default within [min, max], enum
 * default among the values, offsets inside params_size.  Returns 0, or
 * RPU_EPLUGIN with a message naming the parameter in msg. */
int rpu__schema_check(const rpu_param_desc *schema, size_t n,
                      uint32_t desc_size, size_t params_size, char *msg,
                      size_t msg_len);

/* Validates the JSON object `obj` against a schema and writes the typed
 * values into `out` (defaults for omitted keys).  `path` is the JSON path
 * of obj for messages ("forward", "device.unit_cell_devices[1]").  Keys
 * listed in `skip` (NULL-terminated, may be NULL) are ignored (e.g.
 * "type").  obj NULL means all defaults.  Unknown keys, wrong types,
 * out-of-range values and unknown enum names are errors (RPU_ECONFIG /
 * RPU_ETYPE / RPU_ERANGE) whose message starts with the full path. */
int rpu__params_from_json(rpu__arena *a, rpu_context *ctx,
                          const rpu_param_desc *schema, size_t n,
                          uint32_t desc_size, struct json_object *obj,
                          const char *path, const char *const *skip,
                          void *out);

/* Adds every parameter of `in` to the JSON object `obj` (nested objects
 * for dotted names).  Returns 0 or RPU_ENOMEM. */
int rpu__params_to_json(const rpu_param_desc *schema, size_t n,
                        uint32_t desc_size, const void *in,
                        struct json_object *obj);

/* Builds a model spec from {"type": NAME, ...}.  kind is the required
 * rpu_model_kind; allowed_classes a bit mask of (1u << rpu_device_class)
 * accepted for devices (0: any).  Unknown type names are RPU_ENOTFOUND
 * errors listing the known names of that kind. */
int rpu__spec_from_json(rpu_device_spec **out, rpu__arena *a,
                        rpu_context *ctx, struct json_object *obj,
                        const char *path, uint32_t kind,
                        uint32_t allowed_classes);

/* A spec of `model` with every default (nested default devices resolved
 * through ctx). */
int rpu__spec_default(rpu_device_spec **out, rpu__arena *a, rpu_context *ctx,
                      const rpu_model_entry *model, const char *path);

/* The spec as a complete JSON object including "type"; NULL on ENOMEM. */
struct json_object *rpu__spec_to_json(const rpu_device_spec *s);

#endif
