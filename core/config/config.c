/* RPU configs: JSON <-> struct rpu_config (DESIGN.md §5, SPEC.md §1).
 *
 * Each config type accepts its own set of top-level keys and one device
 * class; the sections are validated by the schema engine of
 * core/plugin/params.c with the tables of io_params.c, update_params.c,
 * mapping.c and inference_params.c.  Every message starts with the name of
 * the text ("net.json: device.lifetime: -1 is below minimum 0"). */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config/config_impl.h"
#include "core/util/error.h"
#include "core/util/json.h"

/* Optional sections of a config type (mapping and pre_post: every type). */
enum {
  SEC_FORWARD = 1u << 0,
  SEC_BACKWARD = 1u << 1,
  SEC_UPDATE = 1u << 2,
  SEC_NOISE_MODEL = 1u << 3,
  SEC_DRIFT_COMPENSATION = 1u << 4,
  SEC_CLIP = 1u << 5,
  SEC_MODIFIER = 1u << 6,
  SEC_REMAP = 1u << 7
};

typedef struct config_kind {
  rpu_config_type type;
  const char *name;
  uint32_t device_class;      /* the one class its device must have */
  const char *default_device; /* NULL: the device must be given */
  unsigned sections;
} config_kind;

/* SPEC.md §1, table of configs. */
static const config_kind kinds[] = {
    {RPU_CONFIG_FLOATING_POINT, "FloatingPointRPUConfig", RPU_DEVICE_FLOATING_POINT,
     "FloatingPointDevice", 0},
    {RPU_CONFIG_SINGLE, "SingleRPUConfig", RPU_DEVICE_PULSED, "ConstantStepDevice",
     SEC_FORWARD | SEC_BACKWARD | SEC_UPDATE},
    {RPU_CONFIG_UNIT_CELL, "UnitCellRPUConfig", RPU_DEVICE_UNIT_CELL, NULL,
     SEC_FORWARD | SEC_BACKWARD | SEC_UPDATE},
    {RPU_CONFIG_INFERENCE, "InferenceRPUConfig", RPU_DEVICE_IDEAL, "IdealDevice",
     SEC_FORWARD | SEC_NOISE_MODEL | SEC_DRIFT_COMPENSATION | SEC_CLIP | SEC_MODIFIER |
         SEC_REMAP},
    {RPU_CONFIG_DIGITAL_RANK_UPDATE, "DigitalRankUpdateRPUConfig",
     RPU_DEVICE_DIGITAL_RANK_UPDATE, NULL, SEC_FORWARD | SEC_BACKWARD | SEC_UPDATE},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* Top-level keys in the order rpu_config_to_json writes them; `section`
 * 0 means every type takes the key. */
static const struct {
  const char *key;
  unsigned section;
} top_keys[] = {
    {"rpu_config", 0},
    {"schema_version", 0},
    {"device", 0},
    {"forward", SEC_FORWARD},
    {"backward", SEC_BACKWARD},
    {"update", SEC_UPDATE},
    {"noise_model", SEC_NOISE_MODEL},
    {"drift_compensation", SEC_DRIFT_COMPENSATION},
    {"clip", SEC_CLIP},
    {"modifier", SEC_MODIFIER},
    {"remap", SEC_REMAP},
    {"mapping", 0},
    {"pre_post", 0},
};
#define N_TOP_KEYS (sizeof top_keys / sizeof top_keys[0])

/* Defaults of the models InferenceRPUConfig names (SPEC.md §1). */
#define DEFAULT_NOISE_MODEL "PCMLikeNoiseModel"
#define DEFAULT_DRIFT_COMPENSATION "GlobalDriftCompensation"

/* Sections that rpu_config_section_schema documents. */
static const struct {
  const char *name;
  const rpu__section *section;
} section_names[] = {
    {"forward", &rpu__io_section},       {"backward", &rpu__io_section},
    {"update", &rpu__update_section},    {"mapping", &rpu__mapping_section},
    {"clip", &rpu__clip_section},        {"modifier", &rpu__modifier_section},
    {"remap", &rpu__remap_section},      {"pre_post.input_range", &rpu__input_range_section},
};
#define N_SECTIONS (sizeof section_names / sizeof section_names[0])

static int config_parse(rpu_config **out, rpu_context *ctx, struct json_object *root);
static int with_origin(int rc, const char *origin);
static const config_kind *kind_of(rpu_config_type type);
static void kind_list(char *buf, size_t len);

/* ----- public API ------------------------------------------------------- */

int rpu_config_from_file(rpu_config **out, rpu_context *ctx, const char *path) {
  if (out == NULL || ctx == NULL || path == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_from_file",
                          "rpu_config_from_file: out, ctx and path must not be NULL");
  *out = NULL;
  struct json_object *root = NULL;
  int rc = rpu__json_read_file(&root, path);
  if (rc < 0) return rc; /* the message already names the file */
  rc = config_parse(out, ctx, root);
  json_object_put(root);
  return rc < 0 ? with_origin(rc, path) : 0;
}

int rpu_config_from_string(rpu_config **out, rpu_context *ctx, const char *json,
                           const char *origin) {
  if (out == NULL || ctx == NULL || json == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_from_string",
                          "rpu_config_from_string: out, ctx and json must not be NULL");
  *out = NULL;
  if (origin == NULL) origin = "<string>";
  struct json_object *root = NULL;
  int rc = rpu__json_parse(&root, json, strlen(json), origin);
  if (rc < 0) return rc;
  rc = config_parse(out, ctx, root);
  json_object_put(root);
  return rc < 0 ? with_origin(rc, origin) : 0;
}

int rpu__config_from_json(rpu_config **out, rpu_context *ctx, struct json_object *root) {
  *out = NULL;
  if (!json_object_is_type(root, json_type_object))
    return rpu__error_set(RPU_ETYPE, "rpu_config", "expected an object, got %s",
                          rpu__json_type_name(root));
  return config_parse(out, ctx, root);
}

int rpu_config_default(rpu_config **out, rpu_context *ctx, const char *type_name) {
  if (out == NULL || ctx == NULL || type_name == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_default",
                          "rpu_config_default: out, ctx and type_name must not be NULL");
  *out = NULL;
  rpu_config_type type;
  int rc = rpu_config_type_from_name(type_name, &type);
  if (rc < 0) return rc;
  struct json_object *root = json_object_new_object();
  struct json_object *name = json_object_new_string(type_name);
  if (root == NULL || name == NULL || json_object_object_add(root, "rpu_config", name) != 0) {
    json_object_put(name);
    json_object_put(root);
    return rpu__error_set(RPU_ENOMEM, type_name, "out of memory");
  }
  rc = config_parse(out, ctx, root);
  json_object_put(root);
  return rc < 0 ? with_origin(rc, type_name) : 0;
}

int rpu_config_to_json(const rpu_config *cfg, char **out) {
  if (out == NULL || cfg == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_to_json",
                          "rpu_config_to_json: cfg and out must not be NULL");
  *out = NULL;
  const config_kind *k = kind_of(cfg->type);
  struct json_object *root = json_object_new_object();
  int ok = root != NULL;
  for (size_t i = 0; ok && i < N_TOP_KEYS; i++) {
    const char *key = top_keys[i].key;
    if (top_keys[i].section != 0 && !(k->sections & top_keys[i].section)) continue;
    struct json_object *v = NULL;
    int is_null = 0;
    if (strcmp(key, "rpu_config") == 0) {
      v = json_object_new_string(k->name);
    } else if (strcmp(key, "schema_version") == 0) {
      v = json_object_new_int(RPU_CONFIG_SCHEMA_VERSION);
    } else if (strcmp(key, "device") == 0) {
      v = rpu__spec_to_json(cfg->device);
    } else if (strcmp(key, "noise_model") == 0) {
      is_null = cfg->noise_model == NULL;
      if (!is_null) v = rpu__spec_to_json(cfg->noise_model);
    } else if (strcmp(key, "drift_compensation") == 0) {
      is_null = cfg->drift_compensation == NULL;
      if (!is_null) v = rpu__spec_to_json(cfg->drift_compensation);
    } else {
      const rpu__section *s = rpu__section_find(key);
      const void *in = NULL;
      if (strcmp(key, "forward") == 0) in = &cfg->forward;
      else if (strcmp(key, "backward") == 0) in = &cfg->backward;
      else if (strcmp(key, "update") == 0) in = &cfg->update;
      else if (strcmp(key, "clip") == 0) in = &cfg->clip;
      else if (strcmp(key, "modifier") == 0) in = &cfg->modifier;
      else if (strcmp(key, "remap") == 0) in = &cfg->remap;
      else if (strcmp(key, "mapping") == 0) in = &cfg->mapping;
      else s = &rpu__input_range_section, in = &cfg->input_range; /* pre_post */
      struct json_object *o = json_object_new_object();
      ok = o != NULL && rpu__section_to_json(s, in, o) == 0;
      if (ok && strcmp(key, "pre_post") == 0) {
        v = json_object_new_object();
        ok = v != NULL && json_object_object_add(v, "input_range", o) == 0;
        if (!ok) json_object_put(o);
      } else {
        v = o;
      }
    }
    ok = ok && (v != NULL || is_null) && json_object_object_add(root, key, v) == 0;
    if (!ok) json_object_put(v);
  }
  char *text = ok ? rpu__json_to_text(root) : NULL;
  json_object_put(root);
  if (text == NULL)
    return rpu__error_set(RPU_ENOMEM, "rpu_config_to_json", "out of memory writing a config");
  *out = text;
  return 0;
}

int rpu_config_clone(rpu_config **out, const rpu_config *cfg) {
  if (out == NULL || cfg == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_clone",
                          "rpu_config_clone: out and cfg must not be NULL");
  *out = NULL;
  char *text = NULL;
  int rc = rpu_config_to_json(cfg, &text);
  if (rc < 0) return rc;
  rc = rpu_config_from_string(out, cfg->ctx, text, "<clone>");
  free(text);
  return rc;
}

void rpu_config_free(rpu_config *cfg) {
  if (cfg == NULL) return;
  rpu__arena_free(&cfg->arena);
  free(cfg);
}

rpu_config_type rpu_config_get_type(const rpu_config *cfg) {
  return cfg ? cfg->type : (rpu_config_type)0;
}

const char *rpu_config_type_name(rpu_config_type type) {
  const config_kind *k = kind_of(type);
  return k ? k->name : "?";
}

int rpu_config_type_from_name(const char *name, rpu_config_type *out) {
  if (name == NULL || out == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_type_from_name",
                          "rpu_config_type_from_name: name and out must not be NULL");
  for (size_t i = 0; i < N_KINDS; i++)
    if (strcmp(kinds[i].name, name) == 0) {
      *out = kinds[i].type;
      return 0;
    }
  char list[512];
  kind_list(list, sizeof list);
  return rpu__error_set(RPU_ENOTFOUND, name, "unknown config type \"%s\"; valid: %s", name,
                        list);
}

const rpu_device_spec *rpu_config_device(const rpu_config *cfg) {
  return cfg ? cfg->device : NULL;
}

const rpu_io_params *rpu_config_forward(const rpu_config *cfg) {
  return cfg && cfg->has_io ? &cfg->forward : NULL;
}

const rpu_io_params *rpu_config_backward(const rpu_config *cfg) {
  return cfg && cfg->has_io ? &cfg->backward : NULL;
}

const rpu_update_params *rpu_config_update(const rpu_config *cfg) {
  return cfg && cfg->has_io ? &cfg->update : NULL;
}

int rpu_config_mapping(const rpu_config *cfg, int *max_in, int *max_out,
                       int *digital_bias) {
  if (cfg == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_mapping",
                          "rpu_config_mapping: cfg must not be NULL");
  if (max_in) *max_in = cfg->mapping.max_input_size;
  if (max_out) *max_out = cfg->mapping.max_output_size;
  if (digital_bias) *digital_bias = cfg->mapping.digital_bias ? 1 : 0;
  return 0;
}

int rpu_config_mapping_params(const rpu_config *cfg, rpu_mapping_params *out) {
  if (cfg == NULL || out == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_mapping_params",
                          "rpu_config_mapping_params: cfg and out must not be NULL");
  const rpu__mapping_params *m = &cfg->mapping;
  out->digital_bias = m->digital_bias ? 1 : 0;
  out->weight_scaling_omega = m->weight_scaling_omega;
  out->weight_scaling_columnwise = m->weight_scaling_columnwise ? 1 : 0;
  out->weight_scaling_lr_compensation = m->weight_scaling_lr_compensation ? 1 : 0;
  out->learn_out_scaling = m->learn_out_scaling ? 1 : 0;
  out->out_scaling_columnwise = m->out_scaling_columnwise ? 1 : 0;
  out->max_input_size = m->max_input_size;
  out->max_output_size = m->max_output_size;
  out->input_range_enable = cfg->input_range.enable ? 1 : 0;
  return 0;
}

int rpu_config_section_schema(const char *section, const rpu_param_desc **params,
                              size_t *n_params) {
  if (section == NULL || params == NULL || n_params == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_config_section_schema",
                          "rpu_config_section_schema: arguments must not be NULL");
  const rpu__section *s = rpu__section_find(section);
  if (s == NULL) {
    char list[512] = "";
    for (size_t i = 0; i < N_SECTIONS; i++) {
      if (i) strcat(list, ", ");
      strcat(list, section_names[i].name);
    }
    return rpu__error_set(RPU_ENOTFOUND, section, "unknown config section \"%s\"; valid: %s",
                          section, list);
  }
  *params = s->params;
  *n_params = s->n_params;
  return 0;
}

const rpu__section *rpu__section_find(const char *name) {
  for (size_t i = 0; i < N_SECTIONS; i++)
    if (strcmp(section_names[i].name, name) == 0) return section_names[i].section;
  return NULL;
}

/* ----- parsing ---------------------------------------------------------- */

static int parse_kind(struct json_object *root, const config_kind **out) {
  struct json_object *v = NULL;
  char list[512];
  kind_list(list, sizeof list);
  if (!json_object_object_get_ex(root, "rpu_config", &v))
    return rpu__error_set(RPU_ECONFIG, NULL, "rpu_config: missing (one of %s)", list);
  if (!json_object_is_type(v, json_type_string))
    return rpu__error_set(RPU_ETYPE, NULL, "rpu_config: expected a string (one of %s), got %s",
                          list, rpu__json_type_name(v));
  const char *name = json_object_get_string(v);
  for (size_t i = 0; i < N_KINDS; i++)
    if (strcmp(kinds[i].name, name) == 0) {
      *out = &kinds[i];
      return 0;
    }
  return rpu__error_set(RPU_ECONFIG, NULL, "rpu_config: unknown config type \"%s\"; valid: %s",
                        name, list);
}

static int parse_schema_version(struct json_object *root) {
  struct json_object *v = NULL;
  if (!json_object_object_get_ex(root, "schema_version", &v)) return 0;
  double ver = json_object_get_double(v);
  int number = json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
  if (!number || !isfinite(ver) || ver != floor(ver))
    return rpu__error_set(RPU_ETYPE, NULL, "schema_version: expected an integer, got %s",
                          number ? "a fraction" : rpu__json_type_name(v));
  if (ver > RPU_CONFIG_SCHEMA_VERSION)
    return rpu__error_set(RPU_EVERSION, NULL,
                          "schema_version: %.0f is newer than this library supports (%d)", ver,
                          RPU_CONFIG_SCHEMA_VERSION);
  if (ver < 1)
    return rpu__error_set(RPU_ERANGE, NULL, "schema_version: %.0f is below minimum 1", ver);
  return 0;
}

static int check_top_keys(struct json_object *root, const config_kind *k) {
  json_object_object_foreach(root, key, val) {
    (void)val;
    int known = 0;
    for (size_t i = 0; i < N_TOP_KEYS && !known; i++)
      known = strcmp(top_keys[i].key, key) == 0 &&
              (top_keys[i].section == 0 || (k->sections & top_keys[i].section));
    if (known) continue;
    char list[512] = "";
    for (size_t i = 0; i < N_TOP_KEYS; i++) {
      if (top_keys[i].section != 0 && !(k->sections & top_keys[i].section)) continue;
      if (list[0]) strcat(list, ", ");
      strcat(list, top_keys[i].key);
    }
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: unknown key for %s; valid keys: %s", key,
                          k->name, list);
  }
  return 0;
}

