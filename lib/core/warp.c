/* Bilinear resampling (resize, affine warp) and the exact adjoints that carry
 * gradients from a recognizer's input size back to the face. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

/* Below this many output values a warp runs on one core: waking the
 * others costs more than it saves. */
#define WARP_PAR_MIN 16384

/* One tap of a bilinear sample: d += w * s (adjoint: s += w * d) over c
 * channels. A zero weight adds nothing, so it is skipped: the result is
 * then the same whether or not the tap lies inside the source. */
static inline void tap(float *s, float *d, float w, int c, int adjoint)
{
    if (w == 0.0f)
        return;
    if (adjoint)
        for (int ch = 0; ch < c; ch++)
            s[ch] += w * d[ch];
    else
        for (int ch = 0; ch < c; ch++)
            d[ch] += w * s[ch];
}

/* The forward sum of a point's four taps, d += w0 a + w1 b + w2 e + w3 f
 * over c channels, term by term in that order, without tap()'s test of
 * each weight: a zero weight times a finite value adds +-0 to a sum that
 * starts at +0 (the destination is cleared first, and each point writes
 * only its own values) and is never -0, which leaves it as it was. So this
 * gives tap()'s bits for finite sources, which is all the library
 * resamples, without four branches per point. */
static inline __attribute__((always_inline)) void sum4(float *d, const float *a, const float *b,
                                                       const float *e, const float *f, float w0, float w1,
                                                       float w2, float w3, int c)
{
    for (int ch = 0; ch < c; ch++) {
        float v = d[ch];
        v += w0 * a[ch];
        v += w1 * b[ch];
        v += w2 * e[ch];
        v += w3 * f[ch];
        d[ch] = v;
    }
}

/* Row y of dst (x, y) = bilinear src at M (x, y); adjoint scatters it into
 * src, only into source rows [rlo, rhi) (the band one core owns). clamp:
 * sample the nearest edge pixel outside the source (resize), else 0. A
 * sample point at or beyond -1 / the far edge has no tap inside, so it is
 * skipped before the integer conversion (a hostile matrix cannot overflow
 * it); within the band all four taps are taken without per-tap checks. */
static inline __attribute__((always_inline)) void sample_row_c(float *src, int sh, int sw, int c, float *dst,
                                                               int dw, int y, const double m[6], int adjoint,
                                                               int clamp, int rlo, int rhi)
{
    for (int x = 0; x < dw; x++) {
        double sx = m[0] * x + m[1] * y + m[2];
        double sy = m[3] * x + m[4] * y + m[5];
        if (clamp) {
            sx = fmin(fmax(sx, 0.0), sw - 1.0);
            sy = fmin(fmax(sy, 0.0), sh - 1.0);
        } else if (!(sx > -1.0 && sx < sw && sy > -1.0 && sy < sh)) {
            continue;
        }
        int x0 = (int)sx, y0 = (int)sy; /* floor: sx > -1 here */
        x0 -= sx < x0, y0 -= sy < y0;
        float ax = (float)(sx - x0), ay = (float)(sy - y0);
        float w0 = (1 - ax) * (1 - ay), w1 = ax * (1 - ay), w2 = (1 - ax) * ay, w3 = ax * ay;
        float *d = dst + ((size_t)y * dw + x) * c;
        if (x0 >= 0 && x0 + 1 < sw && y0 >= rlo && y0 + 1 < rhi) {
            float *r0 = src + ((size_t)y0 * sw + x0) * c, *r1 = r0 + (size_t)sw * c;
            if (!adjoint) {
                sum4(d, r0, r0 + c, r1, r1 + c, w0, w1, w2, w3, c);
                continue;
            }
            tap(r0, d, w0, c, 1), tap(r0 + c, d, w1, c, 1);
            tap(r1, d, w2, c, 1), tap(r1 + c, d, w3, c, 1);
            continue;
        }
        const int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
        const float ws[4] = {w0, w1, w2, w3};
        for (int k = 0; k < 4; k++)
            if (xs[k] >= 0 && xs[k] < sw && ys[k] >= rlo && ys[k] < rhi)
                tap(src + ((size_t)ys[k] * sw + xs[k]) * c, d, ws[k], c, adjoint);
    }
}

/* Colour images (c = 3) get a copy with the channel count known. */
static void sample_row(float *src, int sh, int sw, int c, float *dst, int dw, int y, const double m[6],
                       int adjoint, int clamp, int rlo, int rhi)
{
    if (c == 3)
        sample_row_c(src, sh, sw, 3, dst, dw, y, m, adjoint, clamp, rlo, rhi);
    else
        sample_row_c(src, sh, sw, c, dst, dw, y, m, adjoint, clamp, rlo, rhi);
}

/* How many cores a resampling of this many output values runs on (the
 * warp's rows, or the adjoint's bands of source rows): the calling
 * thread's count, or 1 when small or already inside a parallel region. */
static int resample_cores(size_t values)
{
#ifdef _OPENMP
    return values < WARP_PAR_MIN || omp_in_parallel() ? 1 : omp_get_max_threads();
#else /* the fuzzers' build */
    (void)values;
    return 1;
#endif
}

