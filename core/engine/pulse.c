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
#include "core/util/error.h"
#include "core/util/simd.h"
#include "core/util/threads.h"

/* Popcount kernels: built for plain x86-64 and for CPUs with POPCNT,
 * chosen at load time (never -march=native; same results either way).
 * On CPUs with AVX-512 VPOPCNTDQ the one-word kernel has a vector twin
 * (8 columns per step, compaction by vpcompressd), picked at run time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__ELF__) && !defined(__SANITIZE_ADDRESS__)
#define PULSE_CLONES __attribute__((target_clones("default", "popcnt")))
#else
#define PULSE_CLONES
#endif
#ifdef _OPENMP
#define PULSE_SIMD_UMAX _Pragma("omp simd reduction(max : mx)")
#else
#define PULSE_SIMD_UMAX
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    __GNUC__ >= 8
#include <immintrin.h>
#define PULSE_AVX512 1
#define PULSE_AVX512_TARGET                                                 \
  __attribute__((target("avx2,avx512f,avx512vl,avx512vpopcntdq")))
#endif

#define DRAW_CHUNK 4096        /* words per bulk fill (16 KiB per thread) */
#define PAR_MIN_WORK 65536     /* rows*cols*batch below this: one thread */
#define BLOCK_BYTES (512u << 10) /* sample slots of one block, about */
#define GATHER_MAX_BL 16       /* trains up to this: 8 lines per step */
#define ONE_THRESHOLD (1u << 23) /* rpu__pulse_threshold(1) */

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
static uint64_t row_dense_bits(const uint64_t *dm, int nw, int32_t sd,
                               const uint64_t *masks, const int32_t *sign,
                               int ncols, int32_t *dense);
static int row_counts_bits1(uint64_t dm, int32_t sd, const uint64_t *xm,
                            const int *xcol, const int32_t *xs, int nx,
                            int *cols, int32_t *counts, uint64_t *total);
static int row_counts_bitsn(const uint64_t *dm, int nw, int32_t sd,
                            const uint64_t *xm, const int *xcol,
                            const int32_t *xs, int nx, int *cols,
                            int32_t *counts, uint64_t *total);
static int has_dense(const rpu_device_vtable *vt);
#ifdef PULSE_AVX512
static uint64_t row_dense_bits1_avx512(uint64_t dm, int32_t sd,
                                       const uint64_t *masks,
                                       const int32_t *sign, int ncols,
                                       int32_t *dense);
static uint64_t slot_mask_avx512(const uint32_t *wd, int bl, uint32_t t);
static void slot_masks8_avx512(const uint32_t *wd, int n, int bl,
                               const uint32_t *thr, uint64_t *masks);
static int stoch_lines_avx2(const float *src, int n, double scale,
                            int32_t flip, int32_t *sign, uint32_t *thr);
static int row_counts_bits1_avx512(uint64_t dm, int32_t sd, const uint64_t *xm,
                                   const int *xcol, const int32_t *xs, int nx,
                                   int *cols, int32_t *counts,
                                   uint64_t *total);
#endif
static int32_t div_round_even(int64_t num, int64_t den);
static inline uint32_t threshold_of(double p);
static float absmax_checked(const float *v, int n, int *bad);
static void stoch_lines(const float *src, int n, double scale, int32_t flip,
                        int32_t *sign, uint32_t *thr, int avx2);
static int have_avx512(void);
static int have_avx2(void);
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

uint32_t rpu__pulse_threshold(double p) { return threshold_of(p); }

/* rpu__pulse_threshold, inlined into the hot loops. */
static inline uint32_t threshold_of(double p) {
  if (!(p > 0.0)) return 0;
  double q = p * (double)ONE_THRESHOLD - 0.5; /* T = ceil(q), exact */
  if (q >= (double)ONE_THRESHOLD) return ONE_THRESHOLD;
  if (q <= 0.0) return 0;
  uint32_t t = (uint32_t)q; /* floor; ceil without a libm call */
  return t + ((double)t < q);
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
  p->simd = have_avx512();
  p->avx2 = have_avx2();
  *out = p; /* slots, plans and scratch come with the first update */
  return 0;
}

