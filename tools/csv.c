/* CSV matrix reading and writing for the command-line tools. */
#include "tools/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path, char *err, size_t err_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  while (buf != NULL) {
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) break;
    if (len + 1 == cap) {
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int read_error = ferror(f);
  fclose(f);
  if (buf == NULL) {
    snprintf(err, err_len, "%s: out of memory", path);
    return NULL;
  }
  if (read_error) {
    free(buf);
    snprintf(err, err_len, "%s: read error", path);
    return NULL;
  }
  buf[len] = '\0';
  if (memchr(buf, '\0', len) != NULL) {
    free(buf);
    snprintf(err, err_len, "%s: not a text file (contains a NUL byte)", path);
    return NULL;
  }
  return buf;
}

static int is_blank_or_comment(const char *line) {
  while (*line == ' ' || *line == '\t' || *line == '\r') line++;
  return *line == '\0' || *line == '#';
}

/* Parses one line into out (may be NULL to count); returns the number of
 * cells or -1 with err set. */
static int parse_line(const char *path, int row, char *line, float *out, int expect,
                      char *err, size_t err_len) {
  int col = 0;
  char *p = line;
  for (;;) {
    while (*p == ' ' || *p == '\t') p++;
    char *end = p;
    double v = strtod(p, &end);
    char *q = end;
    while (*q == ' ' || *q == '\t' || *q == '\r') q++;
    if (end == p || (*q != ',' && *q != '\0')) {
      char cell[32];
      size_t k = 0;
      while (p[k] && p[k] != ',' && k < sizeof cell - 1) {
        cell[k] = p[k];
        k++;
      }
      cell[k] = '\0';
      snprintf(err, err_len, "%s: row %d, column %d: '%s' is not a number", path, row,
               col + 1, cell);
      return -1;
    }
    if (expect >= 0 && col >= expect) {
      snprintf(err, err_len, "%s: row %d has more than %d columns", path, row, expect);
      return -1;
    }
    if (out != NULL) out[col] = (float)v;
    col++;
    if (*q == '\0') break;
    p = q + 1;
  }
  if (expect >= 0 && col != expect) {
    snprintf(err, err_len, "%s: row %d has %d columns, expected %d (as row 1)", path, row,
             col, expect);
    return -1;
  }
  return col;
}

int csv_read(const char *path, csv_matrix *out, char *err, size_t err_len) {
  memset(out, 0, sizeof *out);
  char *text = read_all(path, err, err_len);
  if (text == NULL) return -1;
  /* Pass 1: count rows and the columns of the first data row. */
  int rows = 0, cols = -1, row = 0;
  size_t cap = 0;
  for (char *line = text; line != NULL;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    row++;
    if (!is_blank_or_comment(line)) {
      int c = parse_line(path, row, line, NULL, cols, err, err_len);
      if (c < 0) {
        free(text);
        return -1;
      }
      cols = c;
      rows++;
    }
    if (nl) *nl = '\n';
    line = nl ? nl + 1 : NULL;
  }
  if (rows == 0) {
    free(text);
    snprintf(err, err_len, "%s: no data rows", path);
    return -1;
  }
  cap = (size_t)rows * (size_t)cols;
  out->v = malloc(cap * sizeof(float));
  if (out->v == NULL) {
    free(text);
    snprintf(err, err_len, "%s: out of memory", path);
    return -1;
  }
  /* Pass 2: fill. */
  int r = 0;
  row = 0;
  for (char *line = text; line != NULL;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    row++;
    if (!is_blank_or_comment(line)) {
      parse_line(path, row, line, out->v + (size_t)r * (size_t)cols, cols, err, err_len);
      r++;
    }
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  out->rows = rows;
  out->cols = cols;
  return 0;
}

void csv_write_rows(FILE *f, const float *v, int rows, int cols) {
  for (int i = 0; i < rows; i++) {
    for (int j = 0; j < cols; j++)
      fprintf(f, "%s%.9g", j ? "," : "", (double)v[(size_t)i * (size_t)cols + (size_t)j]);
    fputc('\n', f);
  }
}

void csv_free(csv_matrix *m) {
  free(m->v);
  m->v = NULL;
  m->rows = m->cols = 0;
}
