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
 * elements differs, which no device can observe.
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
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    __GNUC__ >= 8
#include <immintrin.h>
#define PULSE_AVX512 1
#define PULSE_AVX512_TARGET                                                 \
  __attribute__((target("avx2,avx512f,avx512vl,avx512vpopcntdq")))
#endif

#define DRAW_CHUNK 4096        /* words per bulk fill (16 KiB per thread) */
#define PAR_MIN_WORK 16384     /* rows*cols below this: one thread */
#define ONE_THRESHOLD (1u << 23) /* rpu__pulse_threshold(1) */

struct rpu__pulse {
  int rows, cols;
  int lines; /* cols + rows: x lines first, then d lines */
  /* per line */
  uint32_t *thr;  /* stochastic: probability threshold */
  int32_t *sign;  /* +1 / -1 (d lines include sign(lr)); 0: silent */
  int32_t *count; /* MEAN_COUNT: signed count n (§3.3) */
  double *value;  /* DETERMINISTIC_IMPLICIT: signed q (§3.3) */
  uint64_t *masks; /* stochastic: nw words per line */
  int nw_cap;
  int simd; /* may use the AVX-512 kernels (CPU has them, not disabled) */
  /* the active x lines of the current sample, compacted */
  int *xcol;
  int32_t *xsign, *xcount;
  double *xvalue;
  uint64_t *xmask; /* nw words per active line */
  int nx;
  /* per sample */
  rpu__pulse_blab *plan;
  int plan_cap;
  /* per thread: cols ints, cols counts, DRAW_CHUNK words */
  void **scratch;
  int n_scratch;
};

typedef struct sample_ctx {
  const rpu_update_params *up;
  const rpu__pulse_device *dev;
  rpu_weights w;
  const float *x, *d; /* this sample's rows */
  double lr_sign;
  rpu__pulse_blab bl;
  double res, x_res, d_res;
  int nw;
  int avx512; /* use the AVX-512 kernel */
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
static int reserve(rpu__pulse *p, int nw, int threads);
static void lines_prepare(rpu__pulse *p, const sample_ctx *sc, int l0,
                          int l1, uint32_t *buf);
static void line_masks(rpu__pulse *p, const sample_ctx *sc, int l0, int l1,
                       uint32_t *buf);
static void collect_x(rpu__pulse *p, const sample_ctx *sc);
static uint64_t row_update(const rpu__pulse *p, const sample_ctx *sc, int i,
                           int *cols, int32_t *counts, int32_t *dense);
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
static int row_counts_bits1_avx512(uint64_t dm, int32_t sd, const uint64_t *xm,
                                   const int *xcol, const int32_t *xs, int nx,
                                   int *cols, int32_t *counts,
                                   uint64_t *total);
#endif
static int32_t div_round_even(int64_t num, int64_t den);
static int have_avx512(void);
static int max_threads(void);
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
  rpu__pulse_blab r = rpu__pulse_blab_base(up, lr, g);
  int ublm = up->update_bl_management != 0;
  int um = up->update_management != 0 || ublm; /* UM forced on by UBLM */
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
  if (p == NULL) goto nomem;
  p->rows = rows;
  p->cols = cols;
  p->lines = rows + cols;
  p->simd = have_avx512();
  size_t nl = (size_t)p->lines, nc = (size_t)cols;
  p->thr = malloc(nl * sizeof *p->thr);
  p->sign = malloc(nl * sizeof *p->sign);
  p->count = malloc(nl * sizeof *p->count);
  p->value = malloc(nl * sizeof *p->value);
  p->xcol = malloc(nc * sizeof *p->xcol);
  p->xsign = malloc(nc * sizeof *p->xsign);
  p->xcount = malloc(nc * sizeof *p->xcount);
  p->xvalue = malloc(nc * sizeof *p->xvalue);
  if (!p->thr || !p->sign || !p->count || !p->value || !p->xcol ||
      !p->xsign || !p->xcount || !p->xvalue)
    goto nomem;
  *out = p;
  return 0;
nomem:
  rpu__pulse_free(p);
  return rpu__error_set(RPU_ENOMEM, "pulse engine",
                        "pulse engine: out of memory for %d x %d", rows, cols);
}

int rpu__pulse_set_simd(rpu__pulse *p, int enable) {
  p->simd = enable && have_avx512();
  return p->simd;
}

