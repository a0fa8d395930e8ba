/* The counter-based generator: Philox4x32-10 and the bulk fills built on it
 * (DESIGN.md §7, include/rpu/rng.h).
 *
 * Every fill runs through one driver: it asks Philox for the blocks that
 * hold the requested words (padded with zeros to whole groups of 8 blocks,
 * 32 words), converts the whole groups with a fixed-shape kernel, then
 * copies out the requested slice.  Values are a pure function of (stream,
 * index): the driver only decides how many words to compute, never which
 * word feeds which value.
 *
 * Speed: the conversion kernels' inner loops have constant trip counts and
 * no aliasing, so GCC vectorises them even at -O2 (its "very cheap" cost
 * model); on x86-64 they are also built for AVX2 and for x86-64-v4
 * (AVX-512) and picked at run time (target_clones), never with
 * -march=native.  Philox needs a 32x32 -> 64 bit multiply per lane, which
 * GCC vectorises only with costly repacking, so on x86-64 with AVX2 whole
 * groups go through a hand-written kernel (vpmuludq on even and odd
 * lanes; runs of 8 groups in 512-bit registers where AVX-512 is there),
 * elsewhere through a portable kernel the compiler vectorises; the blocks
 * of a last partial group go through the scalar rpu_philox4x32_10 (or, with
 * AVX2 and 2 or more of them, through one more vector group).  The tests
 * compare fills of many sizes with rpu_philox4x32_10 block by block (the
 * portable kernel runs in the suite only on machines without AVX2; under
 * valgrind, which has no AVX-512, the AVX2 kernels run).
 *
 * All variants do the same integer and IEEE operations, and the build
 * never contracts a*b + c (-ffp-contract=off, Makefile.am; the x86-64-v4
 * clone could otherwise use FMA), so every x86-64 machine gives the same
 * numbers.  A compiler that contracts a*b + c into an FMA (GCC does by
 * default on AArch64) changes the last bits of the normals there.
 *
 * No global state: everything lives on the stack of the call.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rpu/plugin.h"
#include "rpu/rng.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define RNG_X86 1
#include <immintrin.h>
#else
#define RNG_X86 0
#endif

/* Random123 philox.h constants: round multipliers and Weyl key bumps. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

#define GROUP_BLOCKS 8                 /* Philox blocks per kernel step */
#define GROUP_WORDS (4 * GROUP_BLOCKS) /* 32 words */
#define CHUNK_GROUPS 16                /* groups per driver pass */
#define CHUNK_WORDS (GROUP_WORDS * CHUNK_GROUPS) /* 512 words on the stack */
#define AVX2_GROUPS 4 /* groups per AVX2 step: 4 independent chains */

#if RNG_X86 && !defined(__clang__) && defined(__ELF__)
#define RNG_CLONES \
  __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define RNG_CLONES
#endif

/* The parts of the Philox input that are fixed for one stream: key and the
 * counter words above the block index (rng.h layout). */
typedef struct philox_stream {
  uint32_t k0, k1;
  uint32_t sub, step, tag;
} philox_stream;

/* Turns a batch of words (whole groups) into values; vals has room for
 * groups * GROUP_WORDS words' worth of output. */
typedef void (*chunk_kernel)(const uint32_t *words, void *vals, size_t groups);

static philox_stream stream_prepare(const rpu_rng_stream *s);
static void philox_blocks(const philox_stream *p, uint32_t block0,
                          uint32_t *restrict out, size_t blocks);
static void philox_groups_c(const philox_stream *p, uint32_t block0,
                            uint32_t *restrict out, size_t groups);
#if RNG_X86
#define RNG_AVX2 __attribute__((target("avx2")))
RNG_AVX2 static void philox_groups_avx2(const philox_stream *p,
                                        uint32_t block0,
                                        uint32_t *restrict out, size_t groups);
RNG_AVX2 static inline void philox_run_avx2(const philox_stream *p,
                                            uint32_t base,
                                            uint32_t *restrict out, int nv);
RNG_AVX2 static inline void mulhilo_avx2(__m256i x, __m256i m, __m256i *hi,
                                         __m256i *lo);
RNG_AVX2 static inline void transpose_store_avx2(__m256i x0, __m256i x1,
                                                 __m256i x2, __m256i x3,
                                                 uint32_t *out);
#if !defined(__clang__) && __GNUC__ >= 8
#define RNG_AVX512 __attribute__((target("avx2,avx512f")))
#define RNG_HAVE_AVX512 1
#define AVX512_RUN 4 /* zmm chains per step: 4 x 16 blocks = 8 groups */
RNG_AVX512 static size_t philox_groups_avx512(const philox_stream *p,
                                              uint32_t block0,
                                              uint32_t *restrict out,
                                              size_t groups);
