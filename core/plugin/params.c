/* The parameter-schema engine (DESIGN.md §4 "Parameter schema"): checks a
 * plugin's schema, validates JSON against a schema into a typed struct,
 * writes a typed struct back as JSON, and builds model specs from
 * {"type": NAME, ...} objects.  The config sections (core/config) use the
 * same engine, so a model parameter and a config field behave alike.
 *
 * Messages always start with the JSON path of the culprit
 * ("device.drift.nu: -1 is below minimum 0"). */
#include "core/plugin/params.h"

#include <json-c/json.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config/sections.h"
#include "core/util/error.h"
#include "core/util/json.h"

#define PATH_LEN 1024
#define LIST_LEN 1200
/* Nested models deeper than this are refused (a default device naming
 * itself would otherwise recurse for ever). */
#define MAX_NESTING 24
/* Longest enum value list a schema may have (guards a missing NULL). */
#define MAX_ENUM_VALUES 4096

/* What validating one object needs besides the object itself. */
typedef struct fill_ctx {
  rpu__arena *a;
  rpu_context *ctx;
  const rpu_param_desc *schema;
  size_t n;
  uint32_t desc_size;
  const char *const *skip;
} fill_ctx;

static int check_level(const fill_ctx *f, struct json_object *obj,
                       const char *prefix, const char *path);
static int fill_param(const fill_ctx *f, const rpu_param_desc *d, int present,
                      struct json_object *val, const char *ppath, void *out);
static int lookup(struct json_object *obj, const char *name, struct json_object **val);
static int put_param(const rpu_param_desc *d, const void *in,
                     struct json_object *obj);
static int spec_build(rpu_device_spec **out, rpu__arena *a, rpu_context *ctx,
                      const rpu_model_entry *e, struct json_object *obj,
                      const char *path);
static void join(char *buf, const char *path, const char *name);
static size_t field_size(uint32_t type, size_t *align);
static size_t enum_count(const char *const *values);
static long enum_index(const char *const *values, const char *name);
static int nesting(const char *path);

/* ----- public host services --------------------------------------------- */

const rpu_model_desc *rpu_device_spec_model(const rpu_device_spec *s) {
  return s ? s->model : NULL;
}

const void *rpu_device_spec_params(const rpu_device_spec *s) {
  return s ? s->params : NULL;
}

/* ----- internal API (params.h) ------------------------------------------ */

const rpu_param_desc *rpu__param_at(const rpu_param_desc *schema,
                                    uint32_t desc_size, size_t i) {
  return (const rpu_param_desc *)((const char *)schema + i * desc_size);
}

