/* rpu — parameter schemas and the typed parameter structures.
 *
 * Every model (and every config section) declares its parameters as an
 * array of rpu_param_desc.  The core validates a JSON object against that
 * schema (types, inclusive ranges, enum values, unknown keys), fills in the
 * defaults and writes the typed values into a plain C struct of the model's
 * own, at the offsets the schema gives.  A plugin never sees JSON.
 *
 * Typed storage per parameter type (the field at `offset`):
 *   RPU_PARAM_BOOL          int (0 or 1)
 *   RPU_PARAM_INT           int
 *   RPU_PARAM_REAL          double
 *   RPU_PARAM_ENUM          int (index into enum_values)
 *   RPU_PARAM_STRING        const char * (owned by the config)
 *   RPU_PARAM_REAL_ARRAY    rpu_real_array
 *   RPU_PARAM_DEVICE        const rpu_device_spec * (NULL if null allowed)
 *   RPU_PARAM_DEVICE_LIST   rpu_device_list
 *   RPU_PARAM_IO_PARAMS     const rpu_io_params *
 *   RPU_PARAM_UPDATE_PARAMS const rpu_update_params *
 *
 * A name containing dots ("drift.nu") is a field of a nested JSON object
 * ({"drift": {"nu": 0.1}}).
 */
#ifndef RPU_PARAMS_H
#define RPU_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rpu_param_type {
  RPU_PARAM_BOOL = 1,
  RPU_PARAM_INT = 2,
  RPU_PARAM_REAL = 3,
  RPU_PARAM_ENUM = 4,
  RPU_PARAM_STRING = 5,
  RPU_PARAM_REAL_ARRAY = 6,
  RPU_PARAM_DEVICE = 7,
  RPU_PARAM_DEVICE_LIST = 8,
  RPU_PARAM_IO_PARAMS = 9,
  RPU_PARAM_UPDATE_PARAMS = 10
} rpu_param_type;

/* Flags of a parameter. */
#define RPU_PARAM_F_NULLABLE 0x1u /* JSON null accepted (device: none) */
#define RPU_PARAM_F_REQUIRED 0x2u /* no default: must be given */
#define RPU_PARAM_F_DERIVED 0x4u  /* read-only: computed, not settable */

/* One parameter of a schema.  Ranges are inclusive; use -INFINITY /
 * INFINITY (math.h) for "unbounded".  For ENUM, def_str names the default
 * value and enum_values is NULL-terminated.  For DEVICE, def_str is the
 * default device type name (NULL: no default). */
typedef struct rpu_param_desc {
  const char *name;
  uint32_t type;  /* rpu_param_type */
  uint32_t flags; /* RPU_PARAM_F_* */
  double def;     /* default of BOOL, INT, REAL */
  double min;
  double max;
  const char *def_str;
  const char *const *enum_values;
  const double *def_array;
  size_t def_array_len;
  const char *unit; /* "" if dimensionless */
  const char *doc;  /* one line */
  size_t offset;    /* offset of the typed field in the params struct */
} rpu_param_desc;

typedef struct rpu_real_array {
  const double *v;
  size_t n;
} rpu_real_array;

/* A resolved device of a config: model plus typed parameters.  Opaque;
 * owned by the config that contains it. */
typedef struct rpu_device_spec rpu_device_spec;

typedef struct rpu_device_list {
  const rpu_device_spec *const *v;
  size_t n;
} rpu_device_list;

/* Name of a parameter type as used by `rpu-plugins describe` ("real"). */
RPU_API const char *rpu_param_type_name(uint32_t type);

/* ----- IO parameters (SPEC.md §2.1) ------------------------------------ */

typedef enum rpu_mv_type {
  RPU_MV_IDEAL = 0,
  RPU_MV_ONE_PASS = 1,
  RPU_MV_POS_NEG_SEPARATE = 2,
  RPU_MV_POS_NEG_SEPARATE_DIGITAL_SUM = 3
} rpu_mv_type;

typedef enum rpu_noise_management {
  RPU_NM_NONE = 0,
  RPU_NM_ABS_MAX = 1,
  RPU_NM_ABS_MAX_NP_SUM = 2,
  RPU_NM_MAX = 3,
  RPU_NM_CONSTANT = 4,
  RPU_NM_AVERAGE_ABS_MAX = 5
} rpu_noise_management;

typedef enum rpu_bound_management {
  RPU_BM_NONE = 0,
  RPU_BM_ITERATIVE = 1,
  RPU_BM_ITERATIVE_WORST_CASE = 2
} rpu_bound_management;

typedef enum rpu_w_noise_type {
  RPU_W_NOISE_NONE = 0,
  RPU_W_NOISE_ADDITIVE_CONSTANT = 1,
  RPU_W_NOISE_PCM_READ = 2
} rpu_w_noise_type;

/* IOParameters of one direction (forward or backward).  Field names and
 * defaults are those of SPEC.md §2.1.  Append only. */
typedef struct rpu_io_params {
  int is_perfect;
  int mv_type; /* rpu_mv_type */
  double inp_bound;
  double inp_noise;
  double inp_res;
  int inp_sto_round;
  double inp_asymmetry;
  double out_bound;
  double out_noise;
  double out_noise_std;
  double out_res;
  int out_sto_round;
  double out_scale;
  double out_asymmetry;
  int bound_management; /* rpu_bound_management */
  int noise_management; /* rpu_noise_management */
  double w_noise;
  int w_noise_type; /* rpu_w_noise_type */
  double ir_drop;
  double ir_drop_g_ratio;
  double out_nonlinearity;
  double out_nonlinearity_std;
  double slope_calibration;
  double v_offset_std;
  double v_offset_w_min;
  double r_series;
  double r_series_max_total;
  double w_read_asymmetry_dtod;
  int max_bm_factor;
  double max_bm_res;
  int bm_test_negative_bound;
  double nm_thres;
  double nm_assumed_wmax;
  double nm_decay;
} rpu_io_params;

/* ----- Update parameters (SPEC.md §3.1) -------------------------------- */

typedef enum rpu_pulse_type {
  RPU_PULSE_NONE = 0,
  RPU_PULSE_STOCHASTIC_COMPRESSED = 1,
  RPU_PULSE_STOCHASTIC = 2,
  RPU_PULSE_NONE_WITH_DEVICE = 3,
  RPU_PULSE_MEAN_COUNT = 4,
  RPU_PULSE_DETERMINISTIC_IMPLICIT = 5
} rpu_pulse_type;

typedef struct rpu_update_params {
  int desired_bl;
  int fixed_bl;
  int pulse_type; /* rpu_pulse_type */
  double res;
  double x_res_implicit;
  double d_res_implicit;
  int d_sparsity;
  int sto_round;
  int update_bl_management;
  int update_management;
  double um_grad_scale;
} rpu_update_params;

#ifdef __cplusplus
}
#endif

#endif /* RPU_PARAMS_H */
