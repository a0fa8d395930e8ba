/* Analog linear layer: W split over a grid of tiles (SPEC.md §7.2), the
 * mapping periphery of §7.1 (weight scaling, learned out scaling, digital
 * or analog bias), the training step of §1.2 and torch's Linear
 * initialisation (§8.1, §8.4).
 *
 * Tile (io, ii) holds W[out block io, in block ii] / alpha (alpha: that
 * tile's mapping scales, 1 without weight scaling).  Per tile, as aihwkit's
 * TileWithPeriphery inside a TileModuleArray:
 *   forward   y_t = (tile(x) * alpha) * s          (s: learned out scales)
 *   backward  d_t = (d * s) * alpha
 *   update    d_u = (d * s) / (alpha * lr_scale),  lr_scale = 1/mean(alpha)
 *             with weight_scaling_lr_compensation, else 1.
 * Forward sums the y_t of one output block in float, then adds the
 * digital bias; backward sums the partial input gradients of one input
 * block likewise.
 *
 * Bias: digital (a float vector after the tiles) unless
 * mapping.digital_bias is false AND the layer is one tile; then the bias
 * is analog, the tile's last column with the constant input 1 (so it takes
 * pulses, the device bounds and the weight-scaling max).  A split layer
 * keeps its bias digital whatever digital_bias says: aihwkit's
 * TileModuleArray creates its tiles with bias=False and adds the bias of
 * the array in digital (SPEC.md §7.2).
 *
 * Saturated outputs: like aihwkit's tile wrapper (periphery.py, not in
 * SPEC.md), the backward pass zeroes the gradient of every tile output
 * whose forward value reached 0.999 * out_scale * out_bound in real units
 * (after noise and bound management, before any scale); the update still
 * sees the full gradient.  Only tiles with forward IO parameters do this
 * (not floating-point configs), each tile with its own outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/nn_internal.h"
#include "core/util/error.h"
#include "core/util/finite.h"
#include "rpu/nn.h"
#include "rpu/rng.h"

struct rpu_linear {
  int in, out, has_bias;
  int abias;                /* 1: analog bias, the last tile input is 1 */
  int n_in, n_out;          /* tile grid */
  int *in_off, *in_sz;      /* n_in each */
  int *out_off, *out_sz;    /* n_out each */
  rpu_tile **tiles;         /* n_out * n_in, index io * n_in + ii */
  float *bias;              /* digital bias (out floats), or NULL */
  double omega;             /* weight scaling target (§7.1); 0: off */
  int a_col, lr_comp;       /* alpha per output row; lr compensation */
  float *alpha;             /* mapping scales (layout: scale_index), or NULL */
  int s_col;                /* learned out scale per output row */
  float *s;                 /* learned out scales (same layout), or NULL */
  float *x_saved, *d_saved; /* last forward input / backward gradient */
  float *ys_saved;          /* with s: n_in x batch x out, y_t before * s */
  int x_batch, d_batch;     /* 0: nothing stored */
  size_t x_cap, d_cap, ys_cap; /* in floats */
  float *sx, *sy;           /* scratch: batch x tile in / out block */
  size_t sx_cap, sy_cap;
  int max_in_sz, max_out_sz;
  float ob_bound;           /* saturation level of tile outputs; 0: none */
  float *ob_mask;           /* with ob_bound: n_in x batch x out, 1 = saturated */
  size_t ob_cap;            /* in floats */
  int ob_any;               /* some output of the last forward saturated */
};

/* The scales of one tile: a (mapping) and s (learned), each NULL or one
 * value (col 0) or one per output row (col 1). */
typedef struct tile_scales {
  const float *a, *s;
  int a_col, s_col;
  float lr_scale;
} tile_scales;

static void gather_cols(const float *src, int ld, int off, int n, int batch, float *dst,
                        int dld);
static void add_cols(const float *src, int sld, int n, int batch, float *dst, int ld,
                     int off);
static int init_weights(rpu_linear *l, uint64_t seed, uint32_t base_id);
static size_t scale_count(const rpu_linear *l, int col);
static size_t scale_index(const rpu_linear *l, int col, int io, int ii);
static tile_scales scales_of(const rpu_linear *l, int io, int ii);
static float row_factor(const tile_scales *sc, int r);
static const float *tile_x(rpu_linear *l, const float *x, int ii, int batch);
static const float *tile_d(rpu_linear *l, const float *d, int io, int ii, int batch,
                           int for_update);
