#include "diversity.h"

#include <math.h>
#include <string.h>

#include "apf/apf_core.h"
#include "blur.h"

/* Ranges follow the DI paper's spirit for 112-pixel faces: up to 10% rescale,
 * a few degrees of rotation, a few pixels of shift, and mild colour change. */
#define DI_SCALE 0.10f
#define DI_ROT_DEG 10.0f
#define DI_SHIFT 0.04f
#define DI_GAIN 0.10f
#define DI_OFFSET 10.0f

/* t's destination-to-source matrix for a rescale by s, a rotation by th
 * about the centre and a shift (tx, ty):
 * source = centre + R(-th)/s * (dest - centre - shift). */
static void set_similarity(di_transform *t, int size, float s, float th, float tx, float ty)
{
    double c = (size - 1) / 2.0, cs = cos(th) / s, sn = sin(th) / s;
    t->m[0] = cs, t->m[1] = sn, t->m[3] = -sn, t->m[4] = cs;
    t->m[2] = c - cs * (c + tx) - sn * (c + ty);
    t->m[5] = c + sn * (c + tx) - cs * (c + ty);
}

void di_draw(rng *r, float p, float blur_p, float blur_max, int size, di_transform *t)
{
    memset(t, 0, sizeof *t);
    float u = rng_uniform(r, 0.0f, 1.0f);
    /* draw everything unconditionally so the stream does not depend on p */
    float s = 1.0f + rng_uniform(r, -DI_SCALE, DI_SCALE);
    float th = rng_uniform(r, -DI_ROT_DEG, DI_ROT_DEG) * (float)M_PI / 180.0f;
    float tx = rng_uniform(r, -DI_SHIFT, DI_SHIFT) * size, ty = rng_uniform(r, -DI_SHIFT, DI_SHIFT) * size;
    for (int c = 0; c < 3; c++) {
        t->gain[c] = 1.0f + rng_uniform(r, -DI_GAIN, DI_GAIN);
        t->offset[c] = rng_uniform(r, -DI_OFFSET, DI_OFFSET);
    }
    t->active = u < p;
    if (t->active)
        set_similarity(t, size, s, th, tx, ty);
    if (blur_p <= 0)
        return;
    float ub = rng_uniform(r, 0.0f, 1.0f), sigma = rng_uniform(r, blur_max / 5, blur_max);
    if (ub < blur_p)
        t->blur = sigma;
}

void di_forward(const di_transform *t, const float *src, float *dst, float *tmp, int size)
{
    size_t n = (size_t)size * size;
    if (!t->active) {
        memcpy(dst, src, n * 3 * sizeof(float));
    } else {
        apf_warp_affine((float *)src, size, size, 3, dst, size, size, t->m, 0);
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                dst[3 * i + c] = t->gain[c] * dst[3 * i + c] + t->offset[c];
    }
    if (t->blur > 0)
        blur_hwc(dst, tmp, dst, size, t->blur);
}

void di_backward(const di_transform *t, const float *d_dst, float *d_src, float *scratch, float *tmp,
                 int size)
{
    size_t n = (size_t)size * size;
    if (!t->active) {
        const float *d = d_dst;
        if (t->blur > 0) {
            blur_hwc(d_dst, tmp, scratch, size, t->blur);
            d = scratch;
        }
        for (size_t i = 0; i < 3 * n; i++)
            d_src[i] += d[i];
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            scratch[3 * i + c] = t->gain[c] * d_dst[3 * i + c];
    if (t->blur > 0) /* per channel, so it commutes with the gains */
        blur_hwc(scratch, tmp, scratch, size, t->blur);
    apf_warp_affine(d_src, size, size, 3, scratch, size, size, t->m, 1);
}

/* A recognizer re-detects the protected photo and re-aligns it a little
 * differently from the device: on LFW's 150-pixel photos the landmarks
 * land 1.5 aligned pixels away on average (3.7 at most; apf-bench-photos).
 * Shifts of up to 2 pixels, 2 degrees and 2% of scale cover that. */
#define JITTER_SHIFT 2.0f
#define JITTER_ROT_DEG 2.0f
#define JITTER_SCALE 0.02f

void di_draw_jitter(rng *r, int size, di_transform *t)
{
    memset(t, 0, sizeof *t);
    float s = 1.0f + rng_uniform(r, -JITTER_SCALE, JITTER_SCALE);
    float th = rng_uniform(r, -JITTER_ROT_DEG, JITTER_ROT_DEG) * (float)M_PI / 180.0f;
    float tx = rng_uniform(r, -JITTER_SHIFT, JITTER_SHIFT), ty = rng_uniform(r, -JITTER_SHIFT, JITTER_SHIFT);
    for (int c = 0; c < 3; c++)
        t->gain[c] = 1.0f;
    t->active = 1;
    set_similarity(t, size, s, th, tx, ty);
}

void di_draw_for(rng *r, int use_di, float p, float blur_p, float blur_max, int placed, int size,
                 di_transform *t)
{
    memset(t, 0, sizeof *t);
    if (use_di)
        di_draw(r, p, blur_p, blur_max, size, t);
    /* a face in a photo is seen re-aligned, never exactly as placed */
    if (placed && !t->active) {
        float blur = t->blur;
        di_draw_jitter(r, size, t);
        t->blur = blur;
    }
}
