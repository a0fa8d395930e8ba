/* The pulsed update engine (DESIGN.md §6, SPEC.md §3; see pulse.h).
 *
 * Per sample: BL/A/B (§3.2) → per line a probability, discretised (§3.2)
 * → for the stochastic types a BL-slot bit mask per line drawn from the
 * counter-based generator, for MEAN_COUNT / DETERMINISTIC_IMPLICIT a count
 * or value per line (§3.3) → per row the signed coincidence counts of the
 * active x lines → one pulse_row call per row.
 *
 * Why counts per element are exact: within one sample every coincidence
 * at (i, j) has the same direction sign(d_i)·sign(x_j)·sign(lr), and
 * elements do not interact, so handing the device "c pulses of this
 * direction" for each element is the reference's slot-by-slot loop
 * (§3.3a) with the per-element order kept; only the interleaving between
 * elements differs, which no device can observe.  Likewise rows do not
 * interact, so the engine may run row by row through a block of samples
 * (rpu__pulse_update) as long as each row sees its samples in order.
 *
 * Sign of lr: the reference folds it into both x and d for the dense types
 * (cancelling it) and into d for the sparse ones; rpu uses the direction
 * σ = sign(d_i)·sign(x_j)·sign(lr) of §3.3 for every type (folded into d).
 *
 * The bit-mask kernels (thresholds, slot masks, row counts, with their
 * SIMD variants) live in pulse_kernels.c; this file plans, draws and
 * threads.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/engine/pulse.h"
#include "core/engine/pulse_kernels.h"
#include "core/util/error.h"
#include "core/util/finite.h"
#include "core/util/threads.h"

#define DRAW_CHUNK 4096        /* words per bulk fill (16 KiB per thread) */
#define PAR_MIN_WORK 65536     /* rows*cols*batch below this: one thread */
#define BLOCK_BYTES (512u << 10) /* sample slots of one block, about */
#define GATHER_MAX_BL 16       /* trains up to this: 8 lines per step */

/* What the per-sample phase leaves for the row phase: one slot per sample
 * of the current block (views into a worker's slab). */
typedef struct slot {
  /* per line (x lines first, then d lines) */
  uint32_t *thr;   /* stochastic: probability threshold */
  int32_t *sign;   /* +1 / -1 (d lines include sign(lr)); 0: silent */
  int32_t *count;  /* MEAN_COUNT: signed count n (§3.3) */
  double *value;   /* DETERMINISTIC_IMPLICIT: signed q (§3.3) */
  uint64_t *masks; /* stochastic: nw words per line (nw of the sample) */
  /* the active x lines of the sample, compacted */
  int *xcol;
  int32_t *xsign, *xcount;
  double *xvalue;
  uint64_t *xmask; /* nw words per active line */
  int nx;
  uint64_t xany; /* nw == 1: OR of the active x masks; else all ones */
} slot;

struct rpu__pulse {
  int rows, cols;
  int lines; /* cols + rows: x lines first, then d lines */
  int simd;  /* may use the AVX-512 kernels (CPU has them, not disabled) */
  int avx2;  /* may use the AVX2 kernels (likewise) */
  /* one worker per thread (grow on demand, never shrink) */
  struct worker *wk;
  int n_wk;
  /* per sample */
  rpu__pulse_blab *plan;
  int plan_cap;
};

/* A thread's own buffers: slots for a block of samples (slot_cap slots
 * of nw_cap mask words per line, views into slab), the row activity of a
 * block (act: per row, a bit per slot: does the row have anything to
 * send for that sample; rows x ceil(slot_cap/64) words) and scratch (cols ints,
 * cols counts, cols dense counts, DRAW_CHUNK words). */
typedef struct worker {
  slot *slots;
  void *slab;
  int slot_cap, nw_cap;
  uint64_t *act;
  void *scratch;
} worker;

typedef struct sample_ctx {
  const rpu_update_params *up;
  const rpu__pulse_device *dev;
  rpu_weights w;
  const float *xb, *db; /* the batch */
  uint64_t first_sample;
  const float *x, *d; /* this sample's rows */
  double lr_sign;
  rpu__pulse_blab bl;
  double res, x_res, d_res;
  int nw;
  int avx512; /* use the AVX-512 kernels */
  int avx2;   /* use the AVX2 kernels */
  int dense;  /* the device has pulse_row_dense */
  rpu_rng_stream stream; /* step set to this sample */
} sample_ctx;

static int check_args(const rpu__pulse *p, const rpu_update_params *up,
                      const rpu__pulse_device *dev, rpu_weights w,
                      const float *x, const float *d, int batch, float lr,
                      double *g);
static int make_plans(rpu__pulse *p, const rpu_update_params *up,
                      const float *x, const float *d, int batch, double lr,
                      double g, int *nw_max);
static int reserve(rpu__pulse *p, int nw, int batch, int threads,
                   int *block);
static inline void sample_setup(sample_ctx *sc, const rpu__pulse *p, int s);
static uint64_t work_rows(const rpu__pulse *p, const sample_ctx *base,
                          const worker *wk, int batch, int block, int r0,
                          int r1);
