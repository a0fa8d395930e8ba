/* Internal: how hot element-wise loops get vectorised.
 *
 * GCC -O2 vectorises only loops it can prove cheap (no runtime alias checks,
 * no epilogues), so loops written for the vectoriser carry RPU__SIMD
 * (`omp simd`, active with OpenMP; -fopenmp also enables it) and their
 * functions RPU__CLONES: a baseline x86-64 build plus AVX2 and AVX-512
 * builds chosen at run time by the loader (target_clones), never
 * -march=native.  Clones are off under the sanitizers (their ifunc
 * resolvers run before ASan is initialised) and off the GCC/ELF/x86-64 path.
 * Element-wise loops give the same bits in every clone. */
#ifndef RPU_CORE_UTIL_SIMD_H
#define RPU_CORE_UTIL_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__ELF__) && !defined(__SANITIZE_ADDRESS__)
#define RPU__CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
/* For loops over one tile row or column (often 10-50 elements): there the
 * masked tails of 16-wide AVX-512 code cost more than they gain (rpu-bench
 * 16x25@4608 analog forward on a Zen 4 VM: 7.7-8.1x the sgemm time with
 * this set, 9.4-9.8x with the AVX-512 clone added), so those functions
 * stop at AVX2. */
#define RPU__CLONES_AVX2 __attribute__((target_clones("default", "avx2")))
#else
#define RPU__CLONES
#define RPU__CLONES_AVX2
#endif

#ifdef _OPENMP
#define RPU__SIMD _Pragma("omp simd")
#else
#define RPU__SIMD
#endif

#endif
