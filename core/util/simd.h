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
#else
#define RPU__CLONES
#endif

#ifdef _OPENMP
#define RPU__SIMD _Pragma("omp simd")
#else
#define RPU__SIMD
#endif

#endif