/* Whether destination row y of an affine warp can tap source rows
 * [rlo, rhi): its sample points' source y runs linearly along the row, so
 * the two ends bound it (a row's taps lie within one row of them). */
static int row_reaches_band(const double m[6], int y, int dw, int rlo, int rhi, int clamp)
{
    if (clamp)
        return 1;
    double a = m[4] * y + m[5], b = a + m[3] * (dw - 1);
    double lo = fmin(a, b), hi = fmax(a, b);
    return !(hi < rlo - 2.0 || lo > rhi + 1.0);
}

/* The warp writes each destination row on its own, so rows go to every
 * core. The adjoint scatters into source pixels that several destination
 * rows share, so each core owns a band of source rows instead and takes,
 * in the serial order, only the taps that land in its band: every source
 * value receives the same additions in the same order as on one core, so
 * the result is the same to the bit on any number of cores. */
static void sample(float *src, int sh, int sw, int c, float *dst, int dh, int dw, const double m[6],
                   int adjoint, int clamp)
{
    if (adjoint) {
        int bands = resample_cores((size_t)dh * dw * c);
#pragma omp parallel for schedule(static) num_threads(bands) if (bands > 1)
        for (int band = 0; band < bands; band++) {
            int rlo = (int)((long)sh * band / bands), rhi = (int)((long)sh * (band + 1) / bands);
            for (int y = 0; y < dh; y++)
                if (row_reaches_band(m, y, dw, rlo, rhi, clamp))
                    sample_row(src, sh, sw, c, dst, dw, y, m, 1, clamp, rlo, rhi);
        }
        return;
    }
    memset(dst, 0, (size_t)dh * dw * c * sizeof(float));
    int cores = resample_cores((size_t)dh * dw * c);
#pragma omp parallel for schedule(static) num_threads(cores) if (cores > 1)
    for (int y = 0; y < dh; y++)
        sample_row(src, sh, sw, c, dst, dw, y, m, 0, clamp, 0, sh);
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
/* Row y of a resize, or its adjoint into source rows [rlo, rhi) only. */
static inline __attribute__((always_inline)) void resize_row_c(float *src, int sw, int c, float *dst, int dw,
                                                               int y, int adjoint, const axis_tap *tx,
                                                               const axis_tap *ty, int rlo, int rhi)
{
    float ay = ty[y].frac;
    float *row0 = src + (size_t)ty[y].i0 * sw * c, *row1 = src + (size_t)ty[y].i1 * sw * c;
    int in0 = ty[y].i0 >= rlo && ty[y].i0 < rhi, in1 = ty[y].i1 >= rlo && ty[y].i1 < rhi;
    float *d = dst + (size_t)y * dw * c;
    for (int x = 0; x < dw; x++, d += c) {
        float ax = tx[x].frac;
        float w0 = (1 - ax) * (1 - ay), w1 = ax * (1 - ay), w2 = (1 - ax) * ay, w3 = ax * ay;
        size_t o0 = (size_t)tx[x].i0 * c, o1 = (size_t)tx[x].i1 * c;
        if (!adjoint) {
            sum4(d, row0 + o0, row0 + o1, row1 + o0, row1 + o1, w0, w1, w2, w3, c);
            continue;
        }
        if (in0)
            tap(row0 + o0, d, w0, c, 1), tap(row0 + o1, d, w1, c, 1);
        if (in1)
            tap(row1 + o0, d, w2, c, 1), tap(row1 + o1, d, w3, c, 1);
    }
}

/* Colour images (c = 3) get a copy with the channel count known (called
 * from inside the parallel loops, where it is not a constant). */
static void resize_row(float *src, int sw, int c, float *dst, int dw, int y, int adjoint, const axis_tap *tx,
                       const axis_tap *ty, int rlo, int rhi)
{
    if (c == 3)
        resize_row_c(src, sw, 3, dst, dw, y, adjoint, tx, ty, rlo, rhi);
    else
        resize_row_c(src, sw, c, dst, dw, y, adjoint, tx, ty, rlo, rhi);
}

static void resize_separable(float *src, int sh, int sw, int c, float *dst, int dh, int dw, int adjoint,
                             const axis_tap *tx, const axis_tap *ty)
{
    if (!adjoint) {
        memset(dst, 0, (size_t)dh * dw * c * sizeof(float));
        int cores = resample_cores((size_t)dh * dw * c);
#pragma omp parallel for schedule(static) num_threads(cores) if (cores > 1)
        for (int y = 0; y < dh; y++)
            resize_row(src, sw, c, dst, dw, y, 0, tx, ty, 0, INT_MAX);
        return;
    }
    /* the adjoint by bands of source rows, as sample() does */
    int bands = resample_cores((size_t)dh * dw * c);
#pragma omp parallel for schedule(static) num_threads(bands) if (bands > 1)
    for (int band = 0; band < bands; band++) {
        int rlo = (int)((long)sh * band / bands), rhi = (int)((long)sh * (band + 1) / bands);
        for (int y = 0; y < dh; y++)
            if (ty[y].i1 >= rlo && ty[y].i0 < rhi)
                resize_row(src, sw, c, dst, dw, y, 1, tx, ty, rlo, rhi);
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
    resize_separable(src, sh, sw, c, dst, dh, dw, adjoint, tx, tx + dw);
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