static void post_forward(rpu_linear *l, int io, int ii, float *ty, int batch);
static void scale_block(float *blk, int rows, int cols, double omega, int col,
                        float *alpha);
static int first_non_finite(const float *v, size_t n);
static void note_saturated(rpu_linear *l, int io, int ii, const float *ty, int batch);
static const float *zero_saturated(rpu_linear *l, int io, int ii, const float *td, int batch);
static rpu_tile *tile_at(const rpu_linear *l, int io, int ii) {
  return l->tiles[(size_t)io * l->n_in + ii];
}
static int tile_in(const rpu_linear *l, int ii) { return l->in_sz[ii] + l->abias; }

int rpu_linear_new(rpu_linear **out, rpu_context *ctx, const rpu_config *cfg,
                   int in_features, int out_features, int bias, uint64_t seed,
                   uint32_t base_tile_id) {
  static const char *origin = "rpu_linear_new";
  if (out == NULL || ctx == NULL || cfg == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_new: NULL argument");
  *out = NULL;
  if (in_features < 1 || out_features < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_new: features must be >= 1 (in %d, out %d)",
                          in_features, out_features);
  rpu_mapping_params mp;
  int rc = rpu_config_mapping_params(cfg, &mp);
  if (rc != 0) return rc;
  if (mp.input_range_enable)
    return rpu__error_set(RPU_EUNSUPPORTED, origin,
                          "rpu_linear_new: pre_post.input_range.enable is true, but the "
                          "input range (SPEC.md §7.3) is not implemented for layers; set "
                          "pre_post.input_range.enable to false");
  if (!(mp.weight_scaling_omega >= 0.0) || !isfinite(mp.weight_scaling_omega))
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_new: mapping.weight_scaling_omega must be finite and "
                          ">= 0 (got %g)",
                          mp.weight_scaling_omega);
  rpu_linear *l = calloc(1, sizeof *l);
  if (l == NULL) return rpu__error_set(RPU_ENOMEM, origin, "rpu_linear_new: out of memory");
  l->in = in_features;
  l->out = out_features;
  l->has_bias = bias ? 1 : 0;
  l->n_in = rpu__nn_split_count(in_features, mp.max_input_size);
  l->n_out = rpu__nn_split_count(out_features, mp.max_output_size);
  /* analog bias on one tile only (see the file comment); like aihwkit the
   * split decision looks at in_features, so the tile may get limit + 1 */
  l->abias = bias && !mp.digital_bias && l->n_in == 1 && l->n_out == 1;
  l->omega = mp.weight_scaling_omega;
  const rpu_io_params *fwd = rpu_config_forward(cfg);
  if (fwd != NULL && fwd->out_bound > 0.0 && isfinite(fwd->out_bound))
    l->ob_bound = (float)(0.999 * fwd->out_scale * fwd->out_bound);
  l->a_col = mp.weight_scaling_columnwise;
  l->lr_comp = mp.weight_scaling_lr_compensation;
  l->s_col = mp.out_scaling_columnwise;
  l->in_off = calloc((size_t)l->n_in * 2, sizeof(int));
  l->out_off = calloc((size_t)l->n_out * 2, sizeof(int));
  l->tiles = calloc((size_t)l->n_in * l->n_out, sizeof *l->tiles);
  int ok = l->in_off && l->out_off && l->tiles;
  if (ok && bias && !l->abias)
    ok = (l->bias = calloc((size_t)out_features, sizeof(float))) != NULL;
  if (ok) {
    l->in_sz = l->in_off + l->n_in;
    l->out_sz = l->out_off + l->n_out;
    size_t na = scale_count(l, l->a_col), ns = scale_count(l, l->s_col);
    if (l->omega > 0.0) ok = (l->alpha = malloc(na * sizeof(float))) != NULL;
    if (ok && mp.learn_out_scaling) ok = (l->s = malloc(ns * sizeof(float))) != NULL;
    for (size_t k = 0; ok && l->alpha && k < na; k++) l->alpha[k] = 1.0f;
    for (size_t k = 0; ok && l->s && k < ns; k++) l->s[k] = 1.0f; /* init 1 (§7.1) */
  }
  if (!ok) {
    rpu_linear_free(l);
    return rpu__error_set(RPU_ENOMEM, origin, "rpu_linear_new: out of memory");
  }
  for (int i = 0; i < l->n_in; i++) {
    rpu__nn_split_part(in_features, l->n_in, i, &l->in_off[i], &l->in_sz[i]);
    if (l->in_sz[i] > l->max_in_sz) l->max_in_sz = l->in_sz[i];
  }
  for (int i = 0; i < l->n_out; i++) {
    rpu__nn_split_part(out_features, l->n_out, i, &l->out_off[i], &l->out_sz[i]);
    if (l->out_sz[i] > l->max_out_sz) l->max_out_sz = l->out_sz[i];
  }
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      uint32_t id = base_tile_id + (uint32_t)(io * l->n_in + ii);
      rc = rpu_tile_new_with_id(&l->tiles[(size_t)io * l->n_in + ii], ctx, cfg,
                                l->out_sz[io], tile_in(l, ii), seed, id);
    }
  if (rc == 0) rc = init_weights(l, seed, base_tile_id);
  if (rc != 0) {
    rpu_linear_free(l);
    return rc;
  }
  *out = l;
  return 0;
}

