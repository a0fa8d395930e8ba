/* The "update" section: UpdateParameters of the pulsed update (SPEC.md
 * §3.1, Python defaults per SPEC.md §12.1). */
#include <math.h>

#include "core/config/sections.h"
#include "rpu/plugin.h"

/* Enum names in the order of rpu_pulse_type (rpu/params.h). */
static const char *const pulse_types[] = {"NONE",
                                          "STOCHASTIC_COMPRESSED",
                                          "STOCHASTIC",
                                          "NONE_WITH_DEVICE",
                                          "MEAN_COUNT",
                                          "DETERMINISTIC_IMPLICIT",
                                          NULL};

#define S rpu_update_params
static const rpu_param_desc update_params[] = {
    RPU_PARAM_DEF_INT("desired_bl", S, desired_bl, 31, 1, 2147483647, "pulses",
                      "pulse-train length BL (the maximum with BL management; SPEC 3.2)"),
    RPU_PARAM_DEF_BOOL("fixed_bl", S, fixed_bl, 1,
                       "always use desired_bl, else BL may grow with lr (SPEC 3.2)"),
    RPU_PARAM_DEF_ENUM("pulse_type", S, pulse_type, "STOCHASTIC_COMPRESSED", pulse_types,
                       "how the update is applied; NONE is an exact floating-point "
                       "update (SPEC 3.3)"),
    RPU_PARAM_DEF_REAL("res", S, res, 0.0, -INFINITY, INFINITY, "",
                       "resolution of the pulse probabilities as a bin width in [0, 1], "
                       "or a number of steps if > 1; <= 0 means off (SPEC 3.2, 12.3)"),
    RPU_PARAM_DEF_REAL("x_res_implicit", S, x_res_implicit, 0.0, -INFINITY, INFINITY, "",
                       "quantisation of x for DETERMINISTIC_IMPLICIT"),
    RPU_PARAM_DEF_REAL("d_res_implicit", S, d_res_implicit, 0.0, -INFINITY, INFINITY, "",
                       "quantisation of d for DETERMINISTIC_IMPLICIT"),
    RPU_PARAM_DEF_BOOL("d_sparsity", S, d_sparsity, 0,
                       "record the sparsity of d (bookkeeping only)"),
    RPU_PARAM_DEF_BOOL("sto_round", S, sto_round, 0,
                       "stochastic rounding of the discretised probabilities"),
    RPU_PARAM_DEF_BOOL("update_bl_management", S, update_bl_management, 1,
                       "choose BL per sample from the x and d maxima (SPEC 3.2)"),
    RPU_PARAM_DEF_BOOL("update_management", S, update_management, 1,
                       "balance the x and d pulse probabilities; always on with BL "
                       "management (SPEC 3.2)"),
    RPU_PARAM_DEF_REAL("um_grad_scale", S, um_grad_scale, 1.0, 0.0, INFINITY, "",
                       "scale of d_max in update management (SPEC 3.2)"),
};
#undef S

const rpu__section rpu__update_section = {
    "update", update_params, sizeof update_params / sizeof update_params[0],
    sizeof(rpu_update_params), NULL};