#endif
#endif
static void fill(const rpu_rng_stream *s, uint64_t first,
                 unsigned words_per_value, size_t value_size,
                 chunk_kernel kernel, void *out, size_t n);
static void copy_kernel(const uint32_t *words, void *vals, size_t groups);
static void uniform_kernel(const uint32_t *words, void *vals, size_t groups);
static void normal_kernel(const uint32_t *words, void *vals, size_t groups);
static void uniform_d_kernel(const uint32_t *words, void *vals,
                             size_t groups);
static void normal_d_kernel(const uint32_t *words, void *vals, size_t groups);
static inline float log_f(float u);
static inline void sincos_f(uint32_t w, float *sn, float *cs);
static inline void sqrt_f(float *y);
static inline double log_d(double u);
static inline void sincos_d(uint64_t k, double *sn, double *cs);
static inline void sqrt_d(double *y);

/* ----- Public functions ------------------------------------------------- */

rpu_rng_stream rpu_rng_stream_make(uint64_t seed, uint32_t tile,
                                   uint32_t purpose) {
  rpu_rng_stream s;
  s.seed = seed;
  s.tile = tile;
  s.purpose = purpose;
  s.step = 0;
  s.sub = 0;
  return s;
}

/* Philox4x32-10 as Random123 defines it (philox.h, Salmon et al., SC11):
 * each round multiplies words 0 and 2 by M0 and M1, the high halves are
 * xored with the other two words and the key; the key is bumped by the
 * Weyl constants before rounds 2..10. */