void rpu_linear_free(rpu_linear *l) {
  if (l == NULL) return;
  if (l->tiles)
    for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++) rpu_tile_free(l->tiles[k]);
  free(l->tiles);
  free(l->in_off);
  free(l->out_off);
  free(l->bias);
  free(l->alpha);
  free(l->s);
  free(l->x_saved);
  free(l->d_saved);
  free(l->ys_saved);
  free(l->ob_mask);
  free(l->sx);
  free(l->sy);
  free(l);
}

int rpu_linear_in_features(const rpu_linear *l) { return l ? l->in : 0; }
int rpu_linear_out_features(const rpu_linear *l) { return l ? l->out : 0; }

int rpu_linear_tile_grid(const rpu_linear *l, int *n_in, int *n_out) {
  if (l == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_linear_tile_grid",
                          "rpu_linear_tile_grid: layer must not be NULL");
  if (n_in) *n_in = l->n_in;
  if (n_out) *n_out = l->n_out;
  return 0;
}

rpu_tile *rpu_linear_tile(rpu_linear *l, int i_out, int i_in) {
  if (l == NULL || i_out < 0 || i_in < 0 || i_out >= l->n_out || i_in >= l->n_in)
    return NULL;
  return tile_at(l, i_out, i_in);
}

int rpu_linear_forward(rpu_linear *l, const float *x, float *y, int batch) {
  static const char *origin = "rpu_linear_forward";
  if (l == NULL || x == NULL || y == NULL || batch < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_forward: NULL argument or batch < 1");
  l->x_batch = l->d_batch = 0;
  int rc = rpu__nn_grow(&l->x_saved, &l->x_cap, (size_t)batch * l->in, origin);
  if (rc == 0)
    rc = rpu__nn_grow(&l->sx, &l->sx_cap, (size_t)batch * (l->max_in_sz + l->abias), origin);
  if (rc == 0) rc = rpu__nn_grow(&l->sy, &l->sy_cap, (size_t)batch * l->max_out_sz, origin);
  if (rc == 0 && l->s)
    rc = rpu__nn_grow(&l->ys_saved, &l->ys_cap, (size_t)l->n_in * batch * l->out, origin);
  if (rc == 0 && l->ob_bound > 0.0f)
    rc = rpu__nn_grow(&l->ob_mask, &l->ob_cap, (size_t)l->n_in * batch * l->out, origin);
  if (rc != 0) return rc;
  l->ob_any = 0;
  memcpy(l->x_saved, x, (size_t)batch * l->in * sizeof(float));
  int single = l->n_in == 1 && l->n_out == 1; /* the tile writes y itself */
  if (!single) memset(y, 0, (size_t)batch * l->out * sizeof(float));
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      float *ty = single ? y : l->sy;
      rc = rpu_tile_forward(tile_at(l, io, ii), tile_x(l, x, ii, batch), ty, batch);
      if (rc != 0) break;
      if (l->ob_bound > 0.0f) note_saturated(l, io, ii, ty, batch);
      post_forward(l, io, ii, ty, batch);
      if (!single) add_cols(ty, l->out_sz[io], l->out_sz[io], batch, y, l->out, l->out_off[io]);
    }
  if (rc != 0) return rc;
  if (l->bias)
    for (int b = 0; b < batch; b++) {
      float *row = y + (size_t)b * l->out;
      for (int j = 0; j < l->out; j++) row[j] += l->bias[j];
    }
  l->x_batch = batch;
  return 0;
}