static void lines_prepare(const rpu__pulse *p, slot *v, const sample_ctx *sc,
                          int l0, int l1, uint32_t *buf);
static void line_masks(const rpu__pulse *p, slot *v, const sample_ctx *sc,
                       int l0, int l1, uint32_t *buf);
static void collect_x(const rpu__pulse *p, slot *v, const sample_ctx *sc);
static uint64_t row_update(const rpu__pulse *p, const slot *v,
                           const sample_ctx *sc, int i, int *cols,
                           int32_t *counts, int32_t *dense);
static int has_dense(const rpu_device_vtable *vt);
static int32_t div_round_even(int64_t num, int64_t den);
static int team_size(void);
static int thread_num(void);
static int is_stochastic(int type);
static int sign_of(float v);

/* ----- Public: BL / A / B, discretisation ------------------------------ */

rpu__pulse_blab rpu__pulse_blab_base(const rpu_update_params *up, double lr,
                                     double g) {
  rpu__pulse_blab r = {0, 0.0, 0.0};
  if (!(lr > 0.0) || !(g > 0.0) || up->desired_bl < 1) return r;
  if (up->fixed_bl || up->update_bl_management || g * up->desired_bl >= lr) {
    r.bl = up->desired_bl;
    r.a = r.b = sqrt(lr / (g * r.bl));
  } else {
    double n = ceil(lr / g); /* >= 1 here since lr > g*desired_bl >= g */
    r.bl = n >= (double)INT_MAX ? INT_MAX : (int)n;
    r.a = r.b = 1.0;
  }
  return r;
}

rpu__pulse_blab rpu__pulse_manage(const rpu_update_params *up, double lr,
                                  double x_max, double d_max, double g) {
  int ublm = up->update_bl_management != 0;
  int um = up->update_management != 0 || ublm; /* UM forced on by UBLM */
  rpu__pulse_blab r = {0, 0.0, 0.0};
  if (!ublm) {
    r = rpu__pulse_blab_base(up, lr, g);
  } else if (lr > 0.0 && g > 0.0 && up->desired_bl >= 1) {
    /* rpu__pulse_blab_base's bl; its a, b (a square root per sample)
     * are replaced below */
    r.bl = up->desired_bl;
  }
  if (r.bl == 0 || !um) return r;
  double x_v = x_max, d_v = up->um_grad_scale * d_max;
  double k = lr * x_v * d_v / g;
  if (!(x_v > 0.0) || !(d_v > 0.0) || !(k > 0.0)) {
    /* nothing to send (also covers um_grad_scale = 0 and underflow) */
    r.bl = 0;
    r.a = r.b = 0.0;
    return r;
  }
  if (ublm) {
    double n = ceil(k);
    r.bl = n >= (double)up->desired_bl ? up->desired_bl : (int)n;
    r.a = r.b = sqrt(lr / (g * r.bl));
  }
  /* avoid clipping the x probabilities: only d gives way (§3.2) */
  if (k > (double)up->desired_bl) d_v *= (double)up->desired_bl / k;
  r.a *= sqrt(x_v / d_v);
  r.b *= sqrt(d_v / x_v);
  return r;
}

double rpu__pulse_res(double res) {
  if (!(res > 0.0) || !isfinite(res)) return 0.0;
  return res > 1.0 ? 1.0 / res : res;
}

double rpu__pulse_discretize(double p, double res, int sto_round, float u) {
  if (!(res > 0.0)) return p;
  if (sto_round) return rint(p / res + ((double)u - 0.5)) * res;
  return rint(p / res) * res;
}

uint32_t rpu__pulse_threshold(double p) {
  return rpu__pulse_threshold_inline(p);
}

int rpu__pulse_type_is_exact(int pulse_type) {
  return pulse_type == RPU_PULSE_NONE ||
         pulse_type == RPU_PULSE_NONE_WITH_DEVICE;
}

/* ----- Public: the engine ---------------------------------------------- */

int rpu__pulse_new(rpu__pulse **out, int rows, int cols) {
  if (out == NULL || rows < 1 || cols < 1)
    return rpu__error_set(RPU_EINVAL, "pulse engine",
                          "pulse engine: invalid shape %d x %d", rows, cols);
  *out = NULL;
  rpu__pulse *p = calloc(1, sizeof *p);
  if (p == NULL)
    return rpu__error_set(RPU_ENOMEM, "pulse engine",
                          "pulse engine: out of memory for %d x %d", rows,
                          cols);
  p->rows = rows;
  p->cols = cols;
  p->lines = rows + cols;
  p->simd = rpu__pulse_have_avx512();
  p->avx2 = rpu__pulse_have_avx2();
  *out = p; /* slots, plans and scratch come with the first update */
  return 0;
}

int rpu__pulse_set_simd(rpu__pulse *p, int enable) {
  p->simd = enable && rpu__pulse_have_avx512();
  p->avx2 = enable && rpu__pulse_have_avx2();
  return p->simd;
}

void rpu__pulse_free(rpu__pulse *p) {
  if (p == NULL) return;
  for (int t = 0; t < p->n_wk; t++) {
    free(p->wk[t].slots);
    free(p->wk[t].slab);
    free(p->wk[t].act);
    free(p->wk[t].scratch);
  }
  free(p->wk);
  free(p->plan);
  free(p);
}

