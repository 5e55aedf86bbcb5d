#include "budget.h"

#include <math.h>
#include <stddef.h>

#define RADIUS 5
#define SIGMA 1.5

/* Separable Gaussian blur of an HWC float image, edges mirrored. */
static void blur(const float *in, float *tmp, float *out, int size)
{
    float k[2 * RADIUS + 1];
    double sum = 0;
    for (int i = -RADIUS; i <= RADIUS; i++)
        sum += k[i + RADIUS] = (float)exp(-0.5 * i * i / (SIGMA * SIGMA));
    for (int i = 0; i <= 2 * RADIUS; i++)
        k[i] = (float)(k[i] / sum);
    for (int pass = 0; pass < 2; pass++) {
        const float *src = pass ? tmp : in;
        float *dst = pass ? out : tmp;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 3; c++) {
                    float acc = 0;
                    for (int i = -RADIUS; i <= RADIUS; i++) {
                        int u = pass ? y + i : x + i;
                        u = u < 0 ? -u : u >= size ? 2 * size - 2 - u : u;
                        int yy = pass ? u : y, xx = pass ? x : u;
                        acc += k[i + RADIUS] * src[((size_t)yy * size + xx) * 3 + c];
                    }
                    dst[((size_t)y * size + x) * 3 + c] = acc;
                }
    }
}

void texture_budget(const uint8_t *face, int size, float ssim, float eps, float *bound,
                    float *scratch)
{
    size_t n = (size_t)size * size * 3;
    float *mu = scratch, *tmp = scratch + n, *sq = scratch + 2 * n;
    const float c2 = (0.03f * 255) * (0.03f * 255);
    for (size_t i = 0; i < n; i++)
        sq[i] = face[i];
    blur(sq, tmp, mu, size);
    for (size_t i = 0; i < n; i++)
        sq[i] = (float)face[i] * face[i];
    blur(sq, tmp, bound, size); /* E[x^2], then the bound in place */
    float k = (1.0f - ssim) / ssim;
    for (size_t i = 0; i < n; i++) {
        float var = fmaxf(bound[i] - mu[i] * mu[i], 0.0f);
        float b = sqrtf(k * (2 * var + c2));
        bound[i] = fminf(fmaxf(b, 1.0f), eps);
    }
}