int rpu__schema_check(const rpu_param_desc *schema, size_t n,
                      uint32_t desc_size, size_t params_size, char *msg,
                      size_t msg_len) {
#define FAIL(...)                              \
  do {                                         \
    snprintf(msg, msg_len, __VA_ARGS__);       \
    return RPU_EPLUGIN;                        \
  } while (0)
  if (n == 0) return 0;
  if (schema == NULL) FAIL("%zu parameters declared but the schema is NULL", n);
  /* Every field read below belongs to ABI 1.0; later fields will be
   * appended after `offset` and must be read only if desc_size has them. */
  size_t min_size = offsetof(rpu_param_desc, offset) + sizeof(size_t);
  if (desc_size < min_size)
    FAIL("parameter descriptors of %u bytes, expected at least %zu", desc_size, min_size);
  for (size_t i = 0; i < n; i++) {
    const rpu_param_desc *d = rpu__param_at(schema, desc_size, i);
    const char *nm = d->name;
    if (nm == NULL || nm[0] == '\0') FAIL("parameter %zu has no name", i);
    for (const char *c = nm; *c; c++)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || *c == '_' || *c == '.'))
        FAIL("parameter \"%s\": name may only contain letters, digits, '_' and '.'", nm);
    if (nm[0] == '.' || nm[strlen(nm) - 1] == '.' || strstr(nm, "..") != NULL)
      FAIL("parameter \"%s\": empty component in a dotted name", nm);
    if (strcmp(nm, "type") == 0 || strncmp(nm, "type.", 5) == 0)
      FAIL("parameter \"%s\": \"type\" is reserved for the model name", nm);
    if (d->type < RPU_PARAM_BOOL || d->type > RPU_PARAM_UPDATE_PARAMS)
      FAIL("parameter \"%s\": unknown type %u", nm, d->type);
    if (d->flags & ~(RPU_PARAM_F_NULLABLE | RPU_PARAM_F_REQUIRED | RPU_PARAM_F_DERIVED))
      FAIL("parameter \"%s\": unknown flags 0x%x", nm, d->flags);
    if (d->unit == NULL || d->doc == NULL)
      FAIL("parameter \"%s\": unit and doc must not be NULL (use \"\")", nm);
    for (size_t j = 0; j < i; j++) {
      const char *other = rpu__param_at(schema, desc_size, j)->name;
      size_t lo = strlen(other), ln = strlen(nm);
      if (strcmp(other, nm) == 0) FAIL("parameter \"%s\" is declared twice", nm);
      /* "drift" and "drift.nu" cannot both exist: one JSON key each. */
      if ((lo < ln && strncmp(nm, other, lo) == 0 && nm[lo] == '.') ||
          (ln < lo && strncmp(other, nm, ln) == 0 && other[ln] == '.'))
        FAIL("parameter \"%s\" clashes with \"%s\" (a value and a group of the same name)",
             nm, other);
    }
    int required = (d->flags & RPU_PARAM_F_REQUIRED) != 0;
    char b1[40], b2[40], b3[40];
    switch (d->type) {
    case RPU_PARAM_BOOL:
      if (!required && d->def != 0 && d->def != 1)
        FAIL("parameter \"%s\": boolean default must be 0 or 1", nm);
      break;
    case RPU_PARAM_INT:
    case RPU_PARAM_REAL:
      if (isnan(d->min) || isnan(d->max) || d->min > d->max)
        FAIL("parameter \"%s\": invalid range [%s, %s]", nm,
             rpu__json_format_real(b1, sizeof b1, d->min),
             rpu__json_format_real(b2, sizeof b2, d->max));
      if (required) break;
      if (!isfinite(d->def))
        FAIL("parameter \"%s\": default %s is not a finite number", nm,
             rpu__json_format_real(b1, sizeof b1, d->def));
      if (d->type == RPU_PARAM_INT && (d->def != floor(d->def) || fabs(d->def) > 2147483647.0))
        FAIL("parameter \"%s\": integer default %s is not an int", nm,
             rpu__json_format_real(b1, sizeof b1, d->def));
      if (d->def < d->min || d->def > d->max)
        FAIL("parameter \"%s\": default %s is outside [%s, %s]", nm,
             rpu__json_format_real(b1, sizeof b1, d->def),
             rpu__json_format_real(b2, sizeof b2, d->min),
             rpu__json_format_real(b3, sizeof b3, d->max));
      break;
    case RPU_PARAM_ENUM: {
      if (d->enum_values == NULL || d->enum_values[0] == NULL)
        FAIL("parameter \"%s\": enum without values", nm);
      size_t k = enum_count(d->enum_values);
      if (k >= MAX_ENUM_VALUES)
        FAIL("parameter \"%s\": more than %d enum values (missing NULL?)", nm,
             MAX_ENUM_VALUES);
      for (size_t v = 0; v < k; v++) {
        if (d->enum_values[v][0] == '\0') FAIL("parameter \"%s\": empty enum value", nm);
        for (size_t w = 0; w < v; w++)
          if (strcmp(d->enum_values[v], d->enum_values[w]) == 0)
            FAIL("parameter \"%s\": enum value \"%s\" listed twice", nm, d->enum_values[v]);
      }
      if (!required && (d->def_str == NULL || enum_index(d->enum_values, d->def_str) < 0))
        FAIL("parameter \"%s\": default \"%s\" is not one of its enum values", nm,
             d->def_str ? d->def_str : "(null)");
      break;
    }
    case RPU_PARAM_REAL_ARRAY:
      if (isnan(d->min) || isnan(d->max) || d->min > d->max)
        FAIL("parameter \"%s\": invalid range [%s, %s]", nm,
             rpu__json_format_real(b1, sizeof b1, d->min),
             rpu__json_format_real(b2, sizeof b2, d->max));
      if (d->def_array_len > 0 && d->def_array == NULL)
        FAIL("parameter \"%s\": default array of %zu values is NULL", nm, d->def_array_len);
      for (size_t v = 0; v < d->def_array_len; v++)
        if (!isfinite(d->def_array[v]) || d->def_array[v] < d->min || d->def_array[v] > d->max)
          FAIL("parameter \"%s\": default [%zu] = %s is outside [%s, %s]", nm, v,
               rpu__json_format_real(b1, sizeof b1, d->def_array[v]),
               rpu__json_format_real(b2, sizeof b2, d->min),
               rpu__json_format_real(b3, sizeof b3, d->max));
      break;
    default:
      break;
    }
    size_t align, size = field_size(d->type, &align);
    if (d->offset > params_size || size > params_size - d->offset)
      FAIL("parameter \"%s\": field at offset %zu (%zu bytes) lies outside the %zu-byte "
           "parameter struct", nm, d->offset, size, params_size);
    if (d->offset % align != 0)
      FAIL("parameter \"%s\": field offset %zu is not aligned", nm, d->offset);
    for (size_t j = 0; j < i; j++) {
      const rpu_param_desc *o = rpu__param_at(schema, desc_size, j);
      size_t oa, osize = field_size(o->type, &oa);
      if (d->offset < o->offset + osize && o->offset < d->offset + size)
        FAIL("parameter \"%s\": field overlaps the field of \"%s\"", nm, o->name);
    }
  }
  return 0;
#undef FAIL
}

