/* The sections of InferenceRPUConfig that act on the weights after each
 * mini-batch: "clip" (WeightClipParameter, SPEC.md §6.8), "modifier"
 * (WeightModifierParameter, §6.7) and "remap" (WeightRemapParameter,
 * §6.9), with aihwkit's enum names. */
#include <math.h>
#include <stdio.h>

#include "core/config/sections.h"
#include "rpu/plugin.h"

static int remap_check(const void *params, const char **param, char *msg,
                       size_t msg_len);

/* Enum names in the order of the rpu__*_type enums of sections.h. */
static const char *const clip_types[] = {"NONE", "FIXED_VALUE", "LAYER_GAUSSIAN",
                                         "AVERAGE_CHANNEL_MAX", NULL};
static const char *const modifier_types[] = {
    "NONE", "DISCRETIZE", "MULT_NORMAL", "ADD_NORMAL", "DISCRETIZE_ADD_NORMAL", "DOREFA",
    "POLY", "PCM_NOISE",  "PROG_NOISE",  "DROP_CONNECT", "COPY", NULL};
static const char *const remap_types[] = {"NONE", "LAYERWISE_SYMMETRIC",
                                          "CHANNELWISE_SYMMETRIC", NULL};

/* SPEC.md §6.7: [0.26348 / 25, 0.0768, -0.001877 * 25]. */
static const double modifier_coeffs[] = {0.0105392, 0.0768, -0.046925};

#define S rpu__clip_params
static const rpu_param_desc clip_params[] = {
    RPU_PARAM_DEF_ENUM("type", S, type, "NONE", clip_types,
                       "how the clip value is chosen after each mini-batch (SPEC 6.8)"),
    RPU_PARAM_DEF_REAL("fixed_value", S, fixed_value, -1.0, -INFINITY, INFINITY, "",
                       "clip value of FIXED_VALUE, upper limit of the others; <= 0 = none"),
    RPU_PARAM_DEF_REAL("sigma", S, sigma, 2.5, 0.0, INFINITY, "",
                       "LAYER_GAUSSIAN clips at sigma * std(W)"),
};
#undef S

#define S rpu__modifier_params
static const rpu_param_desc modifier_params[] = {
    RPU_PARAM_DEF_ENUM("type", S, type, "NONE", modifier_types,
                       "noise or quantisation applied to the forward weights during "
                       "training (SPEC 6.7)"),
    RPU_PARAM_DEF_REAL("std_dev", S, std_dev, 0.0, 0.0, INFINITY, "",
                       "noise scale, relative to the weight maximum"),
    RPU_PARAM_DEF_BOOL("per_batch_sample", S, per_batch_sample, 0,
                       "new noise per batch sample (accepted for compatibility; torch "
                       "tiles only in aihwkit)"),
    RPU_PARAM_DEF_REAL("res", S, res, 0.0, 0.0, INFINITY, "",
                       "discretisation step relative to the weight maximum (or number "
                       "of steps if > 1)"),
    RPU_PARAM_DEF_BOOL("sto_round", S, sto_round, 0, "stochastic rounding when discretising"),
    RPU_PARAM_DEF_REAL("dorefa_clip", S, dorefa_clip, 0.6, 0.0, INFINITY, "",
                       "clip value of DOREFA"),
    RPU_PARAM_DEF_REAL("pdrop", S, pdrop, 0.0, 0.0, 1.0, "",
                       "probability of dropping each weight (drop connect)"),
    RPU_PARAM_DEF_BOOL("enable_during_test", S, enable_during_test, 0,
                       "also use the modified weights in evaluation"),
    RPU_PARAM_DEF_BOOL("rel_to_actual_wmax", S, rel_to_actual_wmax, 1,
                       "relative to the actual max|W|, else to assumed_wmax"),
    RPU_PARAM_DEF_REAL("assumed_wmax", S, assumed_wmax, 1.0, 0.0, INFINITY, "",
                       "weight maximum assumed when rel_to_actual_wmax is false"),
    RPU_PARAM_DEF_BOOL("copy_last_column", S, copy_last_column, 0,
                       "leave the last column (an analog bias) unmodified"),
    RPU_PARAM_DEF_REAL_ARRAY("coeffs", S, coeffs, modifier_coeffs,
                             sizeof modifier_coeffs / sizeof modifier_coeffs[0], -INFINITY,
                             INFINITY, "",
                             "polynomial coefficients of POLY and PROG_NOISE, lowest "
                             "order first"),
    RPU_PARAM_DEF_REAL("g_max", S, g_max, 25.0, 0.0, INFINITY, "uS",
                       "g_max of PROG_NOISE and PCM_NOISE"),
    RPU_PARAM_DEF_REAL("pcm_zero_thres", S, pcm_zero_thres, 0.0, 0.0, INFINITY, "",
                       "PCM_NOISE: conductances below this (in programming-noise "
                       "units) become 0"),
    RPU_PARAM_DEF_REAL("pcm_t_inference", S, pcm_t_inference, 0.0, 0.0, INFINITY, "s",
                       "PCM_NOISE: inference time of the simulated drift"),
    RPU_PARAM_DEF_REAL("pcm_prob_at_reset", S, pcm_prob_at_reset, 0.0, 0.0, 1.0, "",
                       "PCM_NOISE: probability that a device is stuck at reset"),
    RPU_PARAM_DEF_REAL("pcm_prob_at_gmax", S, pcm_prob_at_gmax, 0.0, 0.0, 1.0, "",
                       "PCM_NOISE: probability that a device is stuck at g_max"),
    RPU_PARAM_DEF_REAL("pcm_prob_at_random", S, pcm_prob_at_random, 0.0, 0.0, 1.0, "",
                       "PCM_NOISE: probability that a device is stuck at a random value"),
    RPU_PARAM_DEF_REAL("pcm_t0", S, pcm_t0, 20.0, 0.0, INFINITY, "s",
                       "PCM_NOISE: drift reference time t_0"),
};
#undef S

