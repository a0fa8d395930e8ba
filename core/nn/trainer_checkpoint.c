/* Training checkpoints: the whole state of a trainer in one file, written
 * atomically (DESIGN.md §9).
 *
 * Layout (integers little-endian):
 *   magic "RPUTRAIN" | u32 version | u64 header length H | H bytes of JSON |
 *   u32 CRC32 of every byte before it |
 *   per analog layer, in model order: the digital state (rpu_linear_get_digital
 *   as f32), then every tile (rpu_tile_save_buffer, row-major over the
 *   grid), each as  u64 length | bytes | u32 CRC32 of the bytes.
 * The JSON header holds the canonical experiment, the position (epoch,
 * batch), the unfinished epoch's accumulators, the finished epochs'
 * metrics and, per analog layer, the section counts.  Loading checks every
 * length and CRC and the experiment before it changes anything, and rolls
 * the tiles back if one of them refuses its state. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/nn/trainer_impl.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/json.h"
#include "rpu/bytes.h"
#include "rpu/version.h"

#define CKPT_VERSION 1u
#define PREFIX_LEN 20u /* magic, version, header length */
#define MAX_FILE ((size_t)1 << 36)
#define MAX_HEADER ((size_t)1 << 28)

static const unsigned char magic[8] = {'R', 'P', 'U', 'T', 'R', 'A', 'I', 'N'};

/* A growing byte buffer for the file image. */
typedef struct bytes {
  unsigned char *p;
  size_t len, cap;
  int oom;
} bytes;

/* One parsed section (points into the file image). */
typedef struct section {
  const unsigned char *p;
  size_t len;
} section;

/* A verified file: header JSON and sections, before anything is applied. */
typedef struct image {
  unsigned char *buf;
  size_t len;
  json_object *header;
  section *sec;
  size_t n_sec;
} image;

