/* A small SVG writer for the tools' plots (rpu-response, reports).
 *
 * The files are self-contained SVG 1.1: no scripts, no external fonts,
 * styles or images, so any browser shows them as they are.  Coordinates
 * are page units (1 unit = 1 CSS pixel); text is XML-escaped here.
 *
 *   svg_doc d;  svg_begin(&d, f, 800, 500, "title");
 *   svg_plot p; svg_plot_init(&p, &d, 70, 40, 680, 390, x0, x1, y0, y1);
 *   svg_plot_axes(&p, "pulse", "weight");
 *   svg_plot_band(&p, x, lo, hi, n, "#1f77b4", 0.25);
 *   svg_plot_line(&p, x, y, n, "#1f77b4", 1.5);
 *   svg_plot_legend(&p, labels, colors, 2);
 *   svg_end(&d);
 */
#ifndef RPU_TOOLS_SVG_H
#define RPU_TOOLS_SVG_H

#include <stddef.h>
#include <stdio.h>

typedef struct svg_doc {
  FILE *f;
  double width, height;
} svg_doc;

/* Writes the XML prolog, the <svg> element with a white background and a
 * <title> (may be NULL). */
void svg_begin(svg_doc *d, FILE *f, double width, double height,
               const char *title);
/* Closes the <svg> element. */
void svg_end(svg_doc *d);

/* Text at (x, y); anchor "start", "middle" or "end"; rotate in degrees
 * about (x, y) (0: none); size in px; fill a colour. */
void svg_text(svg_doc *d, double x, double y, double size, const char *anchor,
              double rotate, const char *fill, const char *text);
void svg_line(svg_doc *d, double x1, double y1, double x2, double y2,
              const char *stroke, double width, const char *dash);
/* fill / stroke may be NULL for "none". */
void svg_rect(svg_doc *d, double x, double y, double w, double h,
              const char *fill, double fill_opacity, const char *stroke);
/* Polyline / polygon through n page points (nothing for n < 2). */
void svg_polyline(svg_doc *d, const double *x, const double *y, size_t n,
                  const char *stroke, double width);
void svg_polygon(svg_doc *d, const double *x, const double *y, size_t n,
                 const char *fill, double fill_opacity);

/* "Nice" tick positions (1, 2, 2.5 or 5 times a power of ten) covering
 * [lo, hi] with about `target` intervals; writes at most max of them into
 * out and returns how many. */
size_t svg_nice_ticks(double lo, double hi, size_t target, double *out,
                      size_t max);

/* A plotting area: the page box (left, top, width, height) shows the data
 * range [xmin, xmax] x [ymin, ymax] (y grows upwards).  An empty or
 * non-finite range is widened so that the mapping stays defined. */
typedef struct svg_plot {
  svg_doc *doc;
  double left, top, width, height;
  double xmin, xmax, ymin, ymax;
} svg_plot;

void svg_plot_init(svg_plot *p, svg_doc *d, double left, double top,
                   double width, double height, double xmin, double xmax,
                   double ymin, double ymax);
double svg_px(const svg_plot *p, double x);
double svg_py(const svg_plot *p, double y);

/* Frame, grid lines and labelled ticks on both axes, axis labels. */
void svg_plot_axes(svg_plot *p, const char *xlabel, const char *ylabel);
/* Data polyline, clipped to the plot range by clamping; points with a
 * non-finite coordinate are skipped. */
void svg_plot_line(svg_plot *p, const double *x, const double *y, size_t n,
                   const char *color, double width);
/* A filled band between lo and hi (e.g. mean ± std). */
void svg_plot_band(svg_plot *p, const double *x, const double *lo,
                   const double *hi, size_t n, const char *color,
                   double opacity);
/* A legend box to the right of the plot area (leave about 40 + 6.6 px per
 * character of the longest label there): a colour swatch and a label per
 * entry. */
void svg_plot_legend(svg_plot *p, const char *const *labels,
                     const char *const *colors, size_t n);

/* ----- Markers and explicit x ticks -------------------------------------
 * Added for rpu-train's report; generic.  A log axis is drawn by plotting
 * log10(x) on a linear svg_plot and giving the decades as explicit ticks:
 *
 *   double xt[] = {0, 1, 2};  const char *xl[] = {"1", "10", "100"};
 *   svg_plot_init(&p, &d, 70, 40, 680, 390, 0, 2, y0, y1);
 *   svg_plot_axes_xticks(&p, xt, xl, 3, "t (s)", "accuracy (%)");
 *   ... plot log10(t) against y ...
 */

/* A circle of radius r centred at the page point (cx, cy); fill / stroke
 * may be NULL for "none". */
void svg_circle(svg_doc *d, double cx, double cy, double r, const char *fill,
                const char *stroke);

/* A filled circle marker of radius r (white outline) at every data point;
 * points with a non-finite coordinate are skipped, the others clamped to
 * the plot range like svg_plot_line.  Use it so that single points show. */
void svg_plot_markers(svg_plot *p, const double *x, const double *y,
                      size_t n, const char *color, double r);

/* Like svg_plot_axes, but the n x ticks are given: positions xt[k] in data
 * coordinates with labels xl[k]; a NULL label (or xl NULL) makes a minor
 * tick: a short mark without grid line or label.  Ticks outside
 * [xmin, xmax] are skipped.  The y axis gets nice ticks as in
 * svg_plot_axes. */
void svg_plot_axes_xticks(svg_plot *p, const double *xt,
                          const char *const *xl, size_t n,
                          const char *xlabel, const char *ylabel);

#endif
