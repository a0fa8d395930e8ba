/* Internal: whole-file reads and crash-safe whole-file writes (DESIGN.md
 * §9: a temporary file, flushed and renamed, so a crash never leaves a
 * half-written file). */
#ifndef RPU_CORE_UTIL_FILE_IO_H
#define RPU_CORE_UTIL_FILE_IO_H

#include <stddef.h>

/* Writes len bytes to "<path>.tmp.XXXXXX" (created exclusively, mode
 * 0666 & ~umask), fsyncs, renames it over path and fsyncs the directory.
 * On failure the old file is untouched and the temporary removed.
 * RPU_EIO / RPU_ENOMEM with "fn: path: what failed: strerror". */
int rpu__file_write_atomic(const char *path, const unsigned char *buf, size_t len,
                           const char *fn);

/* Reads a whole regular file into a malloc'ed buffer (*buf, *len; a NUL
 * byte is appended after the data for text users).  RPU_EIO for a file
 * that cannot be opened, is not a regular file or is larger than `max`
 * bytes, with "fn: path: what failed". */
int rpu__file_read_all(const char *path, unsigned char **buf, size_t *len, size_t max,
                       const char *fn);

#endif