int rpu__params_from_json(rpu__arena *a, rpu_context *ctx,
                          const rpu_param_desc *schema, size_t n,
                          uint32_t desc_size, struct json_object *obj,
                          const char *path, const char *const *skip,
                          void *out) {
  fill_ctx f = {a, ctx, schema, n, desc_size, skip};
  if (path == NULL) path = "";
  if (obj != NULL) {
    if (!json_object_is_type(obj, json_type_object))
      return rpu__error_set(RPU_ETYPE, NULL, "%s: expected an object, got %s", path,
                            rpu__json_type_name(obj));
    int rc = check_level(&f, obj, "", path);
    if (rc < 0) return rc;
  }
  for (size_t i = 0; i < n; i++) {
    const rpu_param_desc *d = rpu__param_at(schema, desc_size, i);
    char ppath[PATH_LEN];
    join(ppath, path, d->name);
    struct json_object *val = NULL;
    int present = obj != NULL && lookup(obj, d->name, &val);
    int rc = fill_param(&f, d, present, val, ppath, out);
    if (rc < 0) return rc;
  }
  return 0;
}

int rpu__params_to_json(const rpu_param_desc *schema, size_t n,
                        uint32_t desc_size, const void *in,
                        struct json_object *obj) {
  for (size_t i = 0; i < n; i++) {
    const rpu_param_desc *d = rpu__param_at(schema, desc_size, i);
    if (d->flags & RPU_PARAM_F_DERIVED) continue;
    int rc = put_param(d, in, obj);
    if (rc < 0) return rc;
  }
  return 0;
}

int rpu__spec_from_json(rpu_device_spec **out, rpu__arena *a,
                        rpu_context *ctx, struct json_object *obj,
                        const char *path, uint32_t kind,
                        uint32_t allowed_classes) {
  *out = NULL;
  const char *kname = rpu_model_kind_name(kind);
  if (!json_object_is_type(obj, json_type_object)) /* NULL is JSON null */
    return rpu__error_set(RPU_ETYPE, NULL,
                          "%s: expected a %s object {\"type\": NAME, ...}, got %s", path,
                          kname, rpu__json_type_name(obj));
  if (ctx == NULL)
    return rpu__error_set(RPU_EINVAL, NULL, "%s: no context to look %s models up in", path,
                          kname);
  struct json_object *type = NULL;
  if (!json_object_object_get_ex(obj, "type", &type))
    return rpu__error_set(RPU_ECONFIG, NULL, "%s.type: missing (the name of a %s model)",
                          path, kname);
  if (!json_object_is_type(type, json_type_string))
    return rpu__error_set(RPU_ETYPE, NULL, "%s.type: expected a string (a %s model name), got %s",
                          path, kname, rpu__json_type_name(type));
  const char *name = json_object_get_string(type);
  rpu_model_entry e;
  int rc = rpu_context_find_model(ctx, name, kind, &e);
  if (rc < 0) return rpu__error_prefix("%s.type", path);
  if (kind == RPU_MODEL_DEVICE && allowed_classes != 0 &&
      !(allowed_classes & (1u << e.device_class))) {
    char list[LIST_LEN] = "";
    for (uint32_t c = RPU_DEVICE_FLOATING_POINT; c <= RPU_DEVICE_DIGITAL_RANK_UPDATE; c++)
      if (allowed_classes & (1u << c)) {
        if (list[0]) strcat(list, ", ");
        strcat(list, rpu_device_class_name(c));
      }
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "%s.type: %s is a device of class %s; accepted here: %s", path, name,
                          rpu_device_class_name(e.device_class), list);
  }
  return spec_build(out, a, ctx, &e, obj, path);
}

int rpu__spec_default(rpu_device_spec **out, rpu__arena *a, rpu_context *ctx,
                      const rpu_model_entry *model, const char *path) {
  *out = NULL;
  return spec_build(out, a, ctx, model, NULL, path ? path : model->name);
}

struct json_object *rpu__spec_to_json(const rpu_device_spec *s) {
  struct json_object *o = json_object_new_object();
  if (o == NULL) return NULL;
  struct json_object *t = json_object_new_string(s->model->name);
  if (t == NULL || json_object_object_add(o, "type", t) != 0 ||
      rpu__params_to_json(s->model->params, s->model->n_params, s->model->param_desc_size,
                          s->params, o) < 0) {
    json_object_put(o);
    rpu__error_set(RPU_ENOMEM, NULL, "out of memory writing %s", s->path);
    return NULL;
  }
  return o;
}

/* ----- config sections (sections.h) ------------------------------------- */

int rpu__section_from_json(rpu__arena *a, const rpu__section *s,
                           struct json_object *obj, const char *path,
                           void *out) {
  int rc = rpu__params_from_json(a, NULL, s->params, s->n_params, sizeof(rpu_param_desc),
                                 obj, path, NULL, out);
  if (rc < 0 || s->check == NULL) return rc;
  const char *param = NULL;
  char msg[512] = "";
  rc = s->check(out, &param, msg, sizeof msg);
  if (rc >= 0) return 0;
  return rpu__error_set(rc, NULL, "%s%s%s: %s", path, param ? "." : "", param ? param : "",
                        msg);
}

int rpu__section_to_json(const rpu__section *s, const void *in,
                         struct json_object *obj) {
  return rpu__params_to_json(s->params, s->n_params, sizeof(rpu_param_desc), in, obj);
}

/* ----- validation helpers ----------------------------------------------- */

/* Edit distance, for "did you mean" hints (short strings only). */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return (size_t)-1;
  size_t row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Appends `item` to a comma-separated list and tracks the closest match
 * to `wrong` (case-insensitive equality counts as distance 0). */
