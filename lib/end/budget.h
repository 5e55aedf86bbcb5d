/* Per-value perturbation bounds from a face's local texture: noise hides in
 * texture and shows on smooth skin and background, which is what SSIM
 * measures too. */
#ifndef APF_BUDGET_H
#define APF_BUDGET_H

#include <stdint.h>

/* bound[i] for each of size*size*3 values of one face: the amplitude b at
 * which SSIM's contrast-structure term, (2 s^2 + C2) / (2 s^2 + b^2 + C2)
 * with s^2 the local variance (11x11 Gaussian window, sigma 1.5, as in
 * SSIM), equals `ssim`; capped at eps, at least 1. scratch holds
 * 3*size*size*3 floats. */
void texture_budget(const uint8_t *face, int size, float ssim, float eps, float *bound,
                    float *scratch);

#endif