void rpu_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                       uint32_t out[4]) {
  uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < PHILOX_ROUNDS; r++) {
    if (r > 0) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    uint64_t p0 = (uint64_t)PHILOX_M0 * x0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * x2;
    x0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
    x1 = (uint32_t)p1;
    x2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
    x3 = (uint32_t)p0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

void rpu_rng_fill_u32(const rpu_rng_stream *s, uint64_t first, uint32_t *out,
                      size_t n) {
  fill(s, first, 1, sizeof *out, copy_kernel, out, n);
}

void rpu_rng_fill_uniform(const rpu_rng_stream *s, uint64_t first, float *out,
                          size_t n) {
  fill(s, first, 1, sizeof *out, uniform_kernel, out, n);
}

/* Value v uses words 2*floor(v/2) and +1 (rng.h): a pair's values sit at
 * its words' positions, so the driver's one word per value serves normals
 * unchanged. */
void rpu_rng_fill_normal(const rpu_rng_stream *s, uint64_t first, float *out,
                         size_t n) {
  fill(s, first, 1, sizeof *out, normal_kernel, out, n);
}

void rpu_rng_fill_uniform_d(const rpu_rng_stream *s, uint64_t first,
                            double *out, size_t n) {
  fill(s, first, 2, sizeof *out, uniform_d_kernel, out, n);
}

/* Value v uses words 4*floor(v/2)..+3, i.e. its pair starts at word
 * 2v rounded down to a multiple of 4: two words per value, as for the
 * double uniforms. */
void rpu_rng_fill_normal_d(const rpu_rng_stream *s, uint64_t first,
                           double *out, size_t n) {
  fill(s, first, 2, sizeof *out, normal_d_kernel, out, n);
}

void rpu_rng_cursor_uniform(rpu_rng_cursor *c, float *out, size_t n) {
  if (c == NULL) return;
  rpu_rng_fill_uniform(&c->stream, c->pos, out, n);
  c->pos += n;
}

void rpu_rng_cursor_normal(rpu_rng_cursor *c, float *out, size_t n) {
  if (c == NULL) return;
  rpu_rng_fill_normal(&c->stream, c->pos, out, n);
  c->pos += n;
}

/* ----- The driver ------------------------------------------------------- */

/* Key = seed (low word first); counter words 1..3 as rng.h lays them out. */
static philox_stream stream_prepare(const rpu_rng_stream *s) {
  philox_stream p;
  p.k0 = (uint32_t)s->seed;
  p.k1 = (uint32_t)(s->seed >> 32);
  p.sub = s->sub;
  p.step = s->step;
  p.tag = (s->purpose & 0xffu) << 24 | (s->tile & 0xffffffu);
  return p;
}

/* Fills out[0..n) with the values of indices first.. .  Value v uses words
 * words_per_value*v .. +words_per_value-1, and a kernel maps the words of
 * whole groups to the values at the same positions.  The block index is the
 * 32-bit counter word, so word indices wrap modulo 2^34.
 *
 * Where the next value starts a block and whole groups remain, the kernel
 * writes straight into out (raw words: Philox itself does), a chunk at a
 * time; a head that starts inside a block and a tail shorter than a group
 * go through the stack buffers and are copied.  Either way a value is the
 * kernel's output at its own position. */
static void fill(const rpu_rng_stream *s, uint64_t first,
                 unsigned words_per_value, size_t value_size,
                 chunk_kernel kernel, void *out, size_t n) {
  if (s == NULL || out == NULL || n == 0) return;
  philox_stream p = stream_prepare(s);
  uint32_t words[CHUNK_WORDS];
  _Alignas(32) unsigned char vals[CHUNK_WORDS * sizeof(uint32_t)];
  unsigned char *dst = out;
  const int raw = kernel == copy_kernel;
  uint64_t w = first * words_per_value; /* word index of the next value */
  while (n > 0) {
    size_t off = (size_t)(w & 3u); /* words before w in its block */
    size_t groups = n / (GROUP_WORDS / words_per_value); /* whole ones */
    if (off == 0 && groups > 0) { /* straight into out */
      if (!raw && groups > CHUNK_GROUPS) groups = CHUNK_GROUPS;
      if (raw) {
        philox_blocks(&p, (uint32_t)(w >> 2), (uint32_t *)(void *)dst,
                      groups * GROUP_BLOCKS);
      } else {
        philox_blocks(&p, (uint32_t)(w >> 2), words, groups * GROUP_BLOCKS);
        kernel(words, dst, groups);
      }
      size_t take = groups * (GROUP_WORDS / words_per_value);
      dst += take * value_size;
      n -= take;
      w += (uint64_t)take * words_per_value;
      continue;
    }
    size_t need = off + (n < CHUNK_WORDS ? n * words_per_value : CHUNK_WORDS);
    if (need > CHUNK_WORDS) need = CHUNK_WORDS;
    size_t blocks = (need + 3) / 4;
    philox_blocks(&p, (uint32_t)(w >> 2), words, blocks);
    const unsigned char *src = (const unsigned char *)words;
    if (!raw) {
      kernel(words, vals, (blocks + GROUP_BLOCKS - 1) / GROUP_BLOCKS);
      src = vals;
    }
    size_t take = (blocks * 4 - off) / words_per_value;
    if (take > n) take = n;
    memcpy(dst, src + off / words_per_value * value_size, take * value_size);
    dst += take * value_size;
    n -= take;
    w += (uint64_t)take * words_per_value;
  }
}

/* ----- Kernels ---------------------------------------------------------- */

/* Philox4x32-10 of blocks block0 .. block0 + blocks - 1 in block order
 * (the block index wraps modulo 2^32 like the counter word), then zeros up
 * to a whole group, since the conversion kernels work on whole groups.
 * Whole groups go through the vector kernels; the blocks of a last partial
 * group through rpu_philox4x32_10, which for a single block costs less
 * than a whole vector group (this keeps small fills, e.g. n = 1, cheap).
 * With AVX2 a partial group of 2 or more blocks is cheaper as one more
 * vector group (the surplus blocks are the same function of their index,
 * computed and then zeroed). */
static void philox_blocks(const philox_stream *p, uint32_t block0,
                          uint32_t *restrict out, size_t blocks) {
  size_t groups = blocks / GROUP_BLOCKS;
  size_t rest = blocks % GROUP_BLOCKS;
#if RNG_X86
  if (__builtin_cpu_supports("avx2")) {
#ifdef RNG_HAVE_AVX512
    if (groups >= 2 * AVX512_RUN && __builtin_cpu_supports("avx512f")) {
      size_t done = philox_groups_avx512(p, block0, out, groups);
      block0 += (uint32_t)(done * GROUP_BLOCKS);
      out += done * GROUP_WORDS;
      groups -= done;
    }
#endif
    if (rest >= 2) {
      philox_groups_avx2(p, block0, out, groups + 1);
      memset(out + groups * GROUP_WORDS + 4 * rest, 0,
             (GROUP_WORDS - 4 * rest) * sizeof *out);
      return;
    }
    if (groups > 0) philox_groups_avx2(p, block0, out, groups);
  } else {
    philox_groups_c(p, block0, out, groups);
  }
#else
  philox_groups_c(p, block0, out, groups);
#endif
  block0 += (uint32_t)(groups * GROUP_BLOCKS);
  out += groups * GROUP_WORDS;
  if (rest > 0) {
    const uint32_t key[2] = {p->k0, p->k1};
    uint32_t ctr[4] = {0, p->sub, p->step, p->tag};
    for (size_t b = 0; b < rest; b++) {
      ctr[0] = block0 + (uint32_t)b;
      rpu_philox4x32_10(ctr, key, out + 4 * b);
    }
    memset(out + 4 * rest, 0, (GROUP_WORDS - 4 * rest) * sizeof *out);
  }
}

/* The portable kernel: same arithmetic as rpu_philox4x32_10, laid out as
 * 8 lanes so each round is a handful of vector ops (no AVX2 clone: AVX2
 * machines take philox_groups_avx2). */
static void philox_groups_c(const philox_stream *p, uint32_t block0,
                                     uint32_t *restrict out, size_t groups) {
  for (size_t g = 0; g < groups; g++) {
    uint32_t x0[GROUP_BLOCKS], x1[GROUP_BLOCKS], x2[GROUP_BLOCKS],
        x3[GROUP_BLOCKS];
    uint32_t base = block0 + (uint32_t)(g * GROUP_BLOCKS);
    for (int i = 0; i < GROUP_BLOCKS; i++) {
      x0[i] = base + (uint32_t)i;
      x1[i] = p->sub;
      x2[i] = p->step;
      x3[i] = p->tag;
    }
    uint32_t k0 = p->k0, k1 = p->k1;
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
      for (int i = 0; i < GROUP_BLOCKS; i++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * x0[i];
        uint64_t p1 = (uint64_t)PHILOX_M1 * x2[i];
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1[i] ^ k0;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3[i] ^ k1;
        x1[i] = (uint32_t)p1;
        x3[i] = (uint32_t)p0;
        x0[i] = y0;
        x2[i] = y2;
      }
      k0 += PHILOX_W0; /* the bump after the last round is unused */
      k1 += PHILOX_W1;
    }
    uint32_t *o = out + g * GROUP_WORDS;
    for (int i = 0; i < GROUP_BLOCKS; i++) {
      o[4 * i + 0] = x0[i];
      o[4 * i + 1] = x1[i];
      o[4 * i + 2] = x2[i];
      o[4 * i + 3] = x3[i];
    }
  }
}

