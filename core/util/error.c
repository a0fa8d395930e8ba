/* Status code table and the thread-local last error (DESIGN.md §3). */
#include "core/util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/plugin.h"

#define RPU__MSG_MAX 2048
#define RPU__ORIGIN_MAX 512

typedef struct error_slot {
  rpu_error pub;
  char message[RPU__MSG_MAX];
  char origin[RPU__ORIGIN_MAX];
} error_slot;

static _Thread_local error_slot last_error;

const char *rpu_strerror(int code) {
  switch (code) {
#define RPU__STRERR(name, value, msg) \
  case value:                         \
    return msg;
    RPU_STATUS_MAP(RPU__STRERR)
#undef RPU__STRERR
  default:
    return "unknown error";
  }
}

const char *rpu_status_name(int code) {
  switch (code) {
#define RPU__STATUS_NAME(name, value, msg) \
  case value:                              \
    return "RPU_" #name;
    RPU_STATUS_MAP(RPU__STATUS_NAME)
#undef RPU__STATUS_NAME
  default:
    return "RPU_E?";
  }
}

const rpu_error *rpu_error_last(void) {
  error_slot *e = &last_error;
  e->pub.message = e->message;
  e->pub.origin = e->origin;
  return &e->pub;
}

void rpu_error_clear(void) {
  last_error.pub.code = RPU_OK;
  last_error.message[0] = '\0';
  last_error.origin[0] = '\0';
}

static int error_vset(int code, const char *origin, const char *fmt, va_list ap) {
  error_slot *e = &last_error;
  char buf[RPU__MSG_MAX];
  /* Format into a scratch buffer first: an argument may point into the
   * current message (re-reporting an error with more context). */
  vsnprintf(buf, sizeof buf, fmt, ap);
  memcpy(e->message, buf, sizeof buf);
  if (origin != NULL && origin != e->origin) {
    if (snprintf(e->origin, sizeof e->origin, "%s", origin) >= (int)sizeof e->origin)
      e->origin[sizeof e->origin - 1] = '\0';
  } else if (origin == NULL) {
    e->origin[0] = '\0';
  }
  e->pub.code = code;
  return code;
}

int rpu__error_set(int code, const char *origin, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  error_vset(code, origin, fmt, ap);
  va_end(ap);
  return code;
}

int rpu_error_set(int code, const char *origin, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  error_vset(code, origin, fmt, ap);
  va_end(ap);
  return code;
}

int rpu__error_prefix(const char *fmt, ...) {
  error_slot *e = &last_error;
  char prefix[RPU__MSG_MAX];
  char buf[RPU__MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* Long messages are cut at the end; the prefix (the context) is kept. */
  if (snprintf(buf, sizeof buf, "%s: %s", prefix, e->message) >= (int)sizeof buf)
    buf[sizeof buf - 1] = '\0';
  memcpy(e->message, buf, sizeof buf);
  if (e->pub.code == RPU_OK) e->pub.code = RPU_EINTERNAL;
  return e->pub.code;
}

int rpu__error_code(void) { return last_error.pub.code; }

void rpu_free(void *p) { free(p); }
