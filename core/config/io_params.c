/* The "forward" / "backward" sections: IOParameters of one direction of
 * the analog MVM (SPEC.md §2.1, Python defaults per SPEC.md §12.1, plus the
 * C++-only nm_assumed_wmax, nm_decay and r_series_max_total). */
#include <math.h>
#include <stdio.h>

#include "core/config/sections.h"
#include "core/util/json.h"
#include "rpu/plugin.h"

static int io_check(const void *params, const char **param, char *msg,
                    size_t msg_len);

/* Enum names in the order of the public enums of rpu/params.h. */
static const char *const mv_types[] = {"IDEAL", "ONE_PASS", "POS_NEG_SEPARATE",
                                       "POS_NEG_SEPARATE_DIGITAL_SUM", NULL};
static const char *const bm_types[] = {"NONE", "ITERATIVE", "ITERATIVE_WORST_CASE", NULL};
static const char *const nm_types[] = {"NONE",     "ABS_MAX",  "ABS_MAX_NP_SUM", "MAX",
                                       "CONSTANT", "AVERAGE_ABS_MAX", NULL};
static const char *const w_noise_types[] = {"NONE", "ADDITIVE_CONSTANT", "PCM_READ", NULL};

#define S rpu_io_params
static const rpu_param_desc io_params[] = {
    RPU_PARAM_DEF_BOOL("is_perfect", S, is_perfect, 0,
                       "exact floating-point MVM; only out_scale is applied (SPEC 2.1)"),
    RPU_PARAM_DEF_ENUM("mv_type", S, mv_type, "ONE_PASS", mv_types,
                       "analog MVM scheme; IDEAL is the same as is_perfect (SPEC 2.4)"),
    RPU_PARAM_DEF_REAL("inp_bound", S, inp_bound, 1.0, -INFINITY, INFINITY, "",
                       "DAC input range +-inp_bound; <= 0 means unbounded; must be 1 "
                       "with noise management (SPEC 2.2)"),
    RPU_PARAM_DEF_REAL("inp_noise", S, inp_noise, 0.0, 0.0, INFINITY, "",
                       "std of the Gaussian noise added to each DAC output"),
    RPU_PARAM_DEF_REAL("inp_res", S, inp_res, 1.0 / 126.0, -INFINITY, INFINITY, "",
                       "DAC resolution as a fraction of the full range, or the number "
                       "of steps if > 1; <= 0 means no quantisation (SPEC 2.2)"),
    RPU_PARAM_DEF_BOOL("inp_sto_round", S, inp_sto_round, 0,
                       "stochastic rounding in the DAC"),
    RPU_PARAM_DEF_REAL("inp_asymmetry", S, inp_asymmetry, 0.0, -1.0, 1.0, "",
                       "negative inputs are scaled by (1 - inp_asymmetry)"),
    RPU_PARAM_DEF_REAL("out_bound", S, out_bound, 12.0, -INFINITY, INFINITY, "",
                       "ADC output range +-out_bound; <= 0 means unbounded"),
    RPU_PARAM_DEF_REAL("out_noise", S, out_noise, 0.06, 0.0, INFINITY, "",
                       "std of the Gaussian noise added to each analog output"),
    RPU_PARAM_DEF_REAL("out_noise_std", S, out_noise_std, 0.0, 0.0, INFINITY, "",
                       "relative output-to-output spread of out_noise (sampled once)"),
    RPU_PARAM_DEF_REAL("out_res", S, out_res, 1.0 / 510.0, -INFINITY, INFINITY, "",
                       "ADC resolution as a fraction of the full range, or the number "
                       "of steps if > 1; <= 0 means no quantisation"),
    RPU_PARAM_DEF_BOOL("out_sto_round", S, out_sto_round, 0,
                       "stochastic rounding in the ADC"),
    RPU_PARAM_DEF_REAL("out_scale", S, out_scale, 1.0, -INFINITY, INFINITY, "",
                       "fixed digital factor applied to the outputs"),
    RPU_PARAM_DEF_REAL("out_asymmetry", S, out_asymmetry, 0.0, -1.0, 1.0, "",
                       "negative outputs are scaled by (1 - out_asymmetry)"),
    RPU_PARAM_DEF_ENUM("bound_management", S, bound_management, "ITERATIVE", bm_types,
                       "re-run saturated MVMs with reduced inputs; forward only "
                       "(SPEC 2.5)"),
    RPU_PARAM_DEF_ENUM("noise_management", S, noise_management, "ABS_MAX", nm_types,
                       "input scaling before the DAC (SPEC 2.3)"),
    RPU_PARAM_DEF_REAL("w_noise", S, w_noise, 0.0, 0.0, INFINITY, "",
                       "scale of the output-referred weight noise"),
    RPU_PARAM_DEF_ENUM("w_noise_type", S, w_noise_type, "NONE", w_noise_types,
                       "kind of output-referred weight noise (SPEC 2.4)"),
    RPU_PARAM_DEF_REAL("ir_drop", S, ir_drop, 0.0, 0.0, INFINITY, "",
                       "scale of the IR-drop model; 0 = off (SPEC 2.6)"),
    RPU_PARAM_DEF_REAL("ir_drop_g_ratio", S, ir_drop_g_ratio, 1.0 / 0.35 / 5e-6, 0.0,
                       INFINITY, "",
                       "wire conductance over the device g_max (> 0; SPEC 2.6)"),
    RPU_PARAM_DEF_REAL("out_nonlinearity", S, out_nonlinearity, 0.0, 0.0, INFINITY, "",
                       "S-shaped output non-linearity (SPEC 2.4)"),
    RPU_PARAM_DEF_REAL("out_nonlinearity_std", S, out_nonlinearity_std, 0.0, 0.0,
                       INFINITY, "", "output-to-output spread of out_nonlinearity"),
    RPU_PARAM_DEF_REAL("slope_calibration", S, slope_calibration, 0.0, 0.0, INFINITY, "",
                       "calibration of the non-linearity slope (SPEC 2.2)"),
    RPU_PARAM_DEF_REAL("v_offset_std", S, v_offset_std, 0.0, 0.0, INFINITY, "",
                       "spread of the per-output voltage offsets (SPEC 2.7)"),
    RPU_PARAM_DEF_REAL("v_offset_w_min", S, v_offset_w_min, -1.0, -INFINITY, INFINITY, "",
                       "implicit reference weight of the voltage offsets (SPEC 2.7)"),
    RPU_PARAM_DEF_REAL("r_series", S, r_series, 0.0, 0.0, INFINITY, "",
                       "series resistance as a fraction (SPEC 2.7)"),
    RPU_PARAM_DEF_REAL("r_series_max_total", S, r_series_max_total, 3.4e38, 0.0, INFINITY,
                       "", "cap of r_series * |y| (SPEC 2.7)"),
    RPU_PARAM_DEF_REAL("w_read_asymmetry_dtod", S, w_read_asymmetry_dtod, 0.0, 0.0,
                       INFINITY, "",
                       "device-to-device spread of the read factor for negative "
                       "inputs (POS_NEG_SEPARATE modes)"),
    RPU_PARAM_DEF_INT("max_bm_factor", S, max_bm_factor, 1000, 1, 2147483647, "",
                      "bound management stops when the reduction exceeds this"),
    RPU_PARAM_DEF_REAL("max_bm_res", S, max_bm_res, 0.25, 0.0, INFINITY, "",
                       "bound management stops when the reduction exceeds "
                       "max_bm_res / DAC step (SPEC 2.5)"),
    RPU_PARAM_DEF_BOOL("bm_test_negative_bound", S, bm_test_negative_bound, 1,
                       "negative saturation also triggers bound management"),
    RPU_PARAM_DEF_REAL("nm_thres", S, nm_thres, 0.0, 0.0, INFINITY, "",
                       "noise management threshold, or the constant of CONSTANT"),
    RPU_PARAM_DEF_REAL("nm_assumed_wmax", S, nm_assumed_wmax, 0.6, 0.0, INFINITY, "",
                       "assumed weight magnitude of ABS_MAX_NP_SUM (SPEC 2.3)"),
    RPU_PARAM_DEF_REAL("nm_decay", S, nm_decay, 1e-3, 0.0, 1.0, "",
                       "decay of the running value of AVERAGE_ABS_MAX (SPEC 2.3)"),
};
#undef S

const rpu__section rpu__io_section = {
    "forward", io_params, sizeof io_params / sizeof io_params[0],
    sizeof(rpu_io_params), io_check};

/* SPEC.md §2.2: noise management rescales the input to [-1, 1], so the DAC
 * range must be exactly 1 (aihwkit refuses anything else).  A perfect MVM
 * uses none of it. */
static int io_check(const void *params, const char **param, char *msg,
                    size_t msg_len) {
  const rpu_io_params *p = params;
  if (p->is_perfect || p->mv_type == RPU_MV_IDEAL) return 0;
  if (p->noise_management != RPU_NM_NONE && p->inp_bound != 1.0) {
    *param = "inp_bound";
    char v[40];
    snprintf(msg, msg_len, "must be 1 when noise_management is %s (got %s)",
             nm_types[p->noise_management], rpu__json_format_real(v, sizeof v, p->inp_bound));
    return RPU_ECONFIG;
  }
  if (!(p->ir_drop_g_ratio > 0)) {
    *param = "ir_drop_g_ratio";
    snprintf(msg, msg_len, "must be greater than 0");
    return RPU_ERANGE;
  }
  return 0;
}
