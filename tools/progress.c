/* rpu-train's progress display (see progress.h). */
#include "tools/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_MIN_BAR 10    /* columns inside the brackets, at least */
#define PROGRESS_INTERVAL 0.1  /* seconds between bars: 10 Hz */

static int detect_width(FILE *f);
static double now_seconds(void);
static void draw_bar(progress *p, const rpu_train_progress *pr);
static void put_over_bar(progress *p, const char *line);
static double images_per_second(const rpu_train_progress *pr, int batch_size);
static void format_rate(char *buf, size_t len, double rate);
static void format_eta(char *buf, size_t len, const rpu_train_progress *pr);

/* ----- Public functions ------------------------------------------------ */

void progress_init(progress *p, FILE *f, int batch_size, int tty) {
  p->f = f;
  p->tty = tty < 0 ? isatty(fileno(f)) : tty > 0;
  p->width = detect_width(f);
  p->batch_size = batch_size;
  p->last_draw = 0;
  p->last_decile = -1;
  p->bar_shown = 0;
  p->epoch = -1;
  p->shown_len = 0;
}

void progress_update(progress *p, const rpu_train_progress *pr) {
  int new_epoch = pr->epoch != p->epoch;
  p->epoch = pr->epoch;
  if (p->tty) {
    double now = now_seconds();
    /* 10 Hz at most, but never skip the first bar of an epoch (something
     * shows at once) or its last batch (the bar ends full) */
    if (new_epoch || !p->bar_shown || pr->batch >= pr->batches ||
        now - p->last_draw >= PROGRESS_INTERVAL) {
      draw_bar(p, pr);
      p->last_draw = now;
    }
    return;
  }
  if (new_epoch) p->last_decile = -1;
  if (pr->batches <= 0) return;
  int decile = (int)((long long)pr->batch * 10 / pr->batches);
  if (decile < 1 || decile <= p->last_decile) return;
  p->last_decile = decile;
  char line[256];
  progress_format_line(line, sizeof line, pr, p->batch_size);
  fprintf(p->f, "%s\n", line);
  fflush(p->f);
}

void progress_epoch_done(progress *p, const rpu_epoch_metrics *m, int epochs) {
  char line[256];
  snprintf(line, sizeof line,
           "epoch %d/%d  lr %g  loss %.4f  train %.1f%%  test %.1f%%  %.1f s",
           m->epoch + 1, epochs, m->lr, m->train_loss,
           100.0 * m->train_accuracy, 100.0 * m->test_accuracy, m->seconds);
  if (p->bar_shown) {
    put_over_bar(p, line); /* the bar turns into the epoch's summary */
    fputc('\n', p->f);
    p->bar_shown = 0;
    p->shown_len = 0;
  } else {
    fprintf(p->f, "%s\n", line);
  }
  fflush(p->f);
  p->last_decile = -1;
  p->epoch = -1; /* the next update starts a fresh bar / decile count */
}

void progress_break(progress *p) {
  if (!p->bar_shown) return;
  fputc('\n', p->f);
  fflush(p->f);
  p->bar_shown = 0;
  p->shown_len = 0;
}

char *progress_format_bar(char *buf, size_t len, const rpu_train_progress *pr,
                          int batch_size, int width) {
  enum { F_COUNT, F_LOSS, F_ACC, F_RATE, F_ETA, F_N };
  /* dropped first when short of room: rate, accuracy, loss, ETA, count */
  static const int drop_order[F_N] = {F_RATE, F_ACC, F_LOSS, F_ETA, F_COUNT};
  char field[F_N][48], prefix[48], tmp[32];
  int keep[F_N] = {1, 1, 1, 1, 1};
  int batches = pr->batches > 0 ? pr->batches : 0;
  int batch = pr->batch < 0 ? 0 : (pr->batch > batches ? batches : pr->batch);
  int digits = snprintf(tmp, sizeof tmp, "%d", batches);

  if (len == 0) return buf;
  snprintf(prefix, sizeof prefix, "epoch %d/%d ", pr->epoch + 1, pr->epochs);
  /* the count is padded to the width of the total so the bar keeps still */
  snprintf(field[F_COUNT], sizeof field[0], "%*d/%d", digits, batch, batches);
  snprintf(field[F_LOSS], sizeof field[0], "loss %.4f", pr->loss);
  snprintf(field[F_ACC], sizeof field[0], "acc %4.1f%%", 100.0 * pr->accuracy);
  format_rate(tmp, sizeof tmp, images_per_second(pr, batch_size));
  snprintf(field[F_RATE], sizeof field[0], "%s img/s", tmp);
  format_eta(tmp, sizeof tmp, pr);
  snprintf(field[F_ETA], sizeof field[0], "ETA %s", tmp);

  size_t used = strlen(prefix) + 2; /* the brackets */
  for (int k = 0; k < F_N; k++) used += 2 + strlen(field[k]);
  for (int d = 0; d < F_N && used + PROGRESS_MIN_BAR > (size_t)(width > 0 ? width : 0);
       d++) {
    keep[drop_order[d]] = 0;
    used -= 2 + strlen(field[drop_order[d]]);
  }
  size_t inner = (size_t)(width > 0 ? width : 0) > used + PROGRESS_MIN_BAR
                     ? (size_t)width - used
                     : PROGRESS_MIN_BAR;

  /* "[====>    ]": '=' for the batches done, '>' at the head until done */
  char bar[512];
  if (inner > sizeof bar - 3) inner = sizeof bar - 3;
  size_t filled = batches > 0 ? (size_t)((double)inner * batch / batches) : 0;
  bar[0] = '[';
  for (size_t k = 0; k < inner; k++)
    bar[1 + k] = k < filled ? '=' : ' ';
  if (filled > 0 && batch < batches) bar[filled] = '>';
  bar[1 + inner] = ']';
  bar[2 + inner] = '\0';

  size_t n = (size_t)snprintf(buf, len, "%s%s", prefix, bar);
  for (int k = 0; k < F_N && n < len; k++)
    if (keep[k]) n += (size_t)snprintf(buf + n, len - n, "  %s", field[k]);
  /* a terminal narrower than the minimal layout: cut, never wrap */
  if (width > 0 && strlen(buf) > (size_t)width) buf[width] = '\0';
  return buf;
}

