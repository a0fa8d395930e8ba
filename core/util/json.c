/* Strict JSON input and exact number output around json-c (see json.h).
 *
 * json-c's STRICT mode rejects comments and trailing commas but still
 * accepts single-quoted strings, NaN / Infinity, "1." and silently keeps
 * the last of duplicate keys.  After json-c has parsed a text, a small
 * scanner (lint_text) walks the same bytes once and rejects those, so the
 * accepted language is RFC 8259 JSON.  The depth limit of the tokener also
 * bounds the scanner's stack. */
#include "core/util/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/error.h"

/* A key of the object being scanned: its raw bytes in the text. */
typedef struct lint_key {
  const char *p; /* the opening quote */
  size_t len;    /* including both quotes */
} lint_key;

typedef struct lint_state {
  const char *text;
  size_t len;
  const char *name;
  lint_key *keys; /* keys of all open objects, innermost last */
  size_t n_keys, cap_keys;
} lint_state;

static int parse_error_at(const char *text, size_t off, const char *name,
                          const char *fmt, const char *detail);
static int lint_text(lint_state *ls);
static void line_col(const char *text, size_t off, size_t *line, size_t *col);

int rpu__json_parse(struct json_object **out, const char *text, size_t len,
                    const char *name) {
  *out = NULL;
  if (name == NULL) name = "<string>";
  if (text == NULL) return rpu__error_set(RPU_EINVAL, name, "%s: no JSON text", name);
  /* A UTF-8 byte order mark is allowed (RFC 8259 §8.1) and skipped. */
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
    text += 3;
    len -= 3;
  }
  size_t first = 0;
  while (first < len && strchr(" \t\r\n", text[first]) != NULL && text[first] != '\0')
    first++;
  if (first == len) return rpu__error_set(RPU_EPARSE, name, "%s: empty (no JSON object)", name);
  const char *nul = memchr(text, '\0', len);
  if (nul != NULL)
    return parse_error_at(text, (size_t)(nul - text), name, "%s", "NUL byte in JSON text");
  if (len > (size_t)INT_MAX - 1)
    return rpu__error_set(RPU_EPARSE, name, "%s: JSON text too large (%zu bytes)", name, len);

  struct json_tokener *tok = json_tokener_new_ex(RPU__JSON_MAX_DEPTH);
  if (tok == NULL) return rpu__error_set(RPU_ENOMEM, name, "%s: out of memory", name);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr == json_tokener_continue) {
    json_object_put(obj);
    return parse_error_at(text, len, name, "%s", "unexpected end of input");
  }
  if (jerr != json_tokener_success || obj == NULL) {
    json_object_put(obj);
    if (jerr == json_tokener_error_depth) {
      char what[96];
      snprintf(what, sizeof what, "too deeply nested (more than %d levels)",
               RPU__JSON_MAX_DEPTH);
      return parse_error_at(text, end, name, "%s", what);
    }
    return parse_error_at(text, end, name, "malformed JSON: %s",
                          json_tokener_error_desc(jerr));
  }
  if (!json_object_is_type(obj, json_type_object)) {
    int rc = rpu__error_set(RPU_ETYPE, name, "%s: the top level must be a JSON object, got %s",
                            name, rpu__json_type_name(obj));
    json_object_put(obj);
    return rc;
  }
  lint_state ls = {text, len, name, NULL, 0, 0};
  int rc = lint_text(&ls);
  free(ls.keys);
  if (rc < 0) {
    json_object_put(obj);
    return rc;
  }
  *out = obj;
  return 0;
}

int rpu__json_read_file(struct json_object **out, const char *path) {
  *out = NULL;
  if (path == NULL) return rpu__error_set(RPU_EINVAL, NULL, "no file name given");
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return rpu__error_set(RPU_EIO, path, "%s: cannot open: %s", path, strerror(errno));
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (len == cap) {
      if (cap >= RPU__JSON_MAX_FILE_SIZE) {
        rc = rpu__error_set(RPU_EIO, path, "%s: file too large (more than %zu bytes)", path,
                            (size_t)RPU__JSON_MAX_FILE_SIZE);
        break;
      }
      size_t ncap = cap ? cap * 2 : 65536;
      char *nbuf = realloc(buf, ncap + 1);
      if (nbuf == NULL) {
        rc = rpu__error_set(RPU_ENOMEM, path, "%s: out of memory reading the file", path);
        break;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f))
        rc = rpu__error_set(RPU_EIO, path, "%s: cannot read: %s", path,
                            strerror(errno ? errno : EIO));
      break;
    }
  }
  fclose(f);
  if (rc == 0) {
    buf[len] = '\0';
    rc = rpu__json_parse(out, buf, len, path);
  }
  free(buf);
  return rc;
}

