/* Suite "trainer": the experiment runner behind rpu-train (rpu/experiment.h).
 *
 * The data is a small generated IDX set whose two classes are separable by
 * construction (class 0 bright in the left half of the image, class 1 in
 * the right half), so "it learns" has a certain answer, and the runs take
 * milliseconds.  The full-size runs live in tests/train.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"
#include "tests/testutil.h"

enum { ROWS = 6, COLS = 6, N_TRAIN = 64, N_TEST = 32 };

static char *dir;
static rpu_context *ctx;

/* Pixels: the class's half 180..243, the other half 0..63, from an LCG so
 * the files are the same on every machine. */
static void write_set(const char *prefix, int n, uint32_t seed) {
  unsigned char *px = malloc((size_t)n * ROWS * COLS), *lab = malloc((size_t)n);
  uint32_t s = seed;
  for (int i = 0; i < n; i++) {
    int c = i % 2;
    lab[i] = (unsigned char)c;
    for (int r = 0; r < ROWS; r++)
      for (int q = 0; q < COLS; q++) {
        s = s * 1664525u + 1013904223u;
        int noise = (int)(s >> 26); /* 0..63 */
        int bright = (q < COLS / 2) == (c == 0);
        px[(size_t)i * ROWS * COLS + r * COLS + q] = (unsigned char)(bright ? 180 + noise : noise);
      }
  }
  uint32_t di[3] = {(uint32_t)n, ROWS, COLS}, dl[1] = {(uint32_t)n};
  size_t li, ll;
  unsigned char *bi = tu_idx_bytes(3, di, px, &li), *bl = tu_idx_bytes(1, dl, lab, &ll);
  char name[64];
  snprintf(name, sizeof name, "%s-images", prefix);
  char *p = tu_path(dir, name);
  tu_write_file(p, bi, li);
  free(p);
  snprintf(name, sizeof name, "%s-labels", prefix);
  p = tu_path(dir, name);
  tu_write_file(p, bl, ll);
  free(p);
  free(bi);
  free(bl);
  free(px);
  free(lab);
}

static void setup(void) {
  dir = tu_tempdir();
  ctx = tu_context();
  write_set("train", N_TRAIN, 1);
  write_set("test", N_TEST, 2);
}

static void teardown(void) {
  rpu_context_free(ctx);
  tu_rmdir(dir);
  free(dir);
}

static const char fp_cfg[] = "{\"rpu_config\": \"FloatingPointRPUConfig\"}";
static const char analog_cfg[] =
    "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": \"ConstantStepDevice\"}}";

static const char mlp_model[] =
    "[{\"type\": \"linear\", \"out_features\": 8}, {\"type\": \"sigmoid\"},"
    " {\"type\": \"linear\", \"out_features\": 2}, {\"type\": \"log_softmax\"}]";

static const char conv_model[] =
    "[{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3}, {\"type\": \"tanh\"},"
    " {\"type\": \"maxpool2d\", \"kernel_size\": 2}, {\"type\": \"flatten\"},"
    " {\"type\": \"linear\", \"in_features\": 8, \"out_features\": 2},"
    " {\"type\": \"log_softmax\"}]";

/* An experiment on the generated set; `extra` is spliced in at the top level. */
static rpu_experiment *experiment(const char *cfg, const char *model, int epochs, int batch,
                                  double lr, uint64_t seed, const char *extra) {
  size_t cap = 8192 + strlen(model) + strlen(extra);
  char *j = malloc(cap);
  snprintf(j, cap,
           "{\"name\": \"t\", \"seed\": %llu,"
           " \"dataset\": {\"name\": \"idx\", \"train_images\": \"%s/train-images\","
           "  \"train_labels\": \"%s/train-labels\", \"test_images\": \"%s/test-images\","
           "  \"test_labels\": \"%s/test-labels\"},"
           " \"rpu_config\": %s, \"model\": %s,"
           " \"training\": {\"epochs\": %d, \"batch_size\": %d, \"loss\": \"nll\", \"lr\": %.17g}"
           "%s}",
           (unsigned long long)seed, dir, dir, dir, dir, cfg, model, epochs, batch, lr, extra);
  rpu_experiment *e = NULL;
  int rc = rpu_experiment_from_string(&e, ctx, j, "test.json");
  ck_assert_msg(rc == 0, "experiment: %s", rpu_error_last()->message);
  free(j);
  return e;
}