/* The config's device: given (class checked first, so a wrong class is
 * reported before any of the device's parameters), or the type's default. */
static int parse_device(rpu_config *cfg, const config_kind *k, struct json_object *root) {
  struct json_object *obj = NULL;
  rpu_device_spec *spec = NULL;
  rpu_model_entry e;
  const char *cls = rpu_device_class_name(k->device_class);
  int rc;
  if (!json_object_object_get_ex(root, "device", &obj)) {
    if (k->default_device == NULL)
      return rpu__error_set(RPU_ECONFIG, NULL,
                            "device: required for %s (a device of class %s, "
                            "{\"type\": NAME, ...})",
                            k->name, cls);
    rc = rpu_context_find_model(cfg->ctx, k->default_device, RPU_MODEL_DEVICE, &e);
    if (rc < 0) return rpu__error_prefix("device: default %s", k->default_device);
    rc = rpu__spec_default(&spec, &cfg->arena, cfg->ctx, &e, "device");
  } else {
    struct json_object *type = NULL;
    if (json_object_is_type(obj, json_type_object) &&
        json_object_object_get_ex(obj, "type", &type) &&
        json_object_is_type(type, json_type_string) &&
        rpu_context_find_model(cfg->ctx, json_object_get_string(type), RPU_MODEL_DEVICE, &e) ==
            0 &&
        e.device_class != k->device_class)
      return rpu__error_set(RPU_ECONFIG, NULL,
                            "device.type: %s is a device of class %s; %s accepts class %s",
                            e.name, rpu_device_class_name(e.device_class), k->name, cls);
    rc = rpu__spec_from_json(&spec, &cfg->arena, cfg->ctx, obj, "device", RPU_MODEL_DEVICE,
                             1u << k->device_class);
  }
  cfg->device = spec;
  return rc;
}

