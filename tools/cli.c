/* Shared helpers of the command-line tools (see cli.h). */
#include "tools/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *program = "rpu";

void cli_set_program(const char *name) {
  if (name != NULL && *name != '\0') program = name;
}

const char *cli_program(void) { return program; }

int cli_usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", program);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help'.\n", program);
  return CLI_EXIT_USAGE;
}

int cli_user_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", program);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_EXIT_USER;
}

int cli_rpu_error(const char *what) {
  const rpu_error *e = rpu_error_last();
  const char *msg = e->message[0] != '\0' ? e->message : rpu_strerror(e->code);
  if (what != NULL)
    fprintf(stderr, "%s: %s: %s\n", program, what, msg);
  else
    fprintf(stderr, "%s: %s\n", program, msg);
  return CLI_EXIT_USER;
}

int cli_print_version(void) {
  printf("%s (rpu) %s\n", program, RPU_VERSION_STRING);
  printf("library %s, plugin ABI %d.%d\n", rpu_version(), RPU_ABI_MAJOR, RPU_ABI_MINOR);
  return CLI_EXIT_OK;
}

int cli_parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  if (s == NULL || *s == '\0') return -1;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int cli_parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (s == NULL || *s == '\0' || *s == '-' || *s == '+') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = (uint64_t)v;
  return 0;
}

int cli_parse_double(const char *s, double *out) {
  char *end;
  if (s == NULL || *s == '\0') return -1;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int cli_plugin_paths_add(cli_plugin_paths *p, const char *dir) {
  const char **d = realloc(p->dirs, (p->n + 1) * sizeof *d);
  if (d == NULL) return -1;
  d[p->n++] = dir;
  p->dirs = d;
  return 0;
}

void cli_plugin_paths_free(cli_plugin_paths *p) {
  free(p->dirs);
  p->dirs = NULL;
  p->n = 0;
}

int cli_context_new(rpu_context **out, const cli_plugin_paths *paths,
                    const char *const *files, size_t n_files) {
  rpu_context_options o = RPU_CONTEXT_OPTIONS_INIT;
  o.plugin_files = files;
  o.n_plugin_files = files != NULL ? n_files : 0;
  if (paths != NULL) {
    o.plugin_dirs = paths->dirs;
    o.n_plugin_dirs = paths->n;
  }
  if (rpu_context_new(out, &o) != 0) return cli_rpu_error("cannot create the library context");
  return CLI_EXIT_OK;
}

static size_t utf8_valid_len(const unsigned char *s);

void cli_json_string(FILE *f, const char *s) {
  if (s == NULL) {
    fputs("null", f);
    return;
  }
  const unsigned char *u = (const unsigned char *)s;
  fputc('"', f);
  while (*u != '\0') {
    unsigned char c = *u;
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
      u++;
    } else if (c < 0x20) {
      switch (c) {
      case '\b': fputs("\\b", f); break;
      case '\f': fputs("\\f", f); break;
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      default: fprintf(f, "\\u%04x", c);
      }
      u++;
    } else if (c < 0x80) {
      fputc(c, f);
      u++;
    } else {
      size_t n = utf8_valid_len(u);
      if (n == 0) {
        fputs("\\ufffd", f);
        u++;
      } else {
        fwrite(u, 1, n, f);
        u += n;
      }
    }
  }
  fputc('"', f);
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF) starting with a byte >= 0x80, else 0. */
static size_t utf8_valid_len(const unsigned char *s) {
  unsigned char c = s[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;       /* overlong */
    else if (c == 0xED) hi = 0x9F;  /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;       /* overlong */
    else if (c == 0xF4) hi = 0x8F;  /* above U+10FFFF */
  } else {
    return 0;
  }
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (s[k] < 0x80 || s[k] > 0xBF) return 0; /* also stops at the NUL */
  return n;
}

/* %.17g reads back to the same double; NaN and infinities are null.  A
 * decimal comma from a foreign LC_NUMERIC is turned back into a point. */
void cli_json_number(FILE *f, double v) {
  char buf[40];
  if (!isfinite(v)) {
    fputs("null", f);
    return;
  }
  cli_format_double(buf, sizeof buf, v);
  fputs(buf, f);
}

void cli_format_double(char *buf, size_t len, double v) {
  if (isnan(v)) {
    snprintf(buf, len, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, len, v > 0 ? "inf" : "-inf");
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

int cli_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}
