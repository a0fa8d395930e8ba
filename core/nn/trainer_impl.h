/* Internal: the trainer's state, shared by trainer.c (building and running)
 * and trainer_checkpoint.c (saving and restoring). */
#ifndef RPU_CORE_NN_TRAINER_IMPL_H
#define RPU_CORE_NN_TRAINER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/nn/experiment_impl.h"
#include "rpu/nn.h"

/* One layer of the built network.  Shapes are per sample, as (channels,
 * height, width); a feature vector is (features, 1, 1). */
typedef struct rpu__trainer_layer {
  rpu__layer_kind kind;
  char name[96];         /* "model[0] linear 784x256 (2 tiles)" */
  rpu_linear *lin;       /* linear: owned; conv2d: borrowed from conv */
  rpu_conv2d *conv;      /* conv2d: owned */
  int in_c, in_h, in_w;
  int out_c, out_h, out_w;
  size_t in_n, out_n;    /* in_c*in_h*in_w, out_c*out_h*out_w */
  int pool_k, pool_s;    /* maxpool2d */
  int32_t *argmax;       /* maxpool2d: batch_size * out_n */
  double t_forward, t_backward, t_update; /* seconds, training only */
} rpu__trainer_layer;

struct rpu_trainer {
  rpu_context *ctx;       /* borrowed */
  rpu_experiment *e;      /* owned copy */
  rpu_dataset *train, *test;
  rpu__trainer_layer *layers;
  int n_layers;
  int first_param;        /* first layer with parameters (backward stops there) */
  int classes;            /* outputs of the last layer */
  float **act;            /* n_layers + 1 buffers, batch_size * size each */
  float **grad;           /* likewise */
  float *target;          /* MSE: batch_size * classes one-hot */
  int *labels;            /* batch_size */
  uint32_t *order;        /* permutation of the training set, this epoch */
  uint32_t *test_index;   /* 0..test size-1 */
  int n_train, n_test, batches;

  /* Position: `epoch` epochs finished; `batch` batches of the next one done.
   * The accumulators belong to that unfinished epoch. */
  int epoch, batch;
  double loss_sum;        /* sum of batch losses */
  int64_t correct, seen;  /* training samples */
  double seconds;

  rpu_epoch_metrics *hist;
  int n_hist, cap_hist;
};

/* Seconds on the monotonic clock. */
double rpu__trainer_now(void);

/* Builds the epoch's permutation (rpu_shuffle_order with the experiment's
 * seed); called at the start of every epoch and after a load. */
int rpu__trainer_prepare_epoch(rpu_trainer *t);

/* Appends finished-epoch metrics to the history. */
int rpu__trainer_push_history(rpu_trainer *t, const rpu_epoch_metrics *m);

#endif