static rpu_trainer *trainer(const rpu_experiment *e) {
  rpu_trainer *t = NULL;
  int rc = rpu_trainer_new(&t, ctx, e);
  ck_assert_msg(rc == 0, "trainer: %s", rpu_error_last()->message);
  return t;
}

static void run_all(rpu_trainer *t) {
  rpu_epoch_metrics m;
  while (rpu_trainer_epochs_done(t) < rpu_experiment_epochs(rpu_trainer_experiment(t))) {
    int rc = rpu_trainer_run_epoch(t, NULL, NULL, &m);
    ck_assert_msg(rc == 0, "epoch: %s", rpu_error_last()->message);
  }
}

/* Everything but the wall-clock seconds must match bit for bit. */
static void assert_same_history(rpu_trainer *a, rpu_trainer *b) {
  const rpu_epoch_metrics *ha, *hb;
  int na, nb;
  rpu_trainer_history(a, &ha, &na);
  rpu_trainer_history(b, &hb, &nb);
  ck_assert_int_eq(na, nb);
  for (int i = 0; i < na; i++) {
    ck_assert_int_eq(ha[i].epoch, hb[i].epoch);
    ck_assert_msg(ha[i].train_loss == hb[i].train_loss, "epoch %d loss %.17g vs %.17g", i,
                  ha[i].train_loss, hb[i].train_loss);
    ck_assert(ha[i].train_accuracy == hb[i].train_accuracy);
    ck_assert(ha[i].test_accuracy == hb[i].test_accuracy);
    ck_assert(ha[i].lr == hb[i].lr);
  }
}

/* ----- learning ------------------------------------------------------------ */

/* The classes are separable with a wide margin (half-image means differ by
 * 180/255 per pixel), so plain SGD on an MLP must reach (almost) every
 * test image; chance is 50 %.  At most one miss of 32 is allowed. */
START_TEST(fp_mlp_learns) {
  rpu_experiment *e = experiment(fp_cfg, mlp_model, 10, 8, 0.5, 3, "");
  rpu_trainer *t = trainer(e);
  run_all(t);
  const rpu_epoch_metrics *h;
  int n;
  rpu_trainer_history(t, &h, &n);
  ck_assert_int_eq(n, 10);
  ck_assert_msg(h[9].test_accuracy >= 31.0 / 32.0, "test accuracy %g", h[9].test_accuracy);
  ck_assert_msg(h[9].train_loss < h[0].train_loss, "loss %g -> %g", h[0].train_loss,
                h[9].train_loss);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(h[i].epoch, i);
    ck_assert(h[i].seconds >= 0.0);
    ck_assert(h[i].lr == 0.5);
  }
  /* All epochs done: a further one is refused. */
  tu_assert_error(rpu_trainer_run_epoch(t, NULL, NULL, NULL), RPU_ERANGE, "epochs are done");
  rpu_trainer_free(t);
  rpu_experiment_free(e);
}
END_TEST

/* The same on analog tiles with the default pulsed update and IO
 * non-idealities; the margin is wide enough for them too. */
START_TEST(analog_conv_learns) {
  rpu_experiment *e = experiment(analog_cfg, conv_model, 10, 4, 0.1, 3, "");
  rpu_trainer *t = trainer(e);
  ck_assert_int_eq(rpu_trainer_layer_count(t), 6);
  run_all(t);
  const rpu_epoch_metrics *h;
  int n;
  rpu_trainer_history(t, &h, &n);
  ck_assert_msg(h[n - 1].test_accuracy >= 31.0 / 32.0, "test accuracy %g",
                h[n - 1].test_accuracy);
  /* The profile: the analog layers spent time in all three phases. */
  rpu_layer_profile p;
  ck_assert_int_eq(rpu_trainer_layer_profile(t, 0, &p), 0);
  ck_assert_ptr_nonnull(strstr(p.name, "model[0] conv2d 9x2"));
  ck_assert(p.forward > 0 && p.backward > 0 && p.update > 0);
  ck_assert_int_eq(rpu_trainer_layer_profile(t, 4, &p), 0);
  ck_assert_ptr_nonnull(strstr(p.name, "model[4] linear 8x2 (1 tile)"));
  ck_assert(p.update > 0);
  tu_assert_error(rpu_trainer_layer_profile(t, 6, &p), RPU_EINVAL, "no layer 6");
  rpu_trainer_free(t);
  rpu_experiment_free(e);
}
END_TEST

