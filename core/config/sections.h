/* Internal: the schemas of the config sections (DESIGN.md §5, SPEC.md §2.1,
 * §3.1, §6.7-§6.9, §7.1, §7.3) and the typed structs they fill.
 *
 * The IO and update structs are public (include/rpu/params.h); the others
 * are the engine's business and live here.  Every section is a static
 * rpu_param_desc table validated by the same engine as a plugin's model
 * (core/plugin/params.c), plus an optional cross-field check. */
#ifndef RPU_CORE_CONFIG_SECTIONS_H
#define RPU_CORE_CONFIG_SECTIONS_H

#include <stddef.h>

#include "core/util/arena.h"
#include "rpu/params.h"

/* ----- mapping (SPEC.md §7.1) ------------------------------------------- */

typedef struct rpu__mapping_params {
  int digital_bias;
  double weight_scaling_omega;
  int weight_scaling_columnwise;
  int weight_scaling_lr_compensation;
  int learn_out_scaling;
  int out_scaling_columnwise;
  int max_input_size;  /* 0: no limit */
  int max_output_size; /* 0: no limit */
} rpu__mapping_params;

/* ----- pre_post.input_range (SPEC.md §7.3) ------------------------------ */

typedef struct rpu__input_range_params {
  int enable;
  int learn_input_range;
  double init_value;
  int init_from_data;
  double init_std_alpha;
  double decay;
  double input_min_percentage;
  int manage_output_clipping;
  double output_min_percentage;
  double gradient_scale;
  int gradient_relative;
} rpu__input_range_params;

/* ----- clip (SPEC.md §6.8) ---------------------------------------------- */

typedef enum rpu__clip_type {
  RPU__CLIP_NONE = 0,
  RPU__CLIP_FIXED_VALUE = 1,
  RPU__CLIP_LAYER_GAUSSIAN = 2,
  RPU__CLIP_AVERAGE_CHANNEL_MAX = 3
} rpu__clip_type;

typedef struct rpu__clip_params {
  int type; /* rpu__clip_type */
  double fixed_value;
  double sigma;
} rpu__clip_params;

/* ----- modifier (SPEC.md §6.7) ------------------------------------------ */

typedef enum rpu__modifier_type {
  RPU__MOD_NONE = 0,
  RPU__MOD_DISCRETIZE = 1,
  RPU__MOD_MULT_NORMAL = 2,
  RPU__MOD_ADD_NORMAL = 3,
  RPU__MOD_DISCRETIZE_ADD_NORMAL = 4,
  RPU__MOD_DOREFA = 5,
  RPU__MOD_POLY = 6,
  RPU__MOD_PCM_NOISE = 7,
  RPU__MOD_PROG_NOISE = 8,
  RPU__MOD_DROP_CONNECT = 9,
  RPU__MOD_COPY = 10
} rpu__modifier_type;

typedef struct rpu__modifier_params {
  int type; /* rpu__modifier_type */
  double std_dev;
  int per_batch_sample;
  double res;
  int sto_round;
  double dorefa_clip;
  double pdrop;
  int enable_during_test;
  int rel_to_actual_wmax;
  double assumed_wmax;
  int copy_last_column;
  rpu_real_array coeffs;
  double g_max;
  double pcm_zero_thres;
  double pcm_t_inference;
  double pcm_prob_at_reset;
  double pcm_prob_at_gmax;
  double pcm_prob_at_random;
  double pcm_t0;
} rpu__modifier_params;

/* ----- remap (SPEC.md §6.9) --------------------------------------------- */

typedef enum rpu__remap_type {
  RPU__REMAP_NONE = 0,
  RPU__REMAP_LAYERWISE_SYMMETRIC = 1,
  RPU__REMAP_CHANNELWISE_SYMMETRIC = 2
} rpu__remap_type;

typedef struct rpu__remap_params {
  int type; /* rpu__remap_type */
  double remapped_wmax;
  double max_scale_range;
  double max_scale_ref;
} rpu__remap_params;

/* ----- section descriptors ---------------------------------------------- */

/* Cross-field rule of a section: on failure sets *param to the offending
 * parameter, writes a message (without the path) and returns a negative
 * code; the same shape as a model's check hook. */
typedef int (*rpu__section_check_fn)(const void *params, const char **param,
                                     char *msg, size_t msg_len);

typedef struct rpu__section {
  const char *name; /* "forward", "pre_post.input_range", ... */
  const rpu_param_desc *params;
  size_t n_params;
  size_t size; /* of the typed struct */
  rpu__section_check_fn check; /* may be NULL */
} rpu__section;

/* One per file: io_params.c, update_params.c, mapping.c (two),
 * inference_params.c (three). */
extern const rpu__section rpu__io_section;
extern const rpu__section rpu__update_section;
extern const rpu__section rpu__mapping_section;
extern const rpu__section rpu__input_range_section;
extern const rpu__section rpu__clip_section;
extern const rpu__section rpu__modifier_section;
extern const rpu__section rpu__remap_section;

struct json_object;

/* Validates `obj` (NULL: all defaults) against a section's schema, fills
 * `out` and applies the section's cross-field check; messages start with
 * `path` ("forward.inp_bound: ...").  Implemented in core/plugin/params.c
 * with the rest of the schema engine. */
int rpu__section_from_json(rpu__arena *a, const rpu__section *s,
                           struct json_object *obj, const char *path,
                           void *out);

/* Adds every parameter of a filled section struct to `obj`; RPU_ENOMEM. */
int rpu__section_to_json(const rpu__section *s, const void *in,
                         struct json_object *obj);

/* The section called `name` ("forward", "backward", "update", "mapping",
 * "pre_post.input_range", "clip", "modifier", "remap"), or NULL.
 * Implemented in core/config/config.c. */
const rpu__section *rpu__section_find(const char *name);

#endif