typedef struct hint_list {
  char text[LIST_LEN];
  const char *wrong;
  size_t best_dist; /* (size_t)-1: no close match yet */
  char best[128];
} hint_list;

static void hint_add(hint_list *h, const char *item) {
  size_t used = strlen(h->text);
  if (used + strlen(item) + 8 < sizeof h->text) {
    if (used) strcat(h->text, ", ");
    strcat(h->text, item);
  } else if (used + 6 < sizeof h->text && strstr(h->text, "...") == NULL) {
    strcat(h->text, ", ...");
  }
  size_t dist = strcasecmp(item, h->wrong) == 0 ? 0 : edit_distance(item, h->wrong);
  /* Short names are only suggested for a case slip; longer ones for one or
   * two typos (a suggestion that is a different word misleads). */
  size_t lw = strlen(h->wrong);
  size_t limit = lw <= 2 ? 0 : lw <= 6 ? 1 : 2;
  if (dist <= limit && dist < h->best_dist) {
    snprintf(h->best, sizeof h->best, "%s", item);
    h->best_dist = dist;
  }
}

static int in_list(const char *const *list, const char *s) {
  for (; list && *list; list++)
    if (strcmp(*list, s) == 0) return 1;
  return 0;
}

/* The parameter named exactly `full`, or NULL. */
static const rpu_param_desc *find_param(const fill_ctx *f, const char *full) {
  for (size_t i = 0; i < f->n; i++) {
    const rpu_param_desc *d = rpu__param_at(f->schema, f->desc_size, i);
    if (strcmp(d->name, full) == 0) return d;
  }
  return NULL;
}

/* Whether some parameter lives inside the group `full` ("drift"). */
static int is_group(const fill_ctx *f, const char *full) {
  size_t l = strlen(full);
  for (size_t i = 0; i < f->n; i++) {
    const rpu_param_desc *d = rpu__param_at(f->schema, f->desc_size, i);
    if (strncmp(d->name, full, l) == 0 && d->name[l] == '.') return 1;
  }
  return 0;
}

static int unknown_key(const fill_ctx *f, const char *prefix, const char *path,
                       const char *key) {
  hint_list h = {"", key, (size_t)-1, ""};
  size_t lp = strlen(prefix);
  if (lp == 0)
    for (const char *const *s = f->skip; s && *s; s++) hint_add(&h, *s);
  for (size_t i = 0; i < f->n; i++) {
    const rpu_param_desc *d = rpu__param_at(f->schema, f->desc_size, i);
    if ((d->flags & RPU_PARAM_F_DERIVED) || strncmp(d->name, prefix, lp) != 0) continue;
    char comp[PATH_LEN];
    snprintf(comp, sizeof comp, "%s", d->name + lp);
    char *dot = strchr(comp, '.');
    if (dot) *dot = '\0';
    /* A group is listed once, at its first parameter. */
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) {
      const rpu_param_desc *o = rpu__param_at(f->schema, f->desc_size, j);
      size_t lc = strlen(comp);
      seen = !(o->flags & RPU_PARAM_F_DERIVED) && strncmp(o->name, prefix, lp) == 0 &&
             strncmp(o->name + lp, comp, lc) == 0 &&
             (o->name[lp + lc] == '.' || o->name[lp + lc] == '\0');
    }
    if (!seen) hint_add(&h, comp);
  }
  char where[PATH_LEN];
  join(where, path, key);
  if (h.text[0] == '\0')
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: unknown key (this object takes no keys)",
                          where);
  if (strchr(key, '.') != NULL) {
    /* "drift.nu" is the parameter's name, but JSON nests it. */
    char group[PATH_LEN];
    snprintf(group, sizeof group, "%s", key);
    *strchr(group, '.') = '\0';
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "%s: unknown key (a dotted parameter is written as a nested "
                          "object: \"%s\": {\"%s\": ...}); valid keys: %s",
                          where, group, strchr(key, '.') + 1, h.text);
  }
  if (h.best[0] != '\0')
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "%s: unknown key (did you mean \"%s\"?); valid keys: %s", where,
                          h.best, h.text);
  return rpu__error_set(RPU_ECONFIG, NULL, "%s: unknown key; valid keys: %s", where, h.text);
}

/* Rejects unknown keys of obj, the level of the schema under `prefix`
 * ("" or "drift."), recursing into groups. */
static int check_level(const fill_ctx *f, struct json_object *obj,
                       const char *prefix, const char *path) {
  json_object_object_foreach(obj, key, val) {
    if (prefix[0] == '\0' && in_list(f->skip, key)) continue;
    char full[PATH_LEN], sub[PATH_LEN];
    if (strlen(prefix) + strlen(key) + 2 > sizeof full || strchr(key, '.') != NULL ||
        key[0] == '\0')
      return unknown_key(f, prefix, path, key);
    memcpy(full, prefix, strlen(prefix) + 1);
    strcat(full, key);
    join(sub, path, key);
    const rpu_param_desc *d = find_param(f, full);
    if (d != NULL) {
      if (d->flags & RPU_PARAM_F_DERIVED)
        return rpu__error_set(RPU_ECONFIG, NULL,
                              "%s: is derived from other parameters and cannot be set", sub);
      continue;
    }
    if (is_group(f, full)) {
      if (!json_object_is_type(val, json_type_object))
        return rpu__error_set(RPU_ETYPE, NULL, "%s: expected an object, got %s", sub,
                              rpu__json_type_name(val));
      strcat(full, ".");
      int rc = check_level(f, val, full, sub);
      if (rc < 0) return rc;
      continue;
    }
    return unknown_key(f, prefix, path, key);
  }
  return 0;
}