/* StepLR: lr0 * gamma^floor(epoch / step) per epoch (SPEC.md §8.4). */
START_TEST(lr_schedule_per_epoch) {
  size_t cap = 8192;
  char *j = malloc(cap);
  snprintf(j, cap,
           "{\"dataset\": {\"name\": \"idx\", \"train_images\": \"%s/train-images\","
           "  \"train_labels\": \"%s/train-labels\", \"test_images\": \"%s/test-images\","
           "  \"test_labels\": \"%s/test-labels\"},"
           " \"rpu_config\": %s, \"model\": %s,"
           " \"training\": {\"epochs\": 5, \"batch_size\": 16, \"lr\": 0.4,"
           "  \"lr_schedule\": {\"type\": \"step\", \"step_size\": 2, \"gamma\": 0.5}}}",
           dir, dir, dir, dir, fp_cfg, mlp_model);
  rpu_experiment *e = NULL;
  ck_assert_int_eq(rpu_experiment_from_string(&e, ctx, j, "s.json"), 0);
  free(j);
  rpu_trainer *t = trainer(e);
  run_all(t);
  const rpu_epoch_metrics *h;
  int n;
  rpu_trainer_history(t, &h, &n);
  const double want[5] = {0.4, 0.4, 0.2, 0.2, 0.1};
  for (int i = 0; i < 5; i++) ck_assert_msg(fabs(h[i].lr - want[i]) < 1e-15, "lr[%d] %g", i, h[i].lr);
  rpu_trainer_free(t);
  rpu_experiment_free(e);
}
END_TEST

/* ----- reproducibility ----------------------------------------------------- */

START_TEST(same_seed_same_run_any_threads) {
  int before = rpu_get_num_threads();
  rpu_experiment *e = experiment(analog_cfg, mlp_model, 2, 8, 0.1, 7, "");
  rpu_set_num_threads(1);
  rpu_trainer *a = trainer(e);
  run_all(a);
  rpu_set_num_threads(2);
  rpu_trainer *b = trainer(e);
  run_all(b);
  assert_same_history(a, b);
  rpu_set_num_threads(before);
  /* Another seed is another run (different init and order). */
  rpu_experiment_set_seed(e, 8);
  rpu_trainer *c = trainer(e);
  run_all(c);
  const rpu_epoch_metrics *ha, *hc;
  int n;
  rpu_trainer_history(a, &ha, &n);
  rpu_trainer_history(c, &hc, &n);
  ck_assert(ha[0].train_loss != hc[0].train_loss);
  rpu_trainer_free(a);
  rpu_trainer_free(b);
  rpu_trainer_free(c);
  rpu_experiment_free(e);
}
END_TEST

static int stop_after(const rpu_train_progress *p, void *user) {
  const int *k = user;
  return p->batch >= *k;
}

/* Stopping between two batches, saving, and resuming in a new trainer gives
 * exactly the uninterrupted run (the checkpoint carries tiles with their
 * RNG counters, digital state, position and accumulators). */
/* Plain analog tiles, and with weight scaling, learned per-column output
 * scales and an analog bias, whose digital state the checkpoint carries. */
static const char *const resume_cfgs[2] = {
    analog_cfg,
    "{\"rpu_config\": \"SingleRPUConfig\", \"device\": {\"type\": \"ConstantStepDevice\"},"
    " \"mapping\": {\"weight_scaling_omega\": 0.6, \"weight_scaling_columnwise\": true,"
    " \"learn_out_scaling\": true, \"out_scaling_columnwise\": true, \"digital_bias\": false}}"};