/* Execution (DESIGN.md §6): the rows are shared out among the threads
 * (contiguous ranges); each thread runs the batch in blocks of samples,
 * each block in two steps:
 *   1. per sample: the thread's own d lines, then — unless no d slot of
 *      the thread's rows fires (stochastic types) — the x lines: sign,
 *      probability, train or count, and the compacted active x lines,
 *      into the thread's slot for the sample; and per row whether it has
 *      anything to send in that sample (a bit per sample);
 *   2. per row of the thread: the row's coincidences with the samples of
 *      the block where it has something to send, in sample order, one
 *      device call per such (row, sample).
 * Rows are independent and every row sees its samples in order, so this
 * is the sample-by-sample update of SPEC.md §1.3.  Each draw is keyed by
 * (sample, line) or (sample, row), so every thread computes the x lines
 * it needs itself, with the same values, and the threads never wait for
 * each other or share the per-sample data: one parallel region per call
 * and no barrier inside (a barrier per sample or block costs more than the
 * whole update of a small tile).  With one thread no OpenMP construct
 * runs. */
int rpu__pulse_update(rpu__pulse *p, const rpu_update_params *up,
                      const rpu__pulse_device *dev, rpu_weights w,
                      const float *x, const float *d, int batch, float lr,
                      rpu_rng_stream stream, uint64_t first_sample,
                      uint64_t *pulses) {
  double g = 0.0;
  int rc = check_args(p, up, dev, w, x, d, batch, lr, &g);
  if (rc < 0 || lr == 0.0f) return rc;
  /* §3.4: pc_lr = the device's pulse-count learning rate; = lr until
   * compound devices bring their hook. */
  double pc_lr = (double)lr;
  int nw = 1;
  if ((rc = make_plans(p, up, x, d, batch, fabs(pc_lr), g, &nw)) < 0)
    return rc;
  double work = (double)w.rows * (double)w.cols * (double)batch;
  int nt = work >= PAR_MIN_WORK ? rpu__max_threads() : 1;
  if (nt > w.rows) nt = w.rows; /* at least one row per thread */
  int block = 1;
  if ((rc = reserve(p, nw, batch, nt, &block)) < 0) return rc;

  sample_ctx base;
  memset(&base, 0, sizeof base);
  base.up = up;
  base.dev = dev;
  base.w = w;
  base.xb = x;
  base.db = d;
  base.first_sample = first_sample;
  base.lr_sign = pc_lr < 0.0 ? -1.0 : 1.0;
  base.res = rpu__pulse_res(up->res);
  base.x_res = rpu__pulse_res(up->x_res_implicit);
  base.d_res = rpu__pulse_res(up->d_res_implicit);
  base.avx512 = p->simd;
  base.avx2 = p->avx2;
  base.dense = has_dense(dev->vt);
  base.stream = stream;
  base.stream.purpose = RPU_RNG_UPDATE;
  uint64_t total = 0;
  if (nt == 1) {
    total = work_rows(p, &base, &p->wk[0], batch, block, 0, w.rows);
  } else {
#pragma omp parallel num_threads(nt) reduction(+ : total)
    {
      int t = thread_num(), T = team_size(); /* T <= nt: workers exist */
      int r0 = (int)((int64_t)w.rows * t / T);
      int r1 = (int)((int64_t)w.rows * (t + 1) / T);
      total += work_rows(p, &base, &p->wk[t], batch, block, r0, r1);
    }
  }
  if (pulses != NULL) *pulses += total;
  return 0;
}

/* ----- Checks and planning --------------------------------------------- */

/* Struct-size aware "does the vtable have this hook" (plugin.h rules). */
#define VT_HAS(vt, field)                                                   \
  ((vt)->struct_size >= offsetof(rpu_device_vtable, field) +                \
                            sizeof((vt)->field) &&                          \
   (vt)->field != NULL)

static int has_dense(const rpu_device_vtable *vt) {
  return VT_HAS(vt, pulse_row_dense);
}

