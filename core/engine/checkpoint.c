/* Tile checkpoints (DESIGN.md §9).
 *
 * Layout (all integers little-endian), the same bytes in a file
 * (rpu_tile_save) and in memory (rpu_tile_save_buffer):
 *   magic        8 bytes  89 'R' 'P' 'U' 0d 0a 1a 0a  (PNG-style: catches
 *                         text-mode and truncating transfers)
 *   version      u32      RPU__CKPT_VERSION
 *   header_len   u32      bytes of the JSON header
 *   header       JSON     config (rpu_config_to_json), shape, seed, tile id,
 *                         RNG step counters, event counters, library
 *                         version, and the list of arrays (name, bytes)
 *   header_crc   u32      zlib CRC32 of every byte before it
 *   then per array, in header order: its bytes, then u32 CRC32 of them.
 *   Arrays: "weights" (f32 LE, out x in row-major), "device_state" (the
 *   device plugin's own bytes), "engine_extras" (the engine's bytes).
 *   The image ends exactly after the last CRC.
 *
 * One serializer (serialize) builds the image in memory; rpu_tile_save
 * then writes it to "<path>.tmp.XXXXXX" in the same directory, flushes,
 * fsyncs and renames, so a crash never leaves a half-written checkpoint.
 * One parser (parse_image) verifies an image; rpu_tile_load reads the file
 * into memory first.  Everything is verified before the tile is touched;
 * any problem is an error naming the file (or the buffer's origin), and
 * the tile stays as it was.
 *
 * The parsed arrays point into the image (no copy), so a device's or an
 * engine's load hook gets bytes at any alignment; the hooks read them with
 * rpu/bytes.h, as a checkpoint embedded in a container (rpu_trainer_save)
 * could not promise alignment anyway. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/engine/tile_impl.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
#include "rpu/bytes.h"
#include "rpu/version.h"

#define RPU__CKPT_VERSION 1u
#define PREFIX_LEN 16u                   /* magic + version + header_len */
#define MAX_HEADER (64u * 1024u * 1024u) /* a sanity bound, not a format one */
#define FORMAT_NAME "rpu-tile-checkpoint"

static const unsigned char magic[8] = {0x89, 'R', 'P', 'U', 0x0d, 0x0a, 0x1a, 0x0a};

enum { ARR_WEIGHTS, ARR_DEVICE, ARR_EXTRAS, N_ARRAYS };
static const char *const array_names[N_ARRAYS] = {"weights", "device_state",
                                                  "engine_extras"};

