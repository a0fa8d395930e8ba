/* The pulsed plugin: the pulsed devices of SPEC.md §4 (aihwkit names),
 * devices of class "pulsed" that SingleRPUConfig and the unit cells use.
 *
 * Every model has the common parameters of SPEC.md §4.1 (with the nested
 * "drift" object of §6.6), device-to-device variation (§4.2), per-pulse
 * clipping and cycle-to-cycle noise (§4.4), decay with reset bias,
 * diffusion, reset and clip (§4.5), drift (§4.7) and, where aihwkit has
 * it, write noise with a hidden persistent weight (§4.4).  The shared
 * machinery is in pulsed_common.c; one file per model.
 *
 * Several pulses on one element in one update: ConstantStepDevice applies
 * them in one step when that is exact in distribution (noise-free, or the
 * element is farther from both bounds than the largest possible
 * excursion; see constant_step.c).  All other models (LinearStep,
 * SoftBounds, SoftBoundsPmax, SoftBoundsReference, ExpStep, PowStep,
 * PowStepReference, PiecewiseStep) have weight-dependent steps with
 * multiplicative noise, so they always apply them pulse by pulse. */
#include "rpu/plugin.h"

/* Defined in the model files. */
extern const rpu_model_desc rpu__constant_step_model;
extern const rpu_model_desc rpu__linear_step_model;
extern const rpu_model_desc rpu__soft_bounds_model;
extern const rpu_model_desc rpu__soft_bounds_pmax_model;
extern const rpu_model_desc rpu__soft_bounds_reference_model;
extern const rpu_model_desc rpu__exp_step_model;
extern const rpu_model_desc rpu__pow_step_model;
extern const rpu_model_desc rpu__pow_step_reference_model;
extern const rpu_model_desc rpu__piecewise_step_model;

static const rpu_model_desc *const models[] = {
    &rpu__constant_step_model,      &rpu__linear_step_model,
    &rpu__soft_bounds_model,        &rpu__soft_bounds_pmax_model,
    &rpu__soft_bounds_reference_model, &rpu__exp_step_model,
    &rpu__pow_step_model,           &rpu__pow_step_reference_model,
    &rpu__piecewise_step_model,
};

static const rpu_plugin_info info = {
    RPU_PLUGIN_INFO_HEAD,
    "pulsed",
    "1.0",
    "pulsed resistive devices: constant, linear, soft-bounds, exponential, "
    "power and piecewise steps (SPEC 4)",
    models,
    (uint32_t)(sizeof models / sizeof models[0]),
};

RPU_PLUGIN_DEFINE(pulsed, &info)