#if RNG_X86
/* hi:lo = x * m per 32-bit lane: vpmuludq multiplies the even lanes; the
 * odd lanes are shifted down, multiplied, and blended back (0xAA picks the
 * odd lanes). */
RNG_AVX2 static inline void mulhilo_avx2(__m256i x, __m256i m, __m256i *hi,
                                         __m256i *lo) {
  __m256i pe = _mm256_mul_epu32(x, m);
  __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
  *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

/* groups of Philox4x32-10 with AVX2, in runs of 4: the four groups of a
 * run are independent chains, which hides the multiply latency; the 1 to 3
 * leftover groups go as one shorter run. */
RNG_AVX2 static void philox_groups_avx2(const philox_stream *p,
                                        uint32_t block0,
                                        uint32_t *restrict out, size_t groups) {
  size_t g = 0;
  for (; g + AVX2_GROUPS <= groups; g += AVX2_GROUPS)
    philox_run_avx2(p, block0 + (uint32_t)(g * GROUP_BLOCKS),
                    out + g * GROUP_WORDS, AVX2_GROUPS);
  const uint32_t b = block0 + (uint32_t)(g * GROUP_BLOCKS);
  uint32_t *o = out + g * GROUP_WORDS;
  switch (groups - g) { /* nv must be a constant in each call */
  case 3: philox_run_avx2(p, b, o, 3); break;
  case 2: philox_run_avx2(p, b, o, 2); break;
  case 1: philox_run_avx2(p, b, o, 1); break;
  default: break;
  }
}

/* nv (1..4, a constant after inlining) groups from block base on, then a
 * 4x8 transpose per group restores block order. */
RNG_AVX2 __attribute__((always_inline)) static inline void philox_run_avx2(
    const philox_stream *p, uint32_t base, uint32_t *restrict out, int nv) {
  const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0);
  const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M1);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i x0[AVX2_GROUPS], x1[AVX2_GROUPS], x2[AVX2_GROUPS], x3[AVX2_GROUPS];
  for (int v = 0; v < nv; v++) {
    x0[v] = _mm256_add_epi32(
        _mm256_set1_epi32((int)(base + (uint32_t)(v * GROUP_BLOCKS))), lane);
    x1[v] = _mm256_set1_epi32((int)p->sub);
    x2[v] = _mm256_set1_epi32((int)p->step);
    x3[v] = _mm256_set1_epi32((int)p->tag);
  }
  uint32_t k0 = p->k0, k1 = p->k1;
  for (int round = 0; round < PHILOX_ROUNDS; round++) {
    __m256i vk0 = _mm256_set1_epi32((int)k0);
    __m256i vk1 = _mm256_set1_epi32((int)k1);
    for (int v = 0; v < nv; v++) {
      __m256i hi0, lo0, hi1, lo1;
      mulhilo_avx2(x0[v], m0, &hi0, &lo0);
      mulhilo_avx2(x2[v], m1, &hi1, &lo1);
      x0[v] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[v]), vk0);
      x2[v] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[v]), vk1);
      x1[v] = lo1;
      x3[v] = lo0;
    }
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  for (int v = 0; v < nv; v++)
    transpose_store_avx2(x0[v], x1[v], x2[v], x3[v], out + v * GROUP_WORDS);
}