/* Named 32/64-bit fields of the header, so save and load share one list. */
typedef struct field {
  const char *name;
  size_t offset;
} field;
static const field step_fields[] = {
    {"update", offsetof(rpu__tile_steps, update)},
    {"post_update", offsetof(rpu__tile_steps, post_update)},
    {"set_weights", offsetof(rpu__tile_steps, set_weights)},
    {"read", offsetof(rpu__tile_steps, read)},
    {"program", offsetof(rpu__tile_steps, program)},
    {"drift", offsetof(rpu__tile_steps, drift)},
    {"modifier", offsetof(rpu__tile_steps, modifier)},
    {"apply_pulses", offsetof(rpu__tile_steps, apply_pulses)},
};
static const field counter_fields[] = {
    {"forward_mvms", offsetof(rpu_tile_counters, forward_mvms)},
    {"backward_mvms", offsetof(rpu_tile_counters, backward_mvms)},
    {"updates", offsetof(rpu_tile_counters, updates)},
    {"pulses", offsetof(rpu_tile_counters, pulses)},
    {"saturations", offsetof(rpu_tile_counters, saturations)},
    {"bm_repeats", offsetof(rpu_tile_counters, bm_repeats)},
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Everything a checkpoint holds, verified.  The arrays are borrowed from
 * the image they were parsed from; `image` is that image when the
 * checkpoint owns it (read from a file), NULL when the caller does. */
typedef struct ckpt {
  json_object *root;   /* owns the header */
  json_object *config; /* borrowed from root */
  int out_size, in_size;
  uint64_t seed;
  uint32_t tile_id;
  rpu__tile_steps steps;
  rpu_tile_counters counters;
  const unsigned char *arr[N_ARRAYS];
  size_t len[N_ARRAYS];
  unsigned char *image;
} ckpt;

static int serialize(rpu_tile *t, unsigned char **out, size_t *out_len,
                     const char *fn, const char *origin);
static int read_checkpoint(ckpt *c, const char *fn, const char *path);
static int parse_image(ckpt *c, const unsigned char *img, size_t size,
                       const char *fn, const char *origin);
static int load_into(rpu_tile *t, const ckpt *c, const char *fn,
                     const char *origin);
static int check_compatible(const rpu_tile *t, const ckpt *c, const char *fn,
                            const char *origin);
static int commit(rpu_tile *t, const ckpt *c, const char *fn,
                  const char *origin);
static void ckpt_free(ckpt *c);
static int build_header(rpu_tile *t, const size_t len[N_ARRAYS], char **out,
                        const char *fn, const char *origin);
static int parse_header(ckpt *c, const char *text, size_t len,
                        const char *fn, const char *origin);
static int bad(int code, const char *fn, const char *origin, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
static int context(const char *fn, const char *origin);
static uint32_t crc(const unsigned char *p, size_t n);
static int save_state(rpu_tile *t, unsigned char *buf, size_t n,
                      const char *fn, const char *origin);
static int state_bytes(rpu_tile *t, unsigned char **buf, size_t *len,
                       const char *fn, const char *origin);
static int json_first_difference(json_object *a, json_object *b, char *path,
                                  size_t cap);

int rpu_tile_save(rpu_tile *t, const char *path) {
  static const char fn[] = "rpu_tile_save";
  if (t == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: t is NULL", fn);
  if (path == NULL || *path == '\0')
    return rpu__error_set(RPU_EINVAL, fn, "%s: path is NULL or empty", fn);
  unsigned char *img = NULL;
  size_t len = 0;
  int rc = serialize(t, &img, &len, fn, path);
  if (rc == 0) rc = rpu__file_write_atomic(path, img, len, fn);
  free(img);
  return rc;
}

int rpu_tile_save_buffer(rpu_tile *t, unsigned char **buf, size_t *len) {
  static const char fn[] = "rpu_tile_save_buffer";
  if (buf != NULL) *buf = NULL;
  if (len != NULL) *len = 0;
  if (t == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: t is NULL", fn);
  if (buf == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: buf is NULL", fn);
  if (len == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: len is NULL", fn);
  return serialize(t, buf, len, fn, NULL);
}

/* The tile takes everything the checkpoint holds — weights, device state,
 * engine extras, counters, RNG step counters, and the seed and tile id
 * too, so its random streams continue exactly where the saved tile's
 * were. */
int rpu_tile_load(rpu_tile *t, const char *path) {
  static const char fn[] = "rpu_tile_load";
  if (t == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: t is NULL", fn);
  if (path == NULL || *path == '\0')
    return rpu__error_set(RPU_EINVAL, fn, "%s: path is NULL or empty", fn);
  ckpt c;
  int rc = read_checkpoint(&c, fn, path);
  if (rc == 0) rc = load_into(t, &c, fn, path);
  ckpt_free(&c);
  return rc;
}

int rpu_tile_load_buffer(rpu_tile *t, const unsigned char *buf, size_t len,
                         const char *origin) {
  static const char fn[] = "rpu_tile_load_buffer";
  if (t == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: t is NULL", fn);
  if (buf == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: buf is NULL", fn);
  if (origin == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: origin is NULL", fn);
  ckpt c;
  memset(&c, 0, sizeof c);
  int rc = parse_image(&c, buf, len, fn, origin);
  if (rc == 0) rc = load_into(t, &c, fn, origin);
  ckpt_free(&c);
  return rc;
}

int rpu_tile_load_new(rpu_tile **out, rpu_context *ctx, const char *path) {
  static const char fn[] = "rpu_tile_load_new";
  if (out == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: out is NULL", fn);
  *out = NULL;
  if (ctx == NULL) return rpu__error_set(RPU_EINVAL, fn, "%s: ctx is NULL", fn);
  if (path == NULL || *path == '\0')
    return rpu__error_set(RPU_EINVAL, fn, "%s: path is NULL or empty", fn);
  ckpt c;
  rpu_config *cfg = NULL;
  rpu_tile *t = NULL;
  int rc = read_checkpoint(&c, fn, path);
  if (rc < 0) goto out;
  const char *cfg_text =
      json_object_to_json_string_ext(c.config, JSON_C_TO_STRING_PLAIN);
  size_t olen = strlen(path) + 32;
  char *origin = malloc(olen);
  if (origin == NULL) {
    rc = bad(RPU_ENOMEM, fn, path, "out of memory");
    goto out;
  }
  snprintf(origin, olen, "%s (header config)", path);
  rc = rpu_config_from_string(&cfg, ctx, cfg_text, origin);
  free(origin);
  if (rc < 0) {
    rpu__error_prefix("%s", fn);
    goto out;
  }
  if ((rc = rpu_tile_new_with_id(&t, ctx, cfg, c.out_size, c.in_size, c.seed,
                                 c.tile_id)) < 0) {
    rpu__error_prefix("%s: %s", fn, path);
    goto out;
  }
  if ((rc = commit(t, &c, fn, path)) < 0) goto out;
  *out = t;
  t = NULL;
out:
  rpu_tile_free(t);
  rpu_config_free(cfg);
  ckpt_free(&c);
  return rc;
}

/* ----- saving ------------------------------------------------------------- */

/* Builds the checkpoint image of t in one malloc'ed buffer (*out, *out_len;
 * NULL and 0 on error).  The arrays are written straight into their place
 * in the image.  origin (the path, or NULL) names the target in messages. */
static int serialize(rpu_tile *t, unsigned char **out, size_t *out_len,
                     const char *fn, const char *origin) {
  *out = NULL;
  *out_len = 0;
  size_t len[N_ARRAYS] = {0, 0, 0};
  char *header = NULL;
  unsigned char *img = NULL;
  int rc = 0;
  /* Visible weights first: a device with hidden state refreshes them. */
  if (t->engine->get_weights != NULL && (rc = t->engine->get_weights(t)) < 0) {
    context(fn, origin);
    return rc;
  }
  size_t n = (size_t)t->out_size * (size_t)t->in_size;
  len[ARR_WEIGHTS] = 4 * n;
  if (RPU__DEV_HAS(t->dev_vt, state_size))
    len[ARR_DEVICE] = t->dev_vt->state_size(t->dev_state);
  if (t->engine->extras_size != NULL)
    len[ARR_EXTRAS] = t->engine->extras_size(t);
  if ((rc = build_header(t, len, &header, fn, origin)) < 0) return rc;
  size_t hlen = strlen(header);
  if (hlen > MAX_HEADER) {
    rc = bad(RPU_EINTERNAL, fn, origin, "header too large");
    goto out;
  }
  /* Total size; each term is far below SIZE_MAX / 4 for a tile that
   * exists in memory, but an overflow must not go unnoticed. */
  size_t total = PREFIX_LEN + hlen + 4;
  for (int i = 0; i < N_ARRAYS; i++) {
    if (len[i] > SIZE_MAX - total - 4) {
      rc = bad(RPU_ENOMEM, fn, origin, "checkpoint too large");
      goto out;
    }
    total += len[i] + 4;
  }
  if ((img = malloc(total)) == NULL) {
    rc = bad(RPU_ENOMEM, fn, origin, "out of memory for %zu bytes", total);
    goto out;
  }
  memcpy(img, magic, sizeof magic);
  rpu_le_put_u32(img + 8, RPU__CKPT_VERSION);
  rpu_le_put_u32(img + 12, (uint32_t)hlen);
  memcpy(img + PREFIX_LEN, header, hlen);
  rpu_le_put_u32(img + PREFIX_LEN + hlen, crc(img, PREFIX_LEN + hlen));
  unsigned char *p = img + PREFIX_LEN + hlen + 4;
  for (size_t k = 0; k < n; k++) {
    uint32_t u;
    memcpy(&u, &t->w[k], 4);
    rpu_le_put_u32(p + 4 * k, u);
  }
  p += len[ARR_WEIGHTS] + 4;
  if (len[ARR_DEVICE] > 0 &&
      (rc = save_state(t, p, len[ARR_DEVICE], fn, origin)) < 0)
    goto out;
  p += len[ARR_DEVICE] + 4;
  if (len[ARR_EXTRAS] > 0 &&
      (rc = t->engine->save_extras(t, p, len[ARR_EXTRAS])) < 0) {
    rpu__error_prefix("engine %s", t->engine->name);
    context(fn, origin);
    goto out;
  }
  /* The array CRCs, now that every array is in place. */
  p = img + PREFIX_LEN + hlen + 4;
  for (int i = 0; i < N_ARRAYS; i++) {
    rpu_le_put_u32(p + len[i], crc(p, len[i]));
    p += len[i] + 4;
  }
  *out = img;
  *out_len = total;
  img = NULL;
out:
  free(img);
  free(header);
  return rc;
}

/* ----- loading ------------------------------------------------------------ */

static int check_prefix(const unsigned char *img, uint64_t size,
                        const char *fn, const char *origin);

/* Reads the whole file into memory and parses it into c (zeroed first;
 * ckpt_free it whatever the result). */
static int read_checkpoint(ckpt *c, const char *fn, const char *path) {
  memset(c, 0, sizeof *c);
  unsigned char pre[PREFIX_LEN];
  int rc = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return bad(RPU_EIO, fn, path, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    rc = bad(RPU_EIO, fn, path, "cannot stat: %s", strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = bad(RPU_EIO, fn, path, "not a regular file");
    goto out;
  }
  /* The prefix first, so another kind of file (a data set, say) is refused
   * before all of it is read. */
  uint64_t size = (uint64_t)st.st_size;
  size_t got = fread(pre, 1, PREFIX_LEN, f);
  if (got > size) size = got; /* it grew since fstat */
  if (got == PREFIX_LEN && (rc = check_prefix(pre, size, fn, path)) < 0)
    goto out;
  if (size > SIZE_MAX - 1) {
    rc = bad(RPU_ENOMEM, fn, path, "too large to read: %llu bytes",
             (unsigned long long)size);
    goto out;
  }
  if ((c->image = malloc(size > 0 ? (size_t)size : 1)) == NULL) {
    rc = bad(RPU_ENOMEM, fn, path, "out of memory for %llu bytes",
             (unsigned long long)size);
    goto out;
  }
  memcpy(c->image, pre, got);
  got += fread(c->image + got, 1, (size_t)size - got, f);
  if (ferror(f)) {
    rc = bad(RPU_EIO, fn, path, "read failed: %s", strerror(errno));
    goto out;
  }
  /* A file cut short while we read it parses as truncated. */
  rc = parse_image(c, c->image, got, fn, path);
out:
  fclose(f);
  return rc;
}

/* Verifies a whole image into c (zeroed by the caller; ckpt_free it
 * whatever the result).  c's arrays point into img, which must outlive c. */
static int parse_image(ckpt *c, const unsigned char *img, size_t size,
                       const char *fn, const char *origin) {
  int rc = check_prefix(img, size, fn, origin);
  if (rc < 0) return rc;
  uint32_t hlen = rpu_le_get_u32(img + 12);
  if (crc(img, PREFIX_LEN + (size_t)hlen) !=
      rpu_le_get_u32(img + PREFIX_LEN + hlen))
    return bad(RPU_ECORRUPT, fn, origin, "header CRC mismatch");
  if ((rc = parse_header(c, (const char *)img + PREFIX_LEN, hlen, fn,
                         origin)) < 0)
    return rc;
  /* The header is trusted now (CRC); its sizes must add up to the image. */
  uint64_t expect = (uint64_t)PREFIX_LEN + hlen + 4;
  for (int i = 0; i < N_ARRAYS; i++) {
    if ((uint64_t)c->len[i] > size) { /* also keeps the sum from wrapping */
      expect = UINT64_MAX;
      break;
    }
    expect += (uint64_t)c->len[i] + 4;
  }
  if (expect != size)
    return bad(RPU_ECORRUPT, fn, origin, "%s: the header describes %llu "
               "bytes, the checkpoint has %zu",
               expect > size ? "truncated" : "trailing bytes",
               (unsigned long long)expect, size);
  const unsigned char *p = img + PREFIX_LEN + hlen + 4;
  for (int i = 0; i < N_ARRAYS; i++) {
    if (crc(p, c->len[i]) != rpu_le_get_u32(p + c->len[i]))
      return bad(RPU_ECORRUPT, fn, origin, "CRC mismatch in array %s",
                 array_names[i]);
    c->arr[i] = p;
    p += c->len[i] + 4;
  }
  /* Weights are kept finite by the tile (set_weights refuses NaN/Inf). */
  for (size_t k = 0; k < c->len[ARR_WEIGHTS] / 4; k++) {
    uint32_t u = rpu_le_get_u32(c->arr[ARR_WEIGHTS] + 4 * k);
    float v;
    memcpy(&v, &u, 4);
    if (!isfinite(v))
      return bad(RPU_ECORRUPT, fn, origin, "weight %zu is not finite", k);
  }
  return 0;
}

/* Magic, version, and a header length that fits in `size` bytes; reads
 * the first PREFIX_LEN bytes of img only if size covers them. */
static int check_prefix(const unsigned char *img, uint64_t size,
                        const char *fn, const char *origin) {
  if (size < PREFIX_LEN)
    return bad(RPU_ECORRUPT, fn, origin,
               "truncated: %llu bytes, shorter than the %u-byte prefix",
               (unsigned long long)size, PREFIX_LEN);
  if (memcmp(img, magic, sizeof magic) != 0)
    return bad(RPU_ECORRUPT, fn, origin, "not an rpu checkpoint (bad magic)");
  uint32_t version = rpu_le_get_u32(img + 8), hlen = rpu_le_get_u32(img + 12);
  if (version == 0)
    return bad(RPU_ECORRUPT, fn, origin, "format version 0 is invalid");
  if (version > RPU__CKPT_VERSION)
    return bad(RPU_EVERSION, fn, origin,
               "format version %u is newer than this library reads (%u); "
               "upgrade rpu",
               (unsigned)version, RPU__CKPT_VERSION);
  if (hlen == 0 || hlen > MAX_HEADER || (uint64_t)PREFIX_LEN + hlen + 4 > size)
    return bad(RPU_ECORRUPT, fn, origin,
               "truncated or corrupt: header of %u bytes does not fit in %llu "
               "bytes",
               (unsigned)hlen, (unsigned long long)size);
  return 0;
}

/* rpu_tile_load's checks and commit, shared by the file and buffer forms. */
static int load_into(rpu_tile *t, const ckpt *c, const char *fn,
                     const char *origin) {
  int rc = check_compatible(t, c, fn, origin);
  return rc < 0 ? rc : commit(t, c, fn, origin);
}

static int check_compatible(const rpu_tile *t, const ckpt *c, const char *fn,
                            const char *origin) {
  if (c->out_size != t->out_size || c->in_size != t->in_size)
    return bad(RPU_ESHAPE, fn, origin, "checkpoint tile is %d x %d, this tile is "
               "%d x %d",
               c->out_size, c->in_size, t->out_size, t->in_size);
  char *text = NULL;
  int rc = rpu_config_to_json(t->cfg, &text);
  if (rc < 0) return rpu__error_prefix("%s: %s: the tile's config", fn, origin);
  json_object *mine = json_tokener_parse(text);
  rpu_free(text);
  if (mine == NULL)
    return bad(RPU_EINTERNAL, fn, origin, "cannot re-read the tile's config");
  char where[256] = "";
  int differs = json_first_difference(mine, c->config, where, sizeof where);
  json_object_put(mine);
  if (differs)
    return bad(RPU_ECONFIG, fn, origin,
               "the checkpoint's config differs from the tile's at \"%s\"",
               where[0] ? where : "(top level)");
  return 0;
}

/* Applies a verified checkpoint.  The device and the engine validate their
 * state before they take it; if the engine refuses after the device took
 * its state, the device gets its old state back. */
static int commit(rpu_tile *t, const ckpt *c, const char *fn,
                  const char *origin) {
  size_t want_dev = RPU__DEV_HAS(t->dev_vt, state_size)
                        ? t->dev_vt->state_size(t->dev_state)
                        : 0;
  size_t want_ext = t->engine->extras_size ? t->engine->extras_size(t) : 0;
  if (c->len[ARR_DEVICE] != want_dev)
    return bad(RPU_ECORRUPT, fn, origin,
               "device_state of %zu bytes, device %s expects %zu",
               c->len[ARR_DEVICE], t->dev_model->name, want_dev);
  if (c->len[ARR_EXTRAS] != want_ext)
    return bad(RPU_ECORRUPT, fn, origin,
               "engine_extras of %zu bytes, engine %s expects %zu",
               c->len[ARR_EXTRAS], t->engine->name, want_ext);
  unsigned char *old = NULL;
  size_t old_len = 0;
  int rc = 0;
  if (want_dev > 0) {
    if (!RPU__DEV_HAS(t->dev_vt, save) || !RPU__DEV_HAS(t->dev_vt, load))
      return bad(RPU_EPLUGIN, fn, origin, "device %s has state but no save/load",
                 t->dev_model->name);
    if (want_ext > 0 && (rc = state_bytes(t, &old, &old_len, fn, origin)) < 0)
      return rc;
    if ((rc = t->dev_vt->load(t->dev_state, c->arr[ARR_DEVICE], want_dev)) != 0) {
      free(old);
      if (rc < 0 && rc > RPU__STATUS_LAST_ && rpu__error_code() == rc)
        return rpu__error_prefix("%s: %s", fn, origin);
      return bad(RPU_ECORRUPT, fn, origin, "device %s refused its state",
                 t->dev_model->name);
    }
  }
  if (want_ext > 0 &&
      (rc = t->engine->load_extras(t, c->arr[ARR_EXTRAS], want_ext)) < 0) {
    if (old != NULL) t->dev_vt->load(t->dev_state, old, old_len);
    free(old);
    return rpu__error_prefix("%s: %s: engine %s", fn, origin, t->engine->name);
  }
  free(old);
  size_t n = (size_t)t->out_size * (size_t)t->in_size;
  for (size_t k = 0; k < n; k++) {
    uint32_t u = rpu_le_get_u32(c->arr[ARR_WEIGHTS] + 4 * k);
    memcpy(&t->w[k], &u, 4);
  }
  t->seed = c->seed;
  t->tile_id = c->tile_id;
  t->steps = c->steps;
  t->counters = c->counters;
  return 0;
}

static void ckpt_free(ckpt *c) {
  if (c->root != NULL) json_object_put(c->root);
  free(c->image);
  memset(c, 0, sizeof *c);
}

/* ----- the JSON header ---------------------------------------------------- */

static int build_header(rpu_tile *t, const size_t len[N_ARRAYS], char **out,
                        const char *fn, const char *origin) {
  *out = NULL;
  char *cfg_text = NULL;
  int rc = rpu_config_to_json(t->cfg, &cfg_text);
  if (rc < 0) {
    rpu__error_prefix("the tile's config");
    return context(fn, origin);
  }
  json_object *cfg = json_tokener_parse(cfg_text);
  rpu_free(cfg_text);
  json_object *root = json_object_new_object();
  json_object *steps = json_object_new_object();
  json_object *counters = json_object_new_object();
  json_object *arrays = json_object_new_array();
  if (cfg == NULL || root == NULL || steps == NULL || counters == NULL ||
      arrays == NULL) {
    json_object_put(cfg);
    json_object_put(root);
    json_object_put(steps);
    json_object_put(counters);
    json_object_put(arrays);
    return bad(RPU_ENOMEM, fn, origin, "out of memory for the header");
  }
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->seed);
  json_object_object_add(root, "format", json_object_new_string(FORMAT_NAME));
  json_object_object_add(root, "library_version",
                         json_object_new_string(rpu_version()));
  json_object_object_add(root, "config", cfg);
  json_object_object_add(root, "out_size", json_object_new_int(t->out_size));
  json_object_object_add(root, "in_size", json_object_new_int(t->in_size));
  json_object_object_add(root, "seed", json_object_new_string(seed));
  json_object_object_add(root, "tile_id", json_object_new_int64(t->tile_id));
  for (size_t i = 0; i < N_OF(step_fields); i++) {
    uint32_t v;
    memcpy(&v, (const char *)&t->steps + step_fields[i].offset, sizeof v);
    json_object_object_add(steps, step_fields[i].name, json_object_new_int64(v));
  }
  json_object_object_add(root, "rng_steps", steps);
  for (size_t i = 0; i < N_OF(counter_fields); i++) {
    uint64_t v;
    memcpy(&v, (const char *)&t->counters + counter_fields[i].offset, sizeof v);
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    json_object_object_add(counters, counter_fields[i].name,
                           json_object_new_string(num));
  }
  json_object_object_add(root, "counters", counters);
  for (int i = 0; i < N_ARRAYS; i++) {
    json_object *a = json_object_new_object();
    json_object_object_add(a, "name", json_object_new_string(array_names[i]));
    json_object_object_add(a, "bytes", json_object_new_int64((int64_t)len[i]));
    json_object_array_add(arrays, a);
  }
  json_object_object_add(root, "arrays", arrays);
  const char *text = json_object_to_json_string_ext(
      root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  *out = text ? strdup(text) : NULL;
  json_object_put(root);
  if (*out == NULL)
    return bad(RPU_ENOMEM, fn, origin, "out of memory for the header");
  return 0;
}

static int get_field(json_object *obj, const char *key, json_type type,
                     json_object **out, const char *fn, const char *origin) {
  if (!json_object_object_get_ex(obj, key, out) ||
      !json_object_is_type(*out, type))
    return bad(RPU_ECORRUPT, fn, origin, "header field \"%s\" is missing or "
               "has the wrong type",
               key);
  return 0;
}

static int get_int(json_object *obj, const char *key, int64_t lo, int64_t hi,
                   int64_t *v, const char *fn, const char *origin) {
  json_object *o;
  int rc = get_field(obj, key, json_type_int, &o, fn, origin);
  if (rc < 0) return rc;
  errno = 0;
  *v = json_object_get_int64(o);
  if (errno != 0 || *v < lo || *v > hi)
    return bad(RPU_ECORRUPT, fn, origin, "header field \"%s\" is out of range",
               key);
  return 0;
}

/* A decimal uint64 kept as a string (JSON numbers lose precision). */
static int get_u64_str(json_object *obj, const char *key, uint64_t *v,
                       const char *fn, const char *origin) {
  json_object *o;
  int rc = get_field(obj, key, json_type_string, &o, fn, origin);
  if (rc < 0) return rc;
  const char *s = json_object_get_string(o);
  char *end = NULL;
  errno = 0;
  unsigned long long u = strtoull(s, &end, 10);
  if (*s < '0' || *s > '9' || errno != 0 || end == s || *end != '\0')
    return bad(RPU_ECORRUPT, fn, origin,
               "header field \"%s\" is not a decimal number", key);
  *v = (uint64_t)u;
  return 0;
}

/* Bytes the tokener consumed (the accessor is json-c >= 0.15). */
static size_t parse_end(json_tokener *tok) {
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
  return json_tokener_get_parse_end(tok);
#else
  return (size_t)tok->char_offset;
#endif
}

static int parse_header(ckpt *c, const char *text, size_t len,
                        const char *fn, const char *origin) {
  json_tokener *tok = json_tokener_new_ex(64);
  if (tok == NULL) return bad(RPU_ENOMEM, fn, origin, "out of memory");
  c->root = json_tokener_parse_ex(tok, text, (int)len);
  int ok = c->root != NULL &&
           json_tokener_get_error(tok) == json_tokener_success &&
           parse_end(tok) == len &&
           json_object_is_type(c->root, json_type_object);
  json_tokener_free(tok);
  if (!ok) return bad(RPU_ECORRUPT, fn, origin, "the header is not a JSON object");
  json_object *o, *root = c->root;
  int64_t v;
  int rc;
  if ((rc = get_field(root, "format", json_type_string, &o, fn, origin)) < 0)
    return rc;
  if (strcmp(json_object_get_string(o), FORMAT_NAME) != 0)
    return bad(RPU_ECORRUPT, fn, origin, "header format is not \"%s\"",
               FORMAT_NAME);
  if ((rc = get_field(root, "library_version", json_type_string, &o, fn,
                      origin)) < 0 ||
      (rc = get_field(root, "config", json_type_object, &c->config, fn,
                      origin)) < 0)
    return rc;
  if ((rc = get_int(root, "out_size", 1, RPU__TILE_MAX_DIM, &v, fn, origin)) < 0)
    return rc;
  c->out_size = (int)v;
  if ((rc = get_int(root, "in_size", 1, RPU__TILE_MAX_DIM, &v, fn, origin)) < 0)
    return rc;
  c->in_size = (int)v;
  if ((rc = get_u64_str(root, "seed", &c->seed, fn, origin)) < 0) return rc;
  if ((rc = get_int(root, "tile_id", 0, 0xffffff, &v, fn, origin)) < 0) return rc;
  c->tile_id = (uint32_t)v;
  if ((rc = get_field(root, "rng_steps", json_type_object, &o, fn, origin)) < 0)
    return rc;
  for (size_t i = 0; i < N_OF(step_fields); i++) {
    if ((rc = get_int(o, step_fields[i].name, 0, UINT32_MAX, &v, fn, origin)) < 0)
      return rc;
    uint32_t u = (uint32_t)v;
    memcpy((char *)&c->steps + step_fields[i].offset, &u, sizeof u);
  }
  if ((rc = get_field(root, "counters", json_type_object, &o, fn, origin)) < 0)
    return rc;
  for (size_t i = 0; i < N_OF(counter_fields); i++) {
    uint64_t u;
    if ((rc = get_u64_str(o, counter_fields[i].name, &u, fn, origin)) < 0)
      return rc;
    memcpy((char *)&c->counters + counter_fields[i].offset, &u, sizeof u);
  }
  if ((rc = get_field(root, "arrays", json_type_array, &o, fn, origin)) < 0)
    return rc;
  if (json_object_array_length(o) != N_ARRAYS)
    return bad(RPU_ECORRUPT, fn, origin, "header lists %zu arrays, expected %d",
               json_object_array_length(o), N_ARRAYS);
  for (int i = 0; i < N_ARRAYS; i++) {
    json_object *a = json_object_array_get_idx(o, (size_t)i), *name;
    if (!json_object_is_type(a, json_type_object))
      return bad(RPU_ECORRUPT, fn, origin, "header array %d is not an object", i);
    if ((rc = get_field(a, "name", json_type_string, &name, fn, origin)) < 0)
      return rc;
    if (strcmp(json_object_get_string(name), array_names[i]) != 0)
      return bad(RPU_ECORRUPT, fn, origin, "header array %d is \"%s\", expected "
                 "\"%s\"",
                 i, json_object_get_string(name), array_names[i]);
    if ((rc = get_int(a, "bytes", 0, INT64_MAX, &v, fn, origin)) < 0) return rc;
    c->len[i] = (size_t)v;
  }
  uint64_t nw = (uint64_t)c->out_size * (uint64_t)c->in_size;
  if (c->len[ARR_WEIGHTS] != 4 * nw)
    return bad(RPU_ECORRUPT, fn, origin,
               "weights of %zu bytes do not match %d x %d floats",
               c->len[ARR_WEIGHTS], c->out_size, c->in_size);
  return 0;
}

/* Finds the first place where two JSON values differ; writes its dotted
 * path into `path` and returns 1, or 0 if they are equal. */
static int json_first_difference(json_object *a, json_object *b, char *path,
                                 size_t cap) {
  if (json_object_equal(a, b)) return 0;
  if (!json_object_is_type(a, json_type_object) ||
      !json_object_is_type(b, json_type_object))
    return 1;
  size_t plen = strlen(path);
  for (int pass = 0; pass < 2; pass++) {
    json_object *x = pass ? b : a, *y = pass ? a : b;
    json_object_object_foreach(x, key, val) {
      json_object *other = NULL;
      int has = json_object_object_get_ex(y, key, &other);
      if (has && json_object_equal(val, other)) continue;
      snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", key);
      if (has) json_first_difference(val, other, path, cap);
      return 1;
    }
  }
  return 1;
}

/* ----- helpers ------------------------------------------------------------ */

/* Saves the device's hidden state into buf, exactly n = state_size bytes. */
static int save_state(rpu_tile *t, unsigned char *buf, size_t n,
                      const char *fn, const char *origin) {
  if (!RPU__DEV_HAS(t->dev_vt, save))
    return bad(RPU_EPLUGIN, fn, origin, "device %s has state but no save hook",
               t->dev_model->name);
  int rc = t->dev_vt->save(t->dev_state, buf, n);
  if (rc == 0) return 0;
  if (rc > 0 || rpu__error_code() != rc) /* the plugin broke the contract */
    return bad(rc < 0 && rc > RPU__STATUS_LAST_ ? rc : RPU_EPLUGIN, fn, origin,
               "device %s could not save its state", t->dev_model->name);
  return context(fn, origin);
}

/* The device's hidden state as malloc'ed bytes (*buf NULL and *len 0 if
 * none). */
static int state_bytes(rpu_tile *t, unsigned char **buf, size_t *len,
                       const char *fn, const char *origin) {
  *buf = NULL;
  *len = 0;
  if (!RPU__DEV_HAS(t->dev_vt, state_size)) return 0;
  size_t n = t->dev_vt->state_size(t->dev_state);
  if (n == 0) return 0;
  if ((*buf = malloc(n)) == NULL)
    return bad(RPU_ENOMEM, fn, origin, "out of memory");
  int rc = save_state(t, *buf, n, fn, origin);
  if (rc < 0) {
    free(*buf);
    *buf = NULL;
    return rc;
  }
  *len = n;
  return 0;
}

/* Records "fn: origin: message" (or "fn: message" without an origin). */
static int bad(int code, const char *fn, const char *origin, const char *fmt,
               ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (origin == NULL) return rpu__error_set(code, fn, "%s: %s", fn, msg);
  return rpu__error_set(code, origin, "%s: %s: %s", fn, origin, msg);
}

/* Prefixes the last error with "fn: origin" (or "fn") and returns its
 * code. */
static int context(const char *fn, const char *origin) {
  if (origin == NULL) return rpu__error_prefix("%s", fn);
  return rpu__error_prefix("%s: %s", fn, origin);
}

static uint32_t crc(const unsigned char *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}
