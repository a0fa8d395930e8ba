/* The analog MVM of one direction: DAC, ideal product, IR drop, offsets,
 * weight noise, ADC, noise and bound management (SPEC.md §2.2-§2.7).
 *
 * A call runs in rounds (SPEC.md §2.5).  Round 0 takes every sample with a
 * finite input and a positive noise-management scale; each later round
 * takes only the samples whose outputs saturated, with the bound-management
 * reduction r doubled.  A round is one "pass" over its samples:
 *
 *   prepare_rows   DAC of each sample row (§2.4 step 1)
 *   matmul         the ideal product of all rows: one sgemm (sgemv for one)
 *   nonideal       IR drop (two more sgemms), offsets, weight noise (§2.4.3)
 *   finalize_rows  ADC of each output row (§2.4 step 4)
 *
 * with the POS_NEG modes running the product and non-idealities twice.
 * Finished rows are rescaled into y (the first round writes y directly
 * when it covers the whole batch).  All buffers are grown once at the start
 * of a call, so nothing fails half-way.
 *
 * Threads: noise management and the DAC / ADC row loops share contiguous
 * row ranges out to the OpenMP threads (from PAR_MIN_ELEMS values on), the
 * product is blocked by blas.c; every random value is keyed by its
 * sample's position, so the bits do not depend on the thread count.
 *
 * Hot loops carry `omp simd` (GCC -O2 only vectorises loops with a
 * constant trip count otherwise); flags are tested outside the loops.
 * no-trapping-math lets GCC turn the selects of rounding and clipping into
 * blends: it only tells the compiler that FP exceptions never trap (the
 * library never unmasks them), so every result is bit-for-bit the same.
 * The row loops are also built for AVX2 and picked at run time
 * (RPU__CLONES_AVX2, core/util/simd.h); they are elementwise or exact
 * reductions (max, counts), so both builds give the same bits. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <limits.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "core/engine/io_pipeline.h"
#include "core/util/blas.h"
#include "core/util/error.h"
#include "core/util/simd.h"
#include "core/util/threads.h"



/* Kinds of random draws (low 4 bits of the sub-stream, header comment). */
enum { K_INP_SR = 0, K_INP_NOISE = 1, K_W_NOISE = 2, K_OUT_NOISE = 3, K_OUT_SR = 4 };

/* Per-sample state of a call. */
enum { S_ACTIVE = 0, S_ZERO = 1, S_NAN = 2 };

struct rpu__io {
  rpu_io_params p; /* as given */
  int n_out, n_in, backward, perfect;
  int rows, cols; /* shape of W */
  /* derived (SPEC.md §2.2) */
  int nm_on, bm_on;
  float inp_bound, out_bound; /* INFINITY when off */
  float inp_res, out_res;     /* absolute steps; 0 = off */
  float nm_thres;
  int has_nl, has_offsets, has_w_asym, has_ir;
  float nlf;
  float *v_offset;  /* n_out, offsets active */
  float *nl;        /* n_out, has_nl */
  float *w_asym;    /* rows x cols, w_read_asymmetry_dtod != 0 */
  float *out_sigma; /* n_out, out_noise_std > 0 */
  float *ir_pos;    /* n_in: 1 - (1 - j/n)^2, has_ir */
  float nm_own;
  float *nm_running;
  /* weight caches (rows x cols, contiguous) */
  int cache_ok;
  uint64_t cache_version;
  const float *cache_w;
  size_t cache_ld;
  float *w_abs, *w_neg, *w_neg_abs;
  /* call workspace (grown, never shrunk) */
  int cap_batch;
  float *alpha, *scale, *u, *u2, *yc, *y2, *t, *c1, *c2;
  float *scratch;    /* two random windows (rnd_win) per thread */
  int scratch_teams; /* threads the scratch has windows for */
  int *status, *idx, *idx_next, *fail, *sat;
};

/* What one pass works on. */
typedef struct pass_ctx {
  rpu__io *io;
  const float *x;
  const int *idx; /* samples of the pass, ascending */
  int count;
  int round;
  rpu_rng_stream rs; /* read stream with the caller's step and sub base */
  const float *w;
  size_t ld;
} pass_ctx;

static int check_params(const rpu_io_params *p, const char *dir);
static int sample_per_output(rpu__io *io, rpu_rng_cursor *c);
static int grow_workspace(rpu__io *io, int batch);
static int refresh_caches(rpu__io *io, const float *w, size_t ld,
                          uint64_t version);
static void noise_management(rpu__io *io, const float *x, int batch);
static void nm_range(rpu__io *io, const float *x, int b0, int b1);
static float np_sum_scale(const rpu__io *io, const float *xr);
static void run_pass(pass_ctx *c, float *yb);
static void prepare_rows(pass_ctx *c);
static void prepare_range(pass_ctx *c, int k0, int k1, float *buf);
static void finalize_range(pass_ctx *c, float *yb, int pass, int k0, int k1, float *buf);
static int pass_teams(const pass_ctx *c, int row_len);
static int team_first(int count, int t, int teams);
static void matmul(const rpu__io *io, const float *w, size_t ld,
                   const float *u, int count, float *yb, float alpha);
static void nonideal(pass_ctx *c, const float *u, float *yb, const float *wp,
                     size_t ldp, const float *wabs, int pass);
static void finalize_rows(pass_ctx *c, float *yb, int pass);
static void commit_row(const rpu__io *io, int b, const float *src, float *y);
static rpu_rng_stream draw_stream(const pass_ctx *c, int kind, int pass);
static inline float rint_f(float v);
static void *grow(void *p, size_t n, size_t size, int *ok);

/* Random values of the rows of a pass, drawn for a run of consecutive
 * samples in one fill (sample b's n values sit at positions b n .. b n +
 * n - 1 of their stream, so a run of samples is one contiguous range;
 * the values depend only on the positions, not on how they are drawn). */
