/* rpu-train's metrics.json and SVG report (see train_report.h). */
#include "tools/train_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/svg.h"

/* Report colours: train blue, test orange (also the inference curve: it is
 * test accuracy), loss dark grey, references light grey. */
#define COL_TRAIN "#1f77b4"
#define COL_TEST "#d95f02"
#define COL_LOSS "#444444"
#define COL_REF "#888888"
/* Markers on every point up to this many epochs (a lone point must show). */
#define MAX_EPOCH_MARKERS 60

/* A file written as PATH.tmp and renamed over PATH when complete. */
typedef struct atomic_file {
  FILE *f;
  const char *path;
  char *tmp;
} atomic_file;

static int atomic_open(atomic_file *a, const char *path, char *err, size_t errlen);
static int atomic_commit(atomic_file *a, char *err, size_t errlen);
static void atomic_abort(atomic_file *a);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void draw_learning_curve(svg_doc *d, const rpu_epoch_metrics *ep, int n);
static void draw_inference(svg_doc *d, double top, const rpu_epoch_metrics *ep,
                           int n_ep, const train_report_inference *inf, int n_inf);
static void draw_note_panel(svg_doc *d, double top, const char *note);
static int epoch_ticks(int n, double *xt, char (*lab)[24], const char **xl, int max);
static void data_range(const double *v, size_t n, double *lo, double *hi);
static void pad_range(double *lo, double *hi, double floor_lo, double ceil_hi);
static void panel_title(svg_doc *d, const svg_plot *p, const char *text);
static void center_note(svg_doc *d, const svg_plot *p, const char *text);
static int finite_inference_count(const train_report_inference *inf, int n);
static void plot_runs(svg_plot *p, const double *x, const double *y, size_t n,
                      const char *color, double width);
static void format_value(char *buf, size_t len, const char *fmt, double v,
                         const char *unit);

/* ----- Public functions ------------------------------------------------ */

int train_report_metrics_json(const char *path, const char *experiment, uint64_t seed,
                              int threads, const rpu_epoch_metrics *epochs, int n_epochs,
                              const train_report_inference *inf, int n_inf, char *err,
                              size_t errlen) {
  if (n_epochs < 0 || n_inf < 0 || (n_epochs > 0 && epochs == NULL) ||
      (n_inf > 0 && inf == NULL)) {
    set_err(err, errlen, "%s: invalid metrics (%d epochs, %d inference times)",
            path, n_epochs, n_inf);
    return -1;
  }
  atomic_file a;
  if (atomic_open(&a, path, err, errlen) != 0) return -1;
  FILE *f = a.f;
  fputs("{\n  \"experiment\": ", f);
  cli_json_string(f, experiment);
  fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n  \"threads\": %d,\n  \"epochs\": [", seed,
          threads);
  for (int k = 0; k < n_epochs; k++) {
    const rpu_epoch_metrics *m = &epochs[k];
    fprintf(f, "%s\n    {\"epoch\": %d, \"lr\": ", k ? "," : "", m->epoch + 1);
    cli_json_number(f, m->lr);
    fputs(", \"train_loss\": ", f);
    cli_json_number(f, m->train_loss);
    fputs(", \"train_accuracy\": ", f);
    cli_json_number(f, m->train_accuracy);
    fputs(", \"test_accuracy\": ", f);
    cli_json_number(f, m->test_accuracy);
    fputs(", \"seconds\": ", f);
    cli_json_number(f, m->seconds);
    fputc('}', f);
  }
  fputs(n_epochs ? "\n  ],\n  \"inference\": [" : "],\n  \"inference\": [", f);
  for (int k = 0; k < n_inf; k++) {
    fprintf(f, "%s\n    {\"t_inference\": ", k ? "," : "");
    cli_json_number(f, inf[k].t_inference);
    fputs(", \"accuracy_mean\": ", f);
    cli_json_number(f, inf[k].accuracy_mean);
    fputs(", \"accuracy_std\": ", f);
    cli_json_number(f, inf[k].accuracy_std);
    fputc('}', f);
  }
  fputs(n_inf ? "\n  ]\n}\n" : "]\n}\n", f);
  return atomic_commit(&a, err, errlen);
}