START_TEST(interrupt_save_resume_is_exact) {
  rpu_experiment *e = experiment(resume_cfgs[_i], conv_model, 2, 8, 0.1, 5, "");
  rpu_trainer *ref = trainer(e);
  run_all(ref);

  rpu_trainer *t = trainer(e);
  int k = 3;
  tu_assert_error(rpu_trainer_run_epoch(t, stop_after, &k, NULL), RPU_ECANCELED,
                  "after batch 3 of 8");
  char *path = tu_path(dir, "ck.rpu");
  ck_assert_msg(rpu_trainer_save(t, path) == 0, "%s", rpu_error_last()->message);
  rpu_trainer_free(t);

  rpu_trainer *r = trainer(e);
  ck_assert_msg(rpu_trainer_load(r, path) == 0, "%s", rpu_error_last()->message);
  ck_assert_int_eq(rpu_trainer_epochs_done(r), 0);
  run_all(r);
  assert_same_history(ref, r);

  /* load_new needs only the file; a larger epoch count extends the run. */
  rpu_trainer *n = NULL;
  ck_assert_msg(rpu_trainer_load_new(&n, ctx, path, 3) == 0, "%s", rpu_error_last()->message);
  ck_assert_int_eq(rpu_experiment_epochs(rpu_trainer_experiment(n)), 3);
  run_all(n);
  const rpu_epoch_metrics *h;
  int cnt;
  rpu_trainer_history(n, &h, &cnt);
  ck_assert_int_eq(cnt, 3);
  const rpu_epoch_metrics *hr;
  rpu_trainer_history(ref, &hr, &cnt);
  ck_assert(h[1].train_loss == hr[1].train_loss);
  rpu_trainer_free(n);
  rpu_trainer_free(r);
  rpu_trainer_free(ref);
  free(path);
  rpu_experiment_free(e);
}
END_TEST

/* ----- bad input ----------------------------------------------------------- */

START_TEST(checkpoint_damage_is_refused) {
  rpu_experiment *e = experiment(analog_cfg, mlp_model, 2, 16, 0.1, 5, "");
  rpu_trainer *t = trainer(e);
  rpu_epoch_metrics m;
  ck_assert_int_eq(rpu_trainer_run_epoch(t, NULL, NULL, &m), 0);
  char *path = tu_path(dir, "ck.rpu");
  ck_assert_int_eq(rpu_trainer_save(t, path), 0);
  size_t len;
  char *good = tu_read_file(path, &len);
  char *bad = tu_path(dir, "bad.rpu");

  /* A fresh trainer must stay exactly as it was after every refusal: its
   * run then equals that of an untouched one. */
  rpu_trainer *victim = trainer(e);
  size_t step = len / 97 + 1; /* ~100 cut points over the whole file */
  for (size_t cut = 0; cut < len; cut += step) {
    tu_write_file(bad, good, cut);
    int rc = rpu_trainer_load(victim, bad);
    ck_assert_msg(rc == RPU_ECORRUPT, "cut at %zu: rc %d (%s)", cut, rc,
                  rpu_error_last()->message);
    ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, bad));
  }
  for (size_t pos = 0; pos < len; pos += step) {
    good[pos] ^= 0x10;
    tu_write_file(bad, good, len);
    good[pos] ^= 0x10;
    int rc = rpu_trainer_load(victim, bad);
    ck_assert_msg(rc == RPU_ECORRUPT || rc == RPU_EVERSION, "flip at %zu: rc %d (%s)", pos, rc,
                  rpu_error_last()->message);
  }
  /* Trailing garbage. */
  char *longer = malloc(len + 3);
  memcpy(longer, good, len);
  memcpy(longer + len, "xyz", 3);
  tu_write_file(bad, longer, len + 3);
  tu_assert_error(rpu_trainer_load(victim, bad), RPU_ECORRUPT, bad);
  free(longer);
  tu_assert_error(rpu_trainer_load(victim, "/nonexistent/ck.rpu"), RPU_EIO, "/nonexistent/ck.rpu");

  rpu_trainer *clean = trainer(e);
  run_all(victim);
  run_all(clean);
  assert_same_history(victim, clean);

  /* A checkpoint of another experiment (other seed) is refused. */
  rpu_experiment_set_seed(e, 6);
  rpu_trainer *other = trainer(e);
  tu_assert_error(rpu_trainer_load(other, path), RPU_ECONFIG, "different experiment");
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "seed"));

  rpu_trainer_free(other);
  rpu_trainer_free(clean);
  rpu_trainer_free(victim);
  rpu_trainer_free(t);
  free(good);
  free(bad);
  free(path);
  rpu_experiment_free(e);
}
END_TEST

/* A tile that refuses its state after other parts were already applied:
 * the last section (the last tile) is damaged INSIDE (its own checksums
 * fail) while the file's section CRC is recomputed, so the file passes the
 * framing checks and the failure comes from rpu_tile_load_buffer half-way.
 * Everything applied before must be rolled back: the saved state of the
 * trainer is byte for byte what it was. */
