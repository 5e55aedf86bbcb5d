/* Input diversity (DI2-FGSM, Xie et al. 2019): a random, differentiable
 * transform of the face before the probe sees it. */
#ifndef APF_DIVERSITY_H
#define APF_DIVERSITY_H

#include "../core/rng.h"

typedef struct di_transform {
    int active;       /* 0: no warp and no colour change (a blur may still apply) */
    double m[6];      /* destination-to-source affine (rescale + rotation + shift) */
    float gain[3];    /* per-channel colour gain */
    float offset[3];  /* per-channel brightness offset */
    float blur;       /* Gaussian blur after the colour change, sigma in pixels; 0: none */
} di_transform;

/* Draw a transform: active with probability p; with probability blur_p
 * (independently) it also blurs, sigma uniform in [blur_max / 5,
 * blur_max]. The blur's draws come after the others and only when
 * blur_p > 0, so without it the stream is what it always was. A blur
 * does not make the transform active: a face placed in a photo still gets
 * its re-alignment jitter where no warp was drawn. */
void di_draw(rng *r, float p, float blur_p, float blur_max, int size, di_transform *t);
/* Draw a small misalignment, as a recognizer's re-alignment of a
 * protected photo makes (always active, no colour change). */
void di_draw_jitter(rng *r, int size, di_transform *t);
/* The transform of one draw for one face: di_draw when the attack uses
 * input diversity (else none), and for a face placed in a photo the
 * re-alignment jitter where no warp was drawn (its blur kept). */
void di_draw_for(rng *r, int use_di, float p, float blur_p, float blur_max, int placed, int size,
                 di_transform *t);
/* dst = blur(gain * warp(src) + offset) (size x size x 3). tmp: size *
 * size * 3 floats, used only by a blurring transform, aliasing neither. */
void di_forward(const di_transform *t, const float *src, float *dst, float *tmp, int size);
/* d_src += warp^T(gain * blur(d_dst)) (the blur is its own adjoint but for
 * its mirrored edges). scratch may be d_dst; tmp as for di_forward and
 * aliasing none of the others. */
void di_backward(const di_transform *t, const float *d_dst, float *d_src, float *scratch, float *tmp,
                 int size);

#endif
