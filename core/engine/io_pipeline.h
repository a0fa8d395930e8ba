/* Internal: the analog matrix-vector product of one direction (forward or
 * backward) with every IOParameters non-ideality of SPEC.md §2.
 *
 * One rpu__io per direction of a tile.  It is created once from the
 * validated rpu_io_params (SPEC.md §2.2: resolutions normalised, bounds,
 * per-output quantities sampled from the construction stream) and then
 * runs whole batches:
 *
 *   forward  (is_backward = 0): y = W x,   W is n_out x n_in  (rows x cols)
 *   backward (is_backward = 1): y = W^T x, W is n_in x n_out  (rows x cols)
 *
 * so n_in / n_out are always the input / output lengths of this direction
 * and the weights are always the tile's row-major matrix.
 *
 * Speed (DESIGN.md §6): the ideal product of all samples of a pass is ONE
 * rpu__sgemm (rpu__sgemv for a single sample); every non-ideality is a loop
 * over rows of the batch with bulk RNG fills; bound management re-runs only
 * the samples that saturated (gathered, one BLAS call per round).  Threads
 * are BLAS's: the row loops are vectorised but not split over OpenMP
 * threads, because OpenMP workers spinning next to OpenBLAS's own pool made
 * a 2-thread call several times slower than a 1-thread one.
 *
 * Randomness (DESIGN.md §7): every draw of a call comes from the caller's
 * read stream with step = read->step (the tile's read-call count) and
 *   sub      = read->sub + (bm_round << 8 | pass << 4 | kind)
 *   position = sample * len + element
 * (kind: DAC rounding, DAC noise, weight noise, ADC noise, ADC rounding;
 * pass: 0 = the negative / only pass, 1 = the positive pass of the POS_NEG
 * modes; len = n_in for DAC draws, n_out otherwise).  A draw therefore
 * depends only on (call, bm round, sample, element, kind): outputs are
 * bit-identical whatever the thread count (given a BLAS that is itself
 * deterministic, as OpenBLAS sgemm/sgemv are) and whichever other samples
 * of the batch needed bound management.  Callers that run several
 * pipelines on one read step give each a different read->sub base (a
 * multiple of 2^16).
 *
 * Typical use by a tile engine (one pipeline per direction, created after
 * the device so the construction draws do not overlap; the sub-stream is
 * the engine's choice):
 *
 *   rpu_rng_cursor c = rpu__tile_cursor(t, RPU_RNG_CONSTRUCTION, 0, SUB_IO);
 *   st->nm_running = RPU__IO_NM_UNSET;
 *   rpu__io_new(&st->fwd, rpu_config_forward(t->cfg), t->out_size,
 *               t->in_size, 0, &c, &st->nm_running);
 *   rpu__io_new(&st->bwd, rpu_config_backward(t->cfg), t->in_size,
 *               t->out_size, 1, &c, &st->nm_running);
 *   ...
 *   rpu_rng_stream rs = rpu_rng_stream_make(t->seed, t->tile_id,
 *                                           RPU_RNG_READ);
 *   rs.step = t->steps.read;
 *   rpu__io_mvm(st->fwd, t->w, t->in_size, 0, x, y, batch, &rs,
 *               &t->counters);                  (backward: st->bwd, d, dx)
 *
 * Non-finite inputs (documented behaviour, tested): with a perfect IO the
 * product is plain BLAS arithmetic (NaN/Inf propagate as IEEE says).
 * Otherwise a sample that contains any NaN or +-Inf gives NaN in every one
 * of its outputs; it is not counted as saturated, never repeated by bound
 * management and does not update the AVERAGE_ABS_MAX running value.  Other
 * samples of the batch are unaffected.
 *
 * Quirks kept from the reference (SPEC.md §2.3-§2.5): with noise management
 * on, a sample whose scale alpha is <= 0 (all-zero input, or MAX of an
 * all-negative input) gives all-zero outputs (forward: only if inp_noise
 * is 0); offsets are half-rectified; with inp_bound or out_bound <= 0
 * (infinite) the corresponding resolution is off; out_asymmetry acts only
 * when > 0 (inp_asymmetry whenever != 0); the backward pipeline never runs
 * bound management (§2.2).
 */
#ifndef RPU_CORE_ENGINE_IO_PIPELINE_H
#define RPU_CORE_ENGINE_IO_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "rpu/params.h"
#include "rpu/plugin.h"
#include "rpu/rng.h"
#include "rpu/tile.h"

typedef struct rpu__io rpu__io;

/* Value of an AVERAGE_ABS_MAX running value that has not seen an input
 * yet (the first finite input sets it to its max |x|). */
#define RPU__IO_NM_UNSET (-1.0f)

/* Creates the pipeline of one direction.  p is copied.  Checks what the
 * engine relies on (SPEC.md §2.2: noise management on requires
 * inp_bound == 1; enums in range; numbers finite) and returns RPU_ECONFIG
 * with a message naming "forward.<field>" or "backward.<field>".
 * Per-output quantities (voltage offsets, non-linearity, read asymmetry,
 * output noise spread) are drawn from `construction` in that order, only
 * those that are enabled; the cursor advances by what was drawn
 * (construction may be NULL only if none is enabled).
 * nm_running: the AVERAGE_ABS_MAX running value, shared by the forward and
 * backward pipelines of a tile on the CPU (SPEC.md §2.3); the caller owns
 * it (and saves it in checkpoints) and initialises it to RPU__IO_NM_UNSET.
 * NULL: the pipeline keeps a private one. */
int rpu__io_new(rpu__io **out, const rpu_io_params *p, int n_out, int n_in,
                int is_backward, rpu_rng_cursor *construction,
                float *nm_running);

void rpu__io_free(rpu__io *io);

/* True if the IO is perfect (is_perfect or mv_type IDEAL): y = out_scale
 * W x exactly, no draws. */
int rpu__io_is_perfect(const rpu__io *io);

/* Runs `batch` samples: x is batch x n_in, y is batch x n_out (row-major,
 * must not overlap x).  One call at a time per pipeline (it owns its
 * workspace).  w is the tile's weight matrix (see above) with row
 * stride ld.  w_version identifies the weights' contents for the caches of
 * |W| (IR drop, PCM_READ) and W * read asymmetry (POS_NEG): pass a value
 * that changes whenever the weights change, or 0 to recompute them on
 * every call.  read: the read stream (seed, tile, purpose) with step set to
 * this call's number and sub to the caller's base (usually 0).
 * counters (may be NULL) gets saturations (outputs of the returned result
 * whose |value| exceeded out_bound before clipping) and bm_repeats (extra
 * bound-management passes, one per sample and repeat); the caller counts
 * the MVMs.  Errors: RPU_EINVAL (bad arguments), RPU_ENOMEM; on error
 * nothing has changed (every allocation happens before y, the counters or
 * the AVERAGE_ABS_MAX running value are touched). */
int rpu__io_mvm(rpu__io *io, const float *w, size_t ld, uint64_t w_version,
                const float *x, float *y, int batch,
                const rpu_rng_stream *read, rpu_tile_counters *counters);

#endif
