#include "blur.h"
#include "../core/simd.h"

#include <math.h>
#include <stddef.h>

#define MAX_RADIUS 24

/* Taps each side of the centre: ceil(3 sigma), at most size - 1 (the
 * mirror reaches no further). */
static int blur_radius(float sigma, int size)
{
    int r = (int)ceilf(3.0f * sigma);
    if (r > MAX_RADIUS)
        r = MAX_RADIUS;
    return r < size ? r : size - 1;
}

SIMD_INLINE int mirror(int u, int size)
{
    return u < 0 ? -u : u >= size ? 2 * size - 2 - u : u;
}

/* Rows first through a mirrored copy of each row, then columns as
 * weighted sums of whole rows: both inner loops run over contiguous
 * values, which the compiler vectorises (it runs every attack iteration). */
SIMD_INLINE void blur_body(const float *in, float *tmp, float *out, int size, float sigma)
{
    int radius = blur_radius(sigma, size);
    float k[2 * MAX_RADIUS + 1];
    double sum = 0;
    for (int i = -radius; i <= radius; i++)
        sum += k[i + radius] = (float)exp(-0.5 * i * i / ((double)sigma * sigma));
    for (int i = 0; i <= 2 * radius; i++)
        k[i] = (float)(k[i] / sum);
    size_t row = (size_t)size * 3;
    float pad[(BLUR_MAX_SIDE + 2 * MAX_RADIUS) * 3];
    for (int y = 0; y < size; y++) {
        const float *src = in + y * row;
        for (int x = -radius; x < size + radius; x++)
            for (int c = 0; c < 3; c++)
                pad[(size_t)(x + radius) * 3 + c] = src[(size_t)mirror(x, size) * 3 + c];
        float *dst = tmp + y * row;
        for (size_t v = 0; v < row; v++)
            dst[v] = 0;
        for (int i = 0; i <= 2 * radius; i++) {
            const float *p = pad + (size_t)i * 3;
            for (size_t v = 0; v < row; v++)
                dst[v] += k[i] * p[v];
        }
    }
    for (int y = 0; y < size; y++) {
        float *dst = out + y * row;
        for (size_t v = 0; v < row; v++)
            dst[v] = 0;
        for (int i = -radius; i <= radius; i++) {
            const float *src = tmp + (size_t)mirror(y + i, size) * row;
            for (size_t v = 0; v < row; v++)
                dst[v] += k[i + radius] * src[v];
        }
    }
}

/* Built twice (simd.h): the sums' lanes fill AVX registers. The AVX2 copy
 * is built without FMA, so each product is rounded before it is added, as
 * in the baseline copy: both give the same bits. */
#if SIMD_X86
__attribute__((target("avx2"))) static void blur_avx2(const float *in, float *tmp, float *out, int size,
                                                      float sigma)
{
    blur_body(in, tmp, out, size, sigma);
}
#endif

void blur_hwc(const float *in, float *tmp, float *out, int size, float sigma)
{
#if SIMD_X86
    if (SIMD_HAS_AVX2) {
        blur_avx2(in, tmp, out, size, sigma);
        return;
    }
#endif
    blur_body(in, tmp, out, size, sigma);
}