/* Whether a dotted name is present inside obj; its value (NULL for a JSON
 * null, as json-c represents it) in *val.  Groups on the way are objects
 * (check_level made sure). */
static int lookup(struct json_object *obj, const char *name, struct json_object **val) {
  char comp[PATH_LEN];
  const char *p = name;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    if (l >= sizeof comp) return 0;
    memcpy(comp, p, l);
    comp[l] = '\0';
    struct json_object *v = NULL;
    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, comp, &v))
      return 0;
    if (dot == NULL) {
      *val = v;
      return 1;
    }
    obj = v;
    p = dot + 1;
  }
}

static const char *expected_name(uint32_t type) {
  switch (type) {
  case RPU_PARAM_BOOL:
    return "a boolean";
  case RPU_PARAM_INT:
    return "an integer";
  case RPU_PARAM_REAL:
    return "a number";
  case RPU_PARAM_ENUM:
  case RPU_PARAM_STRING:
    return "a string";
  case RPU_PARAM_REAL_ARRAY:
    return "an array of numbers";
  case RPU_PARAM_DEVICE:
    return "a device object {\"type\": NAME, ...}";
  case RPU_PARAM_DEVICE_LIST:
    return "an array of device objects";
  default:
    return "an object";
  }
}

static int type_error(const rpu_param_desc *d, struct json_object *val, const char *ppath) {
  return rpu__error_set(RPU_ETYPE, NULL, "%s: expected %s, got %s", ppath,
                        expected_name(d->type), rpu__json_type_name(val));
}

/* A finite number in [lo, hi] from val (already known to be a number). */
static int read_number(struct json_object *val, double lo, double hi, int integral,
                       const char *ppath, double *out) {
  char b1[40], b2[40];
  double v = json_object_get_double(val);
  if (!isfinite(v))
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is not a finite number", ppath,
                          rpu__json_format_real(b1, sizeof b1, v));
  if (integral && v != floor(v))
    return rpu__error_set(RPU_ETYPE, NULL, "%s: expected an integer, got %s", ppath,
                          rpu__json_format_real(b1, sizeof b1, v));
  if (v < lo)
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is below minimum %s", ppath,
                          rpu__json_format_real(b1, sizeof b1, v),
                          rpu__json_format_real(b2, sizeof b2, lo));
  if (v > hi)
    return rpu__error_set(RPU_ERANGE, NULL, "%s: %s is above maximum %s", ppath,
                          rpu__json_format_real(b1, sizeof b1, v),
                          rpu__json_format_real(b2, sizeof b2, hi));
  *out = v;
  return 0;
}

static int is_number(struct json_object *v) {
  return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* The string of val; RPU_ECONFIG if it holds a NUL character. */
static int read_string(struct json_object *val, const char *ppath, const char **out) {
  const char *s = json_object_get_string(val);
  if (strlen(s) != (size_t)json_object_get_string_len(val))
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: string contains a NUL character", ppath);
  *out = s;
  return 0;
}

static int fill_enum(const rpu_param_desc *d, struct json_object *val, const char *ppath,
                     int *out) {
  const char *s = NULL;
  if (!json_object_is_type(val, json_type_string)) return type_error(d, val, ppath);
  int rc = read_string(val, ppath, &s);
  if (rc < 0) return rc;
  long idx = enum_index(d->enum_values, s);
  if (idx >= 0) {
    *out = (int)idx;
    return 0;
  }
  hint_list h = {"", s, (size_t)-1, ""};
  for (const char *const *v = d->enum_values; *v; v++) hint_add(&h, *v);
  if (h.best[0] != '\0')
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "%s: unknown value \"%s\" (did you mean \"%s\"?); valid: %s", ppath,
                          s, h.best, h.text);
  return rpu__error_set(RPU_ECONFIG, NULL, "%s: unknown value \"%s\"; valid: %s", ppath, s,
                        h.text);
}

static int fill_real_array(const fill_ctx *f, const rpu_param_desc *d, int present,
                           struct json_object *val, const char *ppath, rpu_real_array *out) {
  if (!present) {
    out->n = d->def_array_len;
    out->v = d->def_array_len ? rpu__arena_memdup(f->a, d->def_array,
                                                  d->def_array_len * sizeof(double))
                              : NULL;
    return d->def_array_len && out->v == NULL ? RPU_ENOMEM : 0;
  }
  if (!json_object_is_type(val, json_type_array)) return type_error(d, val, ppath);
  size_t n = json_object_array_length(val);
  double *v = n ? rpu__arena_alloc(f->a, n * sizeof *v) : NULL;
  if (n && v == NULL) return RPU_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char epath[PATH_LEN + 32];
    snprintf(epath, sizeof epath, "%s[%zu]", ppath, i);
    struct json_object *e = json_object_array_get_idx(val, i);
    if (!is_number(e))
      return rpu__error_set(RPU_ETYPE, NULL, "%s: expected a number, got %s", epath,
                            rpu__json_type_name(e));
    int rc = read_number(e, d->min, d->max, 0, epath, &v[i]);
    if (rc < 0) return rc;
  }
  out->v = v;
  out->n = n;
  return 0;
}