int train_report_svg(const char *path, const char *title, const rpu_epoch_metrics *epochs,
                     int n_epochs, const train_report_inference *inf, int n_inf,
                     const char *why, char *err, size_t errlen) {
  if (n_epochs < 0 || n_inf < 0 || (n_epochs > 0 && epochs == NULL) ||
      (n_inf > 0 && inf == NULL)) {
    set_err(err, errlen, "%s: invalid report data (%d epochs, %d inference times)",
            path, n_epochs, n_inf);
    return -1;
  }
  /* Layout (px): title; row 1 two plots side by side (loss | accuracy with
   * its legend at the right); row 2 the inference plot over the same width,
   * or a one-line note when there is nothing to plot. */
  int have_inf = finite_inference_count(inf, n_inf) > 0;
  double inf_top = 395, height = have_inf ? 720 : 480;
  atomic_file a;
  if (atomic_open(&a, path, err, errlen) != 0) return -1;
  svg_doc d;
  svg_begin(&d, a.f, 1000, height, title);
  svg_text(&d, 500, 28, 16, "middle", 0, "#000000", title != NULL ? title : "rpu-train");
  char sub[200], l[32], tr[32], te[32];
  if (n_epochs > 0) {
    const rpu_epoch_metrics *last = &epochs[n_epochs - 1];
    format_value(l, sizeof l, "%.4g", last->train_loss, "");
    format_value(tr, sizeof tr, "%.2f", 100.0 * last->train_accuracy, " %");
    format_value(te, sizeof te, "%.2f", 100.0 * last->test_accuracy, " %");
    snprintf(sub, sizeof sub, "%d epoch%s; after the last: train loss %s, train %s, test %s",
             n_epochs, n_epochs == 1 ? "" : "s", l, tr, te);
  } else {
    snprintf(sub, sizeof sub, "no epoch finished");
  }
  svg_text(&d, 500, 47, 11, "middle", 0, "#555555", sub);
  draw_learning_curve(&d, epochs, n_epochs);
  if (have_inf) {
    draw_inference(&d, inf_top, epochs, n_epochs, inf, n_inf);
  } else {
    char note[512];
    if (n_inf > 0)
      snprintf(note, sizeof note, "inference: no finite accuracy to plot");
    else if (why != NULL)
      snprintf(note, sizeof note, "inference not evaluated: %s", why);
    else
      snprintf(note, sizeof note, "no inference section");
    draw_note_panel(&d, inf_top, note);
  }
  svg_end(&d);
  return atomic_commit(&a, err, errlen);
}

/* ----- The plots ------------------------------------------------------- */

/* Row 1: train loss over epochs 1..n (left) and train / test accuracy in %
 * (right).  Separate panels rather than a second y axis: each keeps its own
 * grid, and neither curve is read against the wrong scale. */