/* Lanes are blocks 0-7 of a group, xk holds word k of each: 4x8 transpose
 * to block order. */
RNG_AVX2 static inline void transpose_store_avx2(__m256i x0, __m256i x1,
                                                 __m256i x2, __m256i x3,
                                                 uint32_t *out) {
  /* the 128-bit halves hold blocks 0-3 and 4-7 */
  __m256i t0 = _mm256_unpacklo_epi32(x0, x1); /* a0b0a1b1|a4b4a5b5 */
  __m256i t1 = _mm256_unpackhi_epi32(x0, x1); /* a2b2a3b3|a6b6a7b7 */
  __m256i t2 = _mm256_unpacklo_epi32(x2, x3);
  __m256i t3 = _mm256_unpackhi_epi32(x2, x3);
  __m256i b04 = _mm256_unpacklo_epi64(t0, t2); /* block 0 | block 4 */
  __m256i b15 = _mm256_unpackhi_epi64(t0, t2);
  __m256i b26 = _mm256_unpacklo_epi64(t1, t3);
  __m256i b37 = _mm256_unpackhi_epi64(t1, t3);
  __m256i *o = (__m256i *)out;
  _mm256_storeu_si256(o + 0, _mm256_permute2x128_si256(b04, b15, 0x20));
  _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(b26, b37, 0x20));
  _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(b04, b15, 0x31));
  _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(b26, b37, 0x31));
}

#ifdef RNG_HAVE_AVX512
/* The AVX2 scheme with 16 lanes: a zmm holds two groups (blocks base ..
 * base + 15), AVX512_RUN independent chains per step; each 256-bit half
 * is then transposed as in the AVX2 kernel.  Same integer operations, so
 * the same words.  Returns the number of groups done (a multiple of
 * 2 * AVX512_RUN); the caller does the rest. */
RNG_AVX512 static size_t philox_groups_avx512(const philox_stream *p,
                                              uint32_t block0,
                                              uint32_t *restrict out,
                                              size_t groups) {
  const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0);
  const __m512i m1 = _mm512_set1_epi32((int)PHILOX_M1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                         11, 12, 13, 14, 15);
  const __mmask16 odd = (__mmask16)0xAAAA;
  size_t g = 0;
  for (; g + 2 * AVX512_RUN <= groups; g += 2 * AVX512_RUN) {
    const uint32_t base = block0 + (uint32_t)(g * GROUP_BLOCKS);
    __m512i x0[AVX512_RUN], x1[AVX512_RUN], x2[AVX512_RUN], x3[AVX512_RUN];
    for (int v = 0; v < AVX512_RUN; v++) {
      x0[v] = _mm512_add_epi32(
          _mm512_set1_epi32((int)(base + (uint32_t)(v * 2 * GROUP_BLOCKS))),
          lane);
      x1[v] = _mm512_set1_epi32((int)p->sub);
      x2[v] = _mm512_set1_epi32((int)p->step);
      x3[v] = _mm512_set1_epi32((int)p->tag);
    }
    uint32_t k0 = p->k0, k1 = p->k1;
    for (int round = 0; round < PHILOX_ROUNDS; round++) {
      const __m512i vk0 = _mm512_set1_epi32((int)k0);
      const __m512i vk1 = _mm512_set1_epi32((int)k1);
      for (int v = 0; v < AVX512_RUN; v++) {
        /* hi:lo = x * m per lane (even lanes direct, odd lanes shifted) */
        __m512i pe0 = _mm512_mul_epu32(x0[v], m0);
        __m512i po0 = _mm512_mul_epu32(_mm512_srli_epi64(x0[v], 32), m0);
        __m512i pe1 = _mm512_mul_epu32(x2[v], m1);
        __m512i po1 = _mm512_mul_epu32(_mm512_srli_epi64(x2[v], 32), m1);
        __m512i hi0 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(pe0, 32), po0);
        __m512i lo0 = _mm512_mask_blend_epi32(odd, pe0, _mm512_slli_epi64(po0, 32));
        __m512i hi1 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(pe1, 32), po1);
        __m512i lo1 = _mm512_mask_blend_epi32(odd, pe1, _mm512_slli_epi64(po1, 32));
        x0[v] = _mm512_xor_si512(_mm512_xor_si512(hi1, x1[v]), vk0);
        x2[v] = _mm512_xor_si512(_mm512_xor_si512(hi0, x3[v]), vk1);
        x1[v] = lo1;
        x3[v] = lo0;
      }
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    for (int v = 0; v < AVX512_RUN; v++) {
      uint32_t *o = out + (g + 2 * (size_t)v) * GROUP_WORDS;
      transpose_store_avx2(_mm512_castsi512_si256(x0[v]),
                           _mm512_castsi512_si256(x1[v]),
                           _mm512_castsi512_si256(x2[v]),
                           _mm512_castsi512_si256(x3[v]), o);
      transpose_store_avx2(_mm512_extracti64x4_epi64(x0[v], 1),
                           _mm512_extracti64x4_epi64(x1[v], 1),
                           _mm512_extracti64x4_epi64(x2[v], 1),
                           _mm512_extracti64x4_epi64(x3[v], 1),
                           o + GROUP_WORDS);
    }
  }
  return g;
}
#endif
#endif

