/* Stub until it lands (see progress.h). */
#include "tools/progress.h"

void progress_init(progress *p, FILE *f, int batch_size, int tty) {
  p->f = f; p->tty = tty > 0; p->width = 80; p->batch_size = batch_size;
  p->last_draw = 0; p->last_decile = -1; p->bar_shown = 0;
}
void progress_update(progress *p, const rpu_train_progress *pr) { (void)p; (void)pr; }
void progress_epoch_done(progress *p, const rpu_epoch_metrics *m, int epochs) {
  fprintf(p->f, "epoch %d/%d loss %.4f test %.2f%%\n", m->epoch + 1, epochs, m->train_loss,
          100.0 * m->test_accuracy);
}
void progress_break(progress *p) { (void)p; }
char *progress_format_bar(char *buf, size_t len, const rpu_train_progress *pr,
                          int batch_size, int width) {
  (void)pr; (void)batch_size; (void)width; if (len) buf[0] = 0; return buf;
}
char *progress_format_line(char *buf, size_t len, const rpu_train_progress *pr,
                           int batch_size) {
  (void)pr; (void)batch_size; if (len) buf[0] = 0; return buf;
}