START_TEST(tile_refusal_rolls_back) {
  rpu_experiment *e = experiment(analog_cfg, conv_model, 1, 8, 0.1, 5, "");
  rpu_trainer *t = trainer(e);
  rpu_epoch_metrics m;
  ck_assert_int_eq(rpu_trainer_run_epoch(t, NULL, NULL, &m), 0);
  char *path = tu_path(dir, "ck.rpu"), *bad = tu_path(dir, "bad.rpu");
  char *p0 = tu_path(dir, "before.rpu"), *p1 = tu_path(dir, "after.rpu");
  ck_assert_int_eq(rpu_trainer_save(t, path), 0);
  size_t len;
  unsigned char *img = (unsigned char *)tu_read_file(path, &len);
  /* Walk the framing (trainer_checkpoint.c): 20-byte prefix, header, CRC,
   * then sections of u64 length | bytes | u32 CRC. */
  size_t off = 20 + (size_t)rpu_le_get_u64(img + 12) + 4, last = 0, last_len = 0;
  while (off < len) {
    last = off;
    last_len = (size_t)rpu_le_get_u64(img + off);
    off += 12 + last_len;
  }
  ck_assert_uint_eq(off, len);
  ck_assert_uint_gt(last_len, 64);
  img[last + 8 + last_len - 5] ^= 0x40; /* inside the tile's last array */
  rpu_le_put_u32(img + last + 8 + last_len, tu_crc32(img + last + 8, last_len));
  tu_write_file(bad, img, len);

  rpu_trainer *victim = trainer(e); /* fresh: epoch 0, other weights */
  ck_assert_int_eq(rpu_trainer_save(victim, p0), 0);
  int rc = rpu_trainer_load(victim, bad);
  ck_assert_msg(rc == RPU_ECORRUPT, "rc %d: %s", rc, rpu_error_last()->message);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "tile (0,0)"));
  ck_assert_int_eq(rpu_trainer_save(victim, p1), 0);
  size_t l0, l1;
  char *b0 = tu_read_file(p0, &l0), *b1 = tu_read_file(p1, &l1);
  ck_assert(l0 == l1 && memcmp(b0, b1, l0) == 0);
  ck_assert_int_eq(rpu_trainer_epochs_done(victim), 0);
  free(b0);
  free(b1);
  free(img);
  free(path);
  free(bad);
  free(p0);
  free(p1);
  rpu_trainer_free(victim);
  rpu_trainer_free(t);
  rpu_experiment_free(e);
}
END_TEST

static void assert_trainer_error(const char *model, int code, const char *needle) {
  rpu_experiment *e = experiment(fp_cfg, model, 1, 8, 0.1, 1, "");
  rpu_trainer *t = (rpu_trainer *)1;
  tu_assert_error(rpu_trainer_new(&t, ctx, e), code, needle);
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "test.json"));
  rpu_experiment_free(e);
}

START_TEST(shape_errors_name_the_layer) {
  assert_trainer_error("[{\"type\": \"linear\", \"in_features\": 35, \"out_features\": 2},"
                       " {\"type\": \"log_softmax\"}]",
                       RPU_ESHAPE, "model[0].in_features: is 35, but the layer receives 36");
  assert_trainer_error("[{\"type\": \"conv2d\", \"in_channels\": 3, \"out_channels\": 2,"
                       " \"kernel_size\": 3}, {\"type\": \"flatten\"},"
                       " {\"type\": \"linear\", \"out_features\": 2}, {\"type\": \"log_softmax\"}]",
                       RPU_ESHAPE, "model[0].in_channels");
  assert_trainer_error("[{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 7},"
                       " {\"type\": \"flatten\"}, {\"type\": \"linear\", \"out_features\": 2},"
                       " {\"type\": \"log_softmax\"}]",
                       RPU_ESHAPE, "model[0]");
  assert_trainer_error("[{\"type\": \"maxpool2d\", \"kernel_size\": 7},"
                       " {\"type\": \"linear\", \"out_features\": 2}, {\"type\": \"log_softmax\"}]",
                       RPU_ESHAPE, "model[0]");
  /* One output for two classes. */
  assert_trainer_error("[{\"type\": \"linear\", \"out_features\": 1}, {\"type\": \"log_softmax\"}]",
                       RPU_ESHAPE, "the network ends with 1 outputs, but the dataset has 2 classes");
}
END_TEST