static void copy_kernel(const uint32_t *words, void *vals, size_t groups) {
  memcpy(vals, words, groups * GROUP_WORDS * sizeof *words);
}

/* Uniform in (0,1) from the top 23 bits k of a word: (k + 1/2) 2^-23.
 * Every such value is exact in float (at most 24 significant bits), the
 * extremes are 2^-24 and 1 - 2^-24, and the set is symmetric about 1/2, so
 * the mean is exactly 1/2.  (With 24 bits the top value would round to 1.) */
static inline float u01f(uint32_t w) {
  return ((float)(int32_t)(w >> 9) + 0.5f) * 0x1p-23f;
}

RNG_CLONES static void uniform_kernel(const uint32_t *words, void *vals,
                                      size_t groups) {
  float *restrict u = vals;
  for (size_t g = 0; g < groups; g++)
    for (int i = 0; i < GROUP_WORDS; i++)
      u[g * GROUP_WORDS + i] = u01f(words[g * GROUP_WORDS + i]);
}

/* Box–Muller (Box & Muller 1958): r = sqrt(-2 ln u), z = (r cos 2πt,
 * r sin 2πt), u from the even word of the pair, t from the odd word.
 *
 * u takes the top 31 bits k: (k + 1/2) 2^-31 computed in float, in
 * [2^-32, 1] (as in Random123's boxmuller.hpp, u = 1 is harmless: r = 0).
 * So the largest |z| is sqrt(64 ln 2) = 6.66, P(|z| > 6.66) = 2.7e-11;
 * the 23 bits of the uniform fill would cut the tail at 5.77 (P = 8e-9).
 *
 * t = (a + 1/2) 2^-23 is fixed point, so the reduction to a quadrant
 * q = round(4t) and a residual angle x = 2π(t - q/4) in [-π/4, π/4] is
 * exact in integers.  log, sin and cos are written out (log_f, sincos_f) so
 * the loop vectorises and the numbers do not depend on the C library; the
 * square root has a loop of its own (sqrt_f) because GCC will not vectorise
 * a loop that calls sqrtf under errno semantics (no -ffast-math). */
RNG_CLONES static void normal_kernel(const uint32_t *words, void *vals,
                                     size_t groups) {
  float *restrict z = vals;
  for (size_t g = 0; g < groups; g++) {
    const uint32_t *w = words + g * GROUP_WORDS;
    float r[GROUP_WORDS / 2], c[GROUP_WORDS / 2], sn[GROUP_WORDS / 2];
    for (int j = 0; j < GROUP_WORDS / 2; j++) {
      float u = ((float)(int32_t)(w[2 * j] >> 1) + 0.5f) * 0x1p-31f;
      r[j] = -2.0f * log_f(u);
      sincos_f(w[2 * j + 1], &sn[j], &c[j]);
    }
    sqrt_f(r);
    float *o = z + g * GROUP_WORDS;
    for (int j = 0; j < GROUP_WORDS / 2; j++) {
      o[2 * j] = r[j] * c[j];
      o[2 * j + 1] = r[j] * sn[j];
    }
  }
}

/* ln u for u in (0, 1].  u = m 2^e with m in [sqrt(1/2), sqrt(2));
 * ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716, by the series
 * 2(s + s^3/3 + ... + s^9/9) (truncation < 3e-9 relative); e ln 2 in two
 * parts (fdlibm's split: ln2_hi has its low 7 bits zero, so e*ln2_hi is
 * exact for |e| <= 64).  About 2 ulp.  ln 1 = 0 exactly; ln u < 0 below. */