#define RND_WIN 1024 /* floats per window (at least one row) */
#define PAR_MIN_ELEMS 16384 /* row values below which a pass stays on one thread */
typedef struct rnd_win {
  rpu_rng_stream s;
  int normal; /* normals, else uniforms */
  float *buf;
  size_t cap;
  int k0, k1; /* rows k0..k1-1 of the pass are in buf */
  int kend;   /* the caller asks for rows below kend only */
} rnd_win;
static void win_init(rnd_win *w, rpu_rng_stream s, int normal, float *buf,
                     size_t cap, int kend);
static const float *win_row(rnd_win *w, const pass_ctx *c, int k, int n);
static size_t win_half(const rpu__io *io);

/* ----- Public functions ------------------------------------------------- */

int rpu__io_new(rpu__io **out, const rpu_io_params *p, int n_out, int n_in,
                int is_backward, rpu_rng_cursor *construction,
                float *nm_running) {
  static const char fn[] = "rpu__io_new";
  if (out == NULL || p == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: out and p must not be NULL", fn);
  *out = NULL;
  if (n_out < 1 || n_in < 1 || (size_t)n_out > SIZE_MAX / sizeof(float) /
                                                   (size_t)n_in)
    return rpu__error_set(RPU_EINVAL, fn, "%s: bad size %d x %d", fn, n_out,
                          n_in);
  const char *dir = is_backward ? "backward" : "forward";
  int rc = check_params(p, dir);
  if (rc < 0) return rc;

  rpu__io *io = calloc(1, sizeof *io);
  if (io == NULL) return rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory", fn);
  io->p = *p;
  io->n_out = n_out;
  io->n_in = n_in;
  io->backward = is_backward != 0;
  io->rows = is_backward ? n_in : n_out;
  io->cols = is_backward ? n_out : n_in;
  io->nm_own = RPU__IO_NM_UNSET;
  io->nm_running = nm_running != NULL ? nm_running : &io->nm_own;
  io->nlf = 1.0f;
  io->perfect = p->is_perfect || p->mv_type == RPU_MV_IDEAL;
  if (io->perfect) {
    *out = io;
    return 0;
  }
  /* SPEC.md §2.2: checkRes (r < 0 -> 0, r > 1 -> 1/r), then the absolute
   * step r * 2 * bound with the bound as given: a bound <= 0 means
   * "infinite" and its resolution is off. */
  double ri = p->inp_res < 0 ? 0 : (p->inp_res > 1 ? 1 / p->inp_res : p->inp_res);
  double ro = p->out_res < 0 ? 0 : (p->out_res > 1 ? 1 / p->out_res : p->out_res);
  io->inp_res = p->inp_bound > 0 ? (float)(ri * 2 * p->inp_bound) : 0.0f;
  io->out_res = p->out_bound > 0 ? (float)(ro * 2 * p->out_bound) : 0.0f;
  io->inp_bound = p->inp_bound > 0 ? (float)p->inp_bound : INFINITY;
  io->out_bound = p->out_bound > 0 ? (float)p->out_bound : INFINITY;
  io->nm_on = p->noise_management != RPU_NM_NONE;
  io->nm_thres = io->nm_on ? (float)p->nm_thres : 0.0f;
  io->bm_on = !is_backward && p->bound_management != RPU_BM_NONE;
  io->has_offsets = p->v_offset_std > 0 || p->r_series > 0;
  io->has_nl = p->out_nonlinearity > 0 || p->r_series > 0;
  io->has_w_asym = p->w_read_asymmetry_dtod > 0 &&
                   p->mv_type != RPU_MV_ONE_PASS;
  io->has_ir = p->ir_drop > 0;
  if ((rc = sample_per_output(io, construction)) < 0) {
    rpu__io_free(io);
    return rc;
  }
  *out = io;
  return 0;
}

void rpu__io_free(rpu__io *io) {
  if (io == NULL) return;
  free(io->v_offset);
  free(io->nl);
  free(io->w_asym);
  free(io->out_sigma);
  free(io->ir_pos);
  free(io->w_abs);
  free(io->w_neg);
  free(io->w_neg_abs);
  free(io->alpha);
  free(io->scale);
  free(io->u);
  free(io->u2);
  free(io->yc);
  free(io->y2);
  free(io->t);
  free(io->c1);
  free(io->c2);
  free(io->scratch);
  free(io->status);
  free(io->idx);
  free(io->idx_next);
  free(io->fail);
  free(io->sat);
  free(io);
}

int rpu__io_is_perfect(const rpu__io *io) { return io != NULL && io->perfect; }

int rpu__io_mvm(rpu__io *io, const float *w, size_t ld, uint64_t w_version,
                const float *x, float *y, int batch,
                const rpu_rng_stream *read, rpu_tile_counters *counters) {
  static const char fn[] = "rpu__io_mvm";
  if (io == NULL || w == NULL || x == NULL || y == NULL || read == NULL)
    return rpu__error_set(RPU_EINVAL, fn, "%s: NULL argument", fn);
  if (batch < 1)
    return rpu__error_set(RPU_EINVAL, fn, "%s: batch %d < 1", fn, batch);
  if (ld < (size_t)io->cols || ld > INT_MAX)
    return rpu__error_set(RPU_EINVAL, fn, "%s: ld %zu for %d columns", fn, ld,
                          io->cols);
  const int n_out = io->n_out, n_in = io->n_in;
  if (io->perfect) { /* SPEC.md §2.5: y = out_scale W x, nothing else */
    matmul(io, w, ld, x, batch, y, (float)io->p.out_scale);
    return 0;
  }
  int rc;
  if ((rc = grow_workspace(io, batch)) < 0 ||
      (rc = refresh_caches(io, w, ld, w_version)) < 0)
    return rc;

  noise_management(io, x, batch); /* alpha and status of every sample */
  int count = 0;
  for (int b = 0; b < batch; b++) {
    float *yr = y + (size_t)b * (size_t)n_out;
    if (io->status[b] == S_ACTIVE)
      io->idx[count++] = b;
    else
      for (int i = 0; i < n_out; i++)
        yr[i] = io->status[b] == S_ZERO ? 0.0f : NAN;
  }

  const rpu_io_params *p = &io->p;
  uint64_t saturations = 0, repeats = 0;
  float r = 1.0f; /* bound-management reduction of this round */
  for (int round = 0; count > 0; round++) {
    if (round == 1 && p->bound_management == RPU_BM_ITERATIVE_WORST_CASE &&
        p->noise_management != RPU_NM_ABS_MAX_NP_SUM) {
      for (int k = 0; k < count; k++) {
        int b = io->idx[k];
        io->alpha[b] = np_sum_scale(io, x + (size_t)b * (size_t)n_in);
      }
      r = 1.0f;
    }
    for (int k = 0; k < count; k++) { /* SPEC.md §2.5: s = 1/alpha/r */
      int b = io->idx[k];
      float s = 1.0f;
      if (io->nm_on && io->alpha[b] > 0) s /= io->alpha[b];
      if (io->bm_on) s /= r;
      io->scale[b] = s;
    }
    pass_ctx c = {io, x, io->idx, count, round, *read, w, ld};
    float *yb = count == batch ? y : io->yc; /* whole batch: in place */
    run_pass(&c, yb);

    int stop = !io->bm_on || (double)r > (double)p->max_bm_factor ||
               (io->inp_res > 0 && (double)r > p->max_bm_res / io->inp_res);
    int next = 0;
    for (int k = 0; k < count; k++) {
      int b = io->idx[k];
      if (io->fail[k] && !stop) {
        io->idx_next[next++] = b;
        continue;
      }
      saturations += (uint64_t)io->sat[k];
      commit_row(io, b, yb + (size_t)k * (size_t)n_out, y);
    }
    repeats += (uint64_t)next;
    int *tmp = io->idx;
    io->idx = io->idx_next;
    io->idx_next = tmp;
    count = next;
    r *= 2.0f;
  }
  if (counters != NULL) {
    counters->saturations += saturations;
    counters->bm_repeats += repeats;
  }
  return 0;
}

/* ----- Set-up ------------------------------------------------------------ */

/* What the engine relies on; the config schema checks ranges too. */
static int check_params(const rpu_io_params *p, const char *dir) {
  static const char fn[] = "rpu__io_new";
  static const struct {
    const char *name;
    size_t off;
  } reals[] = {
#define R(f) {#f, offsetof(rpu_io_params, f)}
      R(inp_bound), R(inp_noise), R(inp_res), R(inp_asymmetry), R(out_bound),
      R(out_noise), R(out_noise_std), R(out_res), R(out_scale),
      R(out_asymmetry), R(w_noise), R(ir_drop), R(ir_drop_g_ratio),
      R(out_nonlinearity), R(out_nonlinearity_std), R(slope_calibration),
      R(v_offset_std), R(v_offset_w_min), R(r_series), R(r_series_max_total),
      R(w_read_asymmetry_dtod), R(max_bm_res), R(nm_thres),
      R(nm_assumed_wmax), R(nm_decay)
#undef R
  };
  for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
    double v;
    memcpy(&v, (const char *)p + reals[i].off, sizeof v);
    if (!isfinite(v))
      return rpu__error_set(RPU_ECONFIG, fn, "%s.%s: %g is not a finite number",
                            dir, reals[i].name, v);
  }
  if (p->mv_type < RPU_MV_IDEAL || p->mv_type > RPU_MV_POS_NEG_SEPARATE_DIGITAL_SUM)
    return rpu__error_set(RPU_ECONFIG, fn, "%s.mv_type: unknown value %d", dir,
                          p->mv_type);
  if (p->noise_management < RPU_NM_NONE ||
      p->noise_management > RPU_NM_AVERAGE_ABS_MAX)
    return rpu__error_set(RPU_ECONFIG, fn, "%s.noise_management: unknown value %d",
                          dir, p->noise_management);
  if (p->bound_management < RPU_BM_NONE ||
      p->bound_management > RPU_BM_ITERATIVE_WORST_CASE)
    return rpu__error_set(RPU_ECONFIG, fn, "%s.bound_management: unknown value %d",
                          dir, p->bound_management);
  if (p->w_noise_type < RPU_W_NOISE_NONE || p->w_noise_type > RPU_W_NOISE_PCM_READ)
    return rpu__error_set(RPU_ECONFIG, fn, "%s.w_noise_type: unknown value %d",
                          dir, p->w_noise_type);
  if (p->is_perfect || p->mv_type == RPU_MV_IDEAL) return 0;
  if (p->noise_management != RPU_NM_NONE && p->inp_bound != 1.0)
    return rpu__error_set(RPU_ECONFIG, fn,
                          "%s.inp_bound: %g must be 1 when noise_management is "
                          "on (SPEC.md §2.2)",
                          dir, p->inp_bound);
  if (p->ir_drop > 0 && !(p->ir_drop_g_ratio > 0))
    return rpu__error_set(RPU_ECONFIG, fn,
                          "%s.ir_drop_g_ratio: %g must be > 0 with ir_drop on",
                          dir, p->ir_drop_g_ratio);
  if (p->nm_decay < 0 || p->nm_decay > 1)
    return rpu__error_set(RPU_ECONFIG, fn, "%s.nm_decay: %g is not in [0, 1]",
                          dir, p->nm_decay);
  return 0;
}

