/* Input diversity (DI2-FGSM, Xie et al. 2019): a random, differentiable
 * transform of the face before the probe sees it. */
#ifndef APF_DIVERSITY_H
#define APF_DIVERSITY_H

#include "../core/rng.h"

typedef struct di_transform {
    int active;       /* 0: identity */
    double m[6];      /* destination-to-source affine (rescale + rotation + shift) */
    float gain[3];    /* per-channel colour gain */
    float offset[3];  /* per-channel brightness offset */
} di_transform;

/* Draw a transform: active with probability p. */
void di_draw(rng *r, float p, int size, di_transform *t);
/* Draw a small misalignment, as a recognizer's re-alignment of a
 * protected photo makes (always active, no colour change). */
void di_draw_jitter(rng *r, int size, di_transform *t);
/* dst = gain * warp(src) + offset (size x size x 3). */
void di_forward(const di_transform *t, const float *src, float *dst, int size);
/* d_src += warp^T(gain * d_dst). */
void di_backward(const di_transform *t, const float *d_dst, float *d_src, float *scratch, int size);

#endif