int rpu_linear_backward(rpu_linear *l, const float *d, float *dx, int batch) {
  static const char *origin = "rpu_linear_backward";
  if (l == NULL || d == NULL || batch < 1)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_backward: NULL argument or batch < 1");
  if (l->x_batch == 0)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_backward: no forward pass to go back through");
  if (batch != l->x_batch)
    return rpu__error_set(RPU_ESHAPE, origin,
                          "rpu_linear_backward: batch %d differs from the forward's %d",
                          batch, l->x_batch);
  l->d_batch = 0;
  int rc = rpu__nn_grow(&l->d_saved, &l->d_cap, (size_t)batch * l->out, origin);
  if (rc != 0) return rc;
  memcpy(l->d_saved, d, (size_t)batch * l->out * sizeof(float));
  if (dx != NULL) {
    /* one tile without analog bias writes dx itself */
    int direct = l->n_in == 1 && l->n_out == 1 && !l->abias;
    if (!direct) memset(dx, 0, (size_t)batch * l->in * sizeof(float));
    for (int ii = 0; ii < l->n_in && rc == 0; ii++)
      for (int io = 0; io < l->n_out && rc == 0; io++) {
        float *tx = direct ? dx : l->sx;
        const float *td = tile_d(l, d, io, ii, batch, 0);
        if (l->ob_any) td = zero_saturated(l, io, ii, td, batch);
        rc = rpu_tile_backward(tile_at(l, io, ii), td, tx, batch);
        /* the analog-bias column's gradient is dropped (input constant) */
        if (rc == 0 && !direct)
          add_cols(tx, tile_in(l, ii), l->in_sz[ii], batch, dx, l->in, l->in_off[ii]);
      }
    if (rc != 0) return rc;
  }
  l->d_batch = batch;
  return 0;
}

int rpu_linear_update(rpu_linear *l, float lr) {
  static const char *origin = "rpu_linear_update";
  if (l == NULL || !isfinite(lr))
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_update: NULL layer or non-finite lr");
  if (l->x_batch == 0 || l->d_batch != l->x_batch)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_update: needs a forward and a backward pass first");
  int batch = l->x_batch;
  l->x_batch = l->d_batch = 0; /* consumed: a second update needs new passes */
  if (lr == 0.0f) return 0;    /* SPEC.md §1.2 step 3 */
  /* The tiles refuse non-finite x or d; checking here first keeps the
   * layer all-or-nothing (no tile updated when a later one would fail). */
  const char *bad =
      first_non_finite(l->x_saved, (size_t)batch * l->in) ? "x (forward input)"
      : first_non_finite(l->d_saved, (size_t)batch * l->out) ? "d (backward gradient)"
      : l->s && first_non_finite(l->ys_saved, (size_t)l->n_in * batch * l->out)
          ? "tile output (forward)"
          : NULL;
  if (bad != NULL)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_update: the stored %s holds NaN or Inf; no tile was "
                          "updated",
                          bad);
  int rc = 0;
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++)
      rc = rpu_tile_update(tile_at(l, io, ii), tile_x(l, l->x_saved, ii, batch),
                           tile_d(l, l->d_saved, io, ii, batch, 1), batch, lr);
  if (rc != 0) return rc;
  /* digital parameters: plain SGD, p -= lr dL/dp (SPEC.md §1.2 step 3) */
  if (l->bias)
    for (int j = 0; j < l->out; j++) {
      float g = 0.0f;
      for (int b = 0; b < batch; b++) g += l->d_saved[(size_t)b * l->out + j];
      l->bias[j] -= lr * g;
    }
  /* dL/ds = sum_b d * y_t (y_t before * s), per row or over the tile */
  for (int io = 0; l->s && io < l->n_out; io++)
    for (int ii = 0; ii < l->n_in; ii++) {
      float *s = l->s + scale_index(l, l->s_col, io, ii);
      const float *ys = l->ys_saved + (size_t)ii * batch * l->out;
      double g_all = 0.0;
      for (int r = 0; r < l->out_sz[io]; r++) {
        int j = l->out_off[io] + r;
        double g = 0.0;
        for (int b = 0; b < batch; b++)
          g += (double)l->d_saved[(size_t)b * l->out + j] * ys[(size_t)b * l->out + j];
        if (l->s_col) s[r] -= lr * (float)g;
        g_all += g;
      }
      if (!l->s_col) s[0] -= lr * (float)g_all;
    }
  return 0;
}

