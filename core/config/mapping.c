/* The "mapping" section (MappingParameter, SPEC.md §7.1) and the
 * "pre_post.input_range" section (InputRangeParameter, SPEC.md §7.3). */
#include <math.h>

#include "core/config/sections.h"
#include "rpu/plugin.h"

#define S rpu__mapping_params
static const rpu_param_desc mapping_params[] = {
    RPU_PARAM_DEF_BOOL("digital_bias", S, digital_bias, 1,
                       "the bias is a digital parameter added after the tile, not an "
                       "analog column (SPEC 0)"),
    RPU_PARAM_DEF_REAL("weight_scaling_omega", S, weight_scaling_omega, 0.0, 0.0, INFINITY,
                       "", "set_weights scales max|W| to this value; 0 = off (SPEC 7.1)"),
    RPU_PARAM_DEF_BOOL("weight_scaling_columnwise", S, weight_scaling_columnwise, 0,
                       "weight scaling per output row instead of per tile"),
    RPU_PARAM_DEF_BOOL("weight_scaling_lr_compensation", S, weight_scaling_lr_compensation,
                       0, "divide the update learning rate by the mean mapping scale"),
    RPU_PARAM_DEF_BOOL("learn_out_scaling", S, learn_out_scaling, 0,
                       "learn a digital output scale"),
    RPU_PARAM_DEF_BOOL("out_scaling_columnwise", S, out_scaling_columnwise, 0,
                       "one learned output scale per output instead of one per tile"),
    RPU_PARAM_DEF_INT("max_input_size", S, max_input_size, 512, 0, 2147483647, "",
                      "larger layers are split over several tiles; 0 = no limit "
                      "(SPEC 7.2)"),
    RPU_PARAM_DEF_INT("max_output_size", S, max_output_size, 512, 0, 2147483647, "",
                      "larger layers are split over several tiles; 0 = no limit "
                      "(SPEC 7.2)"),
};
#undef S

#define S rpu__input_range_params
static const rpu_param_desc input_range_params[] = {
    RPU_PARAM_DEF_BOOL("enable", S, enable, 0,
                       "clip and scale the inputs by a (learned) input range r"),
    RPU_PARAM_DEF_BOOL("learn_input_range", S, learn_input_range, 1,
                       "train r with the gradient of SPEC 7.3"),
    RPU_PARAM_DEF_REAL("init_value", S, init_value, 3.0, 0.0, INFINITY, "",
                       "initial input range r"),
    RPU_PARAM_DEF_INT("init_from_data", S, init_from_data, 100, 0, 2147483647, "batches",
                      "initialise r from the data of this many first batches"),
    RPU_PARAM_DEF_REAL("init_std_alpha", S, init_std_alpha, 3.0, 0.0, INFINITY, "",
                       "r is initialised to init_std_alpha * std(x)"),
    RPU_PARAM_DEF_REAL("decay", S, decay, 0.001, 0.0, INFINITY, "",
                       "shrinks r when most inputs lie inside it"),
    RPU_PARAM_DEF_REAL("input_min_percentage", S, input_min_percentage, 0.95, 0.0, 1.0, "",
                       "fraction of inputs inside r above which decay acts"),
    RPU_PARAM_DEF_BOOL("manage_output_clipping", S, manage_output_clipping, 0,
                       "grow r when too many outputs clip (needs NM = BM = NONE)"),
    RPU_PARAM_DEF_REAL("output_min_percentage", S, output_min_percentage, 0.95, 0.0, 1.0,
                       "", "fraction of non-clipped outputs below which r grows"),
    RPU_PARAM_DEF_REAL("gradient_scale", S, gradient_scale, 1.0, 0.0, INFINITY, "",
                       "scale of the input-range gradient"),
    RPU_PARAM_DEF_BOOL("gradient_relative", S, gradient_relative, 1,
                       "the gradient is relative to r"),
};
#undef S

const rpu__section rpu__mapping_section = {
    "mapping", mapping_params, sizeof mapping_params / sizeof mapping_params[0],
    sizeof(rpu__mapping_params), NULL};

const rpu__section rpu__input_range_section = {
    "pre_post.input_range", input_range_params,
    sizeof input_range_params / sizeof input_range_params[0],
    sizeof(rpu__input_range_params), NULL};
