/* rpu — common definitions: export macro, status codes, last error.
 *
 * Every fallible call of the library returns an int: 0 (RPU_OK) or one of the
 * negative RPU_E* codes below.  The detail (a message naming the JSON path,
 * plugin file or model) is kept in a thread-local "last error" that
 * rpu_error_last() returns.  The library never prints, aborts or exits.
 */
#ifndef RPU_COMMON_H
#define RPU_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RPU_BUILDING) && defined(__GNUC__)
#define RPU_API __attribute__((visibility("default")))
#else
#define RPU_API
#endif

/* Status codes: X(name, value, message).  One table yields the enum,
 * rpu_strerror() and rpu_status_name(); append only, never renumber. */
#define RPU_STATUS_MAP(X)                                                     \
  X(OK, 0, "success")                                                         \
  X(EINVAL, -1, "invalid argument")                                           \
  X(ENOMEM, -2, "out of memory")                                              \
  X(EIO, -3, "input/output error")                                            \
  X(EPARSE, -4, "malformed JSON")                                             \
  X(ECONFIG, -5, "invalid configuration")                                     \
  X(ENOTFOUND, -6, "not found")                                               \
  X(EPLUGIN, -7, "plugin rejected")                                           \
  X(EABI, -8, "incompatible plugin ABI")                                      \
  X(ESHAPE, -9, "shape mismatch")                                             \
  X(EUNSUPPORTED, -10, "operation not supported")                             \
  X(ECORRUPT, -11, "corrupted data")                                          \
  X(EVERSION, -12, "unsupported format version")                              \
  X(ERANGE, -13, "value out of range")                                        \
  X(EDUPLICATE, -14, "duplicate name")                                        \
  X(ETYPE, -15, "wrong type")                                                 \
  X(EINTERNAL, -16, "internal error")                                         \
  X(ECANCELED, -17, "cancelled by the caller")

typedef enum rpu_status {
#define RPU__STATUS_ENUM(name, value, msg) RPU_##name = value,
  RPU_STATUS_MAP(RPU__STATUS_ENUM)
#undef RPU__STATUS_ENUM
  RPU__STATUS_LAST_ = -18
} rpu_status;

/* Human-readable text of a status code ("invalid argument"); never NULL. */
RPU_API const char *rpu_strerror(int code);

/* Symbolic name of a status code ("RPU_EINVAL"); never NULL. */
RPU_API const char *rpu_status_name(int code);

/* The last error recorded on the calling thread.
 * code: the status; message: the full sentence for a person (names the
 * JSON path, file, plugin or model); origin: what the error is about (a
 * file name, plugin name or API function), may be empty. */
typedef struct rpu_error {
  int code;
  const char *message;
  const char *origin;
} rpu_error;

/* Returns the last error of this thread; code is RPU_OK and message empty
 * if nothing failed since the last rpu_error_clear().  The pointers stay
 * valid until the next failing rpu call on this thread. */
RPU_API const rpu_error *rpu_error_last(void);

/* Forgets the last error of the calling thread. */
RPU_API void rpu_error_clear(void);

/* Frees memory that the library returned to the caller (strings such as
 * the output of rpu_config_to_json). */
RPU_API void rpu_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* RPU_COMMON_H */
