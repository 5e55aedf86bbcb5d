/* Element-wise kernels, each built for AVX2 and for the baseline ISA
 * (see eltwise.h for why). The OpenMP loop sits inside each variant so the
 * outlined parallel body inherits that variant's target. */
#include "eltwise.h"
#include "simd.h"

#define INLINE SIMD_INLINE

/* Branchless so the channel loop vectorises; y may be x (in place: each
 * element is read before it is written, which omp simd allows). */
INLINE void prelu_fwd_row(const float *x, float *y, const float *restrict a, int c)
{
#pragma omp simd
    for (int k = 0; k < c; k++) {
        float on = (float)(x[k] > 0.0f); /* a 0/1 mask, not a branch */
        y[k] = x[k] * (on + (1.0f - on) * a[k]);
    }
}

INLINE void prelu_fwd_masked_row(const float *x, float *y, unsigned char *restrict m,
                                 const float *restrict a, int c)
{
#pragma omp simd
    for (int k = 0; k < c; k++) {
        float on = (float)(x[k] > 0.0f);
        m[k] = (unsigned char)on;
        y[k] = x[k] * (on + (1.0f - on) * a[k]);
    }
}

/* dx may be dy (in place); each element is read before it is written. */
INLINE void prelu_bwd_masked_row(const unsigned char *restrict m, const float *dy, float *dx,
                                 const float *restrict a, int c)
{
#pragma omp simd
    for (int k = 0; k < c; k++) {
        float on = (float)m[k];
        dx[k] = dy[k] * (on + (1.0f - on) * a[k]);
    }
}

/* each variant names its element count `total` (a pragma cannot take macro arguments) */
#define PAR_ROWS _Pragma("omp parallel for schedule(static) if (total >= ELTW_PAR_MIN)")

#define DEFINE_VARIANTS(SUFFIX, ATTR)                                                               \
    ATTR static void prelu_fwd_##SUFFIX(const float *x, float *y, const float *a, size_t pixels,    \
                                        int c)                                                      \
    {                                                                                               \
        size_t total = pixels * (size_t)c;                                                          \
        PAR_ROWS                                                                                    \
        for (size_t p = 0; p < pixels; p++)                                                         \
            prelu_fwd_row(x + p * c, y + p * c, a, c);                                              \
    }                                                                                               \
    ATTR static void prelu_fwd_masked_##SUFFIX(const float *x, float *y, unsigned char *m,         \
                                               const float *a, size_t pixels, int c)                \
    {                                                                                               \
        size_t total = pixels * (size_t)c;                                                          \
        PAR_ROWS                                                                                    \
        for (size_t p = 0; p < pixels; p++)                                                         \
            prelu_fwd_masked_row(x + p * c, y + p * c, m + p * c, a, c);                            \
    }                                                                                               \
    ATTR static void prelu_bwd_masked_##SUFFIX(const unsigned char *m, const float *dy, float *dx,  \
                                               const float *a, size_t pixels, int c)                \
    {                                                                                               \
        size_t total = pixels * (size_t)c;                                                          \
        PAR_ROWS                                                                                    \
        for (size_t p = 0; p < pixels; p++)                                                         \
            prelu_bwd_masked_row(m + p * c, dy + p * c, dx + p * c, a, c);                          \
    }                                                                                               \
    /* mask = lo < y < hi: where a clip passes its gradient */                                   \
    ATTR static void clip_mask_##SUFFIX(const float *y, unsigned char *m, size_t n, float lo,      \
                                        float hi)                                                   \
    {                                                                                               \
        size_t total = n;                                                                           \
        PAR_ROWS                                                                                    \
        for (size_t i = 0; i < n; i++)                                                              \
            m[i] = (unsigned char)((y[i] > lo) & (y[i] < hi));                                      \
    }                                                                                               \
    /* dx = dy * mask (a multiply, as on the float output before, so a zero                      \
     * keeps dy's sign); dx may be dy */                                                            \
    ATTR static void clip_bwd_##SUFFIX(const unsigned char *m, const float *dy, float *dx, size_t n) \
    {                                                                                               \
        size_t total = n;                                                                           \
        PAR_ROWS                                                                                    \
        for (size_t i = 0; i < n; i++)                                                              \
            dx[i] = dy[i] * (float)m[i];                                                            \
    }                                                                                               \
    /* no restrict: y may alias u or v, which is fine element by element */                      \
    ATTR static void add_##SUFFIX(const float *u, const float *v, float *y, size_t n)               \
    {                                                                                               \
        size_t total = n;                                                                           \
        PAR_ROWS                                                                                    \
        for (size_t i = 0; i < n; i++)                                                              \
            y[i] = u[i] + v[i];                                                                     \
    }

DEFINE_VARIANTS(base, )
#if SIMD_X86
DEFINE_VARIANTS(avx2, SIMD_AVX2)
#else
#define prelu_fwd_avx2 prelu_fwd_base
#define prelu_fwd_masked_avx2 prelu_fwd_masked_base
#define prelu_bwd_masked_avx2 prelu_bwd_masked_base
#define add_avx2 add_base
#define clip_mask_avx2 clip_mask_base
#define clip_bwd_avx2 clip_bwd_base
#endif

void eltw_prelu_fwd(const float *x, float *y, const float *a, size_t pixels, int c)
{
    if (SIMD_HAS_AVX2)
        prelu_fwd_avx2(x, y, a, pixels, c);
    else
        prelu_fwd_base(x, y, a, pixels, c);
}

void eltw_add(const float *u, const float *v, float *y, size_t n)
{
    if (SIMD_HAS_AVX2)
        add_avx2(u, v, y, n);
    else
        add_base(u, v, y, n);
}

void eltw_prelu_fwd_masked(const float *x, float *y, unsigned char *mask, const float *a,
                           size_t pixels, int c)
{
    if (SIMD_HAS_AVX2)
        prelu_fwd_masked_avx2(x, y, mask, a, pixels, c);
    else
        prelu_fwd_masked_base(x, y, mask, a, pixels, c);
}

void eltw_prelu_bwd_masked(const unsigned char *mask, const float *dy, float *dx, const float *a,
                           size_t pixels, int c)
{
    if (SIMD_HAS_AVX2)
        prelu_bwd_masked_avx2(mask, dy, dx, a, pixels, c);
    else
        prelu_bwd_masked_base(mask, dy, dx, a, pixels, c);
}

void eltw_clip_mask(const float *y, unsigned char *mask, size_t n, float lo, float hi)
{
    if (SIMD_HAS_AVX2)
        clip_mask_avx2(y, mask, n, lo, hi);
    else
        clip_mask_base(y, mask, n, lo, hi);
}

void eltw_clip_bwd_masked(const unsigned char *mask, const float *dy, float *dx, size_t n)
{
    if (SIMD_HAS_AVX2)
        clip_bwd_avx2(mask, dy, dx, n);
    else
        clip_bwd_base(mask, dy, dx, n);
}
