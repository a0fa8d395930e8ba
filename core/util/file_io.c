/* Whole-file reads and crash-safe writes (see file_io.h). */
#define _GNU_SOURCE /* O_DIRECTORY, O_CLOEXEC */
#include "core/util/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util/error.h"
#include "rpu/common.h"

static int write_all(int fd, const unsigned char *p, size_t n);
static int open_temp(char *tmp, size_t cap, const char *path);

int rpu__file_write_atomic(const char *path, const unsigned char *buf, size_t len,
                           const char *fn) {
  size_t cap = strlen(path) + 16;
  char *tmp = malloc(cap);
  if (tmp == NULL) return rpu__error_set(RPU_ENOMEM, path, "%s: %s: out of memory", fn, path);
  int fd = open_temp(tmp, cap, path);
  if (fd < 0) {
    int rc = rpu__error_set(RPU_EIO, path, "%s: %s: cannot create a temporary file: %s", fn,
                            path, strerror(errno));
    free(tmp);
    return rc;
  }
  int ok = write_all(fd, buf, len) == 0;
  if (ok) ok = fsync(fd) == 0;
  int err = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    err = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
    err = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return rpu__error_set(RPU_EIO, path, "%s: %s: writing failed: %s", fn, path,
                          strerror(err));
  }
  /* Make the rename itself durable (best effort: the data is safe). */
  char *slash = strrchr(tmp, '/');
  if (slash != NULL)
    *(slash == tmp ? slash + 1 : slash) = '\0';
  else
    strcpy(tmp, ".");
  int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  free(tmp);
  return 0;
}

int rpu__file_read_all(const char *path, unsigned char **buf, size_t *len, size_t max,
                       const char *fn) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return rpu__error_set(RPU_EIO, path, "%s: %s: cannot open: %s", fn, path, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fileno(f), &st) != 0) {
    rc = rpu__error_set(RPU_EIO, path, "%s: %s: cannot stat: %s", fn, path, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    rc = rpu__error_set(RPU_EIO, path, "%s: %s: not a regular file", fn, path);
  } else if ((uint64_t)st.st_size > (uint64_t)max) {
    rc = rpu__error_set(RPU_EIO, path, "%s: %s: %llu bytes, larger than the %zu allowed", fn,
                        path, (unsigned long long)st.st_size, max);
  } else {
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n + 1);
    if (b == NULL) {
      rc = rpu__error_set(RPU_ENOMEM, path, "%s: %s: out of memory", fn, path);
    } else if (n > 0 && fread(b, 1, n, f) != n) {
      rc = rpu__error_set(RPU_EIO, path, "%s: %s: read error%s", fn, path,
                          ferror(f) ? "" : " (file shrank while reading)");
      free(b);
    } else {
      b[n] = '\0';
      *buf = b;
      *len = n;
    }
  }
  fclose(f);
  return rc;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Creates "<path>.tmp.XXXXXX" exclusively with mode 0666 & ~umask (unlike
 * mkstemp's 0600, so the renamed file gets ordinary permissions). */
static int open_temp(char *tmp, size_t cap, const char *path) {
  static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)tmp;
  for (int attempt = 0; attempt < 100; attempt++) {
    char suffix[7];
    for (int i = 0; i < 6; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      suffix[i] = chars[(x >> 33) % (sizeof chars - 1)];
    }
    suffix[6] = '\0';
    if ((size_t)snprintf(tmp, cap, "%s.tmp.%s", path, suffix) >= cap) {
      errno = ENAMETOOLONG;
      return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}
