/* A test plugin whose models use every parameter type and flag of
 * rpu/params.h, so tests/check_params.c can drive the schema engine through
 * the public API.  Built as tests/modules/all_types.la and loaded with
 * rpu_context_load_plugin.
 *
 * With -DBROKEN=N it instead provides one model whose schema is broken in
 * way N, for the rpu__schema_check tests (the loader must refuse it);
 * Makefile.am builds each variant as tests/modules/all_types_bN.la. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "rpu/plugin.h"

static int dev_create(void **state, const rpu_device_init *init, rpu_weights w) {
  (void)init;
  (void)w;
  *state = malloc(1);
  return *state ? 0 : RPU_ENOMEM;
}

static void dev_destroy(void *state) { free(state); }

static const rpu_device_vtable dev_vtable = {
    .struct_size = sizeof(rpu_device_vtable),
    .create = dev_create,
    .destroy = dev_destroy,
};

#ifndef BROKEN

/* ----- TestAllTypesCell: one parameter of every type ------------------- */

typedef struct all_params {
  int flag;
  int count;
  double gain;
  int mode;
  const char *label;
  const char *note;
  rpu_real_array coeffs;
  const rpu_device_spec *inner;
  const rpu_device_spec *optional;
  rpu_device_list devices;
  const rpu_io_params *transfer_forward;
  const rpu_update_params *transfer_update;
  double group_a;
  int group_sub_b;
  double derived;
} all_params;

static const char *const modes[] = {"ALPHA", "BETA", "GAMMA", NULL};
static const double coeffs_default[] = {1.0, 2.0};

static int all_check(const void *params, const char **param, char *msg, size_t msg_len);

#define S all_params
static const rpu_param_desc all_schema[] = {
    RPU_PARAM_DEF_BOOL("flag", S, flag, 1, "a boolean, default true"),
    RPU_PARAM_DEF_INT("count", S, count, 3, 0, 10, "", "an int in [0, 10], default 3"),
    RPU_PARAM_DEF_REAL("gain", S, gain, 0.5, 0.0, 1.0, "", "a real in [0, 1], default 0.5"),
    RPU_PARAM_DEF_ENUM("mode", S, mode, "BETA", modes, "an enum, default BETA"),
    RPU__PD("label", RPU_PARAM_STRING, 0u, 0, 0, 0, "hello", NULL, NULL, 0, "",
            "a string, default hello", offsetof(S, label)),
    RPU__PD("note", RPU_PARAM_STRING, RPU_PARAM_F_NULLABLE, 0, 0, 0, NULL, NULL, NULL, 0, "",
            "a nullable string without default", offsetof(S, note)),
    RPU_PARAM_DEF_REAL_ARRAY("coeffs", S, coeffs, coeffs_default, 2, -5.0, 5.0, "",
                             "reals in [-5, 5], default [1, 2]"),
    RPU_PARAM_DEF_DEVICE("inner", S, inner, "IdealDevice", 0u, "a device, default IdealDevice"),
    RPU_PARAM_DEF_DEVICE("optional", S, optional, NULL, RPU_PARAM_F_NULLABLE,
                         "a nullable device without default"),
    RPU_PARAM_DEF_DEVICE_LIST("devices", S, devices, "a list of devices, default empty"),
    RPU_PARAM_DEF_IO("transfer_forward", S, transfer_forward, "IO parameters"),
    RPU_PARAM_DEF_UPDATE("transfer_update", S, transfer_update, "update parameters"),
    RPU_PARAM_DEF_REAL("group.a", S, group_a, 1.0, -INFINITY, INFINITY, "",
                       "a nested real, default 1"),
    RPU_PARAM_DEF_INT("group.sub.b", S, group_sub_b, 2, -100, 100, "",
                      "a doubly nested int, default 2"),
    RPU__PD("derived", RPU_PARAM_REAL, RPU_PARAM_F_DERIVED, 0, -INFINITY, INFINITY, NULL, NULL,
            NULL, 0, "", "read-only", offsetof(S, derived)),
};
#undef S

static const rpu_model_desc all_model = {
    sizeof(rpu_model_desc),
    "TestAllTypesCell",
    RPU_MODEL_DEVICE,
    RPU_DEVICE_UNIT_CELL,
    "test unit cell with one parameter of every type",
    RPU_MODEL_PARAMS(all_schema, all_params),
    all_check,
    &dev_vtable,
};

/* Cross-field rule: count must not exceed the number of devices + 3. */
static int all_check(const void *params, const char **param, char *msg, size_t msg_len) {
  const all_params *p = params;
  if ((size_t)p->count > p->devices.n + 3) {
    *param = "count";
    snprintf(msg, msg_len, "exceeds the number of devices + 3");
    return RPU_ECONFIG;
  }
  return 0;
}

/* ----- TestRequiredCell: a parameter without default ------------------- */

typedef struct req_params {
  double must;
} req_params;

static const rpu_param_desc req_schema[] = {
    RPU__PD("must", RPU_PARAM_REAL, RPU_PARAM_F_REQUIRED, 0, 0.0, 10.0, NULL, NULL, NULL, 0,
            "", "required, in [0, 10]", offsetof(req_params, must)),
};

