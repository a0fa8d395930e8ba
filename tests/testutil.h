/* Shared test helpers: fresh contexts, configs from strings, temp files,
 * and an assertion for "this error code, with a message naming X". */
#ifndef RPU_TESTS_TESTUTIL_H
#define RPU_TESTS_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpu/rpu.h"

/* A fresh context with the test environment's plugin path (make check sets
 * RPU_PLUGIN_PATH to the build tree and an empty RPU_PLUGIN_SYSTEM_PATH).
 * Fails the test if it cannot be created. */
rpu_context *tu_context(void);

/* Parses a config from a JSON string or fails the test with the message. */
rpu_config *tu_config(rpu_context *ctx, const char *json);

/* A new empty temporary directory (removed by tu_rmdir); path is malloc'ed. */
char *tu_tempdir(void);
/* Removes a directory and the files in it (not recursive beyond one level). */
void tu_rmdir(const char *dir);
/* dir + "/" + name, malloc'ed. */
char *tu_path(const char *dir, const char *name);
void tu_write_file(const char *path, const void *data, size_t len);
/* Whole file, NUL-terminated, malloc'ed; *len may be NULL. */
char *tu_read_file(const char *path, size_t *len);
/* An IDX file image (magic 00 00 08 ndims, big-endian dims, the bytes),
 * malloc'ed, *len bytes. */
unsigned char *tu_idx_bytes(int ndims, const uint32_t *dims, const unsigned char *data,
                            size_t *len);
/* CRC-32 (IEEE 802.3, as zlib and gzip), bit by bit: an independent
 * implementation for tests that build or patch checksummed files. */
uint32_t tu_crc32(const unsigned char *p, size_t n);
/* Value of an environment variable the test harness must set. */
const char *tu_env(const char *name);

/* to_json(cfg) parses back to a config with the same to_json text, and
 * rpu_config_clone gives that text too. */
void tu_assert_round_trip(rpu_context *ctx, const rpu_config *cfg);

/* Asserts rc == code and that the last error message contains `needle`. */
#define tu_assert_error(rc, code, needle)                                        \
  do {                                                                           \
    int tu_rc_ = (rc);                                                           \
    const rpu_error *tu_e_ = rpu_error_last();                                   \
    ck_assert_msg(tu_rc_ == (code), "expected %s, got %s (%s)",                  \
                  rpu_status_name(code), rpu_status_name(tu_rc_), tu_e_->message); \
    ck_assert_msg(strstr(tu_e_->message, (needle)) != NULL,                      \
                  "error message \"%s\" does not mention \"%s\"", tu_e_->message, \
                  (needle));                                                     \
  } while (0)

#endif