/* A nested device: given, else the default type, else none / required. */
static int fill_device(const fill_ctx *f, const rpu_param_desc *d, int present,
                       struct json_object *val, const char *ppath,
                       const rpu_device_spec **out) {
  rpu_device_spec *spec = NULL;
  int rc;
  if (present)
    rc = rpu__spec_from_json(&spec, f->a, f->ctx, val, ppath, RPU_MODEL_DEVICE, 0);
  else if (d->def_str == NULL)
    rc = (d->flags & RPU_PARAM_F_NULLABLE)
             ? 0
             : rpu__error_set(RPU_ECONFIG, NULL, "%s: required (a device {\"type\": NAME})",
                              ppath);
  else if (f->ctx == NULL)
    rc = rpu__error_set(RPU_EINVAL, NULL, "%s: no context to look device models up in",
                        ppath);
  else {
    rpu_model_entry e;
    rc = rpu_context_find_model(f->ctx, d->def_str, RPU_MODEL_DEVICE, &e);
    if (rc < 0)
      rc = rpu__error_prefix("%s: default device %s", ppath, d->def_str);
    else
      rc = spec_build(&spec, f->a, f->ctx, &e, NULL, ppath);
  }
  *out = spec;
  return rc;
}

static int fill_device_list(const fill_ctx *f, const rpu_param_desc *d, int present,
                            struct json_object *val, const char *ppath,
                            rpu_device_list *out) {
  out->v = NULL;
  out->n = 0;
  if (!present) return 0;
  if (!json_object_is_type(val, json_type_array)) return type_error(d, val, ppath);
  size_t n = json_object_array_length(val);
  const rpu_device_spec **v = n ? rpu__arena_alloc(f->a, n * sizeof *v) : NULL;
  if (n && v == NULL) return RPU_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char epath[PATH_LEN + 32];
    snprintf(epath, sizeof epath, "%s[%zu]", ppath, i);
    rpu_device_spec *s = NULL;
    int rc = rpu__spec_from_json(&s, f->a, f->ctx, json_object_array_get_idx(val, i), epath,
                                 RPU_MODEL_DEVICE, 0);
    if (rc < 0) return rc;
    v[i] = s;
  }
  out->v = v;
  out->n = n;
  return 0;
}

static int fill_section(const fill_ctx *f, const rpu__section *s, struct json_object *val,
                        const char *ppath, const void **out) {
  void *p = rpu__arena_alloc(f->a, s->size);
  if (p == NULL) return RPU_ENOMEM;
  int rc = rpu__section_from_json(f->a, s, val, ppath, p);
  *out = p;
  return rc;
}

