/* A small SVG writer (see svg.h). */
#include "tools/svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void put_escaped(FILE *f, const char *s);
static void put_attr(FILE *f, const char *name, const char *value);
static double clampd(double v, double lo, double hi);
static void format_tick(char *buf, size_t len, double v, double step);
static void widen(double *lo, double *hi);
static void y_axis_frame_labels(svg_plot *p, const char *xlabel, const char *ylabel);

/* ----- Document and primitives ----------------------------------------- */

void svg_begin(svg_doc *d, FILE *f, double width, double height,
               const char *title) {
  d->f = f;
  d->width = width;
  d->height = height;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
          "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n",
          width, height, width, height);
  if (title != NULL) {
    fputs("<title>", f);
    put_escaped(f, title);
    fputs("</title>\n", f);
  }
  svg_rect(d, 0, 0, width, height, "#ffffff", 1.0, NULL);
}

void svg_end(svg_doc *d) { fputs("</svg>\n", d->f); }

void svg_text(svg_doc *d, double x, double y, double size, const char *anchor,
              double rotate, const char *fill, const char *text) {
  fprintf(d->f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\"", x, y, size);
  put_attr(d->f, "text-anchor", anchor);
  put_attr(d->f, "fill", fill);
  if (rotate != 0.0)
    fprintf(d->f, " transform=\"rotate(%.1f %.2f %.2f)\"", rotate, x, y);
  fputc('>', d->f);
  put_escaped(d->f, text);
  fputs("</text>\n", d->f);
}

void svg_line(svg_doc *d, double x1, double y1, double x2, double y2,
              const char *stroke, double width, const char *dash) {
  fprintf(d->f,
          "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
          "stroke-width=\"%.2f\"",
          x1, y1, x2, y2, width);
  put_attr(d->f, "stroke", stroke);
  put_attr(d->f, "stroke-dasharray", dash);
  fputs("/>\n", d->f);
}

void svg_rect(svg_doc *d, double x, double y, double w, double h,
              const char *fill, double fill_opacity, const char *stroke) {
  fprintf(d->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"",
          x, y, w, h);
  put_attr(d->f, "fill", fill != NULL ? fill : "none");
  if (fill != NULL && fill_opacity < 1.0)
    fprintf(d->f, " fill-opacity=\"%.3f\"", fill_opacity);
  put_attr(d->f, "stroke", stroke);
  fputs("/>\n", d->f);
}

void svg_polyline(svg_doc *d, const double *x, const double *y, size_t n,
                  const char *stroke, double width) {
  if (n < 2) return;
  fputs("<polyline fill=\"none\"", d->f);
  put_attr(d->f, "stroke", stroke);
  fprintf(d->f, " stroke-width=\"%.2f\" stroke-linejoin=\"round\" points=\"",
          width);
  for (size_t k = 0; k < n; k++)
    fprintf(d->f, "%s%.2f,%.2f", k ? " " : "", x[k], y[k]);
  fputs("\"/>\n", d->f);
}

void svg_polygon(svg_doc *d, const double *x, const double *y, size_t n,
                 const char *fill, double fill_opacity) {
  if (n < 2) return;
  fputs("<polygon stroke=\"none\"", d->f);
  put_attr(d->f, "fill", fill);
  fprintf(d->f, " fill-opacity=\"%.3f\" points=\"", fill_opacity);
  for (size_t k = 0; k < n; k++)
    fprintf(d->f, "%s%.2f,%.2f", k ? " " : "", x[k], y[k]);
  fputs("\"/>\n", d->f);
}

size_t svg_nice_ticks(double lo, double hi, size_t target, double *out,
                      size_t max) {
  if (!(hi > lo) || !isfinite(lo) || !isfinite(hi) || target == 0) return 0;
  double raw = (hi - lo) / (double)target;
  double mag = pow(10.0, floor(log10(raw)));
  double norm = raw / mag, step;
  if (norm <= 1.0)
    step = mag;
  else if (norm <= 2.0)
    step = 2.0 * mag;
  else if (norm <= 2.5)
    step = 2.5 * mag;
  else if (norm <= 5.0)
    step = 5.0 * mag;
  else
    step = 10.0 * mag;
  double first = ceil(lo / step - 1e-9);
  size_t n = 0;
  for (double k = first; n < max; k += 1.0) {
    double v = k * step;
    if (v > hi + step * 1e-9) break;
    out[n++] = fabs(v) < step * 1e-9 ? 0.0 : v; /* no "-0" */
  }
  return n;
}

/* ----- Plots ----------------------------------------------------------- */