static void draw_learning_curve(svg_doc *d, const rpu_epoch_metrics *ep, int n) {
  static const char *const acc_labels[2] = {"train", "test"};
  static const char *const acc_colors[2] = {COL_TRAIN, COL_TEST};
  double xt[64];
  char lab[64][24];
  const char *xl[64];
  int nt = epoch_ticks(n, xt, lab, xl, 64);
  /* a 3 % margin keeps the first and last markers off the frame */
  double x0 = n > 1 ? 1.0 - 0.03 * (n - 1) : 0.5, x1 = n > 1 ? n + 0.03 * (n - 1) : 1.5;
  size_t m = (size_t)(n > 0 ? n : 0);
  double *x = malloc((m ? m : 1) * sizeof *x);
  double *loss = malloc((m ? m : 1) * sizeof *loss);
  double *tr = malloc((m ? m : 1) * sizeof *tr);
  double *te = malloc((m ? m : 1) * sizeof *te);
  if (x == NULL || loss == NULL || tr == NULL || te == NULL) m = 0; /* draw frames only */
  for (size_t k = 0; k < m; k++) {
    x[k] = (double)(ep[k].epoch + 1);
    loss[k] = ep[k].train_loss;
    tr[k] = 100.0 * ep[k].train_accuracy;
    te[k] = 100.0 * ep[k].test_accuracy;
  }
  double lo, hi, alo, ahi, blo, bhi;
  data_range(loss, m, &lo, &hi);
  pad_range(&lo, &hi, lo >= 0 ? 0.0 : -INFINITY, INFINITY);
  data_range(tr, m, &alo, &ahi);
  data_range(te, m, &blo, &bhi);
  if (blo < alo) alo = blo;
  if (bhi > ahi) ahi = bhi;
  pad_range(&alo, &ahi, 0.0, 100.0);

  svg_plot p;
  svg_plot_init(&p, d, 70, 80, 330, 230, x0, x1, lo, hi);
  svg_plot_axes_xticks(&p, xt, xl, (size_t)nt, "epoch", "train loss");
  panel_title(d, &p, "Training loss");
  plot_runs(&p, x, loss, m, COL_LOSS, 1.8);
  if (m <= MAX_EPOCH_MARKERS) svg_plot_markers(&p, x, loss, m, COL_LOSS, 3.5);
  if (m == 0) center_note(d, &p, "no epoch finished");

  svg_plot q;
  svg_plot_init(&q, d, 505, 80, 330, 230, x0, x1, alo, ahi);
  svg_plot_axes_xticks(&q, xt, xl, (size_t)nt, "epoch", "accuracy (%)");
  panel_title(d, &q, "Accuracy");
  plot_runs(&q, x, tr, m, COL_TRAIN, 1.8);
  plot_runs(&q, x, te, m, COL_TEST, 1.8);
  if (m <= MAX_EPOCH_MARKERS) {
    svg_plot_markers(&q, x, tr, m, COL_TRAIN, 3.5);
    svg_plot_markers(&q, x, te, m, COL_TEST, 3.5);
  }
  if (m == 0) center_note(d, &q, "no epoch finished");
  svg_plot_legend(&q, acc_labels, acc_colors, 2);
  free(x);
  free(loss);
  free(tr);
  free(te);
}

/* Row 2: test accuracy (%) against t_inference on a log axis.  The plot's
 * x is log10(t); t = 0 has no logarithm, so it sits at the left edge, one
 * decade before the smallest positive time, labelled "0" and set apart by
 * a break mark on the axis.  Band: mean ± std over the repeats; a dashed
 * line marks the test accuracy at the end of training for comparison. */