static const rpu_model_desc req_model = {
    sizeof(rpu_model_desc),
    "TestRequiredCell",
    RPU_MODEL_DEVICE,
    RPU_DEVICE_UNIT_CELL,
    "test unit cell with a required parameter",
    RPU_MODEL_PARAMS(req_schema, req_params),
    NULL,
    &dev_vtable,
};

/* ----- TestSelfNestingCell: its default sub-device is itself ----------- */

typedef struct self_params {
  const rpu_device_spec *inner;
} self_params;

static const rpu_param_desc self_schema[] = {
    RPU_PARAM_DEF_DEVICE("inner", self_params, inner, "TestSelfNestingCell", 0u,
                         "defaults to another TestSelfNestingCell (endless)"),
};

static const rpu_model_desc self_model = {
    sizeof(rpu_model_desc),
    "TestSelfNestingCell",
    RPU_MODEL_DEVICE,
    RPU_DEVICE_UNIT_CELL,
    "test unit cell whose default nests for ever",
    RPU_MODEL_PARAMS(self_schema, self_params),
    NULL,
    &dev_vtable,
};

/* ----- TestDigitalCell: a digital_rank_update device -------------------- */

typedef struct digital_params {
  const rpu_device_spec *device;
} digital_params;

static const rpu_param_desc digital_schema[] = {
    RPU_PARAM_DEF_DEVICE("device", digital_params, device, "IdealDevice", 0u,
                         "the device of the cell"),
};

static const rpu_model_desc digital_model = {
    sizeof(rpu_model_desc),
    "TestDigitalCell",
    RPU_MODEL_DEVICE,
    RPU_DEVICE_DIGITAL_RANK_UPDATE,
    "test digital rank update cell",
    RPU_MODEL_PARAMS(digital_schema, digital_params),
    NULL,
    &dev_vtable,
};

static const rpu_model_desc *const models[] = {&all_model, &req_model, &self_model,
                                               &digital_model};

#else /* BROKEN */

typedef struct broken_params {
  double a;
  double b;
  int e;
} broken_params;

#if BROKEN == 2
static const char *const values[] = {"X", "Y", NULL};
#endif

#define S broken_params
static const rpu_param_desc broken_schema[] = {
#if BROKEN == 1 /* default above maximum */
    RPU_PARAM_DEF_REAL("a", S, a, 2.0, 0.0, 1.0, "", "doc"),
#elif BROKEN == 2 /* enum default not among the values */
    RPU_PARAM_DEF_ENUM("e", S, e, "Z", values, "doc"),
#elif BROKEN == 3 /* two fields at the same offset */
    RPU_PARAM_DEF_REAL("a", S, a, 0.0, 0.0, 1.0, "", "doc"),
    RPU_PARAM_DEF_REAL("b", S, a, 0.0, 0.0, 1.0, "", "doc"),
#elif BROKEN == 4 /* a value and a group of the same name */
    RPU_PARAM_DEF_REAL("drift", S, a, 0.0, 0.0, 1.0, "", "doc"),
    RPU_PARAM_DEF_REAL("drift.nu", S, b, 0.0, 0.0, 1.0, "", "doc"),
#elif BROKEN == 5 /* duplicate name */
    RPU_PARAM_DEF_REAL("a", S, a, 0.0, 0.0, 1.0, "", "doc"),
    RPU_PARAM_DEF_REAL("a", S, b, 0.0, 0.0, 1.0, "", "doc"),
#elif BROKEN == 6 /* "type" is the model name's key */
    RPU_PARAM_DEF_REAL("type", S, a, 0.0, 0.0, 1.0, "", "doc"),
#elif BROKEN == 7 /* non-integral int default */
    RPU_PARAM_DEF_INT("e", S, e, 1.5, 0, 3, "", "doc"),
#elif BROKEN == 8 /* min > max */
    RPU_PARAM_DEF_REAL("a", S, a, 0.0, 1.0, -1.0, "", "doc"),
#elif BROKEN == 9 /* field beyond the struct */
    RPU__PD("a", RPU_PARAM_REAL, 0u, 0.0, 0.0, 1.0, NULL, NULL, NULL, 0, "", "doc",
            sizeof(broken_params)),
#endif
};
#undef S

static const rpu_model_desc broken_model = {
    sizeof(rpu_model_desc),
    "TestBrokenSchema",
    RPU_MODEL_DEVICE,
    RPU_DEVICE_UNIT_CELL,
    "test device with a broken schema",
    RPU_MODEL_PARAMS(broken_schema, broken_params),
    NULL,
    &dev_vtable,
};

static const rpu_model_desc *const models[] = {&broken_model};

#endif /* BROKEN */

static const rpu_plugin_info info = {
    RPU_PLUGIN_INFO_HEAD,
    "all_types",
    "1.0",
    "test plugin: every parameter type",
    models,
    (uint32_t)(sizeof models / sizeof models[0]),
};

RPU_PLUGIN_DEFINE(all_types, &info)
