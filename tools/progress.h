/* rpu-train's progress display (DESIGN.md §8): on a terminal one bar that
 * redraws in place ("\r"), at most 10 times a second; otherwise (a pipe, a
 * log file, CI) plain lines, one per 10 % of an epoch, that never use "\r"
 * or escape codes.  Everything goes to the one stream given to
 * progress_init; nothing here ever writes escape sequences (a shorter line
 * is blanked with spaces), so a terminal without ANSI support is fine. */
#ifndef RPU_TOOLS_PROGRESS_H
#define RPU_TOOLS_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "rpu/rpu.h"

typedef struct progress {
  FILE *f;
  int tty;           /* isatty(fileno(f)) unless forced */
  int width;         /* terminal columns (TIOCGWINSZ, else COLUMNS, else 80);
                        re-read before every bar so a resize is followed */
  int batch_size;    /* for the images/s rate */
  double last_draw;  /* monotonic seconds of the last bar drawn */
  int last_decile;   /* plain mode: last 10 % step printed this epoch */
  int bar_shown;     /* a bar is on screen and must be ended with "\n" */
  int epoch;         /* epoch of the last update, -1 before the first */
  size_t shown_len;  /* characters of the bar on screen (to blank them) */
} progress;

/* tty < 0: detect with isatty; 0 / 1: force plain / bar (tests). */
void progress_init(progress *p, FILE *f, int batch_size, int tty);

/* After every batch.  Bar (redrawn at most every 0.1 s, always for the
 * first update of an epoch and for its last batch):
 *   "epoch 2/10 [=====>     ]  512/938  loss 0.4123  acc 85.1%  2301 img/s  ETA 0:12"
 * fitted to the width minus one column (no auto-wrap): the bar takes the
 * room left; when even a 10-column bar does not fit, the fields are dropped
 * in the order img/s, acc, loss, ETA, count.  ETA is the rest of this
 * epoch at the epoch's rate so far ("--:--" before there is a rate; H:MM:SS
 * from an hour on).  Plain: a line each time the epoch crosses a new 10 %
 * step (batch * 10 / batches grows), percent = floor(batch * 100 / batches):
 *   "epoch 2/10  batch 94/938 (10%)  loss 0.4123  acc 85.1%  2301 img/s" */
void progress_update(progress *p, const rpu_train_progress *pr);

/* After an epoch: the bar (if shown) is replaced by, or in plain mode a
 * line is printed with, "epoch 2/10  lr 0.05  loss 0.4123  train 85.1%
 * test 84.0%  7.3 s" and a newline. */
void progress_epoch_done(progress *p, const rpu_epoch_metrics *m, int epochs);

/* Ends a bar on screen with a newline (before any other output). */
void progress_break(progress *p);

/* Pure formatting behind the two modes, for tests: writes at most len
 * bytes (NUL-terminated) and returns buf.  The bar is at most `width`
 * characters (the full layout needs about 70 + a 10-column bar). */
char *progress_format_bar(char *buf, size_t len, const rpu_train_progress *pr,
                          int batch_size, int width);
char *progress_format_line(char *buf, size_t len, const rpu_train_progress *pr,
                           int batch_size);

#endif