int rpu_linear_post_update_step(rpu_linear *l) {
  if (l == NULL)
    return rpu__error_set(RPU_EINVAL, "rpu_linear_post_update_step",
                          "rpu_linear_post_update_step: layer must not be NULL");
  for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++) {
    int rc = rpu_tile_post_update_step(l->tiles[k]);
    if (rc != 0) return rc;
  }
  return 0;
}

/* W_eff = W_tile * alpha * s per row, SPEC.md §7.1 (get_weights with
 * apply_weight_scaling); an analog bias is the last tile column, scaled
 * alike. */
int rpu_linear_get_weights(rpu_linear *l, float *w, float *bias) {
  static const char *origin = "rpu_linear_get_weights";
  if (l == NULL || w == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_get_weights: NULL argument");
  float *blk = malloc((size_t)l->max_out_sz * (l->max_in_sz + l->abias) * sizeof(float));
  if (blk == NULL) return rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  int rc = 0;
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      rc = rpu_tile_get_weights(tile_at(l, io, ii), blk);
      tile_scales sc = scales_of(l, io, ii);
      int tin = tile_in(l, ii);
      for (int r = 0; r < l->out_sz[io] && rc == 0; r++) {
        float f = row_factor(&sc, r);
        const float *src = blk + (size_t)r * tin;
        float *dst = w + (size_t)(l->out_off[io] + r) * l->in + l->in_off[ii];
        for (int j = 0; j < l->in_sz[ii]; j++) dst[j] = src[j] * f;
        if (l->abias && bias) bias[l->out_off[io] + r] = src[l->in_sz[ii]] * f;
      }
    }
  free(blk);
  if (rc == 0 && bias && l->bias) memcpy(bias, l->bias, (size_t)l->out * sizeof(float));
  return rc;
}

/* Per tile, with weight scaling (SPEC.md §7.1): m = max|block| (per row if
 * columnwise, analog-bias column included), alpha = m / omega (1 where m is
 * 0), the tile gets block / alpha.  The learned out scales restart at 1
 * (aihwkit's set_scales), so that get_weights returns what was set. */
int rpu_linear_set_weights(rpu_linear *l, const float *w, const float *bias) {
  static const char *origin = "rpu_linear_set_weights";
  if (l == NULL || w == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_set_weights: NULL argument");
  /* checked for the whole layer first, so no tile changes on a refusal */
  size_t nw = (size_t)l->out * l->in, bad = rpu__first_non_finite(w, nw);
  if (bad < nw)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_set_weights: W[%zu][%zu] is not finite",
                          bad / (size_t)l->in, bad % (size_t)l->in);
  if (bias && l->has_bias &&
      (bad = rpu__first_non_finite(bias, (size_t)l->out)) < (size_t)l->out)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_set_weights: bias[%zu] is not finite",
                          bad);
  size_t na = l->alpha ? scale_count(l, l->a_col) : 0;
  float *blk = malloc((size_t)l->max_out_sz * (l->max_in_sz + l->abias) * sizeof(float));
  float *new_a = malloc((na ? na : 1) * sizeof(float));
  float *old_b = l->abias && !bias ? malloc((size_t)l->out * sizeof(float)) : NULL;
  int rc = 0;
  if (blk == NULL || new_a == NULL || (l->abias && !bias && old_b == NULL))
    rc = rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  /* an analog bias not given keeps its current effective value */
  if (rc == 0 && old_b) { /* analog bias: one tile, bias in its last column */
    rc = rpu_tile_get_weights(l->tiles[0], blk);
    tile_scales sc = scales_of(l, 0, 0);
    for (int r = 0; r < l->out && rc == 0; r++)
      old_b[r] = blk[(size_t)r * (l->in + 1) + l->in] * row_factor(&sc, r);
  }
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      int tin = tile_in(l, ii);
      for (int r = 0; r < l->out_sz[io]; r++) {
        memcpy(blk + (size_t)r * tin, w + (size_t)(l->out_off[io] + r) * l->in + l->in_off[ii],
               (size_t)l->in_sz[ii] * sizeof(float));
        if (l->abias) blk[(size_t)r * tin + l->in_sz[ii]] = bias ? bias[r] : old_b[r];
      }
      if (l->alpha)
        scale_block(blk, l->out_sz[io], tin, l->omega, l->a_col,
                    new_a + scale_index(l, l->a_col, io, ii));
      rc = rpu_tile_set_weights(tile_at(l, io, ii), blk);
    }
  if (rc == 0) {
    if (l->alpha) memcpy(l->alpha, new_a, na * sizeof(float));
    for (size_t k = 0; l->s && k < scale_count(l, l->s_col); k++) l->s[k] = 1.0f;
    if (bias && l->bias) memcpy(l->bias, bias, (size_t)l->out * sizeof(float));
  }
  free(blk);
  free(new_a);
  free(old_b);
  return rc;
}