void rpu__pulse_free(rpu__pulse *p) {
  if (p == NULL) return;
  free(p->thr);
  free(p->sign);
  free(p->count);
  free(p->value);
  free(p->masks);
  free(p->xcol);
  free(p->xsign);
  free(p->xcount);
  free(p->xvalue);
  free(p->xmask);
  free(p->plan);
  for (int t = 0; t < p->n_scratch; t++) free(p->scratch[t]);
  free(p->scratch);
  free(p);
}

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
  int nt = (double)w.rows * w.cols >= PAR_MIN_WORK ? max_threads() : 1;
  if ((rc = reserve(p, nw, nt)) < 0) return rc;

  sample_ctx base;
  memset(&base, 0, sizeof base);
  base.up = up;
  base.dev = dev;
  base.w = w;
  base.lr_sign = pc_lr < 0.0 ? -1.0 : 1.0;
  base.res = rpu__pulse_res(up->res);
  base.x_res = rpu__pulse_res(up->x_res_implicit);
  base.d_res = rpu__pulse_res(up->d_res_implicit);
  base.avx512 = p->simd;
  base.dense = has_dense(dev->vt);
  base.stream = stream;
  base.stream.purpose = RPU_RNG_UPDATE;
  uint64_t total = 0;
  int chunk_lines = 64; /* lines per work item of the line phase */

#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int tid = thread_num();
    int *cols = p->scratch[tid];
    int32_t *counts = (int32_t *)(cols + p->cols);
    int32_t *dense = counts + p->cols;
    uint32_t *buf = (uint32_t *)(dense + p->cols);
    uint64_t mine = 0;
    for (int s = 0; s < batch; s++) {
      sample_ctx sc = base;
      sc.bl = p->plan[s];
      if (sc.bl.bl == 0) continue; /* same decision on every thread */
      sc.x = x + (size_t)s * (size_t)w.cols;
      sc.d = d + (size_t)s * (size_t)w.rows;
      sc.nw = (sc.bl.bl + 63) / 64;
      sc.stream.step = (uint32_t)(first_sample + (uint64_t)s);
      int n_chunks = (p->lines + chunk_lines - 1) / chunk_lines;
#pragma omp for schedule(static)
      for (int c = 0; c < n_chunks; c++) {
        int l0 = c * chunk_lines;
        int l1 = l0 + chunk_lines < p->lines ? l0 + chunk_lines : p->lines;
        lines_prepare(p, &sc, l0, l1, buf);
      }
#pragma omp single
      collect_x(p, &sc);
#pragma omp for schedule(dynamic, 16)
      for (int i = 0; i < w.rows; i++) mine += row_update(p, &sc, i, cols, counts, dense);
    }
#pragma omp atomic
    total += mine;
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
    double x_max = 0.0, d_max = 0.0;
    for (int j = 0; j < p->cols; j++) {
      if (!isfinite(xs[j]))
        return rpu__error_set(RPU_EINVAL, "pulsed update",
                              "pulsed update: x[%d][%d] is %s; inputs must "
                              "be finite",
                              s, j, isnan(xs[j]) ? "NaN" : "infinite");
      double a = fabs((double)xs[j]);
      if (a > x_max) x_max = a;
    }
    for (int i = 0; i < p->rows; i++) {
      if (!isfinite(ds[i]))
        return rpu__error_set(RPU_EINVAL, "pulsed update",
                              "pulsed update: d[%d][%d] is %s; gradients "
                              "must be finite",
                              s, i, isnan(ds[i]) ? "NaN" : "infinite");
      double a = fabs((double)ds[i]);
      if (a > d_max) d_max = a;
    }
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

/* Grows the mask and per-thread buffers before anything is changed. */
static int reserve(rpu__pulse *p, int nw, int threads) {
  if (nw > p->nw_cap) {
    uint64_t *m = malloc((size_t)p->lines * (size_t)nw * sizeof *m);
    uint64_t *xm = malloc((size_t)p->cols * (size_t)nw * sizeof *xm);
    if (m == NULL || xm == NULL) {
      free(m);
      free(xm);
      goto nomem;
    }
    free(p->masks);
    free(p->xmask);
    p->masks = m;
    p->xmask = xm;
    p->nw_cap = nw;
  }
  if (threads > p->n_scratch) {
    void **sv = realloc(p->scratch, (size_t)threads * sizeof *sv);
    if (sv == NULL) goto nomem;
    p->scratch = sv;
    size_t bytes = (size_t)p->cols * (sizeof(int) + 2 * sizeof(int32_t)) +
                   DRAW_CHUNK * sizeof(uint32_t);
    while (p->n_scratch < threads) {
      void *b = malloc(bytes);
      if (b == NULL) goto nomem;
      p->scratch[p->n_scratch++] = b;
    }
  }
  return 0;
nomem:
  return rpu__error_set(RPU_ENOMEM, "pulsed update",
                        "pulsed update: out of memory for the pulse trains");
}