/* noise_model / drift_compensation: given, null (if allowed) or default. */
static int parse_model(rpu_config *cfg, struct json_object *root, const char *key,
                       uint32_t kind, const char *def, int nullable,
                       const rpu_device_spec **out) {
  struct json_object *obj = NULL;
  rpu_device_spec *spec = NULL;
  int rc;
  *out = NULL;
  if (json_object_object_get_ex(root, key, &obj)) {
    if (obj == NULL && nullable) return 0; /* json-c represents null as NULL */
    rc = rpu__spec_from_json(&spec, &cfg->arena, cfg->ctx, obj, key, kind, 0);
  } else {
    rpu_model_entry e;
    rc = rpu_context_find_model(cfg->ctx, def, kind, &e);
    if (rc < 0) return rpu__error_prefix("%s: default %s", key, def);
    rc = rpu__spec_default(&spec, &cfg->arena, cfg->ctx, &e, key);
  }
  *out = spec;
  return rc;
}

/* A section: its JSON object if present (NULL: defaults). */
static int parse_section(rpu_config *cfg, struct json_object *root, const char *key,
                         const rpu__section *s, void *out) {
  struct json_object *obj = NULL;
  int present = json_object_object_get_ex(root, key, &obj);
  if (present && obj == NULL)
    return rpu__error_set(RPU_ETYPE, NULL, "%s: expected an object, got null", key);
  return rpu__section_from_json(&cfg->arena, s, present ? obj : NULL, key, out);
}