static void put(bytes *b, const void *p, size_t n);
static void put_section(bytes *b, const unsigned char *p, size_t n);
static uint32_t crc(const unsigned char *p, size_t n);
static json_object *build_header(rpu_trainer *t, const char *experiment_json);
static int read_image(image *im, const char *path, const char *fn);
static void image_free(image *im);
static int check_experiment(rpu_trainer *t, json_object *h, const char *path, const char *fn);
static int apply(rpu_trainer *t, const image *im, const char *path, const char *fn);
static int bad(int code, const char *fn, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t count_tiles(const rpu__trainer_layer *l);

/* ----- public API ---------------------------------------------------------- */

int rpu_trainer_save(rpu_trainer *t, const char *path) {
  static const char fn[] = "rpu_trainer_save";
  if (t == NULL || path == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: trainer and path must not be NULL", fn);
  char *exp = NULL;
  int rc = rpu_experiment_to_json(t->e, &exp);
  if (rc != 0) return rpu__error_prefix("%s: %s", fn, path);
  json_object *h = build_header(t, exp);
  rpu_free(exp);
  char *text = h ? rpu__json_to_text(h) : NULL;
  json_object_put(h);
  if (text == NULL) return rpu__error_set(RPU_ENOMEM, path, "%s: %s: out of memory", fn, path);
  size_t hlen = strlen(text);
  bytes b = {0};
  unsigned char pre[PREFIX_LEN];
  memcpy(pre, magic, 8);
  rpu_le_put_u32(pre + 8, CKPT_VERSION);
  rpu_le_put_u64(pre + 12, (uint64_t)hlen);
  put(&b, pre, PREFIX_LEN);
  put(&b, text, hlen);
  free(text);
  unsigned char c4[4];
  rpu_le_put_u32(c4, b.oom ? 0 : crc(b.p, b.len));
  put(&b, c4, 4);
  for (int i = 0; rc == 0 && i < t->n_layers; i++) {
    rpu__trainer_layer *l = &t->layers[i];
    if (l->lin == NULL) continue;
    size_t nd = rpu_linear_digital_count(l->lin);
    float *d = malloc(sizeof(float) * (nd ? nd : 1));
    unsigned char *db = malloc(4 * (nd ? nd : 1));
    if (d == NULL || db == NULL) rc = rpu__error_set(RPU_ENOMEM, path, "out of memory");
    if (rc == 0) rc = rpu_linear_get_digital(l->lin, d);
    if (rc == 0) {
      for (size_t k = 0; k < nd; k++) rpu_le_put_f32(db + 4 * k, d[k]);
      put_section(&b, db, 4 * nd);
    }
    free(d);
    free(db);
    int n_in = 1, n_out = 1;
    rpu_linear_tile_grid(l->lin, &n_in, &n_out);
    for (int io = 0; rc == 0 && io < n_out; io++)
      for (int ii = 0; rc == 0 && ii < n_in; ii++) {
        unsigned char *tb = NULL;
        size_t tl = 0;
        rc = rpu_tile_save_buffer(rpu_linear_tile(l->lin, io, ii), &tb, &tl);
        if (rc == 0) put_section(&b, tb, tl);
        rpu_free(tb);
      }
    if (rc != 0) rc = rpu__error_prefix("%s: %s: %s", fn, path, l->name);
  }
  if (rc == 0 && b.oom) rc = rpu__error_set(RPU_ENOMEM, path, "%s: %s: out of memory", fn, path);
  if (rc == 0) rc = rpu__file_write_atomic(path, b.p, b.len, fn);
  free(b.p);
  return rc;
}

int rpu_trainer_load(rpu_trainer *t, const char *path) {
  static const char fn[] = "rpu_trainer_load";
  if (t == NULL || path == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: trainer and path must not be NULL", fn);
  image im;
  int rc = read_image(&im, path, fn);
  if (rc == 0) rc = check_experiment(t, im.header, path, fn);
  if (rc == 0) rc = apply(t, &im, path, fn);
  image_free(&im);
  return rc;
}

int rpu_trainer_load_new(rpu_trainer **out, rpu_context *ctx, const char *path, int epochs) {
  static const char fn[] = "rpu_trainer_load_new";
  if (out == NULL || ctx == NULL || path == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: out, ctx and path must not be NULL", fn);
  *out = NULL;
  image im;
  int rc = read_image(&im, path, fn);
  if (rc != 0) return rc;
  json_object *je = NULL;
  rpu_experiment *e = NULL;
  if (!json_object_object_get_ex(im.header, "experiment", &je) ||
      !json_object_is_type(je, json_type_object)) {
    rc = bad(RPU_ECORRUPT, fn, path, "the header has no experiment object");
  } else {
    char origin[512];
    snprintf(origin, sizeof origin, "%s: experiment", path);
    rc = rpu_experiment_from_string(&e, ctx, json_object_to_json_string_ext(je, 0), origin);
  }
  if (rc == 0 && epochs > 0) rc = rpu_experiment_set_epochs(e, epochs);
  image_free(&im);
  rpu_trainer *t = NULL;
  if (rc == 0) rc = rpu_trainer_new(&t, ctx, e);
  rpu_experiment_free(e);
  if (rc == 0) rc = rpu_trainer_load(t, path);
  if (rc != 0) {
    rpu_trainer_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

/* ----- writing ------------------------------------------------------------- */

static void put(bytes *b, const void *p, size_t n) {
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (q == NULL) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void put_section(bytes *b, const unsigned char *p, size_t n) {
  unsigned char h[8], c4[4];
  rpu_le_put_u64(h, (uint64_t)n);
  rpu_le_put_u32(c4, crc(p, n));
  put(b, h, 8);
  put(b, p, n);
  put(b, c4, 4);
}

static uint32_t crc(const unsigned char *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}

static int add(json_object *o, const char *key, json_object *v) {
  if (v == NULL) return -1;
  if (json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return -1;
  }
  return 0;
}

static json_object *build_header(rpu_trainer *t, const char *experiment_json) {
  json_object *h = json_object_new_object(), *e = NULL;
  if (h == NULL) return NULL;
  int bad_ = rpu__json_parse(&e, experiment_json, strlen(experiment_json), "experiment") != 0;
  bad_ |= add(h, "format", json_object_new_string("rpu-trainer-checkpoint"));
  bad_ |= add(h, "library", json_object_new_string(rpu_version()));
  bad_ |= add(h, "experiment", e);
  bad_ |= add(h, "epoch", json_object_new_int(t->epoch));
  bad_ |= add(h, "batch", json_object_new_int(t->batch));
  bad_ |= add(h, "loss_sum", rpu__json_new_real(t->loss_sum));
  bad_ |= add(h, "correct", json_object_new_int64(t->correct));
  bad_ |= add(h, "seen", json_object_new_int64(t->seen));
  bad_ |= add(h, "seconds", rpu__json_new_real(t->seconds));
  json_object *hist = json_object_new_array();
  for (int i = 0; hist && i < t->n_hist; i++) {
    const rpu_epoch_metrics *m = &t->hist[i];
    json_object *o = json_object_new_object();
    if (o == NULL) break;
    bad_ |= add(o, "epoch", json_object_new_int(m->epoch));
    bad_ |= add(o, "lr", rpu__json_new_real(m->lr));
    bad_ |= add(o, "train_loss", rpu__json_new_real(m->train_loss));
    bad_ |= add(o, "train_accuracy", rpu__json_new_real(m->train_accuracy));
    bad_ |= add(o, "test_accuracy", rpu__json_new_real(m->test_accuracy));
    bad_ |= add(o, "seconds", rpu__json_new_real(m->seconds));
    if (json_object_array_add(hist, o) != 0) {
      json_object_put(o);
      bad_ = 1;
    }
  }
  bad_ |= add(h, "history", hist);
  json_object *layers = json_object_new_array();
  for (int i = 0; layers && i < t->n_layers; i++) {
    const rpu__trainer_layer *l = &t->layers[i];
    if (l->lin == NULL) continue;
    json_object *o = json_object_new_object();
    if (o == NULL) break;
    bad_ |= add(o, "layer", json_object_new_int(i));
    bad_ |= add(o, "digital", json_object_new_int64((int64_t)rpu_linear_digital_count(l->lin)));
    bad_ |= add(o, "tiles", json_object_new_int64((int64_t)count_tiles(l)));
    if (json_object_array_add(layers, o) != 0) {
      json_object_put(o);
      bad_ = 1;
    }
  }
  bad_ |= add(h, "layers", layers);
  if (bad_) {
    json_object_put(h);
    return NULL;
  }
  return h;
}

/* ----- reading ------------------------------------------------------------- */

static int bad(int code, const char *fn, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return rpu__error_set(code, path, "%s: %s: %s", fn, path, msg);
}

static void image_free(image *im) {
  free(im->buf);
  json_object_put(im->header);
  free(im->sec);
  memset(im, 0, sizeof *im);
}

/* Reads the file and verifies its framing: prefix, header CRC, JSON, and
 * every section's length and CRC, up to the exact end of the file. */
static int read_image(image *im, const char *path, const char *fn) {
  memset(im, 0, sizeof *im);
  int rc = rpu__file_read_all(path, &im->buf, &im->len, MAX_FILE, fn);
  if (rc != 0) return rc;
  const unsigned char *p = im->buf;
  size_t n = im->len;
  if (n < PREFIX_LEN + 4)
    return bad(RPU_ECORRUPT, fn, path, "truncated: %zu bytes, shorter than the prefix", n);
  if (memcmp(p, magic, 8) != 0)
    return bad(RPU_ECORRUPT, fn, path, "not a training checkpoint (wrong magic)");
  uint32_t version = rpu_le_get_u32(p + 8);
  if (version != CKPT_VERSION)
    return bad(RPU_EVERSION, fn, path, "format version %u, this library reads %u", version,
               CKPT_VERSION);
  uint64_t hlen = rpu_le_get_u64(p + 12);
  if (hlen > MAX_HEADER || hlen > n - PREFIX_LEN - 4)
    return bad(RPU_ECORRUPT, fn, path, "truncated or corrupt: header of %llu bytes in a %zu-byte "
               "file", (unsigned long long)hlen, n);
  size_t off = PREFIX_LEN + (size_t)hlen;
  if (crc(p, off) != rpu_le_get_u32(p + off))
    return bad(RPU_ECORRUPT, fn, path, "header checksum mismatch (corrupt file)");
  rc = rpu__json_parse(&im->header, (const char *)p + PREFIX_LEN, (size_t)hlen, path);
  if (rc != 0) return bad(RPU_ECORRUPT, fn, path, "unreadable header");
  off += 4;
  size_t cap = 0;
  while (off < n) {
    if (n - off < 12)
      return bad(RPU_ECORRUPT, fn, path, "truncated section at byte %zu", off);
    uint64_t len = rpu_le_get_u64(p + off);
    if (len > n - off - 12)
      return bad(RPU_ECORRUPT, fn, path, "truncated section at byte %zu (%llu bytes announced)",
                 off, (unsigned long long)len);
    const unsigned char *s = p + off + 8;
    if (crc(s, (size_t)len) != rpu_le_get_u32(s + len))
      return bad(RPU_ECORRUPT, fn, path, "checksum mismatch in section %zu (corrupt file)",
                 im->n_sec);
    if (im->n_sec == cap) {
      cap = cap ? 2 * cap : 16;
      section *q = realloc(im->sec, sizeof *q * cap);
      if (q == NULL) return rpu__error_set(RPU_ENOMEM, path, "out of memory");
      im->sec = q;
    }
    im->sec[im->n_sec].p = s;
    im->sec[im->n_sec].len = (size_t)len;
    im->n_sec++;
    off += 12 + (size_t)len;
  }
  return 0;
}

static json_object *get(json_object *o, const char *key, json_type type) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type)) return NULL;
  return v;
}

/* The checkpoint must come from the same experiment; only the number of
 * epochs may differ (a run can be extended). */
static int check_experiment(rpu_trainer *t, json_object *h, const char *path, const char *fn) {
  json_object *je = get(h, "experiment", json_type_object);
  if (je == NULL) return bad(RPU_ECORRUPT, fn, path, "the header has no experiment object");
  char origin[512];
  snprintf(origin, sizeof origin, "%s: experiment", path);
  rpu_experiment *ce = NULL;
  int rc = rpu_experiment_from_string(&ce, t->ctx, json_object_to_json_string_ext(je, 0), origin);
  if (rc != 0) return rc;
  char *a = NULL, *b = NULL;
  rc = rpu_experiment_set_epochs(ce, t->e->epochs);
  if (rc == 0) rc = rpu_experiment_to_json(ce, &a);
  if (rc == 0) rc = rpu_experiment_to_json(t->e, &b);
  if (rc == 0 && strcmp(a, b) != 0) {
    size_t k = 0, line = 1, start = 0;
    while (a[k] && a[k] == b[k]) {
      if (a[k] == '\n') {
        line++;
        start = k + 1;
      }
      k++;
    }
    const char *end = strchr(b + start, '\n');
    int width = end ? (int)(end - (b + start)) : (int)strlen(b + start);
    rc = bad(RPU_ECONFIG, fn, path,
             "written by a different experiment (seed, dataset, model or training differ; only "
             "the number of epochs may change); first difference at line %zu of the canonical "
             "experiment: %.*s",
             line, width > 200 ? 200 : width, b + start);
  }
  rpu_free(a);
  rpu_free(b);
  rpu_experiment_free(ce);
  return rc;
}

static size_t count_tiles(const rpu__trainer_layer *l) {
  int n_in = 1, n_out = 1;
  rpu_linear_tile_grid(l->lin, &n_in, &n_out);
  return (size_t)n_in * (size_t)n_out;
}

static int get_number(json_object *h, const char *key, double *v) {
  json_object *o = NULL;
  if (!json_object_object_get_ex(h, key, &o) ||
      !(json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int)))
    return -1;
  *v = json_object_get_double(o);
  return 0;
}

/* Everything is checked first; the tiles are then loaded one by one and
 * restored from snapshots should one refuse its state. */
static int apply(rpu_trainer *t, const image *im, const char *path, const char *fn) {
  json_object *h = im->header;
  json_object *je = get(h, "epoch", json_type_int), *jb = get(h, "batch", json_type_int);
  json_object *jc = get(h, "correct", json_type_int), *js = get(h, "seen", json_type_int);
  json_object *hist = get(h, "history", json_type_array);
  double loss_sum, seconds;
  if (!je || !jb || !jc || !js || !hist || get_number(h, "loss_sum", &loss_sum) ||
      get_number(h, "seconds", &seconds))
    return bad(RPU_ECORRUPT, fn, path, "the header lacks the training position");
  int64_t epoch = json_object_get_int64(je), batch = json_object_get_int64(jb);
  if (epoch < 0 || epoch > 1000000000 || batch < 0 || batch >= t->batches ||
      (size_t)json_object_array_length(hist) != (size_t)epoch)
    return bad(RPU_ECORRUPT, fn, path, "position epoch %lld batch %lld does not fit this "
               "experiment (%d batches per epoch)", (long long)epoch, (long long)batch,
               t->batches);
  /* Sections: per analog layer one digital section and its tiles. */
  size_t need = 0;
  for (int i = 0; i < t->n_layers; i++)
    if (t->layers[i].lin) need += 1 + count_tiles(&t->layers[i]);
  if (im->n_sec != need)
    return bad(RPU_ECORRUPT, fn, path, "%zu sections, the experiment's layers need %zu",
               im->n_sec, need);
  size_t s = 0;
  for (int i = 0; i < t->n_layers; i++) {
    const rpu__trainer_layer *l = &t->layers[i];
    if (l->lin == NULL) continue;
    if (im->sec[s].len != 4 * rpu_linear_digital_count(l->lin))
      return bad(RPU_ECORRUPT, fn, path, "%s: digital state of %zu bytes, expected %zu",
                 l->name, im->sec[s].len, 4 * rpu_linear_digital_count(l->lin));
    s += 1 + count_tiles(l);
  }
  rpu_epoch_metrics *nh = malloc(sizeof *nh * (size_t)(epoch ? epoch : 1));
  if (nh == NULL) return rpu__error_set(RPU_ENOMEM, path, "out of memory");
  for (int64_t i = 0; i < epoch; i++) {
    json_object *o = json_object_array_get_idx(hist, (size_t)i);
    rpu_epoch_metrics *m = &nh[i];
    json_object *ep = json_object_is_type(o, json_type_object) ? get(o, "epoch", json_type_int)
                                                                : NULL;
    if (ep == NULL || get_number(o, "lr", &m->lr) || get_number(o, "train_loss", &m->train_loss) ||
        get_number(o, "train_accuracy", &m->train_accuracy) ||
        get_number(o, "test_accuracy", &m->test_accuracy) ||
        get_number(o, "seconds", &m->seconds)) {
      free(nh);
      return bad(RPU_ECORRUPT, fn, path, "history[%lld] is incomplete", (long long)i);
    }
    m->epoch = (int)json_object_get_int64(ep);
  }
  /* Snapshots, then apply; snap[] and dig[] are indexed like the sections,
   * and an entry stays NULL until its part has been snapshotted. */
  unsigned char **snap = calloc(need, sizeof *snap);
  size_t *snap_len = calloc(need, sizeof *snap_len);
  float **dig = calloc(need, sizeof *dig);
  int rc = (snap && snap_len && dig) ? 0 : rpu__error_set(RPU_ENOMEM, path, "out of memory");
  s = 0;
  for (int i = 0; rc == 0 && i < t->n_layers; i++) {
    rpu__trainer_layer *l = &t->layers[i];
    if (l->lin == NULL) continue;
    size_t nd = rpu_linear_digital_count(l->lin);
    float *old = malloc(sizeof(float) * (nd ? nd : 1)), *nv = malloc(sizeof(float) * (nd ? nd : 1));
    if (old == NULL || nv == NULL) rc = rpu__error_set(RPU_ENOMEM, path, "out of memory");
    if (rc == 0) rc = rpu_linear_get_digital(l->lin, old);
    if (rc == 0) {
      dig[s] = old;
      old = NULL;
      for (size_t j = 0; j < nd; j++) nv[j] = rpu_le_get_f32(im->sec[s].p + 4 * j);
      rc = rpu_linear_set_digital(l->lin, nv);
    }
    free(old);
    free(nv);
    s++;
    int n_in = 1, n_out = 1;
    rpu_linear_tile_grid(l->lin, &n_in, &n_out);
    for (int io = 0; rc == 0 && io < n_out; io++)
      for (int ii = 0; rc == 0 && ii < n_in; ii++, s++) {
        rpu_tile *tile = rpu_linear_tile(l->lin, io, ii);
        rc = rpu_tile_save_buffer(tile, &snap[s], &snap_len[s]);
        char origin[600];
        snprintf(origin, sizeof origin, "%s: %s tile (%d,%d)", path, l->name, io, ii);
        if (rc == 0) rc = rpu_tile_load_buffer(tile, im->sec[s].p, im->sec[s].len, origin);
      }
  }
  if (rc != 0) {
    /* Put back every part that was snapshotted (the failure's error is kept). */
    int saved_code = rpu_error_last()->code;
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", rpu_error_last()->message);
    s = 0;
    for (int i = 0; i < t->n_layers; i++) {
      rpu__trainer_layer *l = &t->layers[i];
      if (l->lin == NULL) continue;
      if (dig[s]) (void)rpu_linear_set_digital(l->lin, dig[s]);
      s++;
      int n_in = 1, n_out = 1;
      rpu_linear_tile_grid(l->lin, &n_in, &n_out);
      for (int io = 0; io < n_out; io++)
        for (int ii = 0; ii < n_in; ii++, s++)
          if (snap[s])
            (void)rpu_tile_load_buffer(rpu_linear_tile(l->lin, io, ii), snap[s], snap_len[s],
                                       "rollback");
    }
    rc = rpu__error_set(saved_code, path, "%s", saved);
  } else {
    free(t->hist);
    t->hist = nh;
    nh = NULL;
    t->n_hist = t->cap_hist = (int)epoch;
    t->epoch = (int)epoch;
    t->batch = (int)batch;
    t->loss_sum = loss_sum;
    t->correct = json_object_get_int64(jc);
    t->seen = json_object_get_int64(js);
    t->seconds = seconds;
    if (t->epoch < t->e->epochs) rc = rpu__trainer_prepare_epoch(t);
  }
  for (size_t j = 0; j < need; j++) {
    if (snap) rpu_free(snap[j]);
    if (dig) free(dig[j]);
  }
  free(snap);
  free(snap_len);
  free(dig);
  free(nh);
  return rc;
}
