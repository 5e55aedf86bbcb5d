/* Bilinear resampling (resize, affine warp) and the exact adjoints that carry
 * gradients from a recognizer's input size back to the face. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* dst(x, y) = bilinear src at M (x, y); adjoint scatters dst into src.
 * clamp: sample the nearest edge pixel outside the source (resize), else 0. */
static void sample(float *src, int sh, int sw, int c, float *dst, int dh, int dw, const double m[6],
                   int adjoint, int clamp)
{
    if (!adjoint)
        memset(dst, 0, (size_t)dh * dw * c * sizeof(float));
    for (int y = 0; y < dh; y++) {
        for (int x = 0; x < dw; x++) {
            double sx = m[0] * x + m[1] * y + m[2];
            double sy = m[3] * x + m[4] * y + m[5];
            if (clamp) {
                sx = fmin(fmax(sx, 0.0), sw - 1.0);
                sy = fmin(fmax(sy, 0.0), sh - 1.0);
            }
            double fx = floor(sx), fy = floor(sy);
            int x0 = (int)fx, y0 = (int)fy;
            float ax = (float)(sx - fx), ay = (float)(sy - fy);
            float wts[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
            int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
            float *d = dst + ((size_t)y * dw + x) * c;
            for (int k = 0; k < 4; k++) {
                if (xs[k] < 0 || xs[k] >= sw || ys[k] < 0 || ys[k] >= sh || wts[k] == 0.0f)
                    continue;
                float *s = src + ((size_t)ys[k] * sw + xs[k]) * c;
                if (adjoint)
                    for (int ch = 0; ch < c; ch++)
                        s[ch] += wts[k] * d[ch];
                else
                    for (int ch = 0; ch < c; ch++)
                        d[ch] += wts[k] * s[ch];
            }
        }
    }
}

static int bad_dims(const float *src, int sh, int sw, int c, const float *dst, int dh, int dw)
{
    return !src || !dst || sh < 1 || sw < 1 || dh < 1 || dw < 1 || c < 1 || c > 64 ||
           sh > APF_IMAGE_MAX_SIDE || sw > APF_IMAGE_MAX_SIDE || dh > APF_IMAGE_MAX_SIDE ||
           dw > APF_IMAGE_MAX_SIDE;
}

apf_status apf_warp_affine(float *src, int sh, int sw, int c, float *dst, int dh, int dw,
                           const double m[6], int adjoint)
{
    if (bad_dims(src, sh, sw, c, dst, dh, dw) || !m)
        return apf_fail(APF_E_INVALID, "warp: bad arguments");
    for (int k = 0; k < 6; k++)
        if (!isfinite(m[k]))
            return apf_fail(APF_E_NUMERIC, "warp: matrix is not finite");
    sample(src, sh, sw, c, dst, dh, dw, m, adjoint, 0);
    return APF_OK;
}

/* One output coordinate's bilinear taps along an axis of a resize: the
 * same arithmetic as sample() with its clamp, done once per row or column
 * instead of once per pixel. */
typedef struct axis_tap {
    int i0, i1;  /* source indices (i1 = i0 at the far edge, where w1 = 0) */
    float frac;  /* weight of i1 */
} axis_tap;

static void axis_taps(int src_n, int dst_n, axis_tap *t)
{
    double f = (double)src_n / dst_n;
    for (int d = 0; d < dst_n; d++) {
        double s = fmin(fmax(f * d + (0.5 * f - 0.5), 0.0), src_n - 1.0);
        double fl = floor(s);
        t[d].i0 = (int)fl;
        t[d].i1 = t[d].i0 + 1 < src_n ? t[d].i0 + 1 : t[d].i0;
        t[d].frac = (float)(s - fl);
    }
}

/* A resize is separable: its taps come from two short tables. The weights
 * and the order of the sums are those of sample(), so the result is the
 * same to the bit (a zero weight adds nothing), at a fraction of the
 * cost (recognizers' inputs are resized on every pass of an attack). */
static void resize_separable(float *src, int sw, int c, float *dst, int dh, int dw, int adjoint,
                             const axis_tap *tx, const axis_tap *ty)
{
    if (!adjoint)
        memset(dst, 0, (size_t)dh * dw * c * sizeof(float));
    for (int y = 0; y < dh; y++) {
        float ay = ty[y].frac;
        const float *row0 = src + (size_t)ty[y].i0 * sw * c, *row1 = src + (size_t)ty[y].i1 * sw * c;
        for (int x = 0; x < dw; x++) {
            float ax = tx[x].frac;
            float w[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
            size_t o0 = (size_t)tx[x].i0 * c, o1 = (size_t)tx[x].i1 * c;
            float *s4[4] = {(float *)row0 + o0, (float *)row0 + o1, (float *)row1 + o0, (float *)row1 + o1};
            float *d = dst + ((size_t)y * dw + x) * c;
            for (int k = 0; k < 4; k++) {
                if (w[k] == 0.0f)
                    continue;
                if (adjoint)
                    for (int ch = 0; ch < c; ch++)
                        s4[k][ch] += w[k] * d[ch];
                else
                    for (int ch = 0; ch < c; ch++)
                        d[ch] += w[k] * s4[k][ch];
            }
        }
    }
}

apf_status apf_resize(float *src, int sh, int sw, int c, float *dst, int dh, int dw, int adjoint)
{
    if (bad_dims(src, sh, sw, c, dst, dh, dw))
        return apf_fail(APF_E_INVALID, "resize: bad arguments");
    axis_tap *tx = malloc((size_t)(dw + dh) * sizeof *tx);
    if (!tx) { /* the slow path needs no memory */
        double fx = (double)sw / dw, fy = (double)sh / dh;
        const double m[6] = {fx, 0, 0.5 * fx - 0.5, 0, fy, 0.5 * fy - 0.5};
        sample(src, sh, sw, c, dst, dh, dw, m, adjoint, 1);
        return APF_OK;
    }
    axis_taps(sw, dw, tx);
    axis_taps(sh, dh, tx + dw);
    resize_separable(src, sw, c, dst, dh, dw, adjoint, tx, tx + dw);
    free(tx);
    return APF_OK;
}

double apf_edge_fade(double u, double v, int size, int band)
{
    double d = fmin(fmin(u, v), fmin(size - 1 - u, size - 1 - v)) / band;
    if (d >= 1)
        return 1;
    if (d <= 0)
        return 0;
    return d * d * (3 - 2 * d);
}

void apf_affine_invert(const double m[6], double inv[6])
{
    double det = m[0] * m[4] - m[1] * m[3];
    inv[0] = m[4] / det, inv[1] = -m[1] / det, inv[3] = -m[3] / det, inv[4] = m[0] / det;
    inv[2] = -(inv[0] * m[2] + inv[1] * m[5]);
    inv[5] = -(inv[3] * m[2] + inv[4] * m[5]);
}

void apf_square_bounds(const double m[6], int size, double lo[2], double hi[2])
{
    lo[0] = lo[1] = INFINITY, hi[0] = hi[1] = -INFINITY;
    for (int k = 0; k < 4; k++) {
        double u = (k & 1) ? size - 1 : 0, v = (k >> 1) ? size - 1 : 0;
        double x = m[0] * u + m[1] * v + m[2], y = m[3] * u + m[4] * v + m[5];
        lo[0] = fmin(lo[0], x), hi[0] = fmax(hi[0], x), lo[1] = fmin(lo[1], y), hi[1] = fmax(hi[1], y);
    }
}