/* SPEC.md §2.2: per-output quantities, drawn once in a fixed order. */
static int sample_per_output(rpu__io *io, rpu_rng_cursor *c) {
  static const char fn[] = "rpu__io_new";
  const rpu_io_params *p = &io->p;
  const int n = io->n_out;
  int need = io->has_offsets || io->has_nl || p->w_read_asymmetry_dtod != 0 ||
             p->out_noise_std > 0;
  if (need && c == NULL)
    return rpu__error_set(RPU_EINVAL, fn,
                          "%s: a construction stream is needed for the "
                          "per-output variations",
                          fn);
  int ok = 1;
  float b_out = isfinite(io->out_bound) ? io->out_bound : 1.0f;
  if (io->has_offsets && (io->v_offset = grow(NULL, (size_t)n, 4, &ok))) {
    rpu_rng_cursor_normal(c, io->v_offset, (size_t)n);
    for (int i = 0; i < n; i++) { /* half-rectified (SPEC.md §10.3) */
      float v = (float)p->v_offset_std * io->v_offset[i];
      io->v_offset[i] = v > 0 ? v : 0.0f;
    }
  }
  if (io->has_nl && (io->nl = grow(NULL, (size_t)n, 4, &ok))) {
    rpu_rng_cursor_normal(c, io->nl, (size_t)n);
    float sd = p->out_nonlinearity_std > 0 ? (float)p->out_nonlinearity_std : 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      io->nl[i] = fabsf((float)p->out_nonlinearity / b_out * (1.0f + sd * io->nl[i]));
      sum += io->nl[i];
    }
    if (!(p->out_nonlinearity > 0)) sum = 0;
    if (p->slope_calibration > 0) {
      double f = 1 + (sum / n + p->r_series) * p->slope_calibration * b_out;
      io->nlf = (float)(f * f);
    }
  }
  if (p->w_read_asymmetry_dtod != 0 &&
      (io->w_asym = grow(NULL, (size_t)n * (size_t)io->n_in, 4, &ok))) {
    size_t m = (size_t)n * (size_t)io->n_in;
    rpu_rng_cursor_normal(c, io->w_asym, m);
    for (size_t k = 0; k < m; k++)
      io->w_asym[k] = 1.0f + (float)p->w_read_asymmetry_dtod * io->w_asym[k];
  }
  if (p->out_noise_std > 0 && (io->out_sigma = grow(NULL, (size_t)n, 4, &ok))) {
    rpu_rng_cursor_normal(c, io->out_sigma, (size_t)n);
    for (int i = 0; i < n; i++)
      io->out_sigma[i] = fabsf((float)p->out_noise *
                               (1.0f + (float)p->out_noise_std * io->out_sigma[i]));
  }
  if (io->has_ir && (io->ir_pos = grow(NULL, (size_t)io->n_in, 4, &ok)))
    for (int j = 0; j < io->n_in; j++) { /* SPEC.md §2.6 */
      float q = 1.0f - (float)j / (float)io->n_in;
      io->ir_pos[j] = 1.0f - q * q;
    }
  return ok ? 0 : rpu__error_set(RPU_ENOMEM, fn, "%s: out of memory", fn);
}