int rpu__pulse_set_simd(rpu__pulse *p, int enable) {
  p->simd = enable && have_avx512();
  p->avx2 = enable && have_avx2();
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
    double x_max = absmax_checked(xs, p->cols, &bad_x);
    double d_max = absmax_checked(ds, p->rows, &bad_d);
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
      stoch_lines(sc->x + l0, lx - l0, sc->bl.b, 1, v->sign + l0, v->thr + l0,
                  sc->avx2);
    int ld = lx > l0 ? lx : l0; /* d lines: ld..l1-1 */
    if (l1 > ld)
      stoch_lines(sc->d + (ld - p->cols), l1 - ld, sc->bl.a,
                  sc->lr_sign < 0.0 ? -1 : 1, v->sign + ld, v->thr + ld,
                  sc->avx2);
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
      v->thr[l] = sg != 0 ? threshold_of(pp) : 0u;
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
#ifdef PULSE_AVX512
      if (nw == 1 && sc->avx512 && bl <= GATHER_MAX_BL) {
        slot_masks8_avx512(buf, fb - fa, bl, v->thr + fa, v->masks + fa);
        continue;
      }
#endif
      for (int l = fa; l < fb; l++) {
        uint32_t t = v->thr[l];
        if (t == 0) continue;
        const uint32_t *wd = buf + (bl <= DRAW_CHUNK ? (size_t)(l - fa) * bl : 0);
        uint64_t *m = v->masks + (size_t)l * nw;
        if (nw == 1) {
#ifdef PULSE_AVX512
          if (sc->avx512) {
            m[0] = slot_mask_avx512(wd, bl, t);
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
#ifdef PULSE_AVX512
    if (sc->nw == 1 && sc->avx512) {
      if (dm[0] == 0) return 0;
      total = row_dense_bits1_avx512(dm[0], sd, v->masks, v->sign, p->cols,
                                     dense);
    } else
#endif
      total = row_dense_bits(dm, sc->nw, sd, v->masks, v->sign, p->cols,
                             dense);
    if (total == 0) return 0;
    sc->dev->vt->pulse_row_dense(sc->dev->state, w_row, i, dense, &cur);
    return total;
  }
  if (is_stochastic(type)) {
    const uint64_t *dm = v->masks + (size_t)l * sc->nw;
    if (sc->nw == 1) {
      if (dm[0] == 0) return 0;
#ifdef PULSE_AVX512
      if (sc->avx512)
        n = row_counts_bits1_avx512(dm[0], sd, v->xmask, v->xcol, v->xsign,
                                    v->nx, cols, counts, &total);
      else
#endif
        n = row_counts_bits1(dm[0], sd, v->xmask, v->xcol, v->xsign, v->nx,
                             cols, counts, &total);
    } else {
      n = row_counts_bitsn(dm, sc->nw, sd, v->xmask, v->xcol, v->xsign,
                           v->nx, cols, counts, &total);
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

/* ----- Kernels ----------------------------------------------------------- */

/* One mask word per line: count = popcount(d & x), signed by the row and
 * column signs (positive = down).  Branch-free compaction: every column
 * is written, the index only advances for a nonzero count. */
PULSE_CLONES static int row_counts_bits1(uint64_t dm, int32_t sd,
                                         const uint64_t *xm, const int *xcol,
                                         const int32_t *xs, int nx, int *cols,
                                         int32_t *counts, uint64_t *total) {
  int n = 0;
  uint64_t sum = 0;
  for (int k = 0; k < nx; k++) {
    int32_t c = (int32_t)__builtin_popcountll(dm & xm[k]);
    cols[n] = xcol[k];
    counts[n] = c * sd * xs[k];
    sum += (uint64_t)c;
    n += c != 0;
  }
  *total = sum;
  return n;
}

PULSE_CLONES static int row_counts_bitsn(const uint64_t *dm, int nw,
                                         int32_t sd, const uint64_t *xm,
                                         const int *xcol, const int32_t *xs,
                                         int nx, int *cols, int32_t *counts,
                                         uint64_t *total) {
  int n = 0;
  uint64_t sum = 0;
  for (int k = 0; k < nx; k++) {
    const uint64_t *m = xm + (size_t)k * nw;
    int32_t c = 0;
    for (int q = 0; q < nw; q++) c += (int32_t)__builtin_popcountll(dm[q] & m[q]);
    cols[n] = xcol[k];
    counts[n] = c * sd * xs[k];
    sum += (uint64_t)c;
    n += c != 0;
  }
  *total = sum;
  return n;
}

/* Dense counts of a row: for every column j, popcount(d & x_j) signed by
 * the row and column signs (silent columns have an empty mask and sign
 * 0, so they get 0).  Returns the number of pulses. */
PULSE_CLONES static uint64_t row_dense_bits(const uint64_t *dm, int nw,
                                            int32_t sd, const uint64_t *masks,
                                            const int32_t *sign, int ncols,
                                            int32_t *dense) {
  uint64_t sum = 0;
  if (nw == 1) {
    const uint64_t d0 = dm[0];
    for (int j = 0; j < ncols; j++) {
      int32_t c = (int32_t)__builtin_popcountll(d0 & masks[j]);
      dense[j] = c * sd * sign[j];
      sum += (uint64_t)c;
    }
    return sum;
  }
  for (int j = 0; j < ncols; j++) {
    const uint64_t *m = masks + (size_t)j * nw;
    int32_t c = 0;
    for (int q = 0; q < nw; q++) c += (int32_t)__builtin_popcountll(dm[q] & m[q]);
    dense[j] = c * sd * sign[j];
    sum += (uint64_t)c;
  }
  return sum;
}

#ifdef PULSE_AVX512
/* row_dense_bits with one mask word, 8 columns at a time (same output). */
PULSE_AVX512_TARGET static uint64_t row_dense_bits1_avx512(
    uint64_t dm, int32_t sd, const uint64_t *masks, const int32_t *sign,
    int ncols, int32_t *dense) {
  const __m512i vd = _mm512_set1_epi64((long long)dm);
  const __m256i vsd = _mm256_set1_epi32(sd);
  __m256i vsum = _mm256_setzero_si256(); /* <= 64 per lane and step */
  int j = 0;
  for (; j + 8 <= ncols; j += 8) {
    __m512i m =
        _mm512_and_si512(_mm512_loadu_si512((const void *)(masks + j)), vd);
    __m256i c = _mm512_cvtepi64_epi32(_mm512_popcnt_epi64(m));
    vsum = _mm256_add_epi32(vsum, c);
    __m256i sx = _mm256_loadu_si256((const __m256i *)(const void *)(sign + j));
    _mm256_storeu_si256((__m256i *)(void *)(dense + j),
                        _mm256_sign_epi32(_mm256_sign_epi32(c, sx), vsd));
  }
  uint32_t lanes[8];
  _mm256_storeu_si256((__m256i *)(void *)lanes, vsum);
  uint64_t sum = 0;
  for (int q = 0; q < 8; q++) sum += lanes[q];
  for (; j < ncols; j++) {
    int32_t c = (int32_t)__builtin_popcountll(dm & masks[j]);
    dense[j] = c * sd * sign[j];
    sum += (uint64_t)c;
  }
  return sum;
}

/* row_counts_bits1, 8 columns at a time: popcounts of (d & x) as 64-bit
 * lanes narrowed to 32 bits, signs applied with vpsignd, then the nonzero
 * lanes compressed to the front and stored whole (the store never passes
 * column k+8 <= nx, so the buffers need no slack); n advances by the
 * number of nonzero lanes.  Same output as the scalar kernel. */
PULSE_AVX512_TARGET static int row_counts_bits1_avx512(
    uint64_t dm, int32_t sd, const uint64_t *xm, const int *xcol,
    const int32_t *xs, int nx, int *cols, int32_t *counts, uint64_t *total) {
  const __m512i vd = _mm512_set1_epi64((long long)dm);
  const __m256i vsd = _mm256_set1_epi32(sd);
  __m256i vsum = _mm256_setzero_si256(); /* <= 64 per lane and step */
  int n = 0, k = 0;
  for (; k + 8 <= nx; k += 8) {
    __m512i m = _mm512_and_si512(_mm512_loadu_si512((const void *)(xm + k)), vd);
    __m256i c = _mm512_cvtepi64_epi32(_mm512_popcnt_epi64(m));
    __mmask8 nz = _mm256_test_epi32_mask(c, c);
    vsum = _mm256_add_epi32(vsum, c);
    __m256i sx = _mm256_loadu_si256((const __m256i *)(const void *)(xs + k));
    __m256i sc = _mm256_sign_epi32(_mm256_sign_epi32(c, sx), vsd);
    __m256i col = _mm256_loadu_si256((const __m256i *)(const void *)(xcol + k));
    _mm256_storeu_si256((__m256i *)(void *)(cols + n),
                        _mm256_maskz_compress_epi32(nz, col));
    _mm256_storeu_si256((__m256i *)(void *)(counts + n),
                        _mm256_maskz_compress_epi32(nz, sc));
    n += __builtin_popcount((unsigned)nz);
  }
  uint32_t lanes[8];
  _mm256_storeu_si256((__m256i *)(void *)lanes, vsum);
  uint64_t sum = 0;
  for (int q = 0; q < 8; q++) sum += lanes[q];
  for (; k < nx; k++) {
    int32_t c = (int32_t)__builtin_popcountll(dm & xm[k]);
    cols[n] = xcol[k];
    counts[n] = c * sd * xs[k];
    sum += (uint64_t)c;
    n += c != 0;
  }
  *total = sum;
  return n;
}

/* The slot mask of one line with bl <= 64 slots: bit k set if
 * (wd[k] >> 9) < t, 16 slots per compare; masked loads never touch words
 * beyond bl. */
PULSE_AVX512_TARGET static uint64_t slot_mask_avx512(const uint32_t *wd,
                                                     int bl, uint32_t t) {
  const __m512i vt = _mm512_set1_epi32((int)t);
  uint64_t m = 0;
  for (int k = 0; k < bl; k += 16) {
    __mmask16 lm = bl - k >= 16 ? (__mmask16)0xffff
                                : (__mmask16)((1u << (bl - k)) - 1u);
    __m512i v = _mm512_srli_epi32(_mm512_maskz_loadu_epi32(lm, wd + k), 9);
    m |= (uint64_t)_mm512_mask_cmplt_epu32_mask(lm, v, vt) << k;
  }
  return m;
}

/* The slot masks of n lines with bl <= 64 slots each, 8 lines per step:
 * the words of line l are wd[l*bl .. l*bl + bl - 1]; slot k of the 8
 * lines is one gather and one compare (bit k of the 8 masks).  Same
 * result as slot_mask_avx512 per line; a threshold 0 gives 0. */
PULSE_AVX512_TARGET static void slot_masks8_avx512(const uint32_t *wd, int n,
                                                   int bl,
                                                   const uint32_t *thr,
                                                   uint64_t *masks) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i vbl = _mm256_set1_epi32(bl), one = _mm256_set1_epi32(1);
  for (int l = 0; l < n; l += 8) {
    const __mmask8 lm =
        n - l >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - l)) - 1u);
    const __m256i t = _mm256_maskz_loadu_epi32(lm, thr + l);
    __m256i idx = _mm256_mullo_epi32(
        _mm256_add_epi32(lane, _mm256_set1_epi32(l)), vbl);
    __m512i acc = _mm512_setzero_si512(), bit = _mm512_set1_epi64(1);
    for (int k = 0; k < bl; k++) {
      __m256i w = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), lm,
                                               idx, (const int *)wd, 4);
      __mmask8 c =
          _mm256_mask_cmplt_epu32_mask(lm, _mm256_srli_epi32(w, 9), t);
      acc = _mm512_mask_or_epi64(acc, c, acc, bit);
      bit = _mm512_slli_epi64(bit, 1);
      idx = _mm256_add_epi32(idx, one);
    }
    _mm512_mask_storeu_epi64(masks + l, lm, acc);
  }
}

