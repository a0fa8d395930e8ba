/* rpu — experiments: a network, a dataset and a training recipe described in
 * one JSON file, and the runner behind rpu-train (DESIGN.md §1, §8).
 *
 * The format is documented in docs/experiments.md.  In short:
 *
 *   { "name": "mlp",  "seed": 1,
 *     "dataset":  { "name": "fashion-mnist", "normalize": {"mean": 0.286, "std": 0.3205},
 *                   "train_limit": 0, "test_limit": 0 },
 *     "rpu_config": { "rpu_config": "SingleRPUConfig", "device": {"type": "ConstantStepDevice"} },
 *     "model": [ {"type": "linear", "out_features": 256}, {"type": "sigmoid"},
 *                {"type": "linear", "out_features": 10, "rpu_config": {...}},
 *                {"type": "log_softmax"} ],
 *     "training": { "epochs": 3, "batch_size": 64, "loss": "nll", "lr": 0.05,
 *                   "lr_schedule": {"type": "step", "step_size": 10, "gamma": 0.5} },
 *     "inference": { "t_inference": [0, 3600, 86400], "repeats": 5 } }
 *
 * Every fallible call returns 0 or a negative RPU_E* code with a message
 * (rpu_error_last) that names the file and the JSON path. */
#ifndef RPU_EXPERIMENT_H
#define RPU_EXPERIMENT_H

#include <stdint.h>

#include "rpu/common.h"
#include "rpu/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----- the experiment description ---------------------------------------- */

typedef struct rpu_experiment rpu_experiment;

/* Parses and validates an experiment file.  Relative dataset paths are
 * resolved against the file's directory.  Model names in every rpu_config
 * are checked against the context's registry.  Errors: RPU_EIO (file),
 * RPU_EPARSE (JSON), RPU_ECONFIG / RPU_ETYPE / RPU_ERANGE / RPU_ENOTFOUND
 * with "FILE: JSON.path: what is wrong". */
RPU_API int rpu_experiment_from_file(rpu_experiment **out, rpu_context *ctx,
                                     const char *path);

/* The same from a string; `origin` names it in messages (and relative
 * dataset paths are resolved against the current directory). */
RPU_API int rpu_experiment_from_string(rpu_experiment **out, rpu_context *ctx,
                                       const char *json, const char *origin);

/* Frees an experiment (NULL is fine). */
RPU_API void rpu_experiment_free(rpu_experiment *e);

/* The experiment's name ("name", else the file name without .json). */
RPU_API const char *rpu_experiment_name(const rpu_experiment *e);

/* training.epochs and its override (rpu-train --epochs); RPU_ERANGE for
 * n < 1. */
RPU_API int rpu_experiment_epochs(const rpu_experiment *e);
RPU_API int rpu_experiment_set_epochs(rpu_experiment *e, int n);

/* training.batch_size. */
RPU_API int rpu_experiment_batch_size(const rpu_experiment *e);

/* "seed" and its override (rpu-train --seed). */
RPU_API uint64_t rpu_experiment_seed(const rpu_experiment *e);
RPU_API void rpu_experiment_set_seed(rpu_experiment *e, uint64_t seed);

/* The canonical JSON of the experiment with every default filled in and
 * the overrides applied (malloc'ed, free with rpu_free). */
RPU_API int rpu_experiment_to_json(const rpu_experiment *e, char **json);

/* Number of inference times and time i (seconds), and the repeats per
 * time; 0 times when the experiment has no "inference" section. */
RPU_API int rpu_experiment_inference_count(const rpu_experiment *e);
RPU_API double rpu_experiment_inference_time(const rpu_experiment *e, int i);
RPU_API int rpu_experiment_inference_repeats(const rpu_experiment *e);

/* ----- the runner ---------------------------------------------------------- */

typedef struct rpu_trainer rpu_trainer;

/* Loads the datasets (data loading is not part of any timing), checks the
 * layer shapes against them (errors name "model[i]"), builds the layers
 * (tile ids and weight init from the experiment's seed) and prepares the
 * first epoch.  The experiment is copied. */
RPU_API int rpu_trainer_new(rpu_trainer **out, rpu_context *ctx,
                            const rpu_experiment *e);

/* Frees a trainer and its layers (NULL is fine). */
RPU_API void rpu_trainer_free(rpu_trainer *t);