/* Validates one parameter (val NULL: absent) and stores the typed value. */
static int fill_param(const fill_ctx *f, const rpu_param_desc *d, int present,
                      struct json_object *val, const char *ppath, void *out) {
  char *field = (char *)out + d->offset;
  int rc = 0, iv = 0;
  double dv = 0;
  if (!present && (d->flags & RPU_PARAM_F_REQUIRED))
    return rpu__error_set(RPU_ECONFIG, NULL, "%s: required parameter missing", ppath);
  if (present && val == NULL) { /* JSON null */
    int nullable = (d->flags & RPU_PARAM_F_NULLABLE) &&
                   (d->type == RPU_PARAM_STRING || d->type == RPU_PARAM_DEVICE ||
                    d->type == RPU_PARAM_IO_PARAMS || d->type == RPU_PARAM_UPDATE_PARAMS);
    if (!nullable) return type_error(d, val, ppath);
    const void *none = NULL;
    memcpy(field, &none, sizeof none);
    return 0;
  }
  switch (d->type) {
  case RPU_PARAM_BOOL:
    if (!present)
      iv = d->def != 0;
    else if (json_object_is_type(val, json_type_boolean))
      iv = json_object_get_boolean(val) ? 1 : 0;
    else
      return type_error(d, val, ppath);
    memcpy(field, &iv, sizeof iv);
    return 0;
  case RPU_PARAM_INT:
    if (!present) {
      dv = d->def;
    } else {
      if (!is_number(val)) return type_error(d, val, ppath);
      double lo = d->min < -2147483648.0 ? -2147483648.0 : d->min;
      double hi = d->max > 2147483647.0 ? 2147483647.0 : d->max;
      rc = read_number(val, lo, hi, 1, ppath, &dv);
      if (rc < 0) return rc;
    }
    iv = (int)dv;
    memcpy(field, &iv, sizeof iv);
    return 0;
  case RPU_PARAM_REAL:
    if (!present) {
      dv = d->def;
    } else {
      if (!is_number(val)) return type_error(d, val, ppath);
      rc = read_number(val, d->min, d->max, 0, ppath, &dv);
      if (rc < 0) return rc;
    }
    memcpy(field, &dv, sizeof dv);
    return 0;
  case RPU_PARAM_ENUM:
    if (!present) {
      long idx = d->def_str ? enum_index(d->enum_values, d->def_str) : 0;
      iv = idx < 0 ? 0 : (int)idx;
    } else {
      rc = fill_enum(d, val, ppath, &iv);
      if (rc < 0) return rc;
    }
    memcpy(field, &iv, sizeof iv);
    return 0;
  case RPU_PARAM_STRING: {
    const char *s = NULL;
    if (!present) {
      s = d->def_str ? d->def_str : (d->flags & RPU_PARAM_F_NULLABLE) ? NULL : "";
    } else {
      if (!json_object_is_type(val, json_type_string)) return type_error(d, val, ppath);
      rc = read_string(val, ppath, &s);
      if (rc < 0) return rc;
    }
    char *copy = s ? rpu__arena_strdup(f->a, s) : NULL;
    if (s && copy == NULL) return RPU_ENOMEM;
    memcpy(field, &copy, sizeof copy);
    return 0;
  }
  case RPU_PARAM_REAL_ARRAY: {
    rpu_real_array arr = {NULL, 0};
    rc = fill_real_array(f, d, present, val, ppath, &arr);
    memcpy(field, &arr, sizeof arr);
    return rc;
  }
  case RPU_PARAM_DEVICE: {
    const rpu_device_spec *s = NULL;
    rc = fill_device(f, d, present, val, ppath, &s);
    memcpy(field, &s, sizeof s);
    return rc;
  }
  case RPU_PARAM_DEVICE_LIST: {
    rpu_device_list l = {NULL, 0};
    rc = fill_device_list(f, d, present, val, ppath, &l);
    memcpy(field, &l, sizeof l);
    return rc;
  }
  case RPU_PARAM_IO_PARAMS:
  case RPU_PARAM_UPDATE_PARAMS: {
    const void *p = NULL;
    if (present && !json_object_is_type(val, json_type_object))
      return type_error(d, val, ppath);
    rc = fill_section(f, d->type == RPU_PARAM_IO_PARAMS ? &rpu__io_section
                                                        : &rpu__update_section,
                      present ? val : NULL, ppath, &p);
    memcpy(field, &p, sizeof p);
    return rc;
  }
  default:
    return rpu__error_set(RPU_EINTERNAL, NULL, "%s: parameter of unknown type %u", ppath,
                          d->type);
  }
}

/* Allocates a spec of model e and fills it from obj (NULL: defaults),
 * then runs the model's cross-field check. */
static int spec_build(rpu_device_spec **out, rpu__arena *a, rpu_context *ctx,
                      const rpu_model_entry *e, struct json_object *obj,
                      const char *path) {
  static const char *const skip_type[] = {"type", NULL};
  const rpu_model_desc *m = e->desc;
  *out = NULL;
  if (nesting(path) > MAX_NESTING)
    return rpu__error_set(RPU_ECONFIG, NULL,
                          "%s: models nested more than %d levels deep (does a default "
                          "device contain itself?)",
                          path, MAX_NESTING);
  rpu_device_spec *s = rpu__arena_alloc(a, sizeof *s);
  void *params = s ? rpu__arena_alloc(a, m->params_size ? m->params_size : 1) : NULL;
  char *spath = params ? rpu__arena_strdup(a, path) : NULL;
  char *plugin = spath ? rpu__arena_strdup(a, e->plugin ? e->plugin : "") : NULL;
  if (plugin == NULL) return RPU_ENOMEM;
  s->model = m;
  s->plugin = plugin;
  s->params = params;
  s->path = spath;
  int rc = rpu__params_from_json(a, ctx, m->params, m->n_params, m->param_desc_size, obj, path,
                                 skip_type, params);
  if (rc < 0) return rc;
  if (m->check != NULL) {
    const char *param = NULL;
    char msg[512] = "";
    rc = m->check(params, &param, msg, sizeof msg);
    if (rc < 0) {
      if (rc < RPU__STATUS_LAST_ + 1) rc = RPU_ECONFIG;
      if (msg[0] == '\0') snprintf(msg, sizeof msg, "rejected by %s", m->name);
      return rpu__error_set(rc, m->name, "%s%s%s: %s", path, param ? "." : "",
                            param ? param : "", msg);
    }
  }
  *out = s;
  return 0;
}

/* ----- writing ---------------------------------------------------------- */

/* The JSON value of one typed field; NULL on out of memory.  *is_null
 * tells a legitimate null from a failure. */
