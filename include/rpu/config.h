/* rpu — RPU configurations (DESIGN.md §5).
 *
 * A config bundles a device with IO, update and mapping parameters and
 * decides which tile engine runs it.  Configs are read from JSON whose
 * field and enum names follow aihwkit; omitted fields take the SPEC.md
 * defaults and unknown keys are errors naming their JSON path.
 */
#ifndef RPU_CONFIG_H
#define RPU_CONFIG_H

#include "rpu/common.h"
#include "rpu/context.h"
#include "rpu/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rpu_config rpu_config;

typedef enum rpu_config_type {
  RPU_CONFIG_FLOATING_POINT = 1, /* FloatingPointRPUConfig */
  RPU_CONFIG_SINGLE = 2,         /* SingleRPUConfig */
  RPU_CONFIG_UNIT_CELL = 3,      /* UnitCellRPUConfig */
  RPU_CONFIG_INFERENCE = 4,      /* InferenceRPUConfig */
  RPU_CONFIG_DIGITAL_RANK_UPDATE = 5 /* DigitalRankUpdateRPUConfig */
} rpu_config_type;

/* The schema version written by rpu_config_to_json and accepted on input. */
#define RPU_CONFIG_SCHEMA_VERSION 1

/* Parses a config from a JSON file.  Errors name the file and JSON path. */
RPU_API int rpu_config_from_file(rpu_config **out, rpu_context *ctx,
                                 const char *path);

/* Parses a config from a JSON text; `origin` names it in messages (a file
 * name, "<string>", ...; NULL for "<string>"). */
RPU_API int rpu_config_from_string(rpu_config **out, rpu_context *ctx,
                                   const char *json, const char *origin);

/* A config of the given type name ("SingleRPUConfig") with every default. */
RPU_API int rpu_config_default(rpu_config **out, rpu_context *ctx,
                               const char *type_name);

/* Writes the complete config (every default filled in) as JSON text; the
 * caller frees *out with rpu_free.  Parsing the output gives an identical
 * config. */
RPU_API int rpu_config_to_json(const rpu_config *cfg, char **out);

/* A deep copy. */
RPU_API int rpu_config_clone(rpu_config **out, const rpu_config *cfg);

RPU_API void rpu_config_free(rpu_config *cfg);

RPU_API rpu_config_type rpu_config_get_type(const rpu_config *cfg);
/* "SingleRPUConfig" etc. */
RPU_API const char *rpu_config_type_name(rpu_config_type type);
/* Parses a type name; RPU_ENOTFOUND (message lists the valid names). */
RPU_API int rpu_config_type_from_name(const char *name, rpu_config_type *out);
/* The config's device (borrowed). */
RPU_API const rpu_device_spec *rpu_config_device(const rpu_config *cfg);
/* Forward / backward IO parameters and update parameters (borrowed); NULL
 * for a config type without them. */
RPU_API const rpu_io_params *rpu_config_forward(const rpu_config *cfg);
RPU_API const rpu_io_params *rpu_config_backward(const rpu_config *cfg);
RPU_API const rpu_update_params *rpu_config_update(const rpu_config *cfg);

/* The mapping section's tile limits and bias placement (SPEC.md §7.1,
 * §7.2): max_input_size, max_output_size (0 = no limit) and digital_bias
 * (1/0).  Any out pointer may be NULL.  RPU_EINVAL for a NULL cfg. */
RPU_API int rpu_config_mapping(const rpu_config *cfg, int *max_in, int *max_out,
                               int *digital_bias);

/* The whole mapping section (SPEC.md §7.1) and whether the input range of
 * pre_post.input_range (§7.3) is enabled. */
typedef struct rpu_mapping_params {
  int digital_bias;
  double weight_scaling_omega; /* 0: no weight scaling */
  int weight_scaling_columnwise;
  int weight_scaling_lr_compensation;
  int learn_out_scaling;
  int out_scaling_columnwise;
  int max_input_size;  /* 0: no limit */
  int max_output_size; /* 0: no limit */
  int input_range_enable;
} rpu_mapping_params;

/* Fills *out from the config.  RPU_EINVAL for a NULL argument. */
RPU_API int rpu_config_mapping_params(const rpu_config *cfg, rpu_mapping_params *out);

/* Schema of a config section ("forward", "backward", "update", "mapping",
 * "clip", "modifier", "remap", "pre_post.input_range") for documentation;
 * RPU_ENOTFOUND for an unknown section. */
RPU_API int rpu_config_section_schema(const char *section,
                                      const rpu_param_desc **params,
                                      size_t *n_params);

#ifdef __cplusplus
}
#endif

#endif /* RPU_CONFIG_H */
