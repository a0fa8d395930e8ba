/* Names of model kinds, device classes and parameter types, as used in
 * configs, `rpu-plugins list/describe` and error messages (DESIGN.md §4). */
#include "rpu/params.h"
#include "rpu/plugin.h"

const char *rpu_model_kind_name(uint32_t kind) {
  switch (kind) {
  case RPU_MODEL_DEVICE: return "device";
  case RPU_MODEL_NOISE_MODEL: return "noise_model";
  case RPU_MODEL_DRIFT_COMPENSATION: return "drift_compensation";
  default: return "?";
  }
}

const char *rpu_device_class_name(uint32_t device_class) {
  switch (device_class) {
  case RPU_DEVICE_CLASS_NONE: return "";
  case RPU_DEVICE_FLOATING_POINT: return "floating_point";
  case RPU_DEVICE_IDEAL: return "ideal";
  case RPU_DEVICE_PULSED: return "pulsed";
  case RPU_DEVICE_UNIT_CELL: return "unit_cell";
  case RPU_DEVICE_DIGITAL_RANK_UPDATE: return "digital_rank_update";
  default: return "?";
  }
}

const char *rpu_param_type_name(uint32_t type) {
  switch (type) {
  case RPU_PARAM_BOOL: return "bool";
  case RPU_PARAM_INT: return "int";
  case RPU_PARAM_REAL: return "real";
  case RPU_PARAM_ENUM: return "enum";
  case RPU_PARAM_STRING: return "string";
  case RPU_PARAM_REAL_ARRAY: return "real_array";
  case RPU_PARAM_DEVICE: return "device";
  case RPU_PARAM_DEVICE_LIST: return "device_list";
  case RPU_PARAM_IO_PARAMS: return "io_params";
  case RPU_PARAM_UPDATE_PARAMS: return "update_params";
  default: return "?";
  }
}
