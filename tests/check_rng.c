/* The counter-based RNG (DESIGN.md §7, include/rpu/rng.h): Philox
 * known answers, the counter layout, position independence of every fill,
 * stream separation, distribution moments and the plugin cursor.
 *
 * Statistical checks use fixed seeds and a 5-sigma band around the exact
 * expectation, sigma derived from the sample size (CLT for means, the
 * fourth central moment for variances, binomial for tail fractions).  A
 * correct generator fails one such check with probability ~6e-7, and the
 * seeds are fixed, so a failure means the numbers changed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"
#include "tests/testutil.h"

#define NSTAT 1000000 /* draws per statistical check */

/* ----- Known answers ---------------------------------------------------- */

/* Random123's tests/kat_vectors, the three "philox4x32 10" lines
 * (github.com/DEShawResearch/random123; columns: counter[4], key[2],
 * expected[4]): all zeros, all ones, and the digits of pi. */
static const struct {
  uint32_t ctr[4], key[2], out[4];
} kat[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

START_TEST(test_philox_kat) {
  uint32_t out[4];
  rpu_philox4x32_10(kat[_i].ctr, kat[_i].key, out);
  for (int j = 0; j < 4; j++)
    ck_assert_msg(out[j] == kat[_i].out[j], "vector %d word %d: %08x != %08x",
                  _i, j, out[j], kat[_i].out[j]);
}
END_TEST

START_TEST(test_stream_make) {
  rpu_rng_stream s = rpu_rng_stream_make(UINT64_C(0x1122334455667788), 9,
                                         RPU_RNG_DRIFT);
  ck_assert(s.seed == UINT64_C(0x1122334455667788));
  ck_assert_uint_eq(s.tile, 9);
  ck_assert_uint_eq(s.purpose, RPU_RNG_DRIFT);
  ck_assert_uint_eq(s.step, 0);
  ck_assert_uint_eq(s.sub, 0);
}
END_TEST

/* ----- Counter layout --------------------------------------------------- */

/* The word at index i of stream s, built by hand from rng.h's layout:
 * key = (seed low, seed high), ctr = (block, sub, step,
 * purpose<<24 | tile & 0xffffff), block = i / 4, word i % 4 of the block. */
static uint32_t word_by_hand(const rpu_rng_stream *s, uint64_t i) {
  uint32_t key[2] = {(uint32_t)(s->seed & 0xffffffffu),
                     (uint32_t)(s->seed >> 32)};
  uint32_t ctr[4] = {(uint32_t)(i / 4), s->sub, s->step,
                     (s->purpose & 0xff) << 24 | (s->tile & 0xffffff)};
  uint32_t out[4];
  rpu_philox4x32_10(ctr, key, out);
  return out[i % 4];
}

static rpu_rng_stream test_stream(void) {
  rpu_rng_stream s = rpu_rng_stream_make(UINT64_C(0x0123456789abcdef),
                                         0x00abcdef, RPU_RNG_UPDATE);
  s.step = 7;
  s.sub = 11;
  return s;
}

/* (first, n) pairs: unaligned starts, runs shorter than a block, and runs
 * long enough to cross the fill's internal chunk and kernel boundaries (so
 * every code path is compared with the single-block function). */
static const struct {
  uint64_t first;
  size_t n;
} spans[] = {
    {0, 1},    {0, 4},    {1, 2},     {3, 5},       {4, 32},
    {5, 131},  {0, 511},  {2, 513},   {7, 1300},    {1021, 2000},
    {0, 4099}, {3, 5000}, {UINT64_C(4000000000), 77},
    {(UINT64_C(1) << 34) - 6, 12}, /* block counter wraps to 0 */
};

START_TEST(test_u32_counter_layout) {
  rpu_rng_stream s = test_stream();
  size_t n = spans[_i].n;
  uint64_t first = spans[_i].first;
  uint32_t *w = malloc(n * sizeof *w);
  ck_assert_ptr_nonnull(w);
  rpu_rng_fill_u32(&s, first, w, n);
  size_t k = 0;
  while (k < n && w[k] == word_by_hand(&s, first + k)) k++;
  ck_assert_msg(k == n, "first %llu: word %zu is %08x, not %08x",
                (unsigned long long)first, k, k < n ? w[k] : 0,
                k < n ? word_by_hand(&s, first + k) : 0);
  free(w);
}
END_TEST

/* Only the low 24 bits of tile and the low 8 bits of purpose count. */
START_TEST(test_u32_field_widths) {
  rpu_rng_stream a = test_stream(), b = a;
  b.tile |= 0xff000000u;
  b.purpose |= 0xffffff00u;
  uint32_t wa[64], wb[64];
  rpu_rng_fill_u32(&a, 0, wa, 64);
  rpu_rng_fill_u32(&b, 0, wb, 64);
  ck_assert_mem_eq(wa, wb, sizeof wa);
}
END_TEST

/* ----- Position independence -------------------------------------------- */

#define BIG 6000
static const uint64_t offsets[] = {0, 1, 2, 3, 5, 31, 32, 33, 127, 128,
                                   129, 255, 511, 512, 513, 1001};
static const size_t lengths[] = {1, 2, 3, 7, 64, 100, 600, 2049};

typedef void (*fill_fn)(const rpu_rng_stream *, uint64_t, void *, size_t);

/* Fill of n at offset k == slice of one larger fill, for every k, n above
 * and a far start (base); elem is the value size in bytes. */
static void check_slices(fill_fn fill, size_t elem, uint64_t base) {
  rpu_rng_stream s = test_stream();
  unsigned char *big = malloc(BIG * elem);
  unsigned char *part = malloc(BIG * elem);
  ck_assert_ptr_nonnull(big);
  ck_assert_ptr_nonnull(part);
  fill(&s, base, big, BIG);
  for (size_t a = 0; a < sizeof offsets / sizeof offsets[0]; a++)
    for (size_t b = 0; b < sizeof lengths / sizeof lengths[0]; b++) {
      uint64_t k = offsets[a];
      size_t n = lengths[b];
      memset(part, 0xa5, (n + 1) * elem);
      fill(&s, base + k, part, n);
      ck_assert_msg(memcmp(part, big + k * elem, n * elem) == 0,
                    "base %llu offset %llu length %zu differs",
                    (unsigned long long)base, (unsigned long long)k, n);
      for (size_t j = 0; j < elem; j++) /* nothing written past n */
        ck_assert_uint_eq(part[n * elem + j], 0xa5);
    }
  free(big);
  free(part);
}

static void fill_u32(const rpu_rng_stream *s, uint64_t f, void *o, size_t n) {
  rpu_rng_fill_u32(s, f, o, n);
}
static void fill_uni(const rpu_rng_stream *s, uint64_t f, void *o, size_t n) {
  rpu_rng_fill_uniform(s, f, o, n);
}
static void fill_nrm(const rpu_rng_stream *s, uint64_t f, void *o, size_t n) {
  rpu_rng_fill_normal(s, f, o, n);
}
static void fill_unid(const rpu_rng_stream *s, uint64_t f, void *o, size_t n) {
  rpu_rng_fill_uniform_d(s, f, o, n);
}
static void fill_nrmd(const rpu_rng_stream *s, uint64_t f, void *o, size_t n) {
  rpu_rng_fill_normal_d(s, f, o, n);
}

static const struct {
  const char *name;
  fill_fn fill;
  size_t elem;
} fills[] = {
    {"u32", fill_u32, sizeof(uint32_t)},
    {"uniform", fill_uni, sizeof(float)},
    {"normal", fill_nrm, sizeof(float)},
    {"uniform_d", fill_unid, sizeof(double)},
    {"normal_d", fill_nrmd, sizeof(double)},
};
#define NFILLS (int)(sizeof fills / sizeof fills[0])

START_TEST(test_position_independence) {
  check_slices(fills[_i].fill, fills[_i].elem, 0);
  check_slices(fills[_i].fill, fills[_i].elem, UINT64_C(123456789)); /* odd */
}
END_TEST

/* Value k of the uniform fill is derived from word k alone, by the mapping
 * rng.c documents: the top 23 bits m give (m + 1/2) 2^-23 (exact in float).
 * Doubles: the 52 bits w0:top20(w1) give (m + 1/2) 2^-52. */
START_TEST(test_uniform_from_words) {
  rpu_rng_stream s = test_stream();
  enum { N = 1000 };
  uint32_t w[2 * N];
  float u[N];
  double d[N];
  rpu_rng_fill_u32(&s, 2 * 17, w, 2 * N);
  rpu_rng_fill_uniform(&s, 2 * 17, u, N);
  int bad = -1;
  for (int k = 0; k < N && bad < 0; k++)
    if (u[k] != (float)(((double)(w[k] >> 9) + 0.5) / 8388608.0)) bad = k;
  ck_assert_msg(bad < 0, "uniform %d differs from its word", bad);
  rpu_rng_fill_uniform_d(&s, 17, d, N);
  for (int k = 0; k < N && bad < 0; k++) {
    uint64_t m = (uint64_t)w[2 * k] << 20 | w[2 * k + 1] >> 12;
    if (d[k] != ((double)m + 0.5) * 0x1p-52) bad = k;
  }
  ck_assert_msg(bad < 0, "double uniform %d differs from its words", bad);
}
END_TEST

/* A normal value depends on its pair of words only: with words 2j, 2j+1
 * (floats) or 4j..4j+3 (doubles) of stream s, r = sqrt(-2 ln u) and the
 * angle 2πt agree with the libm Box–Muller to float / double accuracy.
 * u for floats is (top 31 bits + 1/2) 2^-31 rounded to float (rng.c);
 * t is (top 23 bits + 1/2) 2^-23.  Tolerance: a few ulp of r. */
START_TEST(test_normal_from_words) {
  rpu_rng_stream s = test_stream();
  enum { N = 2000 };
  uint32_t w[2 * N];
  float z[N];
  double zd[N / 2];
  rpu_rng_fill_u32(&s, 0, w, 2 * N);
  rpu_rng_fill_normal(&s, 0, z, N);
  double worst = 0; /* largest error in units of the tolerance */
  int at = -1;
  for (int j = 0; j < N / 2; j++) {
    float u = ((float)(w[2 * j] >> 1) + 0.5f) * 0x1p-31f;
    double t = ((double)(w[2 * j + 1] >> 9) + 0.5) * 0x1p-23;
    double r = sqrt(-2.0 * log((double)u));
    double tol = 8 * 0x1p-24 * (r + 1e-3);
    double e = fmax(fabs(z[2 * j] - r * cos(2 * M_PI * t)),
                    fabs(z[2 * j + 1] - r * sin(2 * M_PI * t))) / tol;
    if (e > worst) worst = e, at = j;
  }
  ck_assert_msg(worst <= 1.0, "float pair %d off by %g tolerances", at, worst);
  rpu_rng_fill_normal_d(&s, 0, zd, N / 2);
  worst = 0;
  for (int j = 0; j < N / 4; j++) {
    const uint32_t *p = w + 4 * j;
    double u = ((double)((uint64_t)p[0] << 20 | p[1] >> 12) + 0.5) * 0x1p-52;
    double t = ((double)((uint64_t)p[2] << 20 | p[3] >> 12) + 0.5) * 0x1p-52;
    double r = sqrt(-2.0 * log(u));
    double tol = 16 * 0x1p-53 * (r + 1e-3);
    double e = fmax(fabs(zd[2 * j] - r * cos(2 * M_PI * t)),
                    fabs(zd[2 * j + 1] - r * sin(2 * M_PI * t))) / tol;
    if (e > worst) worst = e, at = j;
  }
  ck_assert_msg(worst <= 1.0, "double pair %d off by %g tolerances", at, worst);
}
END_TEST

/* ----- Streams ---------------------------------------------------------- */

/* Changing any one of seed, tile, purpose, step or sub gives another
 * stream: of 256 words, two independent streams share ~256/2^32 by chance,
 * so more than 2 equal words means they are not independent. */
START_TEST(test_streams_differ) {
  rpu_rng_stream base = test_stream(), v[6];
  for (int i = 0; i < 6; i++) v[i] = base;
  v[0].seed ^= UINT64_C(1) << 40; /* high key word */
  v[1].seed += 1;
  v[2].tile += 1;
  v[3].purpose = RPU_RNG_READ;
  v[4].step += 1;
  v[5].sub += 1;
  uint32_t a[256], b[256];
  rpu_rng_fill_u32(&base, 0, a, 256);
  for (int i = 0; i < 6; i++) {
    rpu_rng_fill_u32(&v[i], 0, b, 256);
    int same = 0;
    for (int k = 0; k < 256; k++) same += a[k] == b[k];
    ck_assert_msg(same <= 2, "variant %d shares %d of 256 words", i, same);
  }
}
END_TEST

/* Fills never modify the stream and n = 0 writes nothing. */
START_TEST(test_fill_edges) {
  rpu_rng_stream s = test_stream(), copy = s;
  float f = 42.0f;
  double d = 42.0;
  uint32_t w = 42;
  rpu_rng_fill_uniform(&s, 3, &f, 0);
  rpu_rng_fill_normal(&s, 3, &f, 0);
  rpu_rng_fill_uniform_d(&s, 3, &d, 0);
  rpu_rng_fill_normal_d(&s, 3, &d, 0);
  rpu_rng_fill_u32(&s, 3, &w, 0);
  ck_assert_float_eq(f, 42.0f);
  ck_assert_double_eq(d, 42.0);
  ck_assert_uint_eq(w, 42);
  rpu_rng_fill_normal(&s, 3, &f, 1);
  ck_assert_mem_eq(&s, &copy, sizeof s);
}
END_TEST

/* ----- Distributions ---------------------------------------------------- */

/* Moments of a sample (accumulated in long double to keep rounding far
 * below the tolerances). */
typedef struct {
  double mean, var, m4, tail2; /* tail2: fraction with |x| > 2 */
  double corr;                 /* mean of x[2j] * x[2j+1] (pairs) */
} moments;

static moments sample_moments(const double *x, size_t n) {
  long double s = 0, s2 = 0, s4 = 0, sp = 0;
  size_t tail = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  long double mean = s / n;
  for (size_t i = 0; i < n; i++) {
    long double d = x[i] - mean;
    s2 += d * d;
    s4 += d * d * d * d;
    tail += fabs(x[i]) > 2.0;
  }
  for (size_t i = 0; i + 1 < n; i += 2) sp += (long double)x[i] * x[i + 1];
  moments m = {(double)mean, (double)(s2 / (n - 1)), (double)(s4 / n),
               (double)tail / (double)n, (double)(sp / (long double)(n / 2))};
  return m;
}

/* Uniform on (0,1): mean 1/2, variance 1/12, fourth central moment 1/80.
 * sd(mean) = sqrt(1/12 / N) = 2.89e-4; sd(var) = sqrt((1/80 - 1/144) / N)
 * = 7.45e-5 (the 23- and 52-bit grids shift the variance by < 1e-14). */
static void check_uniform_sample(const double *x, size_t n) {
  size_t i = 0; /* one assertion, not n: each costs Check a write */
  while (i < n && x[i] > 0.0 && x[i] < 1.0) i++;
  ck_assert_msg(i == n, "value %zu = %.17g is not in (0, 1)", i,
                i < n ? x[i] : 0.0);
  moments m = sample_moments(x, n);
  double sd_mean = sqrt(1.0 / 12 / n);
  double sd_var = sqrt((1.0 / 80 - 1.0 / 144) / n);
  ck_assert_double_eq_tol(m.mean, 0.5, 5 * sd_mean);
  ck_assert_double_eq_tol(m.var, 1.0 / 12, 5 * sd_var);
}

/* Standard normal: mean 0 (sd 1/sqrt N = 1e-3), variance 1 (sd sqrt(2/N)
 * = 1.41e-3), fourth moment 3 (sd sqrt((105 - 9)/N) = 9.8e-3), P(|z| > 2)
 * = erfc(sqrt 2) = 0.0455003 (binomial sd sqrt(p(1-p)/N) = 2.08e-4), and
 * the two members of a Box–Muller pair uncorrelated (sd sqrt(2/N)). */
static void check_normal_sample(const double *x, size_t n) {
  size_t i = 0;
  while (i < n && isfinite(x[i])) i++;
  ck_assert_msg(i == n, "value %zu is not finite", i);
  moments m = sample_moments(x, n);
  double p = erfc(sqrt(2.0));
  ck_assert_double_eq_tol(m.mean, 0.0, 5 * sqrt(1.0 / n));
  ck_assert_double_eq_tol(m.var, 1.0, 5 * sqrt(2.0 / n));
  ck_assert_double_eq_tol(m.m4, 3.0, 5 * sqrt(96.0 / n));
  ck_assert_double_eq_tol(m.tail2, p, 5 * sqrt(p * (1 - p) / n));
  ck_assert_double_eq_tol(m.corr, 0.0, 5 * sqrt(2.0 / n));
}

/* kind 0: uniform, 1: normal, 2: uniform_d, 3: normal_d; as doubles. */
static double *draw_sample(int kind, uint64_t seed) {
  rpu_rng_stream s = rpu_rng_stream_make(seed, 3, RPU_RNG_READ);
  double *x = malloc(NSTAT * sizeof *x);
  float *f = malloc(NSTAT * sizeof *f);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(f);
  switch (kind) {
  case 0:
    rpu_rng_fill_uniform(&s, 0, f, NSTAT);
    break;
  case 1:
    rpu_rng_fill_normal(&s, 0, f, NSTAT);
    break;
  case 2:
    rpu_rng_fill_uniform_d(&s, 0, x, NSTAT);
    break;
  default:
    rpu_rng_fill_normal_d(&s, 0, x, NSTAT);
    break;
  }
  if (kind < 2)
    for (size_t i = 0; i < NSTAT; i++) x[i] = f[i];
  free(f);
  return x;
}

/* _i = 0: float fill, 1: double fill. */
START_TEST(test_uniform_stats) {
  double *x = draw_sample(2 * _i, UINT64_C(20240601) + (uint64_t)_i);
  check_uniform_sample(x, NSTAT);
  free(x);
}
END_TEST

START_TEST(test_normal_stats) {
  double *x = draw_sample(2 * _i + 1, UINT64_C(777) + (uint64_t)_i);
  check_normal_sample(x, NSTAT);
  free(x);
}
END_TEST

/* ----- Cursor ----------------------------------------------------------- */

/* Two draws of n/2 (uneven halves, odd start) equal one draw of n, and
 * pos advances by what was drawn. */
START_TEST(test_cursor) {
  enum { N = 1001 };
  rpu_rng_cursor a = {test_stream(), 5}, b = a;
  float one[N], two[N];
  if (_i == 0) {
    rpu_rng_cursor_uniform(&a, one, N);
    rpu_rng_cursor_uniform(&b, two, N / 2);
    rpu_rng_cursor_uniform(&b, two + N / 2, N - N / 2);
  } else {
    rpu_rng_cursor_normal(&a, one, N);
    rpu_rng_cursor_normal(&b, two, N / 2);
    rpu_rng_cursor_normal(&b, two + N / 2, N - N / 2);
  }
  ck_assert_mem_eq(one, two, sizeof one);
  ck_assert(a.pos == 5 + N);
  ck_assert(b.pos == 5 + N);
  /* and the cursor draws exactly the fill at its position */
  float ref[N];
  rpu_rng_stream s = test_stream();
  if (_i == 0)
    rpu_rng_fill_uniform(&s, 5, ref, N);
  else
    rpu_rng_fill_normal(&s, 5, ref, N);
  ck_assert_mem_eq(one, ref, sizeof one);
}
END_TEST

Suite *suite_rng(void) {
  Suite *s = suite_create("rng");
  TCase *tc = tcase_create("philox");
  tcase_add_loop_test(tc, test_philox_kat, 0, sizeof kat / sizeof kat[0]);
  tcase_add_test(tc, test_stream_make);
  tcase_add_loop_test(tc, test_u32_counter_layout, 0,
                      sizeof spans / sizeof spans[0]);
  tcase_add_test(tc, test_u32_field_widths);
  suite_add_tcase(s, tc);

  tc = tcase_create("fills");
  tcase_add_loop_test(tc, test_position_independence, 0, NFILLS);
  tcase_add_test(tc, test_uniform_from_words);
  tcase_add_test(tc, test_normal_from_words);
  tcase_add_test(tc, test_streams_differ);
  tcase_add_test(tc, test_fill_edges);
  tcase_add_loop_test(tc, test_cursor, 0, 2);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);

  tc = tcase_create("distributions");
  tcase_add_loop_test(tc, test_uniform_stats, 0, 2);
  tcase_add_loop_test(tc, test_normal_stats, 0, 2);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  return s;
}