void svg_plot_init(svg_plot *p, svg_doc *d, double left, double top,
                   double width, double height, double xmin, double xmax,
                   double ymin, double ymax) {
  p->doc = d;
  p->left = left;
  p->top = top;
  p->width = width;
  p->height = height;
  widen(&xmin, &xmax);
  widen(&ymin, &ymax);
  p->xmin = xmin;
  p->xmax = xmax;
  p->ymin = ymin;
  p->ymax = ymax;
}

double svg_px(const svg_plot *p, double x) {
  return p->left + (x - p->xmin) / (p->xmax - p->xmin) * p->width;
}

double svg_py(const svg_plot *p, double y) {
  return p->top + (p->ymax - y) / (p->ymax - p->ymin) * p->height;
}

void svg_plot_axes(svg_plot *p, const char *xlabel, const char *ylabel) {
  svg_doc *d = p->doc;
  double ticks[64];
  char buf[64];
  double bottom = p->top + p->height;
  size_t n = svg_nice_ticks(p->xmin, p->xmax, 8, ticks, 64);
  double step = n > 1 ? ticks[1] - ticks[0] : 1.0;
  for (size_t k = 0; k < n; k++) {
    double x = svg_px(p, ticks[k]);
    svg_line(d, x, p->top, x, bottom, "#e0e0e0", 1.0, NULL);
    svg_line(d, x, bottom, x, bottom + 5, "#333333", 1.0, NULL);
    format_tick(buf, sizeof buf, ticks[k], step);
    svg_text(d, x, bottom + 18, 11, "middle", 0, "#333333", buf);
  }
  y_axis_frame_labels(p, xlabel, ylabel);
}

void svg_plot_line(svg_plot *p, const double *x, const double *y, size_t n,
                   const char *color, double width) {
  double *px = malloc((n ? n : 1) * sizeof *px);
  double *py = malloc((n ? n : 1) * sizeof *py);
  if (px == NULL || py == NULL) goto out;
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(x[k]) || !isfinite(y[k])) continue;
    px[m] = svg_px(p, clampd(x[k], p->xmin, p->xmax));
    py[m] = svg_py(p, clampd(y[k], p->ymin, p->ymax));
    m++;
  }
  svg_polyline(p->doc, px, py, m, color, width);
out:
  free(px);
  free(py);
}

void svg_plot_band(svg_plot *p, const double *x, const double *lo,
                   const double *hi, size_t n, const char *color,
                   double opacity) {
  double *px = malloc((2 * n + 1) * sizeof *px);
  double *py = malloc((2 * n + 1) * sizeof *py);
  if (px == NULL || py == NULL) goto out;
  size_t m = 0;
  for (size_t k = 0; k < n; k++) { /* upper edge, left to right */
    if (!isfinite(x[k]) || !isfinite(hi[k]) || !isfinite(lo[k])) continue;
    px[m] = svg_px(p, clampd(x[k], p->xmin, p->xmax));
    py[m++] = svg_py(p, clampd(hi[k], p->ymin, p->ymax));
  }
  for (size_t k = n; k-- > 0;) { /* lower edge, right to left */
    if (!isfinite(x[k]) || !isfinite(hi[k]) || !isfinite(lo[k])) continue;
    px[m] = svg_px(p, clampd(x[k], p->xmin, p->xmax));
    py[m++] = svg_py(p, clampd(lo[k], p->ymin, p->ymax));
  }
  svg_polygon(p->doc, px, py, m, color, opacity);
out:
  free(px);
  free(py);
}

void svg_plot_legend(svg_plot *p, const char *const *labels,
                     const char *const *colors, size_t n) {
  if (n == 0) return;
  size_t longest = 0;
  for (size_t k = 0; k < n; k++)
    if (strlen(labels[k]) > longest) longest = strlen(labels[k]);
  double w = 40.0 + 6.6 * (double)longest, h = 8.0 + 18.0 * (double)n;
  double x = p->left + p->width + 15, y = p->top;
  svg_rect(p->doc, x, y, w, h, "#ffffff", 0.85, "#999999");
  for (size_t k = 0; k < n; k++) {
    double yy = y + 6 + 18.0 * (double)k;
    svg_rect(p->doc, x + 8, yy + 3, 18, 10, colors[k], 0.35, colors[k]);
    svg_line(p->doc, x + 8, yy + 8, x + 26, yy + 8, colors[k], 2.0, NULL);
    svg_text(p->doc, x + 32, yy + 12, 11, "start", 0, "#000000", labels[k]);
  }
}

/* ----- Helpers --------------------------------------------------------- */

static void put_escaped(FILE *f, const char *s) {
  for (; s != NULL && *s != '\0'; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default:
      /* XML 1.0 forbids most control characters even escaped */
      if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
        fputc(' ', f);
      else
        fputc(*s, f);
    }
  }
}

