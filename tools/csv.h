/* CSV matrices for the tools: numbers separated by commas, one row per
 * line; blank lines and lines starting with '#' are skipped. */
#ifndef RPU_TOOLS_CSV_H
#define RPU_TOOLS_CSV_H

#include <stdio.h>

typedef struct csv_matrix {
  float *v; /* rows x cols, row-major */
  int rows;
  int cols;
} csv_matrix;

/* Reads a whole file.  Every row must have the same number of columns and
 * every cell must be a number (nan/inf are accepted as numbers; the caller
 * decides).  On error returns -1 and writes a message naming the file, row
 * and column into err. */
int csv_read(const char *path, csv_matrix *out, char *err, size_t err_len);

/* Writes rows x cols values, %.9g (round-trips a float). */
void csv_write_rows(FILE *f, const float *v, int rows, int cols);

void csv_free(csv_matrix *m);

#endif
