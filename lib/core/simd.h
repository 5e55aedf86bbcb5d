/* Building a kernel twice, for AVX2 and for the baseline ISA, and picking
 * one per call from the CPU's features (no global state of ours): the
 * baseline x86-64 build only has SSE2, which ran the memory-bound passes at
 * about half speed. A kernel file defines its variants with SIMD_AVX2 as a
 * function attribute and dispatches on SIMD_HAS_AVX2. An OpenMP loop must
 * sit inside each variant so the outlined parallel body inherits the
 * variant's target, and what the variants call must be SIMD_INLINE. */
#ifndef APF_SIMD_H
#define APF_SIMD_H

#define SIMD_INLINE static inline __attribute__((always_inline))

#if defined(SIMD_FORCE_BASELINE) /* the tests' baseline build (tests/meson.build) */
#define SIMD_X86 0
#define SIMD_HAS_AVX2 0
#elif defined(__x86_64__) || defined(__i386__)
#define SIMD_X86 1
#define SIMD_AVX2 __attribute__((target("avx2,fma")))
/* AVX2 without FMA, for kernels whose AVX2 variant must give the baseline
 * variant's bits: GCC contracts a multiply and an add into one fused
 * operation where FMA is enabled, and that rounds once where the plain
 * code rounds twice. Dispatched on SIMD_HAS_AVX2 like the others. */
#define SIMD_AVX2_EXACT __attribute__((target("avx2")))
/* __builtin_cpu_supports reads features libgcc detected at load time. */
#define SIMD_HAS_AVX2 (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
#else
#define SIMD_X86 0
#define SIMD_HAS_AVX2 0
#endif

#endif