static void draw_inference(svg_doc *d, double top, const rpu_epoch_metrics *ep,
                           int n_ep, const train_report_inference *inf, int n_inf) {
  static const char *const labels[2] = {"mean \xc2\xb1 std", "end of training"};
  static const char *const colors[2] = {COL_TEST, COL_REF};
  size_t cap = (size_t)n_inf;
  double *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y);
  double *lo = malloc(cap * sizeof *lo), *hi = malloc(cap * sizeof *hi);
  size_t *ord = malloc(cap * sizeof *ord);
  if (x == NULL || y == NULL || lo == NULL || hi == NULL || ord == NULL) goto out;

  /* the usable points, sorted by time (the band's outline needs order) */
  size_t m = 0;
  int has_zero = 0;
  double tmin = INFINITY, tmax = -INFINITY;
  for (int k = 0; k < n_inf; k++) {
    double t = inf[k].t_inference;
    if (!(t >= 0) || !isfinite(t) || !isfinite(inf[k].accuracy_mean)) continue;
    size_t j = m++;
    while (j > 0 && inf[ord[j - 1]].t_inference > t) { ord[j] = ord[j - 1]; j--; }
    ord[j] = (size_t)k;
    if (t == 0) {
      has_zero = 1;
    } else {
      if (t < tmin) tmin = t;
      if (t > tmax) tmax = t;
    }
  }
  /* decades [dlo, dhi] covering the positive times; zero one decade left */
  double dlo, dhi;
  if (tmax > 0) {
    dlo = floor(log10(tmin));
    dhi = ceil(log10(tmax));
    if (dhi <= dlo) dhi = dlo + 1;
  } else {
    dlo = 0; /* only t = 0: show the first decade of seconds beside it */
    dhi = 1;
  }
  double x0 = has_zero ? dlo - 1 : dlo;
  for (size_t k = 0; k < m; k++) {
    const train_report_inference *r = &inf[ord[k]];
    double s = isfinite(r->accuracy_std) ? fabs(r->accuracy_std) : 0.0;
    x[k] = r->t_inference > 0 ? log10(r->t_inference) : x0;
    y[k] = 100.0 * r->accuracy_mean;
    /* an accuracy lies in [0, 100] %, whatever the spread says */
    lo[k] = fmin(y[k], fmax(0.0, 100.0 * (r->accuracy_mean - s)));
    hi[k] = fmax(y[k], fmin(100.0, 100.0 * (r->accuracy_mean + s)));
  }
  double ylo, yhi, rlo, rhi;
  data_range(lo, m, &ylo, &yhi);
  data_range(hi, m, &rlo, &rhi);
  if (rlo < ylo) ylo = rlo;
  if (rhi > yhi) yhi = rhi;
  double ref = n_ep > 0 ? 100.0 * ep[n_ep - 1].test_accuracy : NAN;
  if (isfinite(ref)) {
    if (ref < ylo) ylo = ref;
    if (ref > yhi) yhi = ref;
  }
  pad_range(&ylo, &yhi, 0.0, 100.0);

  /* ticks: "0"; the decades, every k-th labelled when there are more than
   * 10 (at most ~11 labels); the 2..9 minor marks when there are few */
  double xt[160];
  char lab[64][24];
  const char *xl[160];
  size_t nt = 0;
  int decades = (int)(dhi - dlo), every = decades > 10 ? (decades + 9) / 10 : 1;
  if (has_zero) {
    xt[nt] = x0;
    xl[nt++] = "0";
  }
  for (int e = (int)dlo, j = 0; e <= (int)dhi && nt < 64; e++, j++) {
    if (j % every != 0) continue;
    char *b = lab[nt];
    if (e >= 0 && e <= 4)
      snprintf(b, sizeof lab[0], "%.0f", pow(10.0, e));
    else if (e >= -3 && e < 0)
      snprintf(b, sizeof lab[0], "%.*f", -e, pow(10.0, e));
    else
      snprintf(b, sizeof lab[0], "1e%d", e);
    xt[nt] = e;
    xl[nt++] = b;
  }
  if (decades <= 8)
    for (int e = (int)dlo; e < (int)dhi; e++)
      for (int k = 2; k <= 9 && nt < 160; k++) {
        xt[nt] = e + log10((double)k);
        xl[nt++] = NULL;
      }

  svg_plot p;
  /* 0.1 decade of margin keeps the end markers off the frame */
  svg_plot_init(&p, d, 70, top, 765, 250, x0 - 0.1, dhi + 0.1, ylo, yhi);
  svg_plot_axes_xticks(&p, xt, xl, nt, "t_inference (s, log scale)", "test accuracy (%)");
  panel_title(d, &p, "Inference: accuracy versus time after programming");
  /* familiar times as faint marks, where they fall inside the range */
  static const struct { double t; const char *name; } marks[] = {
      {60, "1 min"}, {3600, "1 h"}, {86400, "1 day"}, {2592000, "30 days"},
      {31536000, "1 year"}};
  for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
    double lx = log10(marks[k].t);
    if (lx <= dlo || lx >= dhi || decades > 12) continue;
    double px = svg_px(&p, lx);
    svg_line(d, px, p.top, px, p.top + p.height, "#c8c8c8", 1.0, "2,3");
    svg_text(d, px + 3, p.top + 12, 10, "start", 0, "#888888", marks[k].name);
  }
  if (has_zero && m > 0) { /* a break mark between "0" and the decades */
    double bx = svg_px(&p, x0 + 0.5), by = p.top + p.height;
    svg_rect(d, bx - 4, by - 4, 8, 8, "#ffffff", 1.0, NULL);
    svg_line(d, bx - 6, by + 4, bx - 2, by - 4, "#333333", 1.0, NULL);
    svg_line(d, bx + 2, by + 4, bx + 6, by - 4, "#333333", 1.0, NULL);
  }
  if (isfinite(ref)) {
    double py = svg_py(&p, ref);
    svg_line(d, p.left, py, p.left + p.width, py, COL_REF, 1.2, "6,4");
  }
  svg_plot_band(&p, x, lo, hi, m, COL_TEST, 0.22);
  for (size_t k = 0; k < m; k++) { /* error bars: a lone point shows its std */
    if (!(hi[k] > lo[k])) continue;
    double px = svg_px(&p, x[k]), pl = svg_py(&p, fmax(lo[k], p.ymin)),
           ph = svg_py(&p, fmin(hi[k], p.ymax));
    svg_line(d, px, pl, px, ph, COL_TEST, 1.2, NULL);
    svg_line(d, px - 4, pl, px + 4, pl, COL_TEST, 1.2, NULL);
    svg_line(d, px - 4, ph, px + 4, ph, COL_TEST, 1.2, NULL);
  }
  svg_plot_line(&p, x, y, m, COL_TEST, 1.8);
  svg_plot_markers(&p, x, y, m, COL_TEST, 4.0);
  svg_plot_legend(&p, labels, colors, isfinite(ref) ? 2 : 1);
