/* The forward and adjoint of the graph ops oneDNN does not do: clip,
 * per-channel scale and shift, zero padding, nearest upsampling and channel
 * concatenation. Memory bound: plain C with OpenMP, parallel only above
 * ELTW_PAR_MIN elements (PReLU and sums live in eltwise.c, with AVX2). */
#include <string.h>

#include "eltwise.h"
#include "ops.h"

#define PAR_MIN ELTW_PAR_MIN

void op_clip(const float *x, float *y, size_t n, float lo, float hi)
{
#pragma omp parallel for schedule(static) if ((size_t)(n) >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
    {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

void op_scale_shift(const float *x, float *y, const float *a, const float *b, size_t pixels,
                            int c)
{
#pragma omp parallel for schedule(static) if (pixels * (size_t)c >= PAR_MIN)
    for (size_t p = 0; p < pixels; p++)
        for (int k = 0; k < c; k++)
            y[p * c + k] = a[k] * x[p * c + k] + b[k];
}

void op_pad(const float *small, float *big, const gnode *n, const gnode *x, int batch,
                     int to_big)
{
    int pt = n->a[A_PT], pl = n->a[A_PL];
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < x->h; i++)
            for (int j = 0; j < x->w; j++) {
                const size_t s = (((size_t)b * x->h + i) * x->w + j) * x->c;
                const size_t d = (((size_t)b * n->h + i + pt) * n->w + j + pl) * n->c;
                if (to_big)
                    memcpy(big + d, small + s, (size_t)x->c * sizeof(float));
                else
                    memcpy((float *)small + s, big + d, (size_t)x->c * sizeof(float));
            }
}

/* Nearest upsampling (or, adjoint, summing each block back). */
void op_upsample(const float *x, float *y, const gnode *xn, const gnode *n, int batch, int adjoint)
{
    int fh = n->a[A_KH], fw = n->a[A_KW], c = n->c;
    if (adjoint)
        memset((float *)x, 0, (size_t)batch * xn->h * xn->w * c * sizeof(float));
    /* adjoint: each source row i/fh is written by fh consecutive rows, so
     * parallelise over source rows to keep writers apart */
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)batch * n->h * n->w * c >= PAR_MIN)
    for (int b = 0; b < batch; b++)
        for (int si = 0; si < xn->h; si++)
            for (int i = si * fh; i < (si + 1) * fh; i++)
            for (int j = 0; j < n->w; j++) {
                float *src = (float *)x + (((size_t)b * xn->h + i / fh) * xn->w + j / fw) * c;
                float *dst = y + (((size_t)b * n->h + i) * n->w + j) * c;
                if (adjoint)
                    for (int k = 0; k < c; k++)
                        src[k] += dst[k];
                else
                    memcpy(dst, src, (size_t)c * sizeof(float));
            }
}

/* Channel concatenation (or, split: the adjoint). */
void op_concat(const float *a, const float *b, float *y, int ca, int cb, size_t pixels, int split)
{
#pragma omp parallel for schedule(static) if (pixels * (size_t)(ca + cb) >= PAR_MIN)
    for (size_t q = 0; q < pixels; q++) {
        float *yq = y + q * (ca + cb);
        if (split) {
            memcpy((float *)a + q * ca, yq, (size_t)ca * sizeof(float));
            memcpy((float *)b + q * cb, yq + ca, (size_t)cb * sizeof(float));
        } else {
            memcpy(yq, a + q * ca, (size_t)ca * sizeof(float));
            memcpy(yq + ca, b + q * cb, (size_t)cb * sizeof(float));
        }
    }
}

void op_scale_backward(const float *dy, float *dx, const float *a, size_t pixels, int c)
{
#pragma omp parallel for schedule(static) if (pixels * (size_t)c >= PAR_MIN)
    for (size_t q = 0; q < pixels; q++)
        for (int k = 0; k < c; k++)
            dx[q * c + k] = a[k] * dy[q * c + k];
}

void op_copy(const float *src, float *dst, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}