/* Grows the call buffers to `batch` samples. */
static int grow_workspace(rpu__io *io, int batch) {
  int ok = 1;
  int teams = rpu__max_threads();
  if (teams > io->scratch_teams) { /* two random windows (rnd_win) each */
    io->scratch = grow(io->scratch, 2 * win_half(io) * (size_t)teams, sizeof(float), &ok);
    if (ok) io->scratch_teams = teams;
  }
  if (ok && batch > io->cap_batch) {
    size_t nb = (size_t)batch, ni = nb * (size_t)io->n_in,
           no = nb * (size_t)io->n_out;
    int pn = io->p.mv_type != RPU_MV_ONE_PASS;
    int extra = io->has_ir || io->p.w_noise_type == RPU_W_NOISE_PCM_READ;
    io->alpha = grow(io->alpha, nb, sizeof(float), &ok);
    io->scale = grow(io->scale, nb, sizeof(float), &ok);
    io->status = grow(io->status, nb, sizeof(int), &ok);
    io->idx = grow(io->idx, nb, sizeof(int), &ok);
    io->idx_next = grow(io->idx_next, nb, sizeof(int), &ok);
    io->fail = grow(io->fail, nb, sizeof(int), &ok);
    io->sat = grow(io->sat, nb, sizeof(int), &ok);
    io->u = grow(io->u, ni, sizeof(float), &ok);
    io->yc = grow(io->yc, no, sizeof(float), &ok);
    if (pn) io->u2 = grow(io->u2, ni, sizeof(float), &ok);
    if (pn) io->y2 = grow(io->y2, no, sizeof(float), &ok);
    if (extra) io->t = grow(io->t, ni, sizeof(float), &ok);
    if (extra) io->c1 = grow(io->c1, no, sizeof(float), &ok);
    if (io->has_ir) io->c2 = grow(io->c2, no, sizeof(float), &ok);
    if (ok) io->cap_batch = batch;
  }
  return ok ? 0
            : rpu__error_set(RPU_ENOMEM, "rpu__io_mvm",
                             "rpu__io_mvm: out of memory for a batch of %d",
                             batch);
}

/* |W| (IR drop, PCM_READ) and W * w_asym (negative pass of POS_NEG with
 * read asymmetry), recomputed when the caller's weights may have changed. */
static int refresh_caches(rpu__io *io, const float *w, size_t ld,
                          uint64_t version) {
  int need_abs = io->has_ir || io->p.w_noise_type == RPU_W_NOISE_PCM_READ;
  int need_neg = io->has_w_asym;
  if (!need_abs && !need_neg) return 0;
  if (io->cache_ok && version != 0 && version == io->cache_version &&
      w == io->cache_w && ld == io->cache_ld)
    return 0;
  size_t m = (size_t)io->rows * (size_t)io->cols;
  int ok = 1;
  if (need_abs && io->w_abs == NULL) io->w_abs = grow(NULL, m, 4, &ok);
  if (need_neg && io->w_neg == NULL) io->w_neg = grow(NULL, m, 4, &ok);
  if (need_abs && need_neg && io->w_neg_abs == NULL)
    io->w_neg_abs = grow(NULL, m, 4, &ok);
  if (!ok)
    return rpu__error_set(RPU_ENOMEM, "rpu__io_mvm",
                          "rpu__io_mvm: out of memory for weight caches");
  const int cols = io->cols;
  for (int i = 0; i < io->rows; i++) {
    const float *wr = w + (size_t)i * ld;
    size_t o = (size_t)i * (size_t)cols;
    if (need_abs) {
      RPU__SIMD
      for (int j = 0; j < cols; j++) io->w_abs[o + j] = fabsf(wr[j]);
    }
    if (need_neg) {
      RPU__SIMD
      for (int j = 0; j < cols; j++) io->w_neg[o + j] = wr[j] * io->w_asym[o + j];
    }
    if (need_abs && need_neg) {
      RPU__SIMD
      for (int j = 0; j < cols; j++) io->w_neg_abs[o + j] = fabsf(io->w_neg[o + j]);
    }
  }
  io->cache_ok = 1;
  io->cache_version = version;
  io->cache_w = w;
  io->cache_ld = ld;
  return 0;
}