out:
  free(x);
  free(y);
  free(lo);
  free(hi);
  free(ord);
}

static void draw_note_panel(svg_doc *d, double top, const char *note) {
  svg_rect(d, 70, top, 765, 40, "#f6f6f6", 1.0, "#cccccc");
  svg_text(d, 70 + 765 / 2.0, top + 25, 13, "middle", 0, "#444444", note);
}

/* Integer epoch ticks every 1, 2, 5, 10, ... epochs (at most ~10): the
 * multiples of the step, and epoch 1 too unless it would crowd epoch 2. */
static int epoch_ticks(int n, double *xt, char (*lab)[24], const char **xl, int max) {
  if (n < 1) n = 1;
  long step = 1;
  for (long mag = 1; (n + step - 1) / step > 10; mag *= 10) {
    if ((n + mag - 1) / mag <= 10) { step = mag; break; }
    if ((n + 2 * mag - 1) / (2 * mag) <= 10) { step = 2 * mag; break; }
    step = 5 * mag;
  }
  int nt = 0;
  for (long e = step == 2 ? 2 : 1; e <= n && nt < max;
       e = (e == 1 && step > 1) ? step : e + step) {
    snprintf(lab[nt], sizeof lab[0], "%ld", e);
    xt[nt] = (double)e;
    xl[nt] = lab[nt];
    nt++;
  }
  return nt;
}

/* Min and max of the finite values; NAN, NAN when there are none. */
static void data_range(const double *v, size_t n, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(v[k])) continue;
    if (v[k] < *lo) *lo = v[k];
    if (v[k] > *hi) *hi = v[k];
  }
  if (*lo > *hi) *lo = *hi = NAN;
}

/* 6 % margin on both sides (a flat range gets ±1 % of its value, at least
 * ±0.5), kept inside [floor_lo, ceil_hi] where the data allows. */
static void pad_range(double *lo, double *hi, double floor_lo, double ceil_hi) {
  if (!isfinite(*lo) || !isfinite(*hi)) {
    *lo = isfinite(floor_lo) ? floor_lo : 0.0;
    *hi = isfinite(ceil_hi) ? ceil_hi : 1.0;
    return;
  }
  double pad = 0.06 * (*hi - *lo);
  if (!(pad > 0)) pad = fmax(0.01 * fabs(*lo), 0.5);
  double a = *lo - pad, b = *hi + pad;
  *lo = (a < floor_lo && *lo >= floor_lo) ? floor_lo : a;
  *hi = (b > ceil_hi && *hi <= ceil_hi) ? ceil_hi : b;
}