static struct json_object *param_value(const rpu_param_desc *d, const char *field,
                                       int *is_null) {
  int iv;
  double dv;
  const void *p;
  *is_null = 0;
  switch (d->type) {
  case RPU_PARAM_BOOL:
    memcpy(&iv, field, sizeof iv);
    return json_object_new_boolean(iv != 0);
  case RPU_PARAM_INT:
    memcpy(&iv, field, sizeof iv);
    return json_object_new_int(iv);
  case RPU_PARAM_REAL:
    memcpy(&dv, field, sizeof dv);
    if (isfinite(dv)) return rpu__json_new_real(dv);
    break;
  case RPU_PARAM_ENUM:
    memcpy(&iv, field, sizeof iv);
    if (iv >= 0 && (size_t)iv < enum_count(d->enum_values))
      return json_object_new_string(d->enum_values[iv]);
    break;
  case RPU_PARAM_STRING:
    memcpy(&p, field, sizeof p);
    if (p != NULL) return json_object_new_string(p);
    break;
  case RPU_PARAM_REAL_ARRAY: {
    rpu_real_array arr;
    memcpy(&arr, field, sizeof arr);
    struct json_object *a = json_object_new_array_ext((int)arr.n);
    for (size_t i = 0; a != NULL && i < arr.n; i++) {
      struct json_object *e =
          isfinite(arr.v[i]) ? rpu__json_new_real(arr.v[i]) : json_object_new_null();
      if ((e == NULL && isfinite(arr.v[i])) || json_object_array_add(a, e) != 0) {
        json_object_put(e);
        json_object_put(a);
        a = NULL;
      }
    }
    return a;
  }
  case RPU_PARAM_DEVICE:
    memcpy(&p, field, sizeof p);
    if (p != NULL) return rpu__spec_to_json(p);
    break;
  case RPU_PARAM_DEVICE_LIST: {
    rpu_device_list l;
    memcpy(&l, field, sizeof l);
    struct json_object *a = json_object_new_array_ext((int)l.n);
    for (size_t i = 0; a != NULL && i < l.n; i++) {
      struct json_object *e = rpu__spec_to_json(l.v[i]);
      if (e == NULL || json_object_array_add(a, e) != 0) {
        json_object_put(e);
        json_object_put(a);
        a = NULL;
      }
    }
    return a;
  }
  case RPU_PARAM_IO_PARAMS:
  case RPU_PARAM_UPDATE_PARAMS: {
    memcpy(&p, field, sizeof p);
    if (p == NULL) break;
    struct json_object *o = json_object_new_object();
    if (o != NULL &&
        rpu__section_to_json(d->type == RPU_PARAM_IO_PARAMS ? &rpu__io_section
                                                            : &rpu__update_section,
                             p, o) < 0) {
      json_object_put(o);
      o = NULL;
    }
    return o;
  }
  default:
    break;
  }
  *is_null = 1;
  return NULL;
}

/* Adds one parameter to obj, creating the group objects of a dotted name
 * ("drift.nu" -> {"drift": {"nu": ...}}) in schema order. */
static int put_param(const rpu_param_desc *d, const void *in, struct json_object *obj) {
  int is_null;
  struct json_object *v = param_value(d, (const char *)in + d->offset, &is_null);
  if (v == NULL && !is_null) goto oom;
  const char *p = d->name;
  for (const char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
    char comp[PATH_LEN];
    size_t l = (size_t)(dot - p) < sizeof comp - 1 ? (size_t)(dot - p) : sizeof comp - 1;
    memcpy(comp, p, l);
    comp[l] = '\0';
    struct json_object *g = NULL;
    if (!json_object_object_get_ex(obj, comp, &g)) {
      g = json_object_new_object();
      if (g == NULL || json_object_object_add(obj, comp, g) != 0) {
        json_object_put(g);
        json_object_put(v);
        goto oom;
      }
    }
    obj = g;
  }
  if (json_object_object_add(obj, p, v) != 0) {
    json_object_put(v);
    goto oom;
  }
  return 0;
oom:
  return rpu__error_set(RPU_ENOMEM, NULL, "out of memory writing parameter %s", d->name);
}

/* ----- small helpers ---------------------------------------------------- */

/* path + "." + name (just name if path is empty), truncated to PATH_LEN. */
static void join(char *buf, const char *path, const char *name) {
  if (path == NULL || path[0] == '\0')
    snprintf(buf, PATH_LEN, "%s", name);
  else
    snprintf(buf, PATH_LEN, "%s.%s", path, name);
}

static size_t field_size(uint32_t type, size_t *align) {
  switch (type) {
  case RPU_PARAM_BOOL:
  case RPU_PARAM_INT:
  case RPU_PARAM_ENUM:
    *align = alignof(int);
    return sizeof(int);
  case RPU_PARAM_REAL:
    *align = alignof(double);
    return sizeof(double);
  case RPU_PARAM_REAL_ARRAY:
    *align = alignof(rpu_real_array);
    return sizeof(rpu_real_array);
  case RPU_PARAM_DEVICE_LIST:
    *align = alignof(rpu_device_list);
    return sizeof(rpu_device_list);
  default: /* pointers */
    *align = alignof(void *);
    return sizeof(void *);
  }
}

static size_t enum_count(const char *const *values) {
  size_t k = 0;
  while (values != NULL && k < MAX_ENUM_VALUES && values[k] != NULL) k++;
  return k;
}

static long enum_index(const char *const *values, const char *name) {
  size_t k = enum_count(values);
  for (size_t i = 0; i < k; i++)
    if (strcmp(values[i], name) == 0) return (long)i;
  return -1;
}

/* How many models deep a JSON path is ("device.unit_cell_devices[1]" is 2
 * levels deeper than "device" at most). */
static int nesting(const char *path) {
  int n = 0;
  for (; *path; path++) n += *path == '.' || *path == '[';
  return n;
}