char *progress_format_line(char *buf, size_t len, const rpu_train_progress *pr,
                           int batch_size) {
  char rate[32];
  int pct = pr->batches > 0 ? (int)((long long)pr->batch * 100 / pr->batches) : 0;
  format_rate(rate, sizeof rate, images_per_second(pr, batch_size));
  snprintf(buf, len,
           "epoch %d/%d  batch %d/%d (%d%%)  loss %.4f  acc %.1f%%  %s img/s",
           pr->epoch + 1, pr->epochs, pr->batch, pr->batches, pct, pr->loss,
           100.0 * pr->accuracy, rate);
  return buf;
}

/* ----- Helpers --------------------------------------------------------- */

/* The terminal's columns; COLUMNS when the stream is no terminal (or the
 * ioctl fails); 80 otherwise.  Values outside [1, 4096] are ignored. */
static int detect_width(FILE *f) {
  struct winsize ws;
  if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  const char *s = getenv("COLUMNS");
  if (s != NULL && *s != '\0') {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v >= 1 && v <= 4096) return (int)v;
  }
  return 80;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw_bar(progress *p, const rpu_train_progress *pr) {
  char line[600];
  p->width = detect_width(p->f); /* follow a resized terminal */
  /* one column short of the width: writing the last column makes some
   * terminals wrap, and "\r" would then return to the wrong line */
  int w = p->width > 1 ? p->width - 1 : 1;
  progress_format_bar(line, sizeof line, pr, p->batch_size,
                      w < (int)sizeof line - 1 ? w : (int)sizeof line - 1);
  put_over_bar(p, line);
  fflush(p->f);
  p->bar_shown = 1;
}

/* "\r", the line, then spaces over what is left of a longer previous bar. */
static void put_over_bar(progress *p, const char *line) {
  size_t n = strlen(line);
  fputc('\r', p->f);
  fputs(line, p->f);
  for (size_t k = n; k < p->shown_len; k++) fputc(' ', p->f);
  p->shown_len = n;
}

/* Images per second of this epoch so far; NAN when there is no rate yet.
 * It counts full batches, so a short last batch reads slightly high. */
static double images_per_second(const rpu_train_progress *pr, int batch_size) {
  if (pr->batch <= 0 || !(pr->seconds > 0) || batch_size <= 0) return NAN;
  return (double)pr->batch * batch_size / pr->seconds;
}

static void format_rate(char *buf, size_t len, double rate) {
  if (!isfinite(rate) || rate >= 1e12)
    snprintf(buf, len, "--");
  else
    snprintf(buf, len, rate < 10 ? "%.1f" : "%.0f", rate);
}

/* Remaining batches of the epoch at the epoch's mean time per batch. */
static void format_eta(char *buf, size_t len, const rpu_train_progress *pr) {
  double eta = NAN;
  if (pr->batch >= pr->batches)
    eta = 0.0;
  else if (pr->batch > 0 && pr->seconds > 0)
    eta = (double)(pr->batches - pr->batch) * pr->seconds / pr->batch;
  if (!isfinite(eta) || eta >= 100.0 * 3600.0) { /* unknown or absurd */
    snprintf(buf, len, "--:--");
    return;
  }
  long s = lrint(eta);
  if (s >= 3600)
    snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}