static void panel_title(svg_doc *d, const svg_plot *p, const char *text) {
  svg_text(d, p->left, p->top - 8, 12, "start", 0, "#000000", text);
}

static void center_note(svg_doc *d, const svg_plot *p, const char *text) {
  svg_text(d, p->left + p->width / 2, p->top + p->height / 2, 12, "middle", 0,
           "#777777", text);
}

static int finite_inference_count(const train_report_inference *inf, int n) {
  int c = 0;
  for (int k = 0; k < n; k++)
    c += inf[k].t_inference >= 0 && isfinite(inf[k].t_inference) &&
         isfinite(inf[k].accuracy_mean);
  return c;
}

/* svg_plot_line over each run of finite points, so that a NaN epoch
 * (diverged loss) shows as a gap rather than being bridged. */
static void plot_runs(svg_plot *p, const double *x, const double *y, size_t n,
                      const char *color, double width) {
  size_t start = 0;
  for (size_t k = 0; k <= n; k++) {
    if (k < n && isfinite(x[k]) && isfinite(y[k])) continue;
    if (k > start + 1) svg_plot_line(p, x + start, y + start, k - start, color, width);
    start = k + 1;
  }
}

/* v with fmt and unit, or "n/a" when it is not finite. */
static void format_value(char *buf, size_t len, const char *fmt, double v,
                         const char *unit) {
  if (!isfinite(v)) {
    snprintf(buf, len, "n/a");
    return;
  }
  int n = snprintf(buf, len, fmt, v);
  if (n >= 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, "%s", unit);
}

/* ----- JSON ------------------------------------------------------------ */

/* A JSON string: quotes, backslash and control characters escaped, valid
 * UTF-8 copied, each byte of an invalid sequence written as U+FFFD (the
 * name may come from a file name in any encoding).  NULL is null. */

/* ----- Atomic files ---------------------------------------------------- */

static int atomic_open(atomic_file *a, const char *path, char *err, size_t errlen) {
  a->path = path;
  a->f = NULL;
  a->tmp = malloc(strlen(path) + 5);
  if (a->tmp == NULL) {
    set_err(err, errlen, "%s: out of memory", path);
    return -1;
  }
  strcpy(a->tmp, path);
  strcat(a->tmp, ".tmp");
  a->f = fopen(a->tmp, "w");
  if (a->f == NULL) {
    set_err(err, errlen, "%s: cannot open for writing: %s", a->tmp, strerror(errno));
    free(a->tmp);
    a->tmp = NULL;
    return -1;
  }
  return 0;
}

/* fflush, fsync, close, rename: the file at PATH is the old one or the
 * complete new one, never a part.  On failure PATH.tmp is removed. */
static int atomic_commit(atomic_file *a, char *err, size_t errlen) {
  int e = 0;
  errno = 0; /* fflush writes what is buffered and says why it failed */
  if (fflush(a->f) != 0) e = errno ? errno : EIO;
  if (e == 0 && ferror(a->f)) e = EIO; /* an earlier write failed */
  if (e == 0 && fsync(fileno(a->f)) != 0) e = errno ? errno : EIO;
  errno = 0;
  if (fclose(a->f) != 0 && e == 0) e = errno ? errno : EIO;
  a->f = NULL;
  if (e != 0) {
    set_err(err, errlen, "%s: write error: %s", a->tmp, strerror(e));
    atomic_abort(a);
    return -1;
  }
  if (rename(a->tmp, a->path) != 0) {
    set_err(err, errlen, "%s: cannot rename %s to it: %s", a->path, a->tmp,
            strerror(errno));
    atomic_abort(a);
    return -1;
  }
  free(a->tmp);
  a->tmp = NULL;
  return 0;
}

static void atomic_abort(atomic_file *a) {
  if (a->f != NULL) fclose(a->f);
  remove(a->tmp);
  free(a->tmp);
  a->tmp = NULL;
  a->f = NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (err == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}