/* ----- Per-sample phases ----------------------------------------------- */

/* Lines l0..l1-1: sign, discretised probability (§3.2) and what the pulse
 * type makes of it (§3.3): a threshold and mask, a count, or a value.
 * Stochastic rounding draws one uniform per line (sub ROUND). */
static void lines_prepare(rpu__pulse *p, const sample_ctx *sc, int l0,
                          int l1, uint32_t *buf) {
  const rpu_update_params *up = sc->up;
  int type = up->pulse_type;
  int det = type == RPU_PULSE_DETERMINISTIC_IMPLICIT;
  float *u = (float *)buf; /* rounding draws; masks reuse buf afterwards */
  int sto = up->sto_round != 0;
  if (sto) {
    rpu_rng_stream rs = sc->stream;
    rs.sub = RPU__PULSE_SUB_ROUND;
    rpu_rng_fill_uniform(&rs, (uint64_t)l0, u, (size_t)(l1 - l0));
  }
  int bl = sc->bl.bl;
  for (int l = l0; l < l1; l++) {
    int is_x = l < p->cols;
    float v = is_x ? sc->x[l] : sc->d[l - p->cols];
    double scale = is_x ? sc->bl.b : sc->bl.a;
    double res = det ? (is_x ? sc->x_res : sc->d_res) : sc->res;
    int32_t sg = sign_of(v);
    if (!is_x && sc->lr_sign < 0.0) sg = -sg;
    double pp = rpu__pulse_discretize(scale * fabs((double)v), res, sto,
                                      sto ? u[l - l0] : 0.5f);
    if (!(pp > 0.0)) sg = 0; /* a silent line */
    p->sign[l] = sg;
    if (type == RPU_PULSE_MEAN_COUNT) {
      double n = rint((double)bl * pp);
      n = n < 0.0 ? 0.0 : (n > (double)bl ? (double)bl : n);
      p->count[l] = sg * (int32_t)n;
    } else if (det) {
      p->value[l] = sg * (pp > 1.0 ? 1.0 : pp);
    } else {
      p->thr[l] = sg != 0 ? rpu__pulse_threshold(pp) : 0u;
    }
  }
  if (is_stochastic(type)) line_masks(p, sc, l0, l1, buf);
}

/* BL-slot masks of lines l0..l1-1: slot k of line l fires if the word at
 * position l*BL + k (sub LINES) is below the line's threshold, i.e. if
 * U < p for the library's uniform U of that word (rpu__pulse_threshold). */
static void line_masks(rpu__pulse *p, const sample_ctx *sc, int l0, int l1,
                       uint32_t *buf) {
  rpu_rng_stream s = sc->stream;
  s.sub = RPU__PULSE_SUB_LINES;
  int bl = sc->bl.bl, nw = sc->nw;
  int per = bl <= DRAW_CHUNK ? DRAW_CHUNK / bl : 1; /* lines per fill */
  for (int la = l0; la < l1; la += per) {
    int lb = la + per < l1 ? la + per : l1;
    int any = 0;
    for (int l = la; l < lb; l++) any |= p->thr[l] != 0;
    for (int l = la; l < lb; l++) memset(p->masks + (size_t)l * nw, 0, (size_t)nw * 8);
    if (!any) continue;
    for (int k0 = 0; k0 < bl; k0 += DRAW_CHUNK) { /* one pass unless bl > chunk */
      int kn = bl - k0 < DRAW_CHUNK ? bl - k0 : DRAW_CHUNK;
      size_t n = bl <= DRAW_CHUNK ? (size_t)(lb - la) * (size_t)bl : (size_t)kn;
      rpu_rng_fill_u32(&s, (uint64_t)la * (uint64_t)bl + (uint64_t)k0, buf, n);
      for (int l = la; l < lb; l++) {
        uint32_t t = p->thr[l];
        if (t == 0) continue;
        const uint32_t *wd = buf + (bl <= DRAW_CHUNK ? (size_t)(l - la) * bl : 0);
        uint64_t *m = p->masks + (size_t)l * nw;
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
            int slot = k0 + k;
            m[slot >> 6] |= (uint64_t)((wd[k] >> 9) < t) << (slot & 63);
          }
        }
      }
    }
  }
}

/* The active x lines in the order their coincidences are handed over:
 * ascending columns; for STOCHASTIC positive-x columns first, then the
 * negative ones (the two-phase scheme of §3.3). */