/* "pre_post": {"input_range": {...}} — aihwkit's PrePostProcessingParameter
 * has no other field. */
static int parse_pre_post(rpu_config *cfg, struct json_object *root) {
  struct json_object *pp = NULL, *ir = NULL;
  if (json_object_object_get_ex(root, "pre_post", &pp)) {
    if (!json_object_is_type(pp, json_type_object))
      return rpu__error_set(RPU_ETYPE, NULL, "pre_post: expected an object, got %s",
                            rpu__json_type_name(pp));
    json_object_object_foreach(pp, key, val) {
      (void)val;
      if (strcmp(key, "input_range") != 0)
        return rpu__error_set(RPU_ECONFIG, NULL, "pre_post.%s: unknown key; valid keys: "
                              "input_range", key);
    }
    if (json_object_object_get_ex(pp, "input_range", &ir) && ir == NULL)
      return rpu__error_set(RPU_ETYPE, NULL,
                            "pre_post.input_range: expected an object, got null");
  }
  return rpu__section_from_json(&cfg->arena, &rpu__input_range_section, ir,
                                "pre_post.input_range", &cfg->input_range);
}

static int parse_sections(rpu_config *cfg, const config_kind *k, struct json_object *root) {
  int rc = parse_device(cfg, k, root);
  if (rc == 0 && (k->sections & SEC_FORWARD))
    rc = parse_section(cfg, root, "forward", &rpu__io_section, &cfg->forward);
  if (rc == 0 && (k->sections & SEC_BACKWARD))
    rc = parse_section(cfg, root, "backward", &rpu__io_section, &cfg->backward);
  if (rc == 0 && (k->sections & SEC_UPDATE))
    rc = parse_section(cfg, root, "update", &rpu__update_section, &cfg->update);
  if (rc == 0 && k->type == RPU_CONFIG_INFERENCE) {
    /* SPEC.md §1: the backward pass is perfect and the update an exact
     * gradient (pulse_type NONE); neither is configurable. */
    rc = rpu__section_from_json(&cfg->arena, &rpu__io_section, NULL, "backward",
                                &cfg->backward);
    cfg->backward.is_perfect = 1;
    if (rc == 0)
      rc = rpu__section_from_json(&cfg->arena, &rpu__update_section, NULL, "update",
                                  &cfg->update);
    cfg->update.pulse_type = RPU_PULSE_NONE;
  }
  if (rc == 0 && (k->sections & SEC_NOISE_MODEL))
    rc = parse_model(cfg, root, "noise_model", RPU_MODEL_NOISE_MODEL, DEFAULT_NOISE_MODEL, 0,
                     &cfg->noise_model);
  if (rc == 0 && (k->sections & SEC_DRIFT_COMPENSATION))
    rc = parse_model(cfg, root, "drift_compensation", RPU_MODEL_DRIFT_COMPENSATION,
                     DEFAULT_DRIFT_COMPENSATION, 1, &cfg->drift_compensation);
  if (rc == 0 && (k->sections & SEC_CLIP))
    rc = parse_section(cfg, root, "clip", &rpu__clip_section, &cfg->clip);
  if (rc == 0 && (k->sections & SEC_MODIFIER))
    rc = parse_section(cfg, root, "modifier", &rpu__modifier_section, &cfg->modifier);
  if (rc == 0 && (k->sections & SEC_REMAP))
    rc = parse_section(cfg, root, "remap", &rpu__remap_section, &cfg->remap);
  if (rc == 0) rc = parse_section(cfg, root, "mapping", &rpu__mapping_section, &cfg->mapping);
  if (rc == 0) rc = parse_pre_post(cfg, root);
  return rc;
}