/* stoch_lines, four lines per step; returns the lines done (a multiple of
 * 4), the caller does the rest. */
__attribute__((target("avx2"))) static int stoch_lines_avx2(
    const float *src, int n, double scale, int32_t flip, int32_t *sign,
    uint32_t *thr) {
  const __m256d vs = _mm256_set1_pd(scale), zero = _mm256_setzero_pd();
  const __m256d one = _mm256_set1_pd((double)ONE_THRESHOLD);
  const __m256d half = _mm256_set1_pd(0.5);
  const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128i vflip = _mm_set1_epi32(flip);
  int k = 0;
  for (; k + 4 <= n; k += 4) {
    __m128 v = _mm_loadu_ps(src + k);
    __m256d pp = _mm256_mul_pd(_mm256_cvtps_pd(_mm_and_ps(v, absmask)), vs);
    __m256d q = _mm256_sub_pd(_mm256_mul_pd(pp, one), half);
    q = _mm256_min_pd(_mm256_max_pd(q, zero), one);
    __m128i t = _mm256_cvttpd_epi32(q);
    __m256d lt = _mm256_cmp_pd(_mm256_cvtepi32_pd(t), q, _CMP_LT_OQ);
    __m256d pos = _mm256_cmp_pd(pp, zero, _CMP_GT_OQ);
    /* the 64-bit compare masks narrowed to 32 bits (even words) */
    __m128 ltn = _mm_shuffle_ps(_mm_castpd_ps(_mm256_castpd256_pd128(lt)),
                                _mm_castpd_ps(_mm256_extractf128_pd(lt, 1)),
                                _MM_SHUFFLE(2, 0, 2, 0));
    __m128 posn = _mm_shuffle_ps(_mm_castpd_ps(_mm256_castpd256_pd128(pos)),
                                 _mm_castpd_ps(_mm256_extractf128_pd(pos, 1)),
                                 _MM_SHUFFLE(2, 0, 2, 0));
    t = _mm_sub_epi32(t, _mm_castps_si128(ltn)); /* mask -1: +1 */
    __m128i sg = _mm_sub_epi32(_mm_castps_si128(_mm_cmplt_ps(v, _mm_setzero_ps())),
                               _mm_castps_si128(_mm_cmpgt_ps(v, _mm_setzero_ps())));
    sg = _mm_and_si128(_mm_sign_epi32(sg, vflip), _mm_castps_si128(posn));
    _mm_storeu_si128((__m128i *)(void *)(sign + k), sg);
    _mm_storeu_si128((__m128i *)(void *)(thr + k), t);
  }
  return k;
}
#endif