static void collect_x(rpu__pulse *p, const sample_ctx *sc) {
  int type = sc->up->pulse_type, nw = sc->nw, n = 0;
  int two_phase = type == RPU_PULSE_STOCHASTIC;
  for (int phase = 0; phase < (two_phase ? 2 : 1); phase++) {
    for (int j = 0; j < p->cols; j++) {
      int32_t sg = p->sign[j];
      if (sg == 0 || (two_phase && (phase == 0) != (sg > 0))) continue;
      if (is_stochastic(type)) {
        const uint64_t *m = p->masks + (size_t)j * nw;
        uint64_t any = 0;
        for (int k = 0; k < nw; k++) any |= m[k];
        if (any == 0) continue; /* no slot fired */
        memcpy(p->xmask + (size_t)n * nw, m, (size_t)nw * sizeof *m);
      } else if (type == RPU_PULSE_MEAN_COUNT) {
        if (p->count[j] == 0) continue;
        p->xcount[n] = p->count[j];
      } else {
        p->xvalue[n] = p->value[j];
      }
      p->xcol[n] = j;
      p->xsign[n] = sg;
      n++;
    }
  }
  p->nx = n;
}

/* Row i: its signed counts over the active x lines, then one pulse_row
 * call with the device cursor (sub = i, step = sample).  Returns the
 * number of pulses.  A device with pulse_row_dense gets one count per
 * column instead (zeros for the silent ones), without compaction. */
static uint64_t row_update(const rpu__pulse *p, const sample_ctx *sc, int i,
                           int *cols, int32_t *counts, int32_t *dense) {
  int l = p->cols + i;
  int32_t sd = p->sign[l];
  if (sd == 0 || p->nx == 0) return 0;
  int type = sc->up->pulse_type, n = 0, bl = sc->bl.bl;
  uint64_t total = 0;
  rpu_rng_cursor cur;
  cur.stream = sc->stream;
  cur.stream.sub = (uint32_t)i;
  cur.pos = 0;
  float *w_row = sc->w.w + (size_t)i * sc->w.ld;
  if (sc->dense && is_stochastic(type)) {
    const uint64_t *dm = p->masks + (size_t)l * sc->nw;
#ifdef PULSE_AVX512
    if (sc->nw == 1 && sc->avx512) {
      if (dm[0] == 0) return 0;
      total = row_dense_bits1_avx512(dm[0], sd, p->masks, p->sign, p->cols,
                                     dense);
    } else
#endif
      total = row_dense_bits(dm, sc->nw, sd, p->masks, p->sign, p->cols,
                             dense);
    if (total == 0) return 0;
    sc->dev->vt->pulse_row_dense(sc->dev->state, w_row, i, dense, &cur);
    return total;
  }
  if (is_stochastic(type)) {
    const uint64_t *dm = p->masks + (size_t)l * sc->nw;
    if (sc->nw == 1) {
      if (dm[0] == 0) return 0;
#ifdef PULSE_AVX512
      if (sc->avx512)
        n = row_counts_bits1_avx512(dm[0], sd, p->xmask, p->xcol, p->xsign,
                                    p->nx, cols, counts, &total);
      else
#endif
        n = row_counts_bits1(dm[0], sd, p->xmask, p->xcol, p->xsign, p->nx,
                             cols, counts, &total);
    } else {
      n = row_counts_bitsn(dm, sc->nw, sd, p->xmask, p->xcol, p->xsign,
                           p->nx, cols, counts, &total);
    }
  } else if (type == RPU_PULSE_MEAN_COUNT) {
    /* c = rint(n_d/BL · n_x), exactly, ties to even (§3.3) */
    int64_t nd = p->count[l];
    if (nd == 0) return 0;
    for (int k = 0; k < p->nx; k++) {
      int32_t c = div_round_even(nd * p->xcount[k], bl);
      cols[n] = p->xcol[k];
      counts[n] = c;
      total += (uint64_t)(c < 0 ? -(int64_t)c : c);
      n += c != 0;
    }
  } else { /* DETERMINISTIC_IMPLICIT: c = rint(BL·q_d·q_x) (§3.3) */
    double qd = (double)bl * p->value[l];
    for (int k = 0; k < p->nx; k++) {
      int32_t c = (int32_t)rint(qd * p->xvalue[k]);
      cols[n] = p->xcol[k];
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
#endif

/* ----- Helpers ----------------------------------------------------------- */

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

/* num/den rounded to nearest, ties to even (rint of the exact quotient);
 * den > 0, |result| <= |num|. */
static int32_t div_round_even(int64_t num, int64_t den) {
  int64_t mag = num < 0 ? -num : num;
  int64_t q = mag / den, r = mag % den;
  if (2 * r > den || (2 * r == den && (q & 1))) q++;
  return (int32_t)(num < 0 ? -q : q);
}

static int max_threads(void) {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
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