#define S rpu__remap_params
static const rpu_param_desc remap_params[] = {
    RPU_PARAM_DEF_ENUM("type", S, type, "NONE", remap_types,
                       "how weights are rescaled into the output scales after each "
                       "mini-batch (SPEC 6.9)"),
    RPU_PARAM_DEF_REAL("remapped_wmax", S, remapped_wmax, 1.0, 0.0, INFINITY, "",
                       "max|W| after remapping (> 0)"),
    RPU_PARAM_DEF_REAL("max_scale_range", S, max_scale_range, 0.0, 0.0, INFINITY, "",
                       "CHANNELWISE_SYMMETRIC: caps the scales at s_min * this; 0 = "
                       "off (needs remapped_wmax = 1)"),
    RPU_PARAM_DEF_REAL("max_scale_ref", S, max_scale_ref, 0.0, 0.0, INFINITY, "",
                       "lower limit of the reference scale s_min; 0 = off"),
};
#undef S

const rpu__section rpu__clip_section = {
    "clip", clip_params, sizeof clip_params / sizeof clip_params[0],
    sizeof(rpu__clip_params), NULL};

const rpu__section rpu__modifier_section = {
    "modifier", modifier_params, sizeof modifier_params / sizeof modifier_params[0],
    sizeof(rpu__modifier_params), NULL};

const rpu__section rpu__remap_section = {
    "remap", remap_params, sizeof remap_params / sizeof remap_params[0],
    sizeof(rpu__remap_params), remap_check};

/* SPEC.md §6.9: the weights are divided by max|W| / remapped_wmax, so it
 * must be positive; the scale-range cap is defined for remapped_wmax = 1. */
static int remap_check(const void *params, const char **param, char *msg,
                       size_t msg_len) {
  const rpu__remap_params *p = params;
  if (!(p->remapped_wmax > 0)) {
    *param = "remapped_wmax";
    snprintf(msg, msg_len, "must be greater than 0");
    return RPU_ERANGE;
  }
  if (p->max_scale_range > 0 && p->remapped_wmax != 1.0) {
    *param = "max_scale_range";
    snprintf(msg, msg_len, "requires remapped_wmax = 1");
    return RPU_ECONFIG;
  }
  return 0;
}