const char *rpu__json_type_name(const struct json_object *o) {
  switch (json_object_get_type(o)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "boolean";
  case json_type_double:
  case json_type_int:
    return "number";
  case json_type_string:
    return "string";
  case json_type_array:
    return "array";
  case json_type_object:
    return "object";
  }
  return "?";
}

const char *rpu__json_format_real(char *buf, size_t len, double d) {
  if (isnan(d)) {
    snprintf(buf, len, "nan");
    return buf;
  }
  if (isinf(d)) {
    snprintf(buf, len, d > 0 ? "inf" : "-inf");
    return buf;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  /* The decimal separator of the current locale becomes '.'. */
  for (char *p = buf; *p; p++)
    if (strchr("0123456789+-eE", *p) == NULL) *p = '.';
  /* "1e-07" -> "1e-7", "3.4e+38" -> "3.4e38": same value, easier to read. */
  char *e = strchr(buf, 'e');
  if (e != NULL) {
    char *src = e + 1, *dst = e + 1;
    if (*src == '+') src++;
    else if (*src == '-') *dst++ = *src++;
    while (*src == '0' && src[1] != '\0') src++;
    memmove(dst, src, strlen(src) + 1);
  }
  return buf;
}

struct json_object *rpu__json_new_real(double d) {
  char buf[40];
  rpu__json_format_real(buf, sizeof buf - 2, d);
  /* "1" would read back as an integer: write "1.0" for a real. */
  if (strpbrk(buf, ".eE") == NULL) strcat(buf, ".0");
  struct json_object *o = json_object_new_double_s(d, buf);
  if (o == NULL) rpu__error_set(RPU_ENOMEM, NULL, "out of memory");
  return o;
}

char *rpu__json_to_text(struct json_object *o) {
  const char *s = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = s ? strdup(s) : NULL;
  if (copy == NULL) rpu__error_set(RPU_ENOMEM, NULL, "out of memory writing JSON");
  return copy;
}

/* ----- helpers ---------------------------------------------------------- */

/* "name:line:col: <what>" as an RPU_EPARSE error; fmt has one %s. */
static int parse_error_at(const char *text, size_t off, const char *name,
                          const char *fmt, const char *detail) {
  char what[512];
  size_t line, col;
  snprintf(what, sizeof what, fmt, detail);
  line_col(text, off, &line, &col);
  return rpu__error_set(RPU_EPARSE, name, "%s:%zu:%zu: %s", name, line, col, what);
}

/* 1-based line and column (in bytes) of byte offset off. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col) {
  size_t l = 1, start = 0;
  for (size_t i = 0; i < off; i++)
    if (text[i] == '\n') {
      l++;
      start = i + 1;
    }
  *line = l;
  *col = off - start + 1;
}

/* Orders keys by their bytes, equal keys by position. */
static int key_cmp(const void *a, const void *b) {
  const lint_key *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  if (c != 0) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->p < y->p ? -1 : (x->p > y->p);
}

/* Sorts the keys of the object that just closed (keys[base..n_keys)) and
 * reports the first repeated one, at its second occurrence. */
static int check_duplicates(lint_state *ls, size_t base) {
  lint_key *k = ls->keys + base;
  size_t n = ls->n_keys - base;
  if (n < 2) return 0;
  qsort(k, n, sizeof *k, key_cmp);
  const lint_key *dup = NULL;
  for (size_t i = 1; i < n; i++)
    if (k[i].len == k[i - 1].len && memcmp(k[i].p, k[i - 1].p, k[i].len) == 0 &&
        (dup == NULL || k[i].p < dup->p))
      dup = &k[i];
  if (dup == NULL) return 0;
  char what[160];
  int shown = dup->len - 2 > 60 ? 60 : (int)(dup->len - 2);
  snprintf(what, sizeof what, "duplicate key \"%.*s\"", shown, dup->p + 1);
  return parse_error_at(ls->text, (size_t)(dup->p - ls->text), ls->name, "%s", what);
}

static int push_key(lint_state *ls, const char *p, size_t len) {
  if (ls->n_keys == ls->cap_keys) {
    size_t ncap = ls->cap_keys ? ls->cap_keys * 2 : 64;
    lint_key *nk = realloc(ls->keys, ncap * sizeof *nk);
    if (nk == NULL) return rpu__error_set(RPU_ENOMEM, ls->name, "%s: out of memory", ls->name);
    ls->keys = nk;
    ls->cap_keys = ncap;
  }
  ls->keys[ls->n_keys].p = p;
  ls->keys[ls->n_keys].len = len;
  ls->n_keys++;
  return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of the RFC 8259 number at text[i..], 0 if it is not one. */
static size_t number_len(const char *t, size_t i, size_t len) {
  size_t j = i;
  if (j < len && t[j] == '-') j++;
  if (j < len && t[j] == '0')
    j++;
  else if (j < len && is_digit(t[j]))
    while (j < len && is_digit(t[j])) j++;
  else
    return 0;
  if (j < len && t[j] == '.') {
    j++;
    if (!(j < len && is_digit(t[j]))) return 0;
    while (j < len && is_digit(t[j])) j++;
  }
  if (j < len && (t[j] == 'e' || t[j] == 'E')) {
    j++;
    if (j < len && (t[j] == '+' || t[j] == '-')) j++;
    if (!(j < len && is_digit(t[j]))) return 0;
    while (j < len && is_digit(t[j])) j++;
  }
  /* A number must not run into more number-like characters ("1.2.3"). */
  if (j < len && (is_digit(t[j]) || strchr(".eE+-", t[j]) != NULL)) return 0;
  return j - i;
}

/* One pass over a text json-c accepted: rejects what strict JSON forbids.
 * Container stack: for objects, the index of their first key in ls->keys
 * and whether the next string is a key. */
static int lint_text(lint_state *ls) {
  const char *t = ls->text;
  size_t len = ls->len;
  struct {
    int is_object;
    int expect_key;
    size_t key_base;
  } stack[RPU__JSON_MAX_DEPTH + 2];
  int depth = 0;
  size_t i = 0;
  while (i < len) {
    char c = t[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      i++;
    } else if (c == '{' || c == '[') {
      if (depth >= RPU__JSON_MAX_DEPTH + 1)
        return parse_error_at(t, i, ls->name, "%s", "too deeply nested");
      stack[depth].is_object = c == '{';
      stack[depth].expect_key = c == '{';
      stack[depth].key_base = ls->n_keys;
      depth++;
      i++;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return parse_error_at(t, i, ls->name, "%s", "unbalanced bracket");
      depth--;
      if (stack[depth].is_object) {
        int rc = check_duplicates(ls, stack[depth].key_base);
        if (rc < 0) return rc;
        ls->n_keys = stack[depth].key_base;
      }
      i++;
    } else if (c == ',') {
      if (depth > 0 && stack[depth - 1].is_object) stack[depth - 1].expect_key = 1;
      i++;
    } else if (c == ':') {
      if (depth > 0) stack[depth - 1].expect_key = 0;
      i++;
    } else if (c == '"') {
      size_t start = i++;
      while (i < len && t[i] != '"') {
        if ((unsigned char)t[i] < 0x20)
          return parse_error_at(t, i, ls->name, "%s",
                                "control character in a string (write it as \\n, \\t, ...)");
        i += t[i] == '\\' ? 2 : 1;
      }
      if (i >= len) return parse_error_at(t, start, ls->name, "%s", "unterminated string");
      i++;
      if (depth > 0 && stack[depth - 1].is_object && stack[depth - 1].expect_key) {
        int rc = push_key(ls, t + start, i - start);
        if (rc < 0) return rc;
        stack[depth - 1].expect_key = 0;
      }
    } else if (c == '\'') {
      return parse_error_at(t, i, ls->name, "%s",
                            "single-quoted string (JSON strings use double quotes)");
    } else if (c == '-' || is_digit(c)) {
      size_t n = number_len(t, i, len);
      if (n == 0) return parse_error_at(t, i, ls->name, "%s", "malformed number");
      i += n;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t j = i;
      while (j < len && ((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z'))) j++;
      size_t n = j - i;
      if (!((n == 4 && memcmp(t + i, "true", 4) == 0) ||
            (n == 5 && memcmp(t + i, "false", 5) == 0) ||
            (n == 4 && memcmp(t + i, "null", 4) == 0))) {
        char what[96];
        snprintf(what, sizeof what, "\"%.*s\" is not a JSON value", n > 40 ? 40 : (int)n,
                 t + i);
        return parse_error_at(t, i, ls->name, "%s", what);
      }
      i = j;
    } else {
      char what[64];
      snprintf(what, sizeof what, "unexpected character 0x%02x", (unsigned char)c);
      return parse_error_at(t, i, ls->name, "%s", what);
    }
  }
  return 0;
}
