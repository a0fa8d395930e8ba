/* Analog linear layer: W split over a grid of tiles (SPEC.md §7.2), digital
 * bias and digital partial sums (§7.1, §7.2), the training step of §1.2 and
 * torch's Linear initialisation (§8.1, §8.4).
 *
 * Tile (io, ii) holds W[out block io, in block ii].  Forward sums the
 * partial outputs of one output block in float, then adds the bias;
 * backward sums the partial input gradients of one input block likewise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/nn_internal.h"
#include "core/util/error.h"
#include "rpu/nn.h"
#include "rpu/rng.h"

struct rpu_linear {
  int in, out, has_bias;
  int n_in, n_out;          /* tile grid */
  int *in_off, *in_sz;      /* n_in each */
  int *out_off, *out_sz;    /* n_out each */
  rpu_tile **tiles;         /* n_out * n_in, index io * n_in + ii */
  float *bias;              /* out floats, or NULL */
  float *x_saved, *d_saved; /* last forward input / backward gradient */
  int x_batch, d_batch;     /* 0: nothing stored */
  size_t x_cap, d_cap;      /* in floats */
  float *sx, *sy;           /* scratch: batch x block of in / out */
  size_t sx_cap, sy_cap;
  int max_in_sz, max_out_sz;
};

static int grow(float **buf, size_t *cap, size_t need, const char *origin);
static void gather_cols(const float *src, int ld, int off, int n, int batch, float *dst);
static void add_cols(const float *src, int n, int batch, float *dst, int ld, int off);
static int init_weights(rpu_linear *l, uint64_t seed, uint32_t base_id);
static rpu_tile *tile_at(const rpu_linear *l, int io, int ii) {
  return l->tiles[(size_t)io * l->n_in + ii];
}

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
  int max_in = 0, max_out = 0, digital_bias = 1;
  int rc = rpu_config_mapping(cfg, &max_in, &max_out, &digital_bias);
  if (rc != 0) return rc;
  if (bias && !digital_bias)
    return rpu__error_set(RPU_EUNSUPPORTED, origin,
                          "rpu_linear_new: an analog bias (mapping.digital_bias false) "
                          "is not supported yet; set mapping.digital_bias to true");
  rpu_linear *l = calloc(1, sizeof *l);
  if (l == NULL) return rpu__error_set(RPU_ENOMEM, origin, "rpu_linear_new: out of memory");
  l->in = in_features;
  l->out = out_features;
  l->has_bias = bias ? 1 : 0;
  l->n_in = rpu__nn_split_count(in_features, max_in);
  l->n_out = rpu__nn_split_count(out_features, max_out);
  l->in_off = calloc((size_t)l->n_in * 2, sizeof(int));
  l->out_off = calloc((size_t)l->n_out * 2, sizeof(int));
  l->tiles = calloc((size_t)l->n_in * l->n_out, sizeof *l->tiles);
  if (bias) l->bias = calloc((size_t)out_features, sizeof(float));
  if (!l->in_off || !l->out_off || !l->tiles || (bias && !l->bias)) {
    rpu_linear_free(l);
    return rpu__error_set(RPU_ENOMEM, origin, "rpu_linear_new: out of memory");
  }
  l->in_sz = l->in_off + l->n_in;
  l->out_sz = l->out_off + l->n_out;
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
                                l->out_sz[io], l->in_sz[ii], seed, id);
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
  free(l->x_saved);
  free(l->d_saved);
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
  int rc = grow(&l->x_saved, &l->x_cap, (size_t)batch * l->in, origin);
  if (rc == 0) rc = grow(&l->sx, &l->sx_cap, (size_t)batch * l->max_in_sz, origin);
  if (rc == 0) rc = grow(&l->sy, &l->sy_cap, (size_t)batch * l->max_out_sz, origin);
  if (rc != 0) return rc;
  memcpy(l->x_saved, x, (size_t)batch * l->in * sizeof(float));
  if (l->n_in == 1 && l->n_out == 1) {
    rc = rpu_tile_forward(l->tiles[0], x, y, batch);
  } else {
    memset(y, 0, (size_t)batch * l->out * sizeof(float));
    for (int io = 0; io < l->n_out && rc == 0; io++)
      for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
        const float *xb = x;
        if (l->n_in > 1) {
          gather_cols(x, l->in, l->in_off[ii], l->in_sz[ii], batch, l->sx);
          xb = l->sx;
        }
        rc = rpu_tile_forward(tile_at(l, io, ii), xb, l->sy, batch);
        if (rc == 0) add_cols(l->sy, l->out_sz[io], batch, y, l->out, l->out_off[io]);
      }
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
  int rc = grow(&l->d_saved, &l->d_cap, (size_t)batch * l->out, origin);
  if (rc != 0) return rc;
  memcpy(l->d_saved, d, (size_t)batch * l->out * sizeof(float));
  if (dx != NULL) {
    if (l->n_in == 1 && l->n_out == 1) {
      rc = rpu_tile_backward(l->tiles[0], d, dx, batch);
    } else {
      memset(dx, 0, (size_t)batch * l->in * sizeof(float));
      for (int ii = 0; ii < l->n_in && rc == 0; ii++)
        for (int io = 0; io < l->n_out && rc == 0; io++) {
          const float *db = d;
          if (l->n_out > 1) {
            gather_cols(d, l->out, l->out_off[io], l->out_sz[io], batch, l->sy);
            db = l->sy;
          }
          rc = rpu_tile_backward(tile_at(l, io, ii), db, l->sx, batch);
          if (rc == 0) add_cols(l->sx, l->in_sz[ii], batch, dx, l->in, l->in_off[ii]);
        }
    }
    if (rc != 0) return rc;
  }
  l->d_batch = batch;
  return 0;
}

