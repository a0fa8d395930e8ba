/* Internal error helpers: record the thread's last error (DESIGN.md §3). */
#ifndef RPU_CORE_UTIL_ERROR_H
#define RPU_CORE_UTIL_ERROR_H

#include "rpu/common.h"

/* Records code and a formatted message as this thread's last error and
 * returns code, so callers write `return rpu__error_set(...)`.  origin may
 * be NULL. */
int rpu__error_set(int code, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<formatted>: " to the current last error message and returns
 * its code; used to add context (a file name, a JSON path) while an error
 * travels up unchanged otherwise. */
int rpu__error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Code of this thread's last error (RPU_OK if none). */
int rpu__error_code(void);

#endif