/* ----- Noise management (SPEC.md §2.3) ----------------------------------- */

/* One scan per sample: max |x|, max x, finiteness; then alpha and status.
 * AVERAGE_ABS_MAX runs through the samples in order (the CPU discounts
 * within a batch) and skips non-finite samples. */
RPU__CLONES_AVX2 static void nm_range(rpu__io *io, const float *x, int b0, int b1) {
  const rpu_io_params *p = &io->p;
  const int n = io->n_in;
  const float thres = io->nm_thres;
  for (int b = b0; b < b1; b++) {
    const float *xr = x + (size_t)b * (size_t)n;
    float amax = 0.0f, mx = -INFINITY, chk = 0.0f;
#ifdef _OPENMP
#pragma omp simd reduction(max : amax, mx) reduction(+ : chk)
#endif
    for (int j = 0; j < n; j++) {
      float v = xr[j];
      float a = fabsf(v);
      amax = a > amax ? a : amax;
      mx = v > mx ? v : mx;
      chk += v * 0.0f; /* NaN iff some v is NaN or +-Inf */
    }
    if (chk != 0.0f) {
      io->status[b] = S_NAN;
      continue;
    }
    float alpha = 1.0f;
    switch (p->noise_management) {
    case RPU_NM_ABS_MAX:
      alpha = thres > 0 && thres < amax ? thres : amax;
      break;
    case RPU_NM_MAX:
      alpha = thres > 0 && thres < mx ? thres : mx;
      break;
    case RPU_NM_CONSTANT:
      alpha = thres > 0 ? thres : 1.0f;
      break;
    case RPU_NM_AVERAGE_ABS_MAX: {
      float *run = io->nm_running;
      float d = (float)p->nm_decay;
      *run = *run < 0 ? amax : *run * (1.0f - d) + d * amax;
      alpha = *run;
      break;
    }
    case RPU_NM_ABS_MAX_NP_SUM:
      alpha = np_sum_scale(io, xr);
      break;
    default:
      break;
    }
    io->alpha[b] = alpha;
    /* short cut: the output would be zero anyway (forward needs no input
     * noise, backward does not look at it) */
    int zero = io->nm_on && alpha <= 0 && (io->backward || !(p->inp_noise > 0));
    io->status[b] = zero ? S_ZERO : S_ACTIVE;
  }
}

/* Samples in contiguous ranges over the threads, except AVERAGE_ABS_MAX,
 * whose running value goes from sample to sample. */
static void noise_management(rpu__io *io, const float *x, int batch) {
  int nt = 1;
  if (io->p.noise_management != RPU_NM_AVERAGE_ABS_MAX &&
      (size_t)batch * (size_t)io->n_in >= PAR_MIN_ELEMS) {
    nt = rpu__max_threads();
    size_t most = (size_t)batch * (size_t)io->n_in / (PAR_MIN_ELEMS / 2);
    if ((size_t)nt > most) nt = (int)most;
  }
  if (nt <= 1) {
    nm_range(io, x, 0, batch);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), tn = omp_get_num_threads();
    nm_range(io, x, team_first(batch, t, tn), team_first(batch, t + 1, tn));
  }
#endif
}

/* ABS_MAX_NP_SUM (SPEC.md §2.3), also the worst-case BM scale (§2.5). */
static float np_sum_scale(const rpu__io *io, const float *xr) {
  const rpu_io_params *p = &io->p;
  float amax = 0.0f, ps = 0.0f, ns = 0.0f;
  for (int j = 0; j < io->n_in; j++) {
    float v = xr[j];
    float a = fabsf(v);
    amax = a > amax ? a : amax;
    ps += v > 0 ? v : 0.0f;
    ns += v < 0 ? v : 0.0f;
  }
  float sum = ps > -ns ? ps : -ns;
  if (io->nm_thres > 0 && io->nm_thres < amax) amax = io->nm_thres;
  float bound = isfinite(io->out_bound) ? io->out_bound : 1.0f;
  float s = sum * (float)p->nm_assumed_wmax / bound;
  if (io->inp_res > 0) {
    float cap = amax / io->inp_res * (float)p->max_bm_res;
    s = cap < s ? cap : s;
  }
  return amax > s ? amax : s;
}

/* ----- One pass (SPEC.md §2.4) -------------------------------------------- */

