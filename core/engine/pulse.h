/* Internal: the pulsed update engine (DESIGN.md §6, SPEC.md §3).
 *
 * One call updates a weight matrix with a batch of (x, d) samples the way a
 * crossbar does: per sample (SPEC.md §1.3) it chooses the pulse-train
 * length BL and the probability scales A, B (§3.2), turns every x line and
 * d line into a train of BL pulse slots (§3.3), counts the coincidences of
 * each element and hands the signed counts of a row to the device with one
 * pulse_row call (the nonzero columns as a list), or with one
 * pulse_row_dense call (one count per column, zeros included) if the
 * device has that hook (plugin.h).  Positive counts are "down" pulses
 * (SPEC.md §3.3).
 *
 * Pulse trains are bit masks (one uint64 per 64 slots); the coincidence
 * count of (i, j) is popcount(d_i & x_j).  Threads share out the rows
 * (OpenMP, one parallel region per call, no barrier inside; every thread
 * draws the x lines it needs itself); each row goes through its samples in
 * order.  Every random draw is keyed by counter, so the result does not
 * depend on the number of threads or on how a batch is split into calls:
 *   stream  = the tile's (seed, tile id), purpose RPU_RNG_UPDATE
 *   step    = per-tile sample counter (first_sample + s, low 32 bits)
 *   sub     = row i           device cursor of row i (position 0..)
 *           = RPU__PULSE_SUB_LINES   slot k of line l at position l*BL + k
 *           = RPU__PULSE_SUB_ROUND   stochastic rounding of line l at l
 *   lines:  x line j is line j, d line i is line in_size + i.
 *
 * Typical use from an engine (tile_analog.c):
 *
 *   rpu__pulse *p;                         // once, at engine init
 *   rpu__pulse_new(&p, t->out_size, t->in_size);
 *   ...
 *   rpu__pulse_device dev = {t->dev_vt, t->dev_state, t->dev_params,
 *                            t->dev_model->name};
 *   rc = rpu__pulse_update(p, rpu_config_update(t->cfg), &dev,
 *                          rpu__tile_weights(t), x, d, batch, lr,
 *                          rpu__tile_cursor(t, RPU_RNG_UPDATE, 0, 0).stream,
 *                          t->counters.updates, &t->counters.pulses);
 *
 * Pulse types NONE and NONE_WITH_DEVICE are exact updates the tile applies
 * itself (rpu__pulse_type_is_exact); rpu__pulse_update refuses them.
 */
#ifndef RPU_CORE_ENGINE_PULSE_H
#define RPU_CORE_ENGINE_PULSE_H

#include <stdint.h>

#include "rpu/params.h"
#include "rpu/plugin.h"
#include "rpu/rng.h"

/* Sub-streams of RPU_RNG_UPDATE used for the line draws: above every row
 * index (rows < 2^20) and distinct from the tile's own reserved subs
 * (0xffffff00 and up, tile_impl.h). */
#define RPU__PULSE_SUB_LINES 0xfffffe00u
#define RPU__PULSE_SUB_ROUND 0xfffffe01u

/* Longest pulse train the stochastic types accept.  BL up to 64 is one
 * mask word per line; longer trains use ceil(BL/64) words.  Beyond this,
 * one update would send more than 65536 pulses to a device, and the
 * update is refused with RPU_ERANGE (nothing applied) — the message says
 * to use update_bl_management or a smaller lr.  MEAN_COUNT and
 * DETERMINISTIC_IMPLICIT draw no trains and have no such limit. */
#define RPU__PULSE_MAX_BL 65536

/* BL and the probability scales of one sample (SPEC.md §3.2): the d line
 * of d_i fires with probability a*|d_i|, the x line of x_j with b*|x_j|.
 * bl == 0 means "no update". */
typedef struct rpu__pulse_blab {
  int bl;
  double a;
  double b;
} rpu__pulse_blab;