/* Builds a config from a parsed JSON object; nothing is returned on error. */
static int config_parse(rpu_config **out, rpu_context *ctx, struct json_object *root) {
  const config_kind *k = NULL;
  int rc = parse_kind(root, &k);
  if (rc == 0) rc = parse_schema_version(root);
  if (rc == 0) rc = check_top_keys(root, k);
  if (rc < 0) return rc;
  rpu_config *cfg = calloc(1, sizeof *cfg);
  if (cfg == NULL) return rpu__error_set(RPU_ENOMEM, NULL, "out of memory");
  cfg->ctx = ctx;
  cfg->type = k->type;
  cfg->has_io = (k->sections & SEC_FORWARD) != 0;
  /* Types without some sections still get their defaults, so every field
   * of the struct is meaningful. */
  rc = rpu__section_from_json(&cfg->arena, &rpu__io_section, NULL, "forward", &cfg->forward);
  if (rc == 0)
    rc = rpu__section_from_json(&cfg->arena, &rpu__io_section, NULL, "backward",
                                &cfg->backward);
  if (rc == 0)
    rc = rpu__section_from_json(&cfg->arena, &rpu__update_section, NULL, "update",
                                &cfg->update);
  if (rc == 0)
    rc = rpu__section_from_json(&cfg->arena, &rpu__clip_section, NULL, "clip", &cfg->clip);
  if (rc == 0)
    rc = rpu__section_from_json(&cfg->arena, &rpu__modifier_section, NULL, "modifier",
                                &cfg->modifier);
  if (rc == 0)
    rc = rpu__section_from_json(&cfg->arena, &rpu__remap_section, NULL, "remap", &cfg->remap);
  if (rc == 0) rc = parse_sections(cfg, k, root);
  if (rc < 0) {
    rpu_config_free(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}

/* ----- helpers ---------------------------------------------------------- */

/* Prefixes the current message with the origin and records it as origin. */
static int with_origin(int rc, const char *origin) {
  const rpu_error *e = rpu_error_last();
  if (e->code == RPU_OK) return rpu__error_set(rc, origin, "%s: failed", origin);
  return rpu__error_set(e->code, origin, "%s: %s", origin, e->message);
}

static const config_kind *kind_of(rpu_config_type type) {
  for (size_t i = 0; i < N_KINDS; i++)
    if (kinds[i].type == type) return &kinds[i];
  return NULL;
}

static void kind_list(char *buf, size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; i < N_KINDS; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", kinds[i].name);
  }
}