static inline float log_f(float u) {
  uint32_t b;
  memcpy(&b, &u, sizeof b);
  int32_t e = (int32_t)(b >> 23) - 127;
  uint32_t mb = (b & 0x7fffffu) | 0x3f800000u; /* m in [1, 2) */
  int big = mb > 0x3fb504f3u;                  /* m > sqrt(2): halve it */
  mb -= big ? 0x00800000u : 0u;
  e += big;
  float m;
  memcpy(&m, &mb, sizeof m);
  float f = m - 1.0f; /* exact (Sterbenz) */
  float s = f / (2.0f + f);
  float z = s * s;
  float poly =
      2.0f + z * (2.0f / 3 + z * (2.0f / 5 + z * (2.0f / 7 + z * (2.0f / 9))));
  float ef = (float)e;
  return ef * 6.9313812256e-01f + (s * poly + ef * 9.0580006145e-06f);
}

/* sin and cos of 2πt, t = (a + 1/2) 2^-23 with a the top 23 bits of w.
 * Taylor series on [-π/4, π/4] to x^9 and x^10 (truncation < 2e-9), then
 * a rotation by q quarter turns; q = 4 is a full turn and falls out of the
 * same rules as q = 0. */
static inline void sincos_f(uint32_t w, float *sn, float *cs) {
  int32_t a = (int32_t)(w >> 9);
  int32_t q = (a + (1 << 20)) >> 21; /* round(4t), 0..4 */
  int32_t d = a - (q << 21);         /* in [-2^20, 2^20) */
  float x = ((float)d + 0.5f) * (float)(6.283185307179586 / 8388608.0);
  float x2 = x * x;
  float sx = x + x * x2 *
                     (-1.0f / 6 +
                      x2 * (1.0f / 120 +
                            x2 * (-1.0f / 5040 + x2 * (1.0f / 362880))));
  float cx = 1.0f +
             x2 * (-0.5f +
                   x2 * (1.0f / 24 +
                         x2 * (-1.0f / 720 +
                               x2 * (1.0f / 40320 + x2 * (-1.0f / 3628800)))));
  int odd = q & 1;
  float cq = odd ? sx : cx;
  float sq = odd ? cx : sx;
  *cs = ((q + 1) & 2) ? -cq : cq; /* q = 1, 2 */
  *sn = (q & 2) ? -sq : sq;       /* q = 2, 3 */
}

/* y = sqrt(y) on GROUP_WORDS / 2 values, the IEEE square root either way
 * (y >= 0 here, so sqrtf never touches errno). */
static inline void sqrt_f(float *y) {
#if RNG_X86
  for (int j = 0; j < GROUP_WORDS / 2; j += 4)
    _mm_storeu_ps(y + j, _mm_sqrt_ps(_mm_loadu_ps(y + j)));
#else
  for (int j = 0; j < GROUP_WORDS / 2; j++) y[j] = sqrtf(y[j]);
#endif
}

/* The 52 bits w0 : top 20 of w1. */
static inline uint64_t bits52(uint32_t w0, uint32_t w1) {
  return (uint64_t)w0 << 20 | (uint64_t)(w1 >> 12);
}

/* Uniform in (0,1) from two words: (k + 1/2) 2^-52 with k = bits52, i.e.
 * the odd multiples of 2^-53 from 2^-53 to 1 - 2^-53: all exact, symmetric
 * about 1/2 (53 bits would round the top value to 1).  Built by placing k
 * in the mantissa of [1, 2) and subtracting 1 - 2^-53 (exact, because the
 * result is representable). */
static inline double u01d(uint32_t w0, uint32_t w1) {
  uint64_t b = 0x3ff0000000000000u | bits52(w0, w1);
  double d;
  memcpy(&d, &b, sizeof d);
  return d - (1.0 - 0x1p-53);
}

RNG_CLONES static void uniform_d_kernel(const uint32_t *words, void *vals,
                                        size_t groups) {
  double *restrict u = vals;
  for (size_t g = 0; g < groups; g++)
    for (int i = 0; i < GROUP_WORDS / 2; i++) {
      size_t k = g * GROUP_WORDS / 2 + (size_t)i;
      u[k] = u01d(words[2 * k], words[2 * k + 1]);
    }
}

/* Box–Muller in double, as normal_kernel: words 0-1 of each 4-word pair
 * give u (u01d, so the largest |z| is sqrt(106 ln 2) = 8.57), words 2-3
 * give t = (k + 1/2) 2^-52. */