static void run_pass(pass_ctx *c, float *yb) {
  rpu__io *io = c->io;
  const int count = c->count;
  memset(io->fail, 0, (size_t)count * sizeof *io->fail);
  memset(io->sat, 0, (size_t)count * sizeof *io->sat);
  prepare_rows(c);
  const float *w_abs = io->w_abs;
  if (io->p.mv_type == RPU_MV_ONE_PASS) {
    matmul(io, c->w, c->ld, io->u, count, yb, 1.0f);
    nonideal(c, io->u, yb, c->w, c->ld, w_abs, 0);
    finalize_rows(c, yb, 0);
    return;
  }
  /* POS_NEG: the negative part through W * w_asym (if any), the positive
   * part through W; analog sum then one ADC, or two ADCs and a digital sum */
  size_t ni = (size_t)count * (size_t)io->n_in;
  float *up = io->u, *un = io->u2;
  RPU__SIMD
  for (size_t k = 0; k < ni; k++) {
    float v = up[k];
    un[k] = v < 0 ? v : 0.0f;
    up[k] = v > 0 ? v : 0.0f;
  }
  const float *wn = io->has_w_asym ? io->w_neg : c->w;
  size_t ldn = io->has_w_asym ? (size_t)io->cols : c->ld;
  const float *wn_abs = io->has_w_asym ? io->w_neg_abs : w_abs;
  matmul(io, wn, ldn, un, count, io->y2, 1.0f);
  nonideal(c, un, io->y2, wn, ldn, wn_abs, 0);
  matmul(io, c->w, c->ld, up, count, yb, 1.0f);
  nonideal(c, up, yb, c->w, c->ld, w_abs, 1);
  size_t no = (size_t)count * (size_t)io->n_out;
  if (io->p.mv_type == RPU_MV_POS_NEG_SEPARATE) {
    RPU__SIMD
    for (size_t k = 0; k < no; k++) yb[k] += io->y2[k];
    finalize_rows(c, yb, 0);
  } else {
    finalize_rows(c, io->y2, 0);
    finalize_rows(c, yb, 1);
    RPU__SIMD
    for (size_t k = 0; k < no; k++) yb[k] += io->y2[k];
  }
}

/* Step 1, the DAC: scale, discretise (rint, optionally stochastic), clip,
 * input noise, input asymmetry; rows k0..k1-1, random windows in buf. */
RPU__CLONES_AVX2 static void prepare_range(pass_ctx *c, int k0, int k1, float *buf) {
  rpu__io *io = c->io;
  const rpu_io_params *p = &io->p;
  const int n = io->n_in;
  const float res = io->inp_res, bound = io->inp_bound;
  const float noise = (float)p->inp_noise, asym = 1.0f - (float)p->inp_asymmetry;
  const int sto = p->inp_sto_round && res > 0, has_asym = p->inp_asymmetry != 0;
  const size_t half = win_half(io);
  rnd_win w_sr, w_noise;
  win_init(&w_sr, draw_stream(c, K_INP_SR, 0), 0, buf, half, k1);
  win_init(&w_noise, draw_stream(c, K_INP_NOISE, 0), 1, buf + half, half, k1);
  for (int k = k0; k < k1; k++) {
    const int b = c->idx[k];
    const float *xr = c->x + (size_t)b * (size_t)n;
    float *u = io->u + (size_t)k * (size_t)n;
    const float *rnd;
    const float s = io->scale[b];
    if (sto) {
      rnd = win_row(&w_sr, c, k, n);
      RPU__SIMD
      for (int j = 0; j < n; j++) {
        float v = rint_f(xr[j] * s / res + (rnd[j] - 0.5f)) * res;
        v = v > bound ? bound : v;
        u[j] = v < -bound ? -bound : v;
      }
    } else if (res > 0) {
      RPU__SIMD
      for (int j = 0; j < n; j++) {
        float v = rint_f(xr[j] * s / res) * res;
        v = v > bound ? bound : v;
        u[j] = v < -bound ? -bound : v;
      }
    } else {
      RPU__SIMD
      for (int j = 0; j < n; j++) {
        float v = xr[j] * s;
        v = v > bound ? bound : v;
        u[j] = v < -bound ? -bound : v;
      }
    }
    if (noise > 0) {
      rnd = win_row(&w_noise, c, k, n);
      RPU__SIMD
      for (int j = 0; j < n; j++) u[j] += noise * rnd[j];
    }
    if (has_asym) {
      RPU__SIMD
      for (int j = 0; j < n; j++) u[j] = u[j] < 0 ? u[j] * asym : u[j];
    }
  }
}

/* Steps 1 and 4 over all rows of the pass: contiguous row ranges shared
 * out to the threads, each with its own random windows.  Every random
 * value depends on its sample's position only (rnd_win), and rows do not
 * interact, so the result is the same for any thread count. */
static void prepare_rows(pass_ctx *c) {
  const int nt = pass_teams(c, c->io->n_in);
  if (nt <= 1) {
    prepare_range(c, 0, c->count, c->io->scratch);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), tn = omp_get_num_threads();
    prepare_range(c, team_first(c->count, t, tn), team_first(c->count, t + 1, tn),
                  c->io->scratch + 2 * win_half(c->io) * (size_t)t);
  }
#endif
}

static void finalize_rows(pass_ctx *c, float *yb, int pass) {
  const int nt = pass_teams(c, c->io->n_out);
  if (nt <= 1) {
    finalize_range(c, yb, pass, 0, c->count, c->io->scratch);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), tn = omp_get_num_threads();
    finalize_range(c, yb, pass, team_first(c->count, t, tn),
                   team_first(c->count, t + 1, tn),
                   c->io->scratch + 2 * win_half(c->io) * (size_t)t);
  }
#endif
}

/* Step 2: yb = W u (forward) or W^T u (backward) for `count` rows. */
static void matmul(const rpu__io *io, const float *w, size_t ld,
                   const float *u, int count, float *yb, float alpha) {
  const int lda = (int)ld;
  if (count == 1) { /* sgemv is much faster than sgemm with one row */
    memset(yb, 0, (size_t)io->n_out * sizeof *yb);
    rpu__sgemv(io->backward, io->rows, io->cols, alpha, w, lda, u, 0.0f, yb);
  } else {
    rpu__sgemm(0, !io->backward, count, io->n_out, io->n_in, alpha, u,
               io->n_in, w, lda, 0.0f, yb, io->n_out);
  }
}

/* Step 3 on one pass: IR drop (§2.6), offsets and series resistance
 * (§2.7), output-referred weight noise, each only if enabled.  u are the
 * pass's prepared inputs, wp / wabs its weights and their magnitudes. */