size_t rpu_linear_digital_count(const rpu_linear *l) {
  if (l == NULL) return 0;
  return (l->bias ? (size_t)l->out : 0) + (l->s ? scale_count(l, l->s_col) : 0) +
         (l->alpha ? scale_count(l, l->a_col) : 0);
}

int rpu_linear_get_digital(const rpu_linear *l, float *out) {
  static const char *origin = "rpu_linear_get_digital";
  if (l == NULL || (out == NULL && rpu_linear_digital_count(l) > 0))
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_get_digital: NULL argument");
  size_t nb = l->bias ? (size_t)l->out : 0, ns = l->s ? scale_count(l, l->s_col) : 0;
  if (l->bias) memcpy(out, l->bias, nb * sizeof(float));
  if (l->s) memcpy(out + nb, l->s, ns * sizeof(float));
  if (l->alpha) memcpy(out + nb + ns, l->alpha, scale_count(l, l->a_col) * sizeof(float));
  return 0;
}

int rpu_linear_set_digital(rpu_linear *l, const float *in) {
  static const char *origin = "rpu_linear_set_digital";
  size_t n = rpu_linear_digital_count(l);
  if (l == NULL || (in == NULL && n > 0))
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_set_digital: NULL argument");
  size_t nb = l->bias ? (size_t)l->out : 0, ns = l->s ? scale_count(l, l->s_col) : 0;
  for (size_t k = 0; k < n; k++) {
    const char *part = k < nb ? "bias" : k < nb + ns ? "learned out scale" : "mapping scale";
    size_t at = k < nb ? k : k < nb + ns ? k - nb : k - nb - ns;
    if (!isfinite(in[k]))
      return rpu__error_set(RPU_EINVAL, origin,
                            "rpu_linear_set_digital: value %zu (%s %zu) is not finite", k,
                            part, at);
    if (k >= nb + ns && !(in[k] > 0.0f))
      return rpu__error_set(RPU_EINVAL, origin,
                            "rpu_linear_set_digital: value %zu (mapping scale %zu) is %g; "
                            "mapping scales must be > 0",
                            k, at, (double)in[k]);
  }
  if (l->bias) memcpy(l->bias, in, nb * sizeof(float));
  if (l->s) memcpy(l->s, in + nb, ns * sizeof(float));
  if (l->alpha) memcpy(l->alpha, in + nb + ns, (n - nb - ns) * sizeof(float));
  return 0;
}

/* ----- internal ------------------------------------------------------------ */

int rpu__nn_split_count(int n, int limit) {
  if (limit <= 0 || n <= limit) return 1;
  return (n + limit - 1) / limit; /* k = ceil(n / L), SPEC.md §7.2 */
}

void rpu__nn_split_part(int n, int k, int i, int *offset, int *size) {
  int base = n / k, extra = n % k; /* divmod(n, k), SPEC.md §7.2 */
  *size = base + (i < extra);
  *offset = i * base + (i < extra ? i : extra);
}

/* ----- helpers ------------------------------------------------------------ */

/* torch Linear: kaiming_uniform(a = sqrt 5) gives bound 1/sqrt(fan_in) for
 * W, and the bias bound is 1/sqrt(fan_in) too (SPEC.md §8.4). */