RNG_CLONES static void normal_d_kernel(const uint32_t *words, void *vals,
                                       size_t groups) {
  double *restrict z = vals;
  for (size_t g = 0; g < groups; g++) {
    const uint32_t *w = words + g * GROUP_WORDS;
    double r[GROUP_WORDS / 4], c[GROUP_WORDS / 4], sn[GROUP_WORDS / 4];
    for (int j = 0; j < GROUP_WORDS / 4; j++) {
      r[j] = -2.0 * log_d(u01d(w[4 * j], w[4 * j + 1]));
      sincos_d(bits52(w[4 * j + 2], w[4 * j + 3]), &sn[j], &c[j]);
    }
    sqrt_d(r);
    double *o = z + g * GROUP_WORDS / 2;
    for (int j = 0; j < GROUP_WORDS / 4; j++) {
      o[2 * j] = r[j] * c[j];
      o[2 * j + 1] = r[j] * sn[j];
    }
  }
}

/* Exact int64 -> double for |i| < 2^51 without a conversion instruction
 * (AVX2 has none for 64-bit lanes): 1.5 2^52 + i as bits, minus 1.5 2^52. */
static inline double i64_to_d(int64_t i) {
  uint64_t b = 0x4338000000000000u + (uint64_t)i;
  double d;
  memcpy(&d, &b, sizeof d);
  return d - 0x1.8p52;
}

/* ln u for u in (0, 1], as log_f with the series to s^21 (truncation
 * < 1e-18 relative) and fdlibm's double ln2_hi (low 21 bits zero) and
 * ln2_lo.  About 2 ulp. */
static inline double log_d(double u) {
  uint64_t b;
  memcpy(&b, &u, sizeof b);
  int64_t e = (int64_t)(b >> 52) - 1023;
  uint64_t mb = (b & 0xfffffffffffffu) | 0x3ff0000000000000u;
  int64_t big = mb > 0x3ff6a09e667f3bcdu; /* m > sqrt(2): halve it */
  mb -= big ? 0x0010000000000000u : 0u;
  e += big;
  double m;
  memcpy(&m, &mb, sizeof m);
  double f = m - 1.0;
  double s = f / (2.0 + f);
  double z = s * s;
  double poly =
      2.0 +
      z * (2.0 / 3 +
           z * (2.0 / 5 +
                z * (2.0 / 7 +
                     z * (2.0 / 9 +
                          z * (2.0 / 11 +
                               z * (2.0 / 13 +
                                    z * (2.0 / 15 +
                                         z * (2.0 / 17 +
                                              z * (2.0 / 19 +
                                                   z * (2.0 / 21))))))))));
  double ef = i64_to_d(e);
  return ef * 6.93147180369123816490e-01 +
         (s * poly + ef * 1.90821492927058770002e-10);
}

/* sin and cos of 2πt, t = (k + 1/2) 2^-52: as sincos_f, Taylor series to
 * x^17 and x^16 (truncation < 3e-18). */
static inline void sincos_d(uint64_t k, double *sn, double *cs) {
  int64_t q = (int64_t)((k + (UINT64_C(1) << 49)) >> 50); /* round(4t) */
  int64_t d = (int64_t)k - (q << 50); /* in [-2^49, 2^49) */
  double x = (i64_to_d(d) + 0.5) * (6.283185307179586 / 0x1p52);
  double x2 = x * x;
  double sx =
      x +
      x * x2 *
          (-1.0 / 6 +
           x2 * (1.0 / 120 +
                 x2 * (-1.0 / 5040 +
                       x2 * (1.0 / 362880 +
                             x2 * (-1.0 / 39916800 +
                                   x2 * (1.0 / 6227020800.0 +
                                         x2 * (-1.0 / 1307674368000.0 +
                                               x2 / 355687428096000.0)))))));
  double cx =
      1.0 +
      x2 * (-0.5 +
            x2 * (1.0 / 24 +
                  x2 * (-1.0 / 720 +
                        x2 * (1.0 / 40320 +
                              x2 * (-1.0 / 3628800 +
                                    x2 * (1.0 / 479001600 +
                                          x2 * (-1.0 / 87178291200.0 +
                                                x2 / 20922789888000.0)))))));
  int64_t odd = q & 1;
  double cq = odd ? sx : cx;
  double sq = odd ? cx : sx;
  *cs = ((q + 1) & 2) ? -cq : cq;
  *sn = (q & 2) ? -sq : sq;
}

/* y = sqrt(y) on GROUP_WORDS / 4 values, as sqrt_f. */
static inline void sqrt_d(double *y) {
#if RNG_X86
  for (int j = 0; j < GROUP_WORDS / 4; j += 2)
    _mm_storeu_pd(y + j, _mm_sqrt_pd(_mm_loadu_pd(y + j)));
#else
  for (int j = 0; j < GROUP_WORDS / 4; j++) y[j] = sqrt(y[j]);
#endif
}
