/* Tile checkpoints (DESIGN.md §9): bit-exact round trips, and every kind
 * of damaged or incompatible file refused with the tile left unchanged. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tests/suites.h"
#include "tests/testutil.h"

/* Drift (hidden device state), diffusion (RNG stream) and decay, so a
 * round trip has everything to lose. */
#define CFG                                                                  \
  "{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": {\"type\": "     \
  "\"FloatingPointDevice\", \"diffusion\": 0.01, \"lifetime\": 50, "         \
  "\"drift\": {\"nu\": 0.05}}}"
#define OUT 3
#define IN 4
#define N (OUT * IN)

static rpu_context *ctx;
static char *dir;

static void setup(void) {
  ctx = tu_context();
  dir = tu_tempdir();
}

static void teardown(void) {
  tu_rmdir(dir);
  free(dir);
  rpu_context_free(ctx);
  ctx = NULL;
}

static rpu_tile *new_tile(const char *json, int out, int in, uint64_t seed) {
  rpu_config *cfg = tu_config(ctx, json);
  rpu_tile *t = NULL;
  int rc = rpu_tile_new_with_id(&t, ctx, cfg, out, in, seed, 7);
  ck_assert_msg(rc == 0, "rpu_tile_new: %s", rpu_error_last()->message);
  rpu_config_free(cfg);
  return t;
}

static void ok(int rc) {
  ck_assert_msg(rc == 0, "%s: %s", rpu_status_name(rc), rpu_error_last()->message);
}

/* A tile with some history: weights, an update, post-update steps (RNG
 * steps advance) and drift calls (the drifter holds state). */
static rpu_tile *busy_tile(uint64_t seed) {
  rpu_tile *t = new_tile(CFG, OUT, IN, seed);
  float w[N], x[2 * IN], d[2 * OUT], y[2 * OUT];
  for (int k = 0; k < N; k++) w[k] = 0.1f * (float)(k - 5);
  for (int k = 0; k < 2 * IN; k++) x[k] = 0.5f - 0.125f * (float)k;
  for (int k = 0; k < 2 * OUT; k++) d[k] = 0.25f * (float)(k % 3 - 1);
  ok(rpu_tile_set_weights(t, w));
  ok(rpu_tile_forward(t, x, y, 2));
  ok(rpu_tile_update(t, x, d, 2, 0.1f));
  ok(rpu_tile_post_update_step(t));
  ok(rpu_tile_drift(t, 1.5));
  ok(rpu_tile_post_update_step(t));
  ok(rpu_tile_drift(t, 2.5));
  return t;
}

/* What the tile does next draws on every piece of saved state: the
 * post-update step number (diffusion stream), the drifter (w0, t_start, T)
 * and the weights.  Two tiles with equal state give equal bits. */
static void next_steps(rpu_tile *t, float *w) {
  ok(rpu_tile_post_update_step(t));
  ok(rpu_tile_drift(t, 3.0));
  ok(rpu_tile_drift(t, 3.0));
  ok(rpu_tile_get_weights(t, w));
}

static void assert_same_counters(rpu_tile *a, rpu_tile *b) {
  rpu_tile_counters ca, cb;
  ok(rpu_tile_get_counters(a, &ca));
  ok(rpu_tile_get_counters(b, &cb));
  ck_assert_mem_eq(&ca, &cb, sizeof ca);
}

START_TEST(round_trip) {
  char *path = tu_path(dir, "t.ckpt");
  rpu_tile *a = busy_tile(99);
  ok(rpu_tile_save(a, path));

  /* Into a fresh tile of the same config and shape but another seed and
   * no history: it becomes the saved tile. */
  rpu_tile *b = new_tile(CFG, OUT, IN, 12345);
  ok(rpu_tile_load(b, path));
  float wa[N], wb[N];
  ok(rpu_tile_get_weights(a, wa));
  ok(rpu_tile_get_weights(b, wb));
  ck_assert_mem_eq(wa, wb, sizeof wa);
  assert_same_counters(a, b);
  rpu_tile_counters c;
  ok(rpu_tile_get_counters(b, &c));
  ck_assert_uint_eq(c.forward_mvms, 2); /* busy_tile: one forward, batch 2 */
  ck_assert_uint_eq(c.updates, 2);

  /* load_new builds the same tile from the header alone. */
  rpu_tile *n = NULL;
  ok(rpu_tile_load_new(&n, ctx, path));
  ck_assert_int_eq(rpu_tile_out_size(n), OUT);
  ck_assert_int_eq(rpu_tile_in_size(n), IN);
  float wn[N];
  ok(rpu_tile_get_weights(n, wn));
  ck_assert_mem_eq(wa, wn, sizeof wa);
  assert_same_counters(a, n);

  /* The futures agree bit for bit: seed, tile id, RNG steps, drift state
   * all came back. */
  next_steps(a, wa);
  next_steps(b, wb);
  next_steps(n, wn);
  ck_assert_mem_eq(wa, wb, sizeof wa);
  ck_assert_mem_eq(wa, wn, sizeof wa);

  /* Control: a tile with the same weights but no restored drift state and
   * RNG steps goes elsewhere, so the comparison above can fail. */
  rpu_tile *ctl = new_tile(CFG, OUT, IN, 99);
  float w0[N];
  ok(rpu_tile_load(b, path));
  ok(rpu_tile_get_weights(b, w0));
  ok(rpu_tile_set_weights(ctl, w0));
  float wc[N];
  next_steps(ctl, wc);
  ck_assert_int_ne(memcmp(wa, wc, sizeof wa), 0);

  rpu_tile_free(ctl);
  rpu_tile_free(n);
  rpu_tile_free(b);
  rpu_tile_free(a);
  free(path);
}
END_TEST

/* Loads a damaged file into t and asserts: refused with one of the two
 * codes, message names the file, weights and counters unchanged. */
static void assert_refused(rpu_tile *t, const char *path, int code1, int code2,
                           const char *what) {
  float before[N], after[N];
  rpu_tile_counters cb, ca;
  ok(rpu_tile_get_weights(t, before));
  ok(rpu_tile_get_counters(t, &cb));
  int rc = rpu_tile_load(t, path);
  ck_assert_msg(rc == code1 || rc == code2, "%s: got %s (%s)", what,
                rpu_status_name(rc), rpu_error_last()->message);
  ck_assert_msg(strstr(rpu_error_last()->message, path) != NULL,
                "%s: message \"%s\" does not name the file", what,
                rpu_error_last()->message);
  ok(rpu_tile_get_weights(t, after));
  ok(rpu_tile_get_counters(t, &ca));
  ck_assert_mem_eq(before, after, sizeof before);
  ck_assert_mem_eq(&cb, &ca, sizeof cb);
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32),
 * bit by bit: an independent reference for patching a header. */
static uint32_t crc32_ref(const unsigned char *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int b = 0; b < 8; b++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

static void put_le32(unsigned char *p, uint32_t v) {
  for (int b = 0; b < 4; b++) p[b] = (unsigned char)(v >> (8 * b));
}

START_TEST(truncated_everywhere) {
  char *good = tu_path(dir, "good.ckpt"), *bad = tu_path(dir, "bad.ckpt");
  rpu_tile *a = busy_tile(1);
  ok(rpu_tile_save(a, good));
  size_t size;
  char *bytes = tu_read_file(good, &size);
  /* The target: a different tile whose state must survive every attempt. */
  rpu_tile *t = busy_tile(2);
  ok(rpu_tile_drift(t, 1.0));
  for (size_t len = 0; len < size; len++) {
    tu_write_file(bad, bytes, len);
    char what[64];
    snprintf(what, sizeof what, "truncated to %zu of %zu bytes", len, size);
    assert_refused(t, bad, RPU_ECORRUPT, RPU_ECORRUPT, what);
  }
  /* One byte too many is refused as well. */
  char *longer = malloc(size + 1);
  memcpy(longer, bytes, size);
  longer[size] = 0;
  tu_write_file(bad, longer, size + 1);
  assert_refused(t, bad, RPU_ECORRUPT, RPU_ECORRUPT, "trailing byte");
  /* The intact file still loads into it (the loop did not break t). */
  ok(rpu_tile_load(t, good));
  rpu_tile_free(t);
  rpu_tile_free(a);
  free(longer);
  free(bytes);
  free(good);
  free(bad);
}
END_TEST

START_TEST(flipped_bytes) {
  char *good = tu_path(dir, "good.ckpt"), *bad = tu_path(dir, "bad.ckpt");
  rpu_tile *a = busy_tile(1);
  ok(rpu_tile_save(a, good));
  size_t size;
  unsigned char *bytes = (unsigned char *)tu_read_file(good, &size);
  uint32_t hlen = le32(bytes + 12);
  size_t hend = 16 + hlen; /* header CRC position */
  size_t pos[] = {0,        7,        8,         12,        13,       16,
                  20,       hend / 2, hend - 1,  hend,      hend + 3, hend + 4,
                  hend + 9, hend + 50, size - 100, size - 5,
                  size - 1};
  rpu_tile *t = busy_tile(2);
  for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++) {
    ck_assert_uint_lt(pos[i], size);
    unsigned char *copy = malloc(size);
    memcpy(copy, bytes, size);
    copy[pos[i]] ^= 0xff;
    tu_write_file(bad, copy, size);
    char what[64];
    snprintf(what, sizeof what, "byte %zu of %zu flipped", pos[i], size);
    /* Flipping the version byte reads as version 254: "newer". */
    assert_refused(t, bad, RPU_ECORRUPT, RPU_EVERSION, what);
    free(copy);
  }
  rpu_tile_free(t);
  rpu_tile_free(a);
  free(bytes);
  free(good);
  free(bad);
}
END_TEST

START_TEST(magic_and_version) {
  char *good = tu_path(dir, "good.ckpt"), *bad = tu_path(dir, "bad.ckpt");
  rpu_tile *a = busy_tile(1);
  ok(rpu_tile_save(a, good));
  size_t size;
  unsigned char *bytes = (unsigned char *)tu_read_file(good, &size);
  rpu_tile *t = busy_tile(2);

  /* Wrong magic: e.g. some other format's file. */
  unsigned char *copy = malloc(size);
  memcpy(copy, bytes, size);
  memcpy(copy, "PK\003\004abcd", 8);
  tu_write_file(bad, copy, size);
  assert_refused(t, bad, RPU_ECORRUPT, RPU_ECORRUPT, "wrong magic");
  tu_assert_error(rpu_tile_load(t, bad), RPU_ECORRUPT, "magic");

  /* A newer format version, with the header CRC (which covers bytes
   * 0 .. 16 + header_len) recomputed, so nothing but the version check can
   * refuse it. */
  memcpy(copy, bytes, size);
  uint32_t hlen = le32(copy + 12);
  put_le32(copy + 8, le32(copy + 8) + 1);
  put_le32(copy + 16 + hlen, crc32_ref(copy, 16 + hlen));
  tu_write_file(bad, copy, size);
  assert_refused(t, bad, RPU_EVERSION, RPU_EVERSION, "newer version");
  tu_assert_error(rpu_tile_load(t, bad), RPU_EVERSION, "version 2");
  rpu_tile *n = (rpu_tile *)&n;
  tu_assert_error(rpu_tile_load_new(&n, ctx, bad), RPU_EVERSION, bad);
  ck_assert_ptr_null(n);

  /* Control for the recomputed CRC: the same patch with version 1 kept
   * loads, so the CRC arithmetic above is right. */
  memcpy(copy, bytes, size);
  put_le32(copy + 16 + hlen, crc32_ref(copy, 16 + hlen));
  tu_write_file(bad, copy, size);
  ok(rpu_tile_load(t, bad));

  rpu_tile_free(t);
  rpu_tile_free(a);
  free(copy);
  free(bytes);
  free(good);
  free(bad);
}
END_TEST

START_TEST(incompatible_tile) {
  char *path = tu_path(dir, "t.ckpt");
  rpu_tile *a = busy_tile(1);
  ok(rpu_tile_save(a, path));
  /* Shape: 4 x 3 instead of 3 x 4 (same element count). */
  rpu_tile *t = new_tile(CFG, IN, OUT, 1);
  float before[N], after[N];
  ok(rpu_tile_get_weights(t, before));
  tu_assert_error(rpu_tile_load(t, path), RPU_ESHAPE, "3 x 4");
  ok(rpu_tile_get_weights(t, after));
  ck_assert_mem_eq(before, after, sizeof before);
  rpu_tile_free(t);
  /* Same shape, another config: refused naming where they differ. */
  t = new_tile("{\"rpu_config\": \"FloatingPointRPUConfig\", \"device\": "
               "{\"type\": \"FloatingPointDevice\", \"diffusion\": 0.01, "
               "\"lifetime\": 51, \"drift\": {\"nu\": 0.05}}}",
               OUT, IN, 1);
  ok(rpu_tile_get_weights(t, before));
  tu_assert_error(rpu_tile_load(t, path), RPU_ECONFIG, "device.lifetime");
  ok(rpu_tile_get_weights(t, after));
  ck_assert_mem_eq(before, after, sizeof before);
  rpu_tile_free(t);
  rpu_tile_free(a);
  free(path);
}
END_TEST

static int count_files(const char *d) {
  DIR *h = opendir(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(h)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(h);
  return n;
}

/* A save that fails half-way (the file-size limit makes write() fail,
 * which works even for root) leaves the old checkpoint as it was and no
 * temporary file behind. */
START_TEST(failed_save_keeps_old_file) {
  char *path = tu_path(dir, "t.ckpt");
  rpu_tile *a = busy_tile(1);
  ok(rpu_tile_save(a, path));
  size_t size;
  char *old = tu_read_file(path, &size);
  ok(rpu_tile_drift(a, 10.0)); /* a changed tile to save over it */

  struct rlimit saved, small;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  small = saved;
  small.rlim_cur = 100; /* inside the header: the save cannot complete */
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
  int rc = rpu_tile_save(a, path);
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, prev);
  tu_assert_error(rc, RPU_EIO, path);

  size_t now_size;
  char *now = tu_read_file(path, &now_size);
  ck_assert_uint_eq(now_size, size);
  ck_assert_mem_eq(now, old, size);
  ck_assert_int_eq(count_files(dir), 1);

  /* A directory that does not exist: EIO naming the path. */
  char *nowhere = tu_path(dir, "no/such/dir/t.ckpt");
  tu_assert_error(rpu_tile_save(a, nowhere), RPU_EIO, nowhere);
  /* And the save does work without the limit. */
  ok(rpu_tile_save(a, path));
  ck_assert_int_eq(count_files(dir), 1);

  rpu_tile_free(a);
  free(nowhere);
  free(now);
  free(old);
  free(path);
}
END_TEST

START_TEST(bad_arguments) {
  char *path = tu_path(dir, "missing.ckpt");
  rpu_tile *t = busy_tile(1);
  tu_assert_error(rpu_tile_load(t, path), RPU_EIO, path);
  tu_assert_error(rpu_tile_load(NULL, path), RPU_EINVAL, "t is NULL");
  tu_assert_error(rpu_tile_load(t, NULL), RPU_EINVAL, "path");
  tu_assert_error(rpu_tile_save(NULL, path), RPU_EINVAL, "t is NULL");
  tu_assert_error(rpu_tile_save(t, ""), RPU_EINVAL, "path");
  rpu_tile *n = (rpu_tile *)&n;
  tu_assert_error(rpu_tile_load_new(&n, ctx, path), RPU_EIO, path);
  ck_assert_ptr_null(n);
  tu_assert_error(rpu_tile_load_new(&n, NULL, path), RPU_EINVAL, "ctx");
  tu_assert_error(rpu_tile_load_new(NULL, ctx, path), RPU_EINVAL, "out");
  /* A directory is not a checkpoint. */
  tu_assert_error(rpu_tile_load(t, dir), RPU_EIO, dir);
  rpu_tile_free(t);
  free(path);
}
END_TEST

/* ----- in-memory checkpoints (rpu_tile_save_buffer / load_buffer) -------- */

/* An analog tile whose every piece of state shows in what it does next:
 * a pulsed device with device-to-device variation (per-element step sizes
 * and bounds drawn from the seed), write noise (persistent hidden weights,
 * SPEC.md §4.7), diffusion and decay (post-update RNG stream), stochastic
 * pulse trains and output noise (RNG step counters), and AVERAGE_ABS_MAX
 * noise management (the engine's running value, its checkpoint extras). */
#define ACFG                                                                 \
  "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": "            \
  "\"LinearStepDevice\", \"write_noise_std\": 0.5, \"diffusion\": 0.01, "    \
  "\"lifetime\": 200}, \"forward\": {\"out_noise\": 0.05, "                  \
  "\"noise_management\": \"AVERAGE_ABS_MAX\"}, \"backward\": "               \
  "{\"noise_management\": \"AVERAGE_ABS_MAX\"}, \"update\": {\"pulse_type\": " \
  "\"STOCHASTIC_COMPRESSED\", \"desired_bl\": 15}}"

static void fill_inputs(float *x, float *d) {
  for (int k = 0; k < 2 * IN; k++) x[k] = 0.5f - 0.125f * (float)k;
  for (int k = 0; k < 2 * OUT; k++) d[k] = 0.25f * (float)(k % 3 - 1);
}

static rpu_tile *busy_analog(uint64_t seed) {
  rpu_tile *t = new_tile(ACFG, OUT, IN, seed);
  float w[N], x[2 * IN], d[2 * OUT], y[2 * OUT];
  for (int k = 0; k < N; k++) w[k] = 0.05f * (float)(k - 5);
  fill_inputs(x, d);
  ok(rpu_tile_set_weights(t, w));
  for (int r = 0; r < 3; r++) {
    ok(rpu_tile_forward(t, x, y, 2));
    ok(rpu_tile_update(t, x, d, 2, 0.05f));
    ok(rpu_tile_post_update_step(t));
  }
  return t;
}

/* One forward, one update and one post-update step; y and the weights
 * after.  Every one of them draws on the RNG (output noise, pulse trains,
 * diffusion), so equal outputs need equal seed, tile id and step counters,
 * and equal hidden state (the write noise sits on the hidden weights). */
static void analog_next(rpu_tile *t, float *y, float *w) {
  float x[2 * IN], d[2 * OUT];
  fill_inputs(x, d);
  ok(rpu_tile_forward(t, x, y, 2));
  ok(rpu_tile_update(t, x, d, 2, 0.05f));
  ok(rpu_tile_post_update_step(t));
  ok(rpu_tile_get_weights(t, w));
}

static unsigned char *image_of(rpu_tile *t, size_t *len) {
  unsigned char *buf = NULL;
  ok(rpu_tile_save_buffer(t, &buf, len));
  ck_assert_ptr_nonnull(buf);
  return buf;
}

/* The buffer is the file, byte for byte (rpu/tile.h), for a floating-point
 * and an analog tile.  And independently of the writer: the magic of
 * DESIGN.md §9 / the layout comment in checkpoint.c, and the first array
 * right after the header CRC is the weights as f32 little-endian. */
START_TEST(buffer_equals_file) {
  const char *cfgs[] = {CFG, ACFG};
  for (int c = 0; c < 2; c++) {
    char *path = tu_path(dir, "t.ckpt");
    rpu_tile *t = c == 0 ? busy_tile(5) : busy_analog(5);
    size_t len, flen;
    unsigned char *buf = image_of(t, &len);
    ok(rpu_tile_save(t, path));
    char *file = tu_read_file(path, &flen);
    ck_assert_msg(flen == len, "%s: file %zu bytes, buffer %zu", cfgs[c], flen,
                  len);
    ck_assert_mem_eq(buf, file, len);

    static const unsigned char magic[8] = {0x89, 'R', 'P', 'U',
                                           0x0d, 0x0a, 0x1a, 0x0a};
    ck_assert_mem_eq(buf, magic, 8);
    ck_assert_uint_eq(le32(buf + 8), 1); /* format version 1 */
    size_t hlen = le32(buf + 12);
    ck_assert_uint_eq(le32(buf + 16 + hlen), crc32_ref(buf, 16 + hlen));
    float w[N];
    ok(rpu_tile_get_weights(t, w));
    const unsigned char *wb = buf + 16 + hlen + 4;
    for (int k = 0; k < N; k++) {
      uint32_t u;
      memcpy(&u, &w[k], 4);
      ck_assert_uint_eq(le32(wb + 4 * k), u);
    }
    ck_assert_uint_eq(le32(wb + 4 * N), crc32_ref(wb, 4 * N));

    rpu_free(buf);
    free(file);
    rpu_tile_free(t);
    free(path);
  }
}
END_TEST

START_TEST(buffer_round_trip) {
  rpu_tile *a = busy_analog(99);
  size_t len;
  unsigned char *buf = image_of(a, &len);

  /* A fresh tile of the same config, another seed, no history. */
  rpu_tile *b = new_tile(ACFG, OUT, IN, 12345);
  ok(rpu_tile_load_buffer(b, buf, len, "mem: tile a"));
  float wa[N], wb[N], ya[2 * OUT], yb[2 * OUT];
  ok(rpu_tile_get_weights(a, wa));
  ok(rpu_tile_get_weights(b, wb));
  ck_assert_mem_eq(wa, wb, sizeof wa);
  assert_same_counters(a, b);
  /* b's own checkpoint is now a's, byte for byte: everything came over. */
  size_t len_b;
  unsigned char *buf_b = image_of(b, &len_b);
  ck_assert_uint_eq(len_b, len);
  ck_assert_mem_eq(buf_b, buf, len);

  /* The futures agree bit for bit, twice over. */
  for (int r = 0; r < 2; r++) {
    analog_next(a, ya, wa);
    analog_next(b, yb, wb);
    ck_assert_mem_eq(ya, yb, sizeof ya);
    ck_assert_mem_eq(wa, wb, sizeof wa);
  }

  /* Control: the saved weights in a tile of the saved seed but without the
   * hidden state, engine extras and step counters go elsewhere, so the
   * comparisons above could fail. */
  rpu_tile *ctl = new_tile(ACFG, OUT, IN, 99);
  rpu_tile *ref = new_tile(ACFG, OUT, IN, 1);
  ok(rpu_tile_load_buffer(ref, buf, len, "mem: tile a"));
  float w0[N], yc[2 * OUT], wc[N], yr[2 * OUT], wr[N];
  ok(rpu_tile_get_weights(ref, w0));
  ok(rpu_tile_set_weights(ctl, w0));
  analog_next(ref, yr, wr);
  analog_next(ctl, yc, wc);
  ck_assert_int_ne(memcmp(wr, wc, sizeof wr), 0);

  rpu_tile_free(ref);
  rpu_tile_free(ctl);
  rpu_free(buf_b);
  rpu_tile_free(b);
  rpu_free(buf);
  rpu_tile_free(a);
}
END_TEST

/* Loads damaged bytes into t and asserts: refused with `code`, message
 * names the origin, and t unchanged: weights, counters, and its whole
 * checkpoint image (hidden state, extras, RNG steps) equal to `image`,
 * taken before the first attempt. */
static void assert_buffer_refused(rpu_tile *t, const unsigned char *image,
                                  size_t image_len, const unsigned char *buf,
                                  size_t len, int code, const char *what) {
  static const char origin[] = "run/ck.rpu: model[0] tile (0,1)";
  float before[N], after[N];
  rpu_tile_counters cb, ca;
  ok(rpu_tile_get_weights(t, before));
  ok(rpu_tile_get_counters(t, &cb));
  int rc = rpu_tile_load_buffer(t, buf, len, origin);
  ck_assert_msg(rc == code, "%s: got %s, expected %s (%s)", what,
                rpu_status_name(rc), rpu_status_name(code),
                rpu_error_last()->message);
  ck_assert_msg(strstr(rpu_error_last()->message, origin) != NULL,
                "%s: message \"%s\" does not name the origin", what,
                rpu_error_last()->message);
  ok(rpu_tile_get_weights(t, after));
  ok(rpu_tile_get_counters(t, &ca));
  ck_assert_mem_eq(before, after, sizeof before);
  ck_assert_mem_eq(&cb, &ca, sizeof cb);
  size_t la;
  unsigned char *now = image_of(t, &la);
  ck_assert_msg(la == image_len && memcmp(now, image, la) == 0,
                "%s: the tile's checkpoint image changed", what);
  rpu_free(now);
}

START_TEST(buffer_damaged) {
  rpu_tile *a = busy_analog(1);
  size_t size;
  unsigned char *good = image_of(a, &size);
  /* The target: another tile with its own history. */
  rpu_tile *t = busy_analog(2);
  size_t t_size;
  unsigned char *t_image = image_of(t, &t_size);

  /* Every truncation, from a private copy of exactly `len` bytes so that
   * valgrind/ASan see any read past the end. */
  for (size_t len = 0; len < size; len++) {
    unsigned char *cut = malloc(len > 0 ? len : 1);
    memcpy(cut, good, len);
    char what[64];
    snprintf(what, sizeof what, "truncated to %zu of %zu bytes", len, size);
    assert_buffer_refused(t, t_image, t_size, cut, len, RPU_ECORRUPT, what);
    free(cut);
  }
  unsigned char *copy = malloc(size + 1);
  memcpy(copy, good, size);
  copy[size] = 0;
  assert_buffer_refused(t, t_image, t_size, copy, size + 1, RPU_ECORRUPT,
                        "trailing byte");

  /* Every byte flipped.  CRC-32 detects every error burst of up to 32
   * bits, so each one is refused.  Bytes 8..11 hold the version (1, u32
   * LE): flipped, it reads as a version above 1, which the prefix check
   * reports as newer (RPU_EVERSION) before any CRC; all else is corrupt. */
  for (size_t pos = 0; pos < size; pos++) {
    memcpy(copy, good, size);
    copy[pos] ^= 0xff;
    char what[64];
    snprintf(what, sizeof what, "byte %zu of %zu flipped", pos, size);
    assert_buffer_refused(t, t_image, t_size, copy, size,
                          pos >= 8 && pos < 12 ? RPU_EVERSION : RPU_ECORRUPT,
                          what);
  }

  /* The intact image still loads into it (the loops did not break t). */
  ok(rpu_tile_load_buffer(t, good, size, "good"));
  size_t len_t;
  unsigned char *now = image_of(t, &len_t);
  ck_assert_uint_eq(len_t, size);
  ck_assert_mem_eq(now, good, size);

  rpu_free(now);
  rpu_free(t_image);
  free(copy);
  rpu_tile_free(t);
  rpu_free(good);
  rpu_tile_free(a);
}
END_TEST

/* The file variant's compatibility checks, naming the origin. */
START_TEST(buffer_incompatible) {
  rpu_tile *a = busy_analog(1);
  size_t size;
  unsigned char *buf = image_of(a, &size);
  rpu_tile *t = new_tile(ACFG, IN, OUT, 1); /* 4 x 3, not 3 x 4 */
  tu_assert_error(rpu_tile_load_buffer(t, buf, size, "origin-A"), RPU_ESHAPE,
                  "origin-A");
  rpu_tile_free(t);
  t = busy_tile(1); /* FloatingPointRPUConfig: another config */
  tu_assert_error(rpu_tile_load_buffer(t, buf, size, "origin-B"), RPU_ECONFIG,
                  "origin-B");
  rpu_tile_free(t);
  rpu_free(buf);
  rpu_tile_free(a);
}
END_TEST

START_TEST(buffer_bad_arguments) {
  rpu_tile *t = busy_tile(1);
  unsigned char *buf = (unsigned char *)&buf;
  size_t len = 77;
  tu_assert_error(rpu_tile_save_buffer(NULL, &buf, &len), RPU_EINVAL,
                  "t is NULL");
  ck_assert_ptr_null(buf); /* outputs cleared on error */
  ck_assert_uint_eq(len, 0);
  tu_assert_error(rpu_tile_save_buffer(t, NULL, &len), RPU_EINVAL, "buf");
  buf = (unsigned char *)&buf;
  tu_assert_error(rpu_tile_save_buffer(t, &buf, NULL), RPU_EINVAL, "len");
  ck_assert_ptr_null(buf);

  buf = image_of(t, &len);
  tu_assert_error(rpu_tile_load_buffer(NULL, buf, len, "o"), RPU_EINVAL,
                  "t is NULL");
  tu_assert_error(rpu_tile_load_buffer(t, NULL, len, "o"), RPU_EINVAL, "buf");
  tu_assert_error(rpu_tile_load_buffer(t, NULL, 0, "o"), RPU_EINVAL, "buf");
  tu_assert_error(rpu_tile_load_buffer(t, buf, len, NULL), RPU_EINVAL,
                  "origin");
  ok(rpu_tile_load_buffer(t, buf, len, "o")); /* the same call, all given */
  rpu_free(buf);
  rpu_tile_free(t);
}
END_TEST

Suite *suite_checkpoint(void) {
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, truncated_everywhere);
  tcase_add_test(tc, flipped_bytes);
  tcase_add_test(tc, magic_and_version);
  tcase_add_test(tc, incompatible_tile);
  tcase_add_test(tc, failed_save_keeps_old_file);
  tcase_add_test(tc, bad_arguments);
  tcase_add_test(tc, buffer_equals_file);
  tcase_add_test(tc, buffer_round_trip);
  tcase_add_test(tc, buffer_damaged);
  tcase_add_test(tc, buffer_incompatible);
  tcase_add_test(tc, buffer_bad_arguments);
  suite_add_tcase(s, tc);
  return s;
}