static void nonideal(pass_ctx *c, const float *u, float *yb, const float *wp,
                     size_t ldp, const float *wabs, int pass) {
  rpu__io *io = c->io;
  const rpu_io_params *p = &io->p;
  const int n_in = io->n_in, n_out = io->n_out, count = c->count;
  const size_t ni = (size_t)count * (size_t)n_in;
  const size_t no = (size_t)count * (size_t)n_out;
  if (io->has_ir) {
    /* c_i = sum_j |w_ij||u_j|; a = c n / g; q = a(a(0.05a - 0.2) + 0.5);
     * y_i -= q_i ir sum_j w_ij u_j (1 - (1 - j/n)^2) */
    float *t = io->t, *cur = io->c1, *z = io->c2;
    RPU__SIMD
    for (size_t k = 0; k < ni; k++) t[k] = fabsf(u[k]);
    matmul(io, wabs, (size_t)io->cols, t, count, cur, 1.0f);
    for (int k = 0; k < count; k++) {
      const float *ur = u + (size_t)k * (size_t)n_in;
      float *tr = t + (size_t)k * (size_t)n_in;
      RPU__SIMD
      for (int j = 0; j < n_in; j++) tr[j] = ur[j] * io->ir_pos[j];
    }
    matmul(io, wp, ldp, t, count, z, (float)p->ir_drop);
    const float a_scale = (float)n_in / (float)p->ir_drop_g_ratio;
    RPU__SIMD
    for (size_t k = 0; k < no; k++) {
      float a = a_scale * cur[k];
      yb[k] -= a * (a * (0.05f * a - 0.2f) + 0.5f) * z[k];
    }
  }
  if (io->has_offsets) {
    const float rs = p->r_series > 0 ? (float)p->r_series : 0.0f;
    const float cap = p->r_series_max_total < 3.4e38 ? (float)p->r_series_max_total
                                                     : 3.4e38f;
    const float wmin = (float)p->v_offset_w_min;
    for (int k = 0; k < count; k++) {
      const float *ur = u + (size_t)k * (size_t)n_in;
      float *y = yb + (size_t)k * (size_t)n_out;
      const float *vo = io->v_offset;
      if (wmin == 0.0f && rs <= 0) {
        RPU__SIMD
        for (int i = 0; i < n_out; i++) y[i] = y[i] * (1.0f - vo[i]);
        continue;
      }
      if (wmin == 0.0f) {
        RPU__SIMD
        for (int i = 0; i < n_out; i++) {
          float m = rs * fabsf(y[i]);
          y[i] = (1.0f - vo[i]) * y[i] / (1.0f + (m < cap ? m : cap));
        }
        continue;
      }
      float xs = 0.0f;
      for (int j = 0; j < n_in; j++) xs += ur[j];
      const float yref = -wmin * xs;
      if (rs <= 0) {
        RPU__SIMD
        for (int i = 0; i < n_out; i++)
          y[i] = y[i] * (1.0f - vo[i]) - vo[i] * (yref * 2.0f);
        continue;
      }
      const float mr = rs * fabsf(yref);
      const float nn = 1.0f + (mr < cap ? mr : cap);
      RPU__SIMD
      for (int i = 0; i < n_out; i++) {
        float yp = y[i] + yref;
        float m = rs * fabsf(yp);
        y[i] = (1.0f - vo[i]) * yp / (1.0f + (m < cap ? m : cap)) -
               (1.0f + vo[i]) * yref / nn;
      }
    }
  }
  if (p->w_noise_type == RPU_W_NOISE_NONE || !(p->w_noise > 0)) return;
  const float wn = (float)p->w_noise;
  const int pcm = p->w_noise_type == RPU_W_NOISE_PCM_READ;
  if (pcm) { /* y_i += w_noise sqrt(sum_j |w_ij| u_j^2) xi_i */
    RPU__SIMD
    for (size_t k = 0; k < ni; k++) io->t[k] = u[k] * u[k];
    matmul(io, wabs, (size_t)io->cols, io->t, count, io->c1, 1.0f);
  }
  const rpu_rng_stream s = draw_stream(c, K_W_NOISE, pass);
  for (int k = 0; k < count; k++) {
    float *y = yb + (size_t)k * (size_t)n_out;
    float *z = io->scratch;
    rpu_rng_fill_normal(&s, (uint64_t)c->idx[k] * (uint64_t)n_out, z,
                        (size_t)n_out);
    if (pcm) {
      const float *acc = io->c1 + (size_t)k * (size_t)n_out;
      for (int i = 0; i < n_out; i++) y[i] += wn * sqrtf(acc[i]) * z[i];
    } else { /* ADDITIVE_CONSTANT: y_i += w_noise |u|_2 xi_i */
      const float *ur = u + (size_t)k * (size_t)n_in;
      double ss = 0;
      for (int j = 0; j < n_in; j++) ss += (double)ur[j] * ur[j];
      const float sd = wn * (float)sqrt(ss);
      RPU__SIMD
      for (int i = 0; i < n_out; i++) y[i] += sd * z[i];
    }
  }
}

/* Step 4, the ADC: non-linearity, output asymmetry, output noise,
 * discretisation, clipping with the bound test.  Sets fail[k] (bound test
 * failed) and adds the saturated outputs to sat[k]. */