/* Progress of the running epoch, handed to the callback after every batch. */
typedef struct rpu_train_progress {
  int epoch;          /* 0-based */
  int epochs;         /* total */
  int batch;          /* batches done in this epoch */
  int batches;        /* batches per epoch */
  double loss;        /* mean training loss over the batches done */
  double accuracy;    /* training accuracy over the samples done */
  double seconds;     /* training time of this epoch so far */
  double lr;          /* learning rate of this epoch */
} rpu_train_progress;

/* Called after every batch; a nonzero return stops the epoch at that batch
 * boundary (rpu-train's Ctrl-C). */
typedef int (*rpu_train_progress_fn)(const rpu_train_progress *p, void *user);

/* One finished epoch (DESIGN.md §8 metrics.json). */
typedef struct rpu_epoch_metrics {
  int epoch;              /* 0-based */
  double lr;
  double train_loss;      /* mean over the epoch's batches */
  double train_accuracy;  /* fraction in [0, 1] */
  double test_accuracy;   /* fraction in [0, 1] */
  double seconds;         /* training time, data loading and test excluded */
} rpu_epoch_metrics;

/* Runs the next epoch (or the rest of an interrupted one), then evaluates
 * the test set; fills *m (may be NULL).  `fn` may be NULL.  Returns
 * RPU_ECANCELED when the callback asked to stop: the trainer then sits at
 * a batch boundary, can be saved, and a later call (or a resumed trainer)
 * continues with the next batch, giving bit-identical results to an
 * uninterrupted run.  RPU_ERANGE when all epochs are done. */
RPU_API int rpu_trainer_run_epoch(rpu_trainer *t, rpu_train_progress_fn fn,
                                  void *user, rpu_epoch_metrics *m);

/* Training and test samples (after train_limit / test_limit). */
RPU_API int rpu_trainer_sizes(const rpu_trainer *t, int *n_train, int *n_test);

/* The trainer's experiment (borrowed; its epochs / seed are the run's). */
RPU_API const rpu_experiment *rpu_trainer_experiment(const rpu_trainer *t);

/* Epochs finished so far. */
RPU_API int rpu_trainer_epochs_done(const rpu_trainer *t);

/* The finished epochs' metrics (borrowed, *n entries). */
RPU_API int rpu_trainer_history(const rpu_trainer *t,
                                const rpu_epoch_metrics **m, int *n);

/* Test-set accuracy (fraction) of the current weights. */
RPU_API int rpu_trainer_evaluate(rpu_trainer *t, double *accuracy);

/* Inference after t_seconds (SPEC.md §6.1): for each of `repeats` repeats
 * the analog tiles of a copy of the network are programmed and drifted to
 * t_seconds (rpu_tile_program, rpu_tile_drift) and the test set is
 * evaluated; mean and standard deviation of the accuracy.  The trained
 * network itself is not changed.  RPU_EUNSUPPORTED (message naming the
 * layer and the config) when a tile cannot be programmed or drifted. */
RPU_API int rpu_trainer_inference(rpu_trainer *t, double t_seconds,
                                  int repeats, double *mean, double *std);

/* Writes the whole training state (experiment, layers incl. hidden device
 * state and RNG counters, digital parameters, epoch, batch, history) to one
 * file, atomically (temporary file + rename).  Allowed between batches. */
RPU_API int rpu_trainer_save(rpu_trainer *t, const char *path);

/* Restores a state written by rpu_trainer_save into a trainer built from
 * the same experiment (the epoch count may differ, so a run can be
 * extended).  A truncated, corrupted or foreign file is refused and the
 * trainer is left as it was. */
RPU_API int rpu_trainer_load(rpu_trainer *t, const char *path);

/* Creates a trainer from a checkpoint alone (its embedded experiment);
 * `epochs` > 0 overrides the experiment's epoch count. */
RPU_API int rpu_trainer_load_new(rpu_trainer **out, rpu_context *ctx,
                                 const char *path, int epochs);

/* ----- profile (rpu-train --profile) ------------------------------------- */

/* Wall-clock seconds spent per layer in forward, backward and update since
 * the trainer was created (training passes only; evaluation excluded). */
typedef struct rpu_layer_profile {
  const char *name;   /* e.g. "model[0] linear 784x256 (2 tiles)" (borrowed) */
  double forward;
  double backward;
  double update;
} rpu_layer_profile;

RPU_API int rpu_trainer_layer_count(const rpu_trainer *t);
RPU_API int rpu_trainer_layer_profile(const rpu_trainer *t, int i,
                                      rpu_layer_profile *p);

#ifdef __cplusplus
}
#endif

#endif /* RPU_EXPERIMENT_H */
