/* Internal: the parsed experiment (core/nn/experiment.c writes it, the
 * runner core/nn/trainer.c reads it).  Format: docs/experiments.md. */
#ifndef RPU_CORE_NN_EXPERIMENT_IMPL_H
#define RPU_CORE_NN_EXPERIMENT_IMPL_H

#include <stdint.h>

#include "rpu/config.h"
#include "rpu/experiment.h"

typedef enum rpu__layer_kind {
  RPU__LAYER_LINEAR = 1,
  RPU__LAYER_CONV2D,
  RPU__LAYER_MAXPOOL2D,
  RPU__LAYER_FLATTEN,
  RPU__LAYER_SIGMOID,
  RPU__LAYER_TANH,
  RPU__LAYER_RELU,
  RPU__LAYER_LOG_SOFTMAX
} rpu__layer_kind;

/* One entry of "model". */
typedef struct rpu__layer_spec {
  rpu__layer_kind kind;
  /* linear: in_features (0 = inferred from the previous layer),
   * out_features, bias (default 1). */
  int in_features, out_features, bias;
  /* conv2d: in_channels (0 = inferred), out_channels, kernel_size,
   * stride (default 1), padding (default 0), bias (above).
   * maxpool2d: kernel_size, stride (default = kernel_size). */
  int in_channels, out_channels, kernel_size, stride, padding;
  /* Analog layers: the layer's own "rpu_config" or NULL (then the
   * experiment's). Owned. */
  rpu_config *cfg;
} rpu__layer_spec;

typedef enum rpu__loss_kind {
  RPU__LOSS_NLL = 1,           /* needs a final log_softmax layer */
  RPU__LOSS_CROSS_ENTROPY = 2, /* on the logits */
  RPU__LOSS_MSE = 3            /* against one-hot targets */
} rpu__loss_kind;

struct rpu_experiment {
  char *origin; /* file path or the string origin, for messages */
  char *name;
  uint64_t seed; /* default 0 */

  /* dataset: four resolved paths (for "name": "fashion-mnist" or "mnist"
   * under "dir", default /usr/share/datasets/<name>, the standard file
   * names train-images-idx3-ubyte.gz etc.; for "name": "idx" the four
   * given paths, relative ones resolved against the experiment's dir). */
  char *dataset_name;
  char *train_images, *train_labels, *test_images, *test_labels;
  int normalize; /* "normalize" present */
  float mean, std;
  int train_limit, test_limit; /* 0: all */

  /* The experiment-wide "rpu_config" (NULL if absent; then every analog
   * layer must carry its own).  Owned. */
  rpu_config *cfg;

  rpu__layer_spec *layers; /* n_layers, owned */
  int n_layers;

  /* "training" */
  int epochs;     /* >= 1, default 1 */
  int batch_size; /* >= 1, default 64 */
  rpu__loss_kind loss;
  double lr;               /* >= 0, default 0.01 */
  int lr_step_size;        /* 0: constant lr; else StepLR */
  double lr_gamma;         /* > 0, default 1 */

  /* "inference" (n_t_inference 0 when absent) */
  double *t_inference; /* >= 0 each, owned */
  int n_t_inference;
  int inference_repeats; /* >= 1, default 1 */
};

/* Names shared by the reader (experiment.c) and the writer
 * (experiment_json.c): layer "type" (index + 1 is the rpu__layer_kind),
 * "loss" (index + 1 is the rpu__loss_kind), both NULL-terminated, and the
 * four file keys of an "idx" dataset. */
extern const char *const rpu__experiment_layer_names[];
extern const char *const rpu__experiment_loss_names[];
extern const char *const rpu__experiment_idx_keys[4];

/* Deep copy (configs cloned). */
int rpu__experiment_clone(const rpu_experiment *e, rpu_experiment **out);

#endif