/* ----- Helpers ----------------------------------------------------------- */

/* max |v_k| (as float: exact), and *bad = some v_k is not finite.  On
 * the bit patterns with the sign cleared: for finite floats the unsigned
 * order of those is the order of |v| (IEEE 754 layout), and infinities
 * and NaNs are exactly the patterns >= 0x7f800000 — one integer max
 * reduction, which vectorises well.  (With a non-finite value the
 * returned maximum is meaningless; the caller then reports the error.) */
RPU__CLONES_AVX2 static float absmax_checked(const float *v, int n, int *bad) {
  uint32_t mx = 0;
  PULSE_SIMD_UMAX
  for (int k = 0; k < n; k++) {
    uint32_t b;
    memcpy(&b, &v[k], sizeof b);
    b &= 0x7fffffffu;
    mx = b > mx ? b : mx;
  }
  *bad = mx >= 0x7f800000u;
  float f;
  memcpy(&f, &mx, sizeof f);
  return f;
}

/* Sign and threshold of n lines with values src, probability
 * p = scale |v| (no discretisation): sign 0 for a silent line (p = 0),
 * flip folds sign(lr) into d lines; threshold_of(p) each.  With AVX2 four
 * lines per step, branch-free: q = p 2^23 - 1/2 clamped to [0, 2^23],
 * then ceil q = trunc q + (trunc q < q) — threshold_of's value (p 2^23 is
 * exact, so the operations are the same; p is finite here). */
static void stoch_lines(const float *src, int n, double scale, int32_t flip,
                        int32_t *sign, uint32_t *thr, int avx2) {
  int k = 0;
#ifdef PULSE_AVX512
  if (avx2) k = stoch_lines_avx2(src, n, scale, flip, sign, thr);
#endif
  for (; k < n; k++) {
    float val = src[k];
    double pp = scale * fabs((double)val);
    int32_t sg = (val > 0.0f) - (val < 0.0f);
    sign[k] = pp > 0.0 ? flip * sg : 0;
    thr[k] = threshold_of(pp);
  }
}

/* Whether the AVX-512 kernel may run here (under valgrind the CPU reports
 * no AVX-512 and the scalar kernel runs). */
static int have_avx512(void) {
#ifdef PULSE_AVX512
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vpopcntdq");
#else
  return 0;
#endif
}

/* Whether the AVX2 kernels may run (cached: the CPU does not change). */
static int have_avx2(void) {
#ifdef PULSE_AVX512
  static int known = -1;
  int h = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (h < 0) {
    __builtin_cpu_init();
    h = __builtin_cpu_supports("avx2") != 0;
    __atomic_store_n(&known, h, __ATOMIC_RELAXED);
  }
  return h;
#else
  return 0;
#endif
}

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