static void put_attr(FILE *f, const char *name, const char *value) {
  if (value == NULL) return;
  fprintf(f, " %s=\"", name);
  put_escaped(f, value);
  fputc('"', f);
}

static double clampd(double v, double lo, double hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Enough decimals to tell neighbouring ticks apart, no more. */
static void format_tick(char *buf, size_t len, double v, double step) {
  double a = fabs(v);
  if ((a >= 1e6 || (a > 0 && a < 1e-4)) || step < 1e-4) {
    snprintf(buf, len, "%g", v);
    return;
  }
  int dec = 0;
  while (dec < 6 && fabs(step * pow(10.0, dec) - rint(step * pow(10.0, dec))) >
                        1e-6 * step * pow(10.0, dec))
    dec++;
  snprintf(buf, len, "%.*f", dec, v);
}

static void widen(double *lo, double *hi) {
  if (!isfinite(*lo) || !isfinite(*hi)) {
    *lo = 0.0;
    *hi = 1.0;
  }
  if (*hi < *lo) {
    double t = *lo;
    *lo = *hi;
    *hi = t;
  }
  if (*hi - *lo <= 1e-12 * (fabs(*lo) + fabs(*hi)) || *hi == *lo) {
    double pad = *lo != 0.0 ? 0.05 * fabs(*lo) : 0.5;
    *lo -= pad;
    *hi += pad;
  }
}

/* ----- Markers and explicit x ticks (see svg.h) ------------------------ */

void svg_circle(svg_doc *d, double cx, double cy, double r, const char *fill,
                const char *stroke) {
  fprintf(d->f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\"", cx, cy, r);
  put_attr(d->f, "fill", fill != NULL ? fill : "none");
  put_attr(d->f, "stroke", stroke);
  fputs("/>\n", d->f);
}

void svg_plot_markers(svg_plot *p, const double *x, const double *y,
                      size_t n, const char *color, double r) {
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(x[k]) || !isfinite(y[k])) continue;
    svg_circle(p->doc, svg_px(p, clampd(x[k], p->xmin, p->xmax)),
               svg_py(p, clampd(y[k], p->ymin, p->ymax)), r, color,
               "#ffffff");
  }
}

void svg_plot_axes_xticks(svg_plot *p, const double *xt,
                          const char *const *xl, size_t n,
                          const char *xlabel, const char *ylabel) {
  svg_doc *d = p->doc;
  double bottom = p->top + p->height;
  /* a tiny tolerance keeps a tick that sits on the range's edge */
  double tol = 1e-9 * (p->xmax - p->xmin);
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(xt[k]) || xt[k] < p->xmin - tol || xt[k] > p->xmax + tol)
      continue;
    double x = svg_px(p, clampd(xt[k], p->xmin, p->xmax));
    const char *label = xl != NULL ? xl[k] : NULL;
    if (label == NULL) {
      svg_line(d, x, bottom, x, bottom + 3, "#333333", 1.0, NULL);
      continue;
    }
    svg_line(d, x, p->top, x, bottom, "#e0e0e0", 1.0, NULL);
    svg_line(d, x, bottom, x, bottom + 5, "#333333", 1.0, NULL);
    svg_text(d, x, bottom + 18, 11, "middle", 0, "#333333", label);
  }
  y_axis_frame_labels(p, xlabel, ylabel);
}

/* The y grid, ticks and numbers, the frame and both axis labels: what
 * svg_plot_axes and svg_plot_axes_xticks share. */
static void y_axis_frame_labels(svg_plot *p, const char *xlabel, const char *ylabel) {
  svg_doc *d = p->doc;
  double ticks[64];
  char buf[64];
  double bottom = p->top + p->height, right = p->left + p->width;
  size_t n = svg_nice_ticks(p->ymin, p->ymax, 6, ticks, 64);
  double step = n > 1 ? ticks[1] - ticks[0] : 1.0;
  for (size_t k = 0; k < n; k++) {
    double y = svg_py(p, ticks[k]);
    svg_line(d, p->left, y, right, y, "#e0e0e0", 1.0, NULL);
    svg_line(d, p->left - 5, y, p->left, y, "#333333", 1.0, NULL);
    format_tick(buf, sizeof buf, ticks[k], step);
    svg_text(d, p->left - 8, y + 4, 11, "end", 0, "#333333", buf);
  }
  svg_rect(d, p->left, p->top, p->width, p->height, NULL, 1.0, "#333333");
  if (xlabel != NULL)
    svg_text(d, p->left + p->width / 2, bottom + 40, 13, "middle", 0, "#000000", xlabel);
  if (ylabel != NULL)
    svg_text(d, p->left - 52, p->top + p->height / 2, 13, "middle", -90, "#000000", ylabel);
}