static int init_weights(rpu_linear *l, uint64_t seed, uint32_t base_id) {
  size_t nw = (size_t)l->out * l->in;
  float *w = malloc(nw * sizeof(float));
  float *b = l->has_bias ? malloc((size_t)l->out * sizeof(float)) : NULL;
  if (w == NULL || (l->has_bias && b == NULL)) {
    free(w);
    free(b);
    return rpu__error_set(RPU_ENOMEM, "rpu_linear_new", "rpu_linear_new: out of memory");
  }
  float bound = 1.0f / sqrtf((float)l->in);
  rpu_rng_stream s = rpu_rng_stream_make(seed, base_id, RPU_RNG_DATA);
  s.step = RPU__NN_INIT_STEP;
  rpu_rng_fill_uniform(&s, 0, w, nw);
  for (size_t k = 0; k < nw; k++) w[k] = bound * (2.0f * w[k] - 1.0f);
  if (b) {
    s.sub = 1;
    rpu_rng_fill_uniform(&s, 0, b, (size_t)l->out);
    for (int j = 0; j < l->out; j++) b[j] = bound * (2.0f * b[j] - 1.0f);
  }
  int rc = rpu_linear_set_weights(l, w, b);
  free(w);
  free(b);
  return rc;
}

/* Scales are stored tile by tile (tile index io * n_in + ii), one value
 * per tile, or out_sz[io] values per tile when columnwise. */
static size_t scale_count(const rpu_linear *l, int col) {
  return col ? (size_t)l->n_in * l->out : (size_t)l->n_in * l->n_out;
}

static size_t scale_index(const rpu_linear *l, int col, int io, int ii) {
  return col ? (size_t)l->out_off[io] * l->n_in + (size_t)ii * l->out_sz[io]
             : (size_t)io * l->n_in + ii;
}

static tile_scales scales_of(const rpu_linear *l, int io, int ii) {
  tile_scales sc = {NULL, NULL, l->a_col, l->s_col, 1.0f};
  if (l->s) sc.s = l->s + scale_index(l, l->s_col, io, ii);
  if (l->alpha) {
    sc.a = l->alpha + scale_index(l, l->a_col, io, ii);
    if (l->lr_comp) { /* lr_scale = 1 / mean(alpha) of this tile (§7.1) */
      int n = l->a_col ? l->out_sz[io] : 1;
      double m = 0.0;
      for (int r = 0; r < n; r++) m += sc.a[r];
      sc.lr_scale = (float)(n / m);
    }
  }
  return sc;
}

/* alpha s of output row r: tile weight -> effective weight (§7.1). */
static float row_factor(const tile_scales *sc, int r) {
  return (sc->a ? sc->a[sc->a_col ? r : 0] : 1.0f) * (sc->s ? sc->s[sc->s_col ? r : 0] : 1.0f);
}

/* The tile's input block: x itself for an unsplit input without analog
 * bias, else columns of x gathered into sx, with the constant 1 appended
 * for the analog bias. */
static const float *tile_x(rpu_linear *l, const float *x, int ii, int batch) {
  if (l->n_in == 1 && !l->abias) return x;
  int tin = tile_in(l, ii);
  gather_cols(x, l->in, l->in_off[ii], l->in_sz[ii], batch, l->sx, tin);
  if (l->abias)
    for (int b = 0; b < batch; b++) l->sx[(size_t)b * tin + l->in_sz[ii]] = 1.0f;
  return l->sx;
}

/* The tile's gradient block (SPEC.md §7.1): backward d_t = (d s) alpha,
 * update d_u = (d s) / (alpha lr_scale).  d itself when nothing applies. */
static const float *tile_d(rpu_linear *l, const float *d, int io, int ii, int batch,
                           int for_update) {
  tile_scales sc = scales_of(l, io, ii);
  if (l->n_out == 1 && sc.a == NULL && sc.s == NULL) return d;
  int n = l->out_sz[io];
  for (int b = 0; b < batch; b++) {
    const float *src = d + (size_t)b * l->out + l->out_off[io];
    float *dst = l->sy + (size_t)b * n;
    for (int r = 0; r < n; r++) {
      float v = src[r];
      if (sc.s) v *= sc.s[sc.s_col ? r : 0];
      if (sc.a) {
        float a = sc.a[sc.a_col ? r : 0];
        v = for_update ? v / (a * sc.lr_scale) : v * a;
      }
      dst[r] = v;
    }
  }
  return l->sy;
}

/* Marks the raw outputs ty (batch x out_sz[io]) of tile (io, ii) at or
 * beyond +-ob_bound (NaN is not marked, as torch's comparison). */