START_TEST(missing_dataset_names_the_file) {
  const char *j =
      "{\"dataset\": {\"name\": \"idx\", \"train_images\": \"/nonexistent/a\","
      " \"train_labels\": \"/nonexistent/b\", \"test_images\": \"/nonexistent/c\","
      " \"test_labels\": \"/nonexistent/d\"},"
      " \"rpu_config\": {\"rpu_config\": \"FloatingPointRPUConfig\"},"
      " \"model\": [{\"type\": \"linear\", \"out_features\": 2}, {\"type\": \"log_softmax\"}],"
      " \"training\": {}}";
  rpu_experiment *e = NULL;
  ck_assert_int_eq(rpu_experiment_from_string(&e, ctx, j, "m.json"), 0);
  rpu_trainer *t = NULL;
  tu_assert_error(rpu_trainer_new(&t, ctx, e), RPU_EIO, "/nonexistent/a");
  ck_assert_ptr_nonnull(strstr(rpu_error_last()->message, "m.json"));
  rpu_experiment_free(e);
}
END_TEST

/* Programming and drift need the inference noise models (not implemented):
 * a clear refusal naming the layer, and the network is unchanged. */
START_TEST(inference_refused_clearly) {
  rpu_experiment *e = experiment(analog_cfg, mlp_model, 1, 8, 0.1, 1,
                                 ", \"inference\": {\"t_inference\": [0, 3600], \"repeats\": 2}");
  ck_assert_int_eq(rpu_experiment_inference_count(e), 2);
  ck_assert(rpu_experiment_inference_time(e, 1) == 3600.0);
  ck_assert_int_eq(rpu_experiment_inference_repeats(e), 2);
  rpu_trainer *t = trainer(e);
  double mean, std;
  /* The refusal changes nothing: the whole saved state (tiles with their
   * RNG counters, digital parameters, position) is the same byte for byte
   * before and after it. */
  char *p1 = tu_path(dir, "before.rpu"), *p2 = tu_path(dir, "after.rpu");
  ck_assert_int_eq(rpu_trainer_save(t, p1), 0);
  tu_assert_error(rpu_trainer_inference(t, 3600.0, 2, &mean, &std), RPU_EUNSUPPORTED,
                  "model[0] linear 36x8");
  ck_assert_int_eq(rpu_trainer_save(t, p2), 0);
  size_t l1, l2;
  char *b1 = tu_read_file(p1, &l1), *b2 = tu_read_file(p2, &l2);
  ck_assert(l1 == l2 && memcmp(b1, b2, l1) == 0);
  free(b1);
  free(b2);
  free(p1);
  free(p2);
  tu_assert_error(rpu_trainer_inference(t, -1.0, 1, &mean, &std), RPU_ERANGE, "t_inference");
  rpu_trainer_free(t);
  rpu_experiment_free(e);
}
END_TEST

START_TEST(null_arguments) {
  rpu_trainer *t = NULL;
  tu_assert_error(rpu_trainer_new(&t, NULL, NULL), RPU_EINVAL, "rpu_trainer_new");
  tu_assert_error(rpu_trainer_run_epoch(NULL, NULL, NULL, NULL), RPU_EINVAL, "NULL");
  tu_assert_error(rpu_trainer_save(NULL, "x"), RPU_EINVAL, "NULL");
  tu_assert_error(rpu_trainer_load(NULL, "x"), RPU_EINVAL, "NULL");
  rpu_trainer_free(NULL);
}
END_TEST

Suite *suite_trainer(void) {
  Suite *s = suite_create("trainer");
  TCase *tc = tcase_create("trainer");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fp_mlp_learns);
  tcase_add_test(tc, analog_conv_learns);
  tcase_add_test(tc, lr_schedule_per_epoch);
  tcase_add_test(tc, same_seed_same_run_any_threads);
  tcase_add_loop_test(tc, interrupt_save_resume_is_exact, 0, 2);
  tcase_add_test(tc, checkpoint_damage_is_refused);
  tcase_add_test(tc, tile_refusal_rolls_back);
  tcase_add_test(tc, shape_errors_name_the_layer);
  tcase_add_test(tc, missing_dataset_names_the_file);
  tcase_add_test(tc, inference_refused_clearly);
  tcase_add_test(tc, null_arguments);
  suite_add_tcase(s, tc);
  return s;
}