RPU__CLONES_AVX2 static void finalize_range(pass_ctx *c, float *yb, int pass, int k0,
                                            int k1, float *buf) {
  rpu__io *io = c->io;
  const rpu_io_params *p = &io->p;
  const int n = io->n_out;
  const float res = io->out_res, bound = io->out_bound, nlf = io->nlf;
  const float noise = (float)p->out_noise, asym = 1.0f - (float)p->out_asymmetry;
  const int sto = p->out_sto_round && res > 0, has_asym = p->out_asymmetry > 0;
  const int neg_test = p->bm_test_negative_bound;
  const size_t half = win_half(io);
  rnd_win w_noise, w_sr;
  win_init(&w_noise, draw_stream(c, K_OUT_NOISE, pass), 1, buf, half, k1);
  win_init(&w_sr, draw_stream(c, K_OUT_SR, pass), 0, buf + half, half, k1);
  for (int k = k0; k < k1; k++) {
    float *y = yb + (size_t)k * (size_t)n;
    const float *rnd;
    if (io->has_nl) {
      const float *nl = io->nl;
      RPU__SIMD
      for (int i = 0; i < n; i++) y[i] = nlf * y[i] / (1.0f + fabsf(nl[i] * y[i]));
    }
    if (has_asym) {
      RPU__SIMD
      for (int i = 0; i < n; i++) y[i] = y[i] < 0 ? y[i] * asym : y[i];
    }
    if (io->out_sigma != NULL) {
      const float *sig = io->out_sigma;
      rnd = win_row(&w_noise, c, k, n);
      RPU__SIMD
      for (int i = 0; i < n; i++) y[i] += sig[i] * rnd[i];
    } else if (noise > 0) {
      rnd = win_row(&w_noise, c, k, n);
      RPU__SIMD
      for (int i = 0; i < n; i++) y[i] += noise * rnd[i];
    }
    if (sto) {
      rnd = win_row(&w_sr, c, k, n);
      RPU__SIMD
      for (int i = 0; i < n; i++) y[i] = rint_f(y[i] / res + (rnd[i] - 0.5f)) * res;
    } else if (res > 0) {
      RPU__SIMD
      for (int i = 0; i < n; i++) y[i] = rint_f(y[i] / res) * res;
    }
    float hi = 0.0f, lo = 0.0f; /* counts, exact in float up to 2^24 */
#ifdef _OPENMP
#pragma omp simd reduction(+ : hi, lo)
#endif
    for (int i = 0; i < n; i++) {
      float v = y[i];
      hi += v > bound ? 1.0f : 0.0f;
      lo += v < -bound ? 1.0f : 0.0f;
      v = v > bound ? bound : v;
      y[i] = v < -bound ? -bound : v;
    }
    io->sat[k] += (int)(hi + lo);
    if (hi > 0 || (neg_test && lo > 0)) io->fail[k] = 1;
  }
}

/* SPEC.md §2.5: y = y out_scale / s (forward), y out_scale alpha
 * (backward, scaling only with noise management). */
RPU__CLONES_AVX2 static void commit_row(const rpu__io *io, int b, const float *src, float *y) {
  const int n = io->n_out;
  float *dst = y + (size_t)b * (size_t)n;
  float f = (float)io->p.out_scale;
  if (io->backward) {
    if (io->nm_on && io->alpha[b] > 0) f *= io->alpha[b];
  } else {
    f /= io->scale[b];
  }
  RPU__SIMD
  for (int i = 0; i < n; i++) dst[i] = src[i] * f;
}

/* ----- Helpers -------------------------------------------------------------- */

/* The stream of one kind of draw of this pass (header comment). */
static rpu_rng_stream draw_stream(const pass_ctx *c, int kind, int pass) {
  rpu_rng_stream s = c->rs;
  s.sub = c->rs.sub + ((uint32_t)c->round << 8 | (uint32_t)pass << 4 |
                       (uint32_t)kind);
  return s;
}

/* rint() in round-to-nearest-even without a library call, so that loops
 * vectorise on any x86-64: for |v| < 2^23 adding and subtracting 2^23
 * rounds to an integer in the current (default: nearest-even) mode; larger
 * floats are integers already; NaN passes through. */
static inline float rint_f(float v) {
  float a = fabsf(v);
  float r = copysignf((a + 0x1p23f) - 0x1p23f, v);
  return a < 0x1p23f ? r : v;
}

/* Threads for the row loops of a pass: one below PAR_MIN_ELEMS values
 * (thread start-up would cost more than it saves), at most one per
 * scratch team and one per PAR_MIN_ELEMS / 2 values. */
static int pass_teams(const pass_ctx *c, int row_len) {
  size_t elems = (size_t)c->count * (size_t)row_len;
  if (elems < PAR_MIN_ELEMS) return 1;
  int nt = rpu__max_threads();
  if (nt > c->io->scratch_teams) nt = c->io->scratch_teams;
  size_t most = elems / (PAR_MIN_ELEMS / 2);
  return (size_t)nt > most ? (int)most : nt;
}

/* First row of team t of `teams` over count rows (contiguous ranges). */
static int team_first(int count, int t, int teams) {
  return (int)((int64_t)count * t / teams);
}

/* realloc to n elements of `size` bytes; on failure keeps p and clears ok. */
static void *grow(void *p, size_t n, size_t size, int *ok) {
  if (!*ok) return p;
  void *q = realloc(p, n * size);
  if (q == NULL) {
    *ok = 0;
    return p;
  }
  return q;
}

/* Floats per random window: half the scratch buffer (grow_workspace). */
static size_t win_half(const rpu__io *io) {
  size_t len = (size_t)(io->n_in > io->n_out ? io->n_in : io->n_out);
  return len < RND_WIN ? RND_WIN : len;
}

static void win_init(rnd_win *w, rpu_rng_stream s, int normal, float *buf,
                     size_t cap, int kend) {
  w->s = s;
  w->normal = normal;
  w->buf = buf;
  w->cap = cap;
  w->k0 = w->k1 = 0;
  w->kend = kend;
}

/* The n values of row k of the pass (rows are asked for in ascending
 * order); a miss draws row k and the following rows whose samples are
 * consecutive, as many as the window holds. */
static const float *win_row(rnd_win *w, const pass_ctx *c, int k, int n) {
  if (k < w->k0 || k >= w->k1) {
    const int maxm = (int)(w->cap / (size_t)n); /* >= 1: cap >= n */
    int m = 1;
    while (m < maxm && k + m < w->kend && c->idx[k + m] == c->idx[k] + m) m++;
    const uint64_t pos = (uint64_t)c->idx[k] * (uint64_t)n;
    const size_t len = (size_t)m * (size_t)n;
    if (w->normal)
      rpu_rng_fill_normal(&w->s, pos, w->buf, len);
    else
      rpu_rng_fill_uniform(&w->s, pos, w->buf, len);
    w->k0 = k;
    w->k1 = k + m;
  }
  return w->buf + (size_t)(k - w->k0) * (size_t)n;
}