static void note_saturated(rpu_linear *l, int io, int ii, const float *ty, int batch) {
  const int n = l->out_sz[io];
  const float bound = l->ob_bound;
  int any = 0;
  for (int b = 0; b < batch; b++) {
    const float *row = ty + (size_t)b * n;
    float *m = l->ob_mask + ((size_t)ii * batch + b) * l->out + l->out_off[io];
    for (int r = 0; r < n; r++) {
      int sat = row[r] >= bound || row[r] <= -bound;
      m[r] = (float)sat;
      any |= sat;
    }
  }
  l->ob_any |= any;
}

/* td (batch x out_sz[io], tile_d's result) with the saturated outputs of
 * tile (io, ii) set to 0, in l->sy (tile_d's scratch, which td may be). */
static const float *zero_saturated(rpu_linear *l, int io, int ii, const float *td, int batch) {
  const int n = l->out_sz[io];
  float *dst = l->sy;
  if (td != dst) memcpy(dst, td, (size_t)batch * n * sizeof(float));
  for (int b = 0; b < batch; b++) {
    const float *m = l->ob_mask + ((size_t)ii * batch + b) * l->out + l->out_off[io];
    float *row = dst + (size_t)b * n;
    for (int r = 0; r < n; r++)
      if (m[r] != 0.0f) row[r] = 0.0f;
  }
  return dst;
}

/* ty (batch x out_sz[io]) <- (ty alpha) s in place, keeping ty alpha for
 * the gradient of s (SPEC.md §7.1 forward post-processing). */
static void post_forward(rpu_linear *l, int io, int ii, float *ty, int batch) {
  tile_scales sc = scales_of(l, io, ii);
  if (sc.a == NULL && sc.s == NULL) return;
  int n = l->out_sz[io];
  for (int b = 0; b < batch; b++) {
    float *row = ty + (size_t)b * n;
    float *ys = sc.s ? l->ys_saved + ((size_t)ii * batch + b) * l->out + l->out_off[io] : NULL;
    for (int r = 0; r < n; r++) {
      float v = row[r];
      if (sc.a) v *= sc.a[sc.a_col ? r : 0];
      if (ys) {
        ys[r] = v;
        v *= sc.s[sc.s_col ? r : 0];
      }
      row[r] = v;
    }
  }
}

/* alpha = max|W| / omega over the block or per row (0 -> 1), block /=
 * alpha (SPEC.md §7.1). */
static void scale_block(float *blk, int rows, int cols, double omega, int col,
                        float *alpha) {
  int groups = col ? rows : 1;
  size_t per = col ? (size_t)cols : (size_t)rows * cols;
  for (int g = 0; g < groups; g++) {
    float *p = blk + (size_t)g * per, m = 0.0f;
    for (size_t k = 0; k < per; k++) m = fmaxf(m, fabsf(p[k]));
    float a = (float)(m / omega);
    if (a == 0.0f || !isfinite(a)) a = 1.0f;
    alpha[g] = a;
    for (size_t k = 0; k < per; k++) p[k] /= a;
  }
}

static int first_non_finite(const float *v, size_t n) {
  return rpu__first_non_finite(v, n) < n;
}

int rpu__nn_grow(float **buf, size_t *cap, size_t need, const char *origin) {
  if (need <= *cap) return 0;
  float *p = realloc(*buf, need * sizeof(float));
  if (p == NULL) return rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  *buf = p;
  *cap = need;
  return 0;
}

/* dst (batch rows of stride dld) <- columns off..off+n-1 of src (batch x ld). */
static void gather_cols(const float *src, int ld, int off, int n, int batch, float *dst,
                        int dld) {
  for (int b = 0; b < batch; b++)
    memcpy(dst + (size_t)b * dld, src + (size_t)b * ld + off, (size_t)n * sizeof(float));
}

/* Columns off..off+n-1 of dst (batch x ld) += the first n columns of src
 * (batch rows of stride sld). */
static void add_cols(const float *src, int sld, int n, int batch, float *dst, int ld,
                     int off) {
  for (int b = 0; b < batch; b++) {
    const float *s = src + (size_t)b * sld;
    float *d = dst + (size_t)b * ld + off;
    for (int j = 0; j < n; j++) d[j] += s[j];
  }
}