static int first_non_finite(const float *v, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (!isfinite(v[k])) return 1;
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
  const char *bad = first_non_finite(l->x_saved, (size_t)batch * l->in) ? "x (forward input)"
                    : first_non_finite(l->d_saved, (size_t)batch * l->out)
                        ? "d (backward gradient)"
                        : NULL;
  if (bad != NULL)
    return rpu__error_set(RPU_EINVAL, origin,
                          "rpu_linear_update: the stored %s holds NaN or Inf; no tile was "
                          "updated",
                          bad);
  int rc = 0;
  for (int io = 0; io < l->n_out && rc == 0; io++) {
    const float *db = l->d_saved;
    if (l->n_out > 1) {
      gather_cols(l->d_saved, l->out, l->out_off[io], l->out_sz[io], batch, l->sy);
      db = l->sy;
    }
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      const float *xb = l->x_saved;
      if (l->n_in > 1) {
        gather_cols(l->x_saved, l->in, l->in_off[ii], l->in_sz[ii], batch, l->sx);
        xb = l->sx;
      }
      rc = rpu_tile_update(tile_at(l, io, ii), xb, db, batch, lr);
    }
  }
  if (rc != 0) return rc;
  if (l->bias)
    for (int j = 0; j < l->out; j++) {
      float g = 0.0f;
      for (int b = 0; b < batch; b++) g += l->d_saved[(size_t)b * l->out + j];
      l->bias[j] -= lr * g;
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

int rpu_linear_get_weights(rpu_linear *l, float *w, float *bias) {
  static const char *origin = "rpu_linear_get_weights";
  if (l == NULL || w == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_get_weights: NULL argument");
  float *blk = malloc((size_t)l->max_out_sz * l->max_in_sz * sizeof(float));
  if (blk == NULL) return rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  int rc = 0;
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      rc = rpu_tile_get_weights(tile_at(l, io, ii), blk);
      for (int r = 0; r < l->out_sz[io] && rc == 0; r++)
        memcpy(w + (size_t)(l->out_off[io] + r) * l->in + l->in_off[ii],
               blk + (size_t)r * l->in_sz[ii], (size_t)l->in_sz[ii] * sizeof(float));
    }
  free(blk);
  if (rc == 0 && bias && l->bias) memcpy(bias, l->bias, (size_t)l->out * sizeof(float));
  return rc;
}

int rpu_linear_set_weights(rpu_linear *l, const float *w, const float *bias) {
  static const char *origin = "rpu_linear_set_weights";
  if (l == NULL || w == NULL)
    return rpu__error_set(RPU_EINVAL, origin, "rpu_linear_set_weights: NULL argument");
  for (size_t k = 0; k < (size_t)l->out * l->in; k++)
    if (!isfinite(w[k]))
      return rpu__error_set(RPU_EINVAL, origin,
                            "rpu_linear_set_weights: W[%zu][%zu] is not finite",
                            k / (size_t)l->in, k % (size_t)l->in);
  if (bias && l->bias)
    for (int j = 0; j < l->out; j++)
      if (!isfinite(bias[j]))
        return rpu__error_set(RPU_EINVAL, origin,
                              "rpu_linear_set_weights: bias[%d] is not finite", j);
  float *blk = malloc((size_t)l->max_out_sz * l->max_in_sz * sizeof(float));
  if (blk == NULL) return rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  int rc = 0;
  for (int io = 0; io < l->n_out && rc == 0; io++)
    for (int ii = 0; ii < l->n_in && rc == 0; ii++) {
      for (int r = 0; r < l->out_sz[io]; r++)
        memcpy(blk + (size_t)r * l->in_sz[ii],
               w + (size_t)(l->out_off[io] + r) * l->in + l->in_off[ii],
               (size_t)l->in_sz[ii] * sizeof(float));
      rc = rpu_tile_set_weights(tile_at(l, io, ii), blk);
    }
  free(blk);
  if (rc == 0 && bias && l->bias) memcpy(l->bias, bias, (size_t)l->out * sizeof(float));
  return rc;
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
  float *b = l->bias ? malloc((size_t)l->out * sizeof(float)) : NULL;
  if (w == NULL || (l->bias && b == NULL)) {
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

static int grow(float **buf, size_t *cap, size_t need, const char *origin) {
  if (need <= *cap) return 0;
  float *p = realloc(*buf, need * sizeof(float));
  if (p == NULL) return rpu__error_set(RPU_ENOMEM, origin, "%s: out of memory", origin);
  *buf = p;
  *cap = need;
  return 0;
}

/* dst (batch x n) <- columns off..off+n-1 of src (batch x ld). */
static void gather_cols(const float *src, int ld, int off, int n, int batch, float *dst) {
  for (int b = 0; b < batch; b++)
    memcpy(dst + (size_t)b * n, src + (size_t)b * ld + off, (size_t)n * sizeof(float));
}

/* Columns off..off+n-1 of dst (batch x ld) += src (batch x n). */
static void add_cols(const float *src, int n, int batch, float *dst, int ld, int off) {
  for (int b = 0; b < batch; b++) {
    const float *s = src + (size_t)b * n;
    float *d = dst + (size_t)b * ld + off;
    for (int j = 0; j < n; j++) d[j] += s[j];
  }
}

/* Stubs until weight scaling and learned out scaling land: the digital
 * state is the bias alone. */
size_t rpu_linear_digital_count(const rpu_linear *l) {
  return l && l->has_bias ? (size_t)l->out : 0;
}
int rpu_linear_get_digital(const rpu_linear *l, float *out) {
  if (l && l->has_bias) memcpy(out, l->bias, sizeof(float) * (size_t)l->out);
  return 0;
}
int rpu_linear_set_digital(rpu_linear *l, const float *in) {
  if (l && l->has_bias) memcpy(l->bias, in, sizeof(float) * (size_t)l->out);
  return 0;
}
