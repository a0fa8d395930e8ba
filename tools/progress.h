/* rpu-train's progress display (DESIGN.md §8): on a terminal one bar that
 * redraws in place ("\r"), at most 10 times a second; otherwise (a pipe, a
 * log file, CI) plain lines, one per 10 % of an epoch, that never use "\r"
 * or escape codes. */
#ifndef RPU_TOOLS_PROGRESS_H
#define RPU_TOOLS_PROGRESS_H

#include <stdio.h>

#include "rpu/rpu.h"

typedef struct progress {
  FILE *f;
  int tty;           /* isatty(fileno(f)) unless forced */
  int width;         /* terminal columns (COLUMNS, TIOCGWINSZ, else 80) */
  int batch_size;    /* for the images/s rate */
  double last_draw;  /* monotonic seconds of the last bar drawn */
  int last_decile;   /* plain mode: last 10 % step printed this epoch */
  int bar_shown;     /* a bar is on screen and must be ended with "\n" */
} progress;

/* tty < 0: detect with isatty; 0 / 1: force plain / bar (tests). */
void progress_init(progress *p, FILE *f, int batch_size, int tty);

/* After every batch.  Bar: "epoch 2/10 [=====>     ]  512/938  loss 0.4123
 * acc 85.1%  2301 img/s  ETA 0:12" fitted to the width.  Plain: "epoch
 * 2/10  batch 94/938 (10%)  loss 0.4123  acc 85.1%  2301 img/s". */
void progress_update(progress *p, const rpu_train_progress *pr);

/* After an epoch: ends the bar and prints "epoch 2/10  lr 0.05  loss
 * 0.4123  train 85.1%  test 84.0%  7.3 s". */
void progress_epoch_done(progress *p, const rpu_epoch_metrics *m, int epochs);

/* Ends a bar on screen with a newline (before any other output). */
void progress_break(progress *p);

/* Pure formatting behind the two modes, for tests: writes at most len
 * bytes (NUL-terminated) and returns buf. */
char *progress_format_bar(char *buf, size_t len, const rpu_train_progress *pr,
                          int batch_size, int width);
char *progress_format_line(char *buf, size_t len, const rpu_train_progress *pr,
                           int batch_size);

#endif