static int check_args(const rpu__pulse *p, const rpu_update_params *up,
                      const rpu__pulse_device *dev, rpu_weights w,
                      const float *x, const float *d, int batch, float lr,
                      double *g) {
  static const char fn[] = "pulsed update";
  if (p == NULL || up == NULL || dev == NULL || dev->vt == NULL ||
      w.w == NULL || x == NULL || d == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: NULL argument", fn);
  if (w.rows != p->rows || w.cols != p->cols || w.ld < (size_t)w.cols)
    return rpu__error_set(RPU_ESHAPE, fn,
                          "%s: weights are %d x %d (ld %zu), the engine was "
                          "made for %d x %d",
                          fn, w.rows, w.cols, w.ld, p->rows, p->cols);
  if (batch < 1)
    return rpu__error_set(RPU_EINVAL, fn, "%s: batch %d must be >= 1", fn,
                          batch);
  if (!isfinite(lr))
    return rpu__error_set(RPU_EINVAL, fn, "%s: lr %g is not finite", fn,
                          (double)lr);
  if (rpu__pulse_type_is_exact(up->pulse_type))
    return rpu__error_set(RPU_EINVAL, "update.pulse_type",
                          "update.pulse_type %s is an exact update that the "
                          "tile applies without the pulse engine",
                          up->pulse_type == RPU_PULSE_NONE
                              ? "NONE"
                              : "NONE_WITH_DEVICE");
  if (up->pulse_type != RPU_PULSE_STOCHASTIC_COMPRESSED &&
      up->pulse_type != RPU_PULSE_STOCHASTIC &&
      up->pulse_type != RPU_PULSE_MEAN_COUNT &&
      up->pulse_type != RPU_PULSE_DETERMINISTIC_IMPLICIT)
    return rpu__error_set(RPU_ECONFIG, "update.pulse_type",
                          "update.pulse_type: unknown pulse type %d",
                          up->pulse_type);
  if (up->desired_bl < 1)
    return rpu__error_set(RPU_ECONFIG, "update.desired_bl",
                          "update.desired_bl: %d is below minimum 1",
                          up->desired_bl);
  const char *name = dev->name != NULL ? dev->name : "?";
  if (!VT_HAS(dev->vt, granularity) || !VT_HAS(dev->vt, pulse_row))
    return rpu__error_set(RPU_EUNSUPPORTED, name,
                          "device %s has no granularity / pulse_row hook, so "
                          "it cannot take pulsed updates",
                          name);
  *g = dev->vt->granularity(dev->params);
  if (!(*g > 0.0) || !isfinite(*g))
    return rpu__error_set(RPU_EPLUGIN, name,
                          "device %s: weight granularity %g is not a finite "
                          "number > 0",
                          name, *g);
  return 0;
}

/* BL/A/B of every sample (§3.2), checking the inputs on the way, so that
 * nothing is applied when any sample is bad. */
static int make_plans(rpu__pulse *p, const rpu_update_params *up,
                      const float *x, const float *d, int batch, double lr,
                      double g, int *nw_max) {
  if (batch > p->plan_cap) {
    rpu__pulse_blab *np = realloc(p->plan, (size_t)batch * sizeof *np);
    if (np == NULL)
      return rpu__error_set(RPU_ENOMEM, "pulsed update",
                            "pulsed update: out of memory for %d samples",
                            batch);
    p->plan = np;
    p->plan_cap = batch;
  }
  int stochastic = is_stochastic(up->pulse_type);
  *nw_max = 1;
  for (int s = 0; s < batch; s++) {
    const float *xs = x + (size_t)s * (size_t)p->cols;
    const float *ds = d + (size_t)s * (size_t)p->rows;
    int bad_x = 0, bad_d = 0;
    double x_max = rpu__abs_max_checked(xs, (size_t)p->cols, &bad_x);
    double d_max = rpu__abs_max_checked(ds, (size_t)p->rows, &bad_d);
    for (int j = 0; bad_x && j < p->cols; j++) /* find it for the message */
      if (!isfinite(xs[j]))
        return rpu__error_set(RPU_EINVAL, "pulsed update",
                              "pulsed update: x[%d][%d] is %s; inputs must "
                              "be finite",
                              s, j, isnan(xs[j]) ? "NaN" : "infinite");
    for (int i = 0; bad_d && i < p->rows; i++)
      if (!isfinite(ds[i]))
        return rpu__error_set(RPU_EINVAL, "pulsed update",
                              "pulsed update: d[%d][%d] is %s; gradients "
                              "must be finite",
                              s, i, isnan(ds[i]) ? "NaN" : "infinite");
    rpu__pulse_blab b = rpu__pulse_manage(up, lr, x_max, d_max, g);
    if (stochastic && b.bl > RPU__PULSE_MAX_BL)
      return rpu__error_set(
          RPU_ERANGE, "update.desired_bl",
          "pulsed update: sample %d needs a pulse train of BL = %d slots "
          "(lr %g, weight granularity %g); at most %d are supported — turn "
          "on update.update_bl_management, set update.fixed_bl with a "
          "smaller update.desired_bl, or lower the learning rate",
          s, b.bl, lr, g, RPU__PULSE_MAX_BL);
    if (!(isfinite(b.a) && isfinite(b.b))) b.bl = 0; /* cannot happen */
    p->plan[s] = b;
    if (stochastic && (b.bl + 63) / 64 > *nw_max) *nw_max = (b.bl + 63) / 64;
  }
  return 0;
}

/* Bytes of one sample slot with nw mask words per line, rounded up to a
 * cache line (so every slot, and its 8-byte arrays, stays aligned). */
static size_t slot_bytes(const rpu__pulse *p, int nw) {
  size_t nl = (size_t)p->lines, nc = (size_t)p->cols, w = (size_t)nw;
  size_t b = nl * (w * sizeof(uint64_t) + sizeof(double) + 3 * sizeof(int32_t)) +
             nc * (w * sizeof(uint64_t) + sizeof(double) + 3 * sizeof(int32_t));
  return (b + 63) & ~(size_t)63;
}

/* Grows the workers of `threads` threads — slots for a block of samples
 * whose slots take about BLOCK_BYTES (at least one sample), and scratch —
 * before anything is changed; *block = samples per block. */
static int reserve(rpu__pulse *p, int nw, int batch, int threads,
                   int *block) {
  size_t want = BLOCK_BYTES / slot_bytes(p, nw);
  if (want < 1) want = 1;
  if (want > (size_t)batch) want = (size_t)batch;
  *block = (int)want;
  if (threads > p->n_wk) {
    worker *nw_ = realloc(p->wk, (size_t)threads * sizeof *nw_);
    if (nw_ == NULL) goto nomem;
    memset(nw_ + p->n_wk, 0, (size_t)(threads - p->n_wk) * sizeof *nw_);
    p->wk = nw_;
    p->n_wk = threads;
  }
  for (int t = 0; t < threads; t++) {
    worker *wk = &p->wk[t];
    if (wk->scratch == NULL) {
      wk->scratch = malloc((size_t)p->cols * (sizeof(int) + 2 * sizeof(int32_t)) +
                           DRAW_CHUNK * sizeof(uint32_t));
      if (wk->scratch == NULL) goto nomem;
    }
    if (nw <= wk->nw_cap && (int)want <= wk->slot_cap) continue;
    int cap = (int)want > wk->slot_cap ? (int)want : wk->slot_cap;
    int ncap = nw > wk->nw_cap ? nw : wk->nw_cap;
    size_t sb = slot_bytes(p, ncap);
    slot *sl = malloc((size_t)cap * sizeof *sl);
    void *slab = malloc((size_t)cap * sb);
    uint64_t *act = malloc((size_t)p->rows * (size_t)((cap + 63) / 64) *
                           sizeof *act);
    if (sl == NULL || slab == NULL || act == NULL) {
      free(sl);
      free(slab);
      free(act);
      goto nomem;
    }
    free(wk->slots);
    free(wk->slab);
    free(wk->act);
    wk->slots = sl;
    wk->slab = slab;
    wk->act = act;
    wk->slot_cap = cap;
    wk->nw_cap = ncap;
    /* carve: 8-byte arrays first, so every array stays aligned */
    size_t nl = (size_t)p->lines, nc = (size_t)p->cols, wn = (size_t)ncap;
    for (int k = 0; k < cap; k++) {
      char *c = (char *)slab + (size_t)k * sb;
      slot *v = &sl[k];
      v->masks = (uint64_t *)(void *)c; c += nl * wn * sizeof(uint64_t);
      v->xmask = (uint64_t *)(void *)c; c += nc * wn * sizeof(uint64_t);
      v->value = (double *)(void *)c; c += nl * sizeof(double);
      v->xvalue = (double *)(void *)c; c += nc * sizeof(double);
      v->thr = (uint32_t *)(void *)c; c += nl * sizeof(uint32_t);
      v->sign = (int32_t *)(void *)c; c += nl * sizeof(int32_t);
      v->count = (int32_t *)(void *)c; c += nl * sizeof(int32_t);
      v->xcol = (int *)(void *)c; c += nc * sizeof(int);
      v->xsign = (int32_t *)(void *)c; c += nc * sizeof(int32_t);
      v->xcount = (int32_t *)(void *)c;
      v->nx = 0;
      v->xany = 0;
    }
  }
  return 0;
nomem:
  return rpu__error_set(RPU_ENOMEM, "pulsed update",
                        "pulsed update: out of memory for the pulse trains");
}

/* ----- Per-sample phases ----------------------------------------------- */

/* The context of sample s of the batch (plan[s] decides bl). */
static inline void sample_setup(sample_ctx *sc, const rpu__pulse *p,
                                int s) {
  sc->bl = p->plan[s];
  sc->x = sc->xb + (size_t)s * (size_t)p->cols;
  sc->d = sc->db + (size_t)s * (size_t)p->rows;
  sc->nw = (sc->bl.bl + 63) / 64;
  sc->stream.step = (uint32_t)(sc->first_sample + (uint64_t)s);
}

/* One thread's share (module comment above): rows r0..r1-1 through the
 * whole batch, block by block.  Returns the number of pulses.
 *
 * Step 1 draws the thread's d lines first: when none of their trains has
 * a slot that fires (the usual case for small gradients and short
 * trains), no row of the thread can have a coincidence in this sample, so
 * its x lines are not drawn at all (draws are keyed by counter, so
 * skipping them changes no other number).  Step 1 also notes, per row, the
 * samples where the row has something to send (act: a bit per slot), so
 * step 2 visits only those (row_update would return 0 for the others
 * without a device call). */
static uint64_t work_rows(const rpu__pulse *p, const sample_ctx *base,
                          const worker *wk, int batch, int block, int r0,
                          int r1) {
  int *cols = wk->scratch;
  int32_t *counts = (int32_t *)(cols + p->cols);
  int32_t *dense = counts + p->cols;
  uint32_t *buf = (uint32_t *)(dense + p->cols);
  uint64_t total = 0;
  sample_ctx sc = *base;
  const int stochastic = is_stochastic(base->up->pulse_type);
  const int wpr = (block + 63) / 64; /* act words per row */
  uint64_t *act = wk->act;
  for (int s0 = 0; s0 < batch; s0 += block) {
    int nb = batch - s0 < block ? batch - s0 : block;
    memset(act, 0, (size_t)(r1 - r0) * (size_t)wpr * sizeof *act);
    for (int k = 0; k < nb; k++) { /* step 1 */
      if (p->plan[s0 + k].bl == 0) continue; /* no update for this sample */
      sample_setup(&sc, p, s0 + k);
      slot *v = &wk->slots[k];
      const int nw = sc.nw;
      lines_prepare(p, v, &sc, p->cols + r0, p->cols + r1, buf);
      if (stochastic) {
        uint64_t any = 0;
        const uint64_t *dm = v->masks + (size_t)(p->cols + r0) * nw;
        for (size_t q = 0; q < (size_t)(r1 - r0) * (size_t)nw; q++)
          any |= dm[q];
        if (any == 0) continue; /* no d slot fires: nothing to send */
      }
      lines_prepare(p, v, &sc, 0, p->cols, buf);
      collect_x(p, v, &sc);
      if (v->nx == 0) continue;
      const uint64_t bit = (uint64_t)1 << (k & 63);
      uint64_t *a = act + (k >> 6);
      for (int i = r0; i < r1; i++, a += wpr) {
        const int l = p->cols + i;
        int on = v->sign[l] != 0;
        if (on && stochastic) {
          const uint64_t *m = v->masks + (size_t)l * nw;
          uint64_t hit = 0;
          for (int q = 0; q < nw; q++) hit |= m[q];
          on = (hit & v->xany) != 0;
        }
        if (on) *a |= bit;
      }
    }
    const uint64_t *a = act;
    for (int i = r0; i < r1; i++, a += wpr) /* step 2 */
      for (int q = 0; q < wpr; q++)
        for (uint64_t bits = a[q]; bits != 0; bits &= bits - 1) {
          int k = q * 64 + __builtin_ctzll(bits);
          sample_setup(&sc, p, s0 + k);
          total += row_update(p, &wk->slots[k], &sc, i, cols, counts, dense);
        }
  }
  return total;
}

/* Lines l0..l1-1: sign, discretised probability (§3.2) and what the pulse
 * type makes of it (§3.3): a threshold and mask, a count, or a value.
 * Stochastic rounding draws one uniform per line (sub ROUND).  The common
 * case (stochastic, no rounding draws) runs as two tight loops, x lines
 * and d lines, with the same arithmetic as the general loop. */
static void lines_prepare(const rpu__pulse *p, slot *v, const sample_ctx *sc,
                          int l0, int l1, uint32_t *buf) {
  const rpu_update_params *up = sc->up;
  int type = up->pulse_type;
  int det = type == RPU_PULSE_DETERMINISTIC_IMPLICIT;
  float *u = (float *)buf; /* rounding draws; masks reuse buf afterwards */
  int sto = up->sto_round != 0;
  if (is_stochastic(type) && !sto && !(sc->res > 0.0)) {
    int lx = l1 < p->cols ? l1 : p->cols; /* x lines: l0..lx-1 */
    if (lx > l0)
      rpu__pulse_stoch_lines(sc->x + l0, lx - l0, sc->bl.b, 1, v->sign + l0,
                             v->thr + l0, sc->avx2);
    int ld = lx > l0 ? lx : l0; /* d lines: ld..l1-1 */
    if (l1 > ld)
      rpu__pulse_stoch_lines(sc->d + (ld - p->cols), l1 - ld, sc->bl.a,
                             sc->lr_sign < 0.0 ? -1 : 1, v->sign + ld,
                             v->thr + ld, sc->avx2);
    line_masks(p, v, sc, l0, l1, buf);
    return;
  }
  if (sto) {
    rpu_rng_stream rs = sc->stream;
    rs.sub = RPU__PULSE_SUB_ROUND;
    rpu_rng_fill_uniform(&rs, (uint64_t)l0, u, (size_t)(l1 - l0));
  }
  int bl = sc->bl.bl;
  for (int l = l0; l < l1; l++) {
    int is_x = l < p->cols;
    float val = is_x ? sc->x[l] : sc->d[l - p->cols];
    double scale = is_x ? sc->bl.b : sc->bl.a;
    double res = det ? (is_x ? sc->x_res : sc->d_res) : sc->res;
    int32_t sg = sign_of(val);
    if (!is_x && sc->lr_sign < 0.0) sg = -sg;
    double pp = rpu__pulse_discretize(scale * fabs((double)val), res, sto,
                                      sto ? u[l - l0] : 0.5f);
    if (!(pp > 0.0)) sg = 0; /* a silent line */
    v->sign[l] = sg;
    if (type == RPU_PULSE_MEAN_COUNT) {
      double n = rint((double)bl * pp);
      n = n < 0.0 ? 0.0 : (n > (double)bl ? (double)bl : n);
      v->count[l] = sg * (int32_t)n;
    } else if (det) {
      v->value[l] = sg * (pp > 1.0 ? 1.0 : pp);
    } else {
      v->thr[l] = sg != 0 ? rpu__pulse_threshold_inline(pp) : 0u;
    }
  }
  if (is_stochastic(type)) line_masks(p, v, sc, l0, l1, buf);
}

/* BL-slot masks of lines l0..l1-1: slot k of line l fires if the word at
 * position l*BL + k (sub LINES) is below the line's threshold, i.e. if
 * U < p for the library's uniform U of that word (rpu__pulse_threshold).
 * Only the words of lines that can fire are drawn: a run of silent lines
 * at either end of a fill is skipped (the positions do not move). */
static void line_masks(const rpu__pulse *p, slot *v, const sample_ctx *sc,
                       int l0, int l1, uint32_t *buf) {
  (void)p;
  rpu_rng_stream s = sc->stream;
  s.sub = RPU__PULSE_SUB_LINES;
  int bl = sc->bl.bl, nw = sc->nw;
  int per = bl <= DRAW_CHUNK ? DRAW_CHUNK / bl : 1; /* lines per fill */
  for (int la = l0; la < l1; la += per) {
    int lb = la + per < l1 ? la + per : l1;
    if (nw == 1) {
      for (int l = la; l < lb; l++) v->masks[l] = 0;
    } else {
      memset(v->masks + (size_t)la * nw, 0,
             (size_t)(lb - la) * (size_t)nw * sizeof *v->masks);
    }
    int fa = la, fb = lb; /* lines that can fire: fa..fb-1 */
    while (fa < fb && v->thr[fa] == 0) fa++;
    while (fb > fa && v->thr[fb - 1] == 0) fb--;
    if (fa == fb) continue;
    for (int k0 = 0; k0 < bl; k0 += DRAW_CHUNK) { /* one pass unless bl > chunk */
      int kn = bl - k0 < DRAW_CHUNK ? bl - k0 : DRAW_CHUNK;
      size_t n = bl <= DRAW_CHUNK ? (size_t)(fb - fa) * (size_t)bl : (size_t)kn;
      rpu_rng_fill_u32(&s, (uint64_t)fa * (uint64_t)bl + (uint64_t)k0, buf, n);
#ifdef RPU__PULSE_AVX512
      if (nw == 1 && sc->avx512 && bl <= GATHER_MAX_BL) {
        rpu__pulse_slot_masks8_avx512(buf, fb - fa, bl, v->thr + fa,
                                      v->masks + fa);
        continue;
      }
#endif
      for (int l = fa; l < fb; l++) {
        uint32_t t = v->thr[l];
        if (t == 0) continue;
        const uint32_t *wd = buf + (bl <= DRAW_CHUNK ? (size_t)(l - fa) * bl : 0);
        uint64_t *m = v->masks + (size_t)l * nw;
        if (nw == 1) {
#ifdef RPU__PULSE_AVX512
          if (sc->avx512) {
            m[0] = rpu__pulse_slot_mask_avx512(wd, bl, t);
            continue;
          }
#endif
          uint64_t mk = 0;
          for (int k = 0; k < bl; k++) mk |= (uint64_t)((wd[k] >> 9) < t) << k;
          m[0] = mk;
        } else {
          for (int k = 0; k < kn; k++) {
            int sl = k0 + k;
            m[sl >> 6] |= (uint64_t)((wd[k] >> 9) < t) << (sl & 63);
          }
        }
      }
    }
  }
}

/* The active x lines in the order their coincidences are handed over:
 * ascending columns; for STOCHASTIC positive-x columns first, then the
 * negative ones (the two-phase scheme of §3.3).  With one mask word per
 * line, xany = the OR of the active x masks (a d mask that misses it has
 * no coincidence); otherwise all ones. */
static void collect_x(const rpu__pulse *p, slot *v, const sample_ctx *sc) {
  int type = sc->up->pulse_type, nw = sc->nw, n = 0;
  int two_phase = type == RPU_PULSE_STOCHASTIC;
  uint64_t any_all = 0;
  if (type == RPU_PULSE_STOCHASTIC_COMPRESSED && nw == 1) {
    for (int j = 0; j < p->cols; j++) {
      uint64_t m = v->masks[j]; /* silent lines have an empty mask */
      v->xmask[n] = m;
      v->xcol[n] = j;
      v->xsign[n] = v->sign[j];
      any_all |= m;
      n += m != 0;
    }
    v->nx = n;
    v->xany = any_all;
    return;
  }
  for (int phase = 0; phase < (two_phase ? 2 : 1); phase++) {
    for (int j = 0; j < p->cols; j++) {
      int32_t sg = v->sign[j];
      if (sg == 0 || (two_phase && (phase == 0) != (sg > 0))) continue;
      if (is_stochastic(type)) {
        const uint64_t *m = v->masks + (size_t)j * nw;
        uint64_t any = 0;
        for (int k = 0; k < nw; k++) any |= m[k];
        if (any == 0) continue; /* no slot fired */
        memcpy(v->xmask + (size_t)n * nw, m, (size_t)nw * sizeof *m);
        any_all |= any;
      } else if (type == RPU_PULSE_MEAN_COUNT) {
        if (v->count[j] == 0) continue;
        v->xcount[n] = v->count[j];
      } else {
        v->xvalue[n] = v->value[j];
      }
      v->xcol[n] = j;
      v->xsign[n] = sg;
      n++;
    }
  }
  v->nx = n;
  v->xany = nw == 1 && is_stochastic(type) ? any_all : ~(uint64_t)0;
}

/* Row i: its signed counts over the active x lines, then one pulse_row
 * call with the device cursor (sub = i, step = sample).  Returns the
 * number of pulses.  A device with pulse_row_dense gets one count per
 * column instead (zeros for the silent ones), without compaction. */
static uint64_t row_update(const rpu__pulse *p, const slot *v,
                           const sample_ctx *sc, int i, int *cols,
                           int32_t *counts, int32_t *dense) {
  int l = p->cols + i;
  int32_t sd = v->sign[l];
  if (sd == 0 || v->nx == 0) return 0;
  if (sc->nw == 1 && is_stochastic(sc->up->pulse_type) &&
      (v->masks[l] & v->xany) == 0)
    return 0; /* no coincidence in this row */
  int type = sc->up->pulse_type, n = 0, bl = sc->bl.bl;
  uint64_t total = 0;
  rpu_rng_cursor cur;
  cur.stream = sc->stream;
  cur.stream.sub = (uint32_t)i;
  cur.pos = 0;
  float *w_row = sc->w.w + (size_t)i * sc->w.ld;
  if (sc->dense && is_stochastic(type)) {
    const uint64_t *dm = v->masks + (size_t)l * sc->nw;
#ifdef RPU__PULSE_AVX512
    if (sc->nw == 1 && sc->avx512) {
      if (dm[0] == 0) return 0;
      total = rpu__pulse_row_dense_bits1_avx512(dm[0], sd, v->masks, v->sign,
                                                p->cols, dense);
    } else
#endif
      total = rpu__pulse_row_dense_bits(dm, sc->nw, sd, v->masks, v->sign,
                                        p->cols, dense);
    if (total == 0) return 0;
    sc->dev->vt->pulse_row_dense(sc->dev->state, w_row, i, dense, &cur);
    return total;
  }
  if (is_stochastic(type)) {
    const uint64_t *dm = v->masks + (size_t)l * sc->nw;
    if (sc->nw == 1) {
      if (dm[0] == 0) return 0;
#ifdef RPU__PULSE_AVX512
      if (sc->avx512)
        n = rpu__pulse_row_counts_bits1_avx512(dm[0], sd, v->xmask, v->xcol,
                                               v->xsign, v->nx, cols, counts,
                                               &total);
      else
#endif
        n = rpu__pulse_row_counts_bits1(dm[0], sd, v->xmask, v->xcol, v->xsign,
                                        v->nx, cols, counts, &total);
    } else {
      n = rpu__pulse_row_counts_bitsn(dm, sc->nw, sd, v->xmask, v->xcol,
                                      v->xsign, v->nx, cols, counts, &total);
    }
  } else if (type == RPU_PULSE_MEAN_COUNT) {
    /* c = rint(n_d/BL · n_x), exactly, ties to even (§3.3) */
    int64_t nd = v->count[l];
    if (nd == 0) return 0;
    for (int k = 0; k < v->nx; k++) {
      int32_t c = div_round_even(nd * v->xcount[k], bl);
      cols[n] = v->xcol[k];
      counts[n] = c;
      total += (uint64_t)(c < 0 ? -(int64_t)c : c);
      n += c != 0;
    }
  } else { /* DETERMINISTIC_IMPLICIT: c = rint(BL·q_d·q_x) (§3.3) */
    double qd = (double)bl * v->value[l];
    for (int k = 0; k < v->nx; k++) {
      int32_t c = (int32_t)rint(qd * v->xvalue[k]);
      cols[n] = v->xcol[k];
      counts[n] = c;
      total += (uint64_t)(c < 0 ? -(int64_t)c : c);
      n += c != 0;
    }
  }
  if (n == 0) return 0;
  if (sc->dense) { /* MEAN_COUNT, DETERMINISTIC_IMPLICIT: scatter */
    memset(dense, 0, (size_t)p->cols * sizeof *dense);
    for (int k = 0; k < n; k++) dense[cols[k]] = counts[k];
    sc->dev->vt->pulse_row_dense(sc->dev->state, w_row, i, dense, &cur);
    return total;
  }
  sc->dev->vt->pulse_row(sc->dev->state, w_row, i, cols, counts, n, &cur);
  return total;
}

/* ----- Helpers ----------------------------------------------------------- */

/* num/den rounded to nearest, ties to even (rint of the exact quotient);
 * den > 0, |result| <= |num|. */
static int32_t div_round_even(int64_t num, int64_t den) {
  int64_t mag = num < 0 ? -num : num;
  int64_t q = mag / den, r = mag % den;
  if (2 * r > den || (2 * r == den && (q & 1))) q++;
  return (int32_t)(num < 0 ? -q : q);
}

static int team_size(void) {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

static int thread_num(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

static int is_stochastic(int type) {
  return type == RPU_PULSE_STOCHASTIC_COMPRESSED ||
         type == RPU_PULSE_STOCHASTIC;
}

static int sign_of(float v) { return v > 0.0f ? 1 : (v < 0.0f ? -1 : 0); }
