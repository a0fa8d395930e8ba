/* Shared test helpers (see testutil.h). */
#include "tests/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

rpu_context *tu_context(void) {
  rpu_context *ctx = NULL;
  int rc = rpu_context_new(&ctx, NULL);
  ck_assert_msg(rc == 0, "rpu_context_new: %s", rpu_error_last()->message);
  ck_assert_ptr_nonnull(ctx);
  return ctx;
}

rpu_config *tu_config(rpu_context *ctx, const char *json) {
  rpu_config *cfg = NULL;
  int rc = rpu_config_from_string(&cfg, ctx, json, "<test>");
  ck_assert_msg(rc == 0, "config rejected: %s", rpu_error_last()->message);
  return cfg;
}

char *tu_tempdir(void) {
  const char *base = getenv("TMPDIR");
  char *tmpl = tu_path(base && *base ? base : "/tmp", "rpu-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  return tmpl;
}

void tu_rmdir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *p = tu_path(dir, e->d_name);
    unlink(p);
    free(p);
  }
  closedir(d);
  rmdir(dir);
}

char *tu_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

void tu_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return buf;
}

const char *tu_env(const char *name) {
  const char *v = getenv(name);
  ck_assert_msg(v != NULL, "environment variable %s is not set (run through make check)", name);
  return v;
}

void tu_assert_round_trip(rpu_context *ctx, const rpu_config *cfg) {
  char *a = NULL, *b = NULL;
  rpu_config *back = NULL;
  ck_assert_int_eq(rpu_config_to_json(cfg, &a), 0);
  int rc = rpu_config_from_string(&back, ctx, a, "to_json");
  ck_assert_msg(rc == 0, "to_json output rejected: %s\n%s", rpu_error_last()->message, a);
  ck_assert_int_eq(rpu_config_to_json(back, &b), 0);
  ck_assert_str_eq(a, b);
  rpu_config *clone = NULL;
  ck_assert_int_eq(rpu_config_clone(&clone, cfg), 0);
  rpu_free(b);
  ck_assert_int_eq(rpu_config_to_json(clone, &b), 0);
  ck_assert_str_eq(a, b);
  ck_assert_int_eq(rpu_config_get_type(clone), rpu_config_get_type(cfg));
  rpu_free(a);
  rpu_free(b);
  rpu_config_free(back);
  rpu_config_free(clone);
}

unsigned char *tu_idx_bytes(int ndims, const uint32_t *dims, const unsigned char *data,
                            size_t *len) {
  size_t n = 1;
  for (int d = 0; d < ndims; d++) n *= dims[d];
  *len = 4 + 4 * (size_t)ndims + n;
  unsigned char *b = malloc(*len);
  ck_assert_ptr_nonnull(b);
  b[0] = 0;
  b[1] = 0;
  b[2] = 8;
  b[3] = (unsigned char)ndims;
  for (int d = 0; d < ndims; d++)
    for (int k = 0; k < 4; k++) b[4 + 4 * d + k] = (unsigned char)(dims[d] >> (24 - 8 * k));
  memcpy(b + 4 + 4 * ndims, data, n);
  return b;
}

uint32_t tu_crc32(const unsigned char *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}