/* calculateBlAB (SPEC.md §3.2) for |lr| and granularity g > 0:
 * lr == 0 → bl = 0; fixed_bl or update_bl_management → bl = desired_bl,
 * a = b = sqrt(lr/(g*bl)); otherwise if g*desired_bl < lr: a = b = 1,
 * bl = max(ceil(lr/g), 1) (saturated at INT_MAX), else as fixed. */
rpu__pulse_blab rpu__pulse_blab_base(const rpu_update_params *up, double lr,
                                     double g);

/* BL, A, B of one sample: performUpdateManagement (SPEC.md §3.2) when
 * update_management or update_bl_management is on (UM is forced on with
 * UBLM), calculateBlAB otherwise.  lr is |lr|; x_max = max|x_j|, d_max =
 * max|d_i| (finite, >= 0).  x_max or d_max zero → bl = 0. */
rpu__pulse_blab rpu__pulse_manage(const rpu_update_params *up, double lr,
                                  double x_max, double d_max, double g);

/* A resolution as the engine uses it (SPEC.md §12.3): <= 0 or not finite
 * → 0 (off); > 1 is a number of steps → 1/res; otherwise res. */
double rpu__pulse_res(double res);

/* getDiscretizedValue (SPEC.md §3.2): with res > 0, rint(p/res)*res, or
 * with sto_round rint(p/res + u - 1/2)*res, u uniform in (0,1); res <= 0
 * returns p.  res must already have gone through rpu__pulse_res. */
double rpu__pulse_discretize(double p, double res, int sto_round, float u);

/* The 32-bit threshold T for probability p: the library's uniform of a
 * word w, U = ((w >> 9) + 1/2) 2^-23, satisfies U < p exactly when
 * (w >> 9) < T.  T is in [0, 2^23]; p <= 0 or NaN gives 0, p >= 1 gives
 * 2^23 (every slot fires). */
uint32_t rpu__pulse_threshold(double p);

/* Nonzero for NONE and NONE_WITH_DEVICE (exact updates the tile does). */
int rpu__pulse_type_is_exact(int pulse_type);

/* The device as the engine sees it. */
typedef struct rpu__pulse_device {
  const rpu_device_vtable *vt; /* granularity, pulse_row, pulse_row_dense */
  void *state;
  const void *params; /* typed parameters, for granularity */
  const char *name;   /* model name, for messages */
} rpu__pulse_device;

/* Scratch space of one tile's pulse engine (masks, line data, per-thread
 * count lists); grows on demand, never shrinks. */
typedef struct rpu__pulse rpu__pulse;

/* An engine for rows x cols weights (out_size x in_size). */
int rpu__pulse_new(rpu__pulse **out, int rows, int cols);
void rpu__pulse_free(rpu__pulse *p);

/* Allows (enable != 0, the default) or forbids the vector kernels the CPU
 * offers (AVX-512 VPOPCNTDQ, AVX2); returns whether the AVX-512 ones are
 * now in use.  The results are identical either way — tests use this to
 * run both. */
int rpu__pulse_set_simd(rpu__pulse *p, int enable);

/* Pulsed update W -= lr d^T x (in expectation), sample by sample.
 * x: batch x w.cols, d: batch x w.rows (row-major); up: the update
 * section; stream: seed and tile id (purpose RPU_RNG_UPDATE; step and sub
 * are set here); sample s uses step (uint32_t)(first_sample + s).
 * *pulses (may be NULL) grows by the number of pulses handed to the
 * device (sum of |counts|).
 *
 * Everything is checked before the first pulse: non-finite x or d, a
 * device without granularity / pulse_row or with a granularity that is not
 * a finite number > 0, an exact or unknown pulse type, a BL above
 * RPU__PULSE_MAX_BL, out of memory — an error leaves w unchanged. */
int rpu__pulse_update(rpu__pulse *p, const rpu_update_params *up,
                      const rpu__pulse_device *dev, rpu_weights w,
                      const float *x, const float *d, int batch, float lr,
                      rpu_rng_stream stream, uint64_t first_sample,
                      uint64_t *pulses);

#endif
