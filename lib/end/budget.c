#include "budget.h"

#include "blur.h"

#include <math.h>
#include <stddef.h>

/* SSIM's window: an 11x11 Gaussian of sigma 1.5 (Wang et al. 2004). */
#define SSIM_SIGMA 1.5f

void texture_budget(const uint8_t *face, int size, float ssim, float eps, float *bound,
                    float *scratch)
{
    size_t n = (size_t)size * size * 3;
    float *mu = scratch, *tmp = scratch + n, *sq = scratch + 2 * n;
    const float c2 = (0.03f * 255) * (0.03f * 255);
    for (size_t i = 0; i < n; i++)
        sq[i] = face[i];
    blur_hwc(sq, tmp, mu, size, SSIM_SIGMA);
    for (size_t i = 0; i < n; i++)
        sq[i] = (float)face[i] * face[i];
    blur_hwc(sq, tmp, bound, size, SSIM_SIGMA); /* E[x^2], then the bound in place */
    float k = (1.0f - ssim) / ssim;
    for (size_t i = 0; i < n; i++) {
        float var = fmaxf(bound[i] - mu[i] * mu[i], 0.0f);
        float b = sqrtf(k * (2 * var + c2));
        bound[i] = fminf(fmaxf(b, 1.0f), eps);
    }
}
