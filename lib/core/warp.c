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
#include "simd.h"
#if SIMD_X86
#include <immintrin.h>
#endif

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
static inline __attribute__((always_inline)) void sample_point(float *src, int sh, int sw, int c, float *dst,
                                                               int dw, int x, int y, const double m[6],
                                                               int adjoint, int clamp, int rlo, int rhi)
{
    double sx = m[0] * x + m[1] * y + m[2];
    double sy = m[3] * x + m[4] * y + m[5];
    if (clamp) {
        sx = fmin(fmax(sx, 0.0), sw - 1.0);
        sy = fmin(fmax(sy, 0.0), sh - 1.0);
    } else if (!(sx > -1.0 && sx < sw && sy > -1.0 && sy < sh)) {
        return;
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
            return;
        }
        tap(r0, d, w0, c, 1), tap(r0 + c, d, w1, c, 1);
        tap(r1, d, w2, c, 1), tap(r1 + c, d, w3, c, 1);
        return;
    }
    const int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
    const float ws[4] = {w0, w1, w2, w3};
    for (int k = 0; k < 4; k++)
        if (xs[k] >= 0 && xs[k] < sw && ys[k] >= rlo && ys[k] < rhi)
            tap(src + ((size_t)ys[k] * sw + xs[k]) * c, d, ws[k], c, adjoint);
}

static inline __attribute__((always_inline)) void sample_row_c(float *src, int sh, int sw, int c, float *dst,
                                                               int dw, int y, const double m[6], int adjoint,
                                                               int clamp, int rlo, int rhi)
{
    for (int x = 0; x < dw; x++)
        sample_point(src, sh, sw, c, dst, dw, x, y, m, adjoint, clamp, rlo, rhi);
}

#if SIMD_X86
/* d[0..2] = the sum over the four taps t[j] of w[j] * t[j][0..2], each
 * tap's three channels in one 4-wide SSE load (the fourth lane reads one
 * value past the tap, which the caller guarantees exists), summed from +0
 * in tap order, as sum4 does on a cleared destination: the same bits.
 * Only three values are written (the fourth is another point's). */
static inline __attribute__((always_inline)) void sum4_rgb(float *d, float *const t[4], const float w[4])
{
    __m128 v = _mm_setzero_ps();
    for (int j = 0; j < 4; j++)
        v = _mm_add_ps(v, _mm_mul_ps(_mm_set1_ps(w[j]), _mm_loadu_ps(t[j])));
    _mm_storel_pi((__m64 *)d, v);
    _mm_store_ss(d + 2, _mm_movehl_ps(v, v));
}

/* Eight points x..x+7 of row y of a colour warp (no clamp): whether all
 * have their four taps inside source rows [rlo, rhi) and columns, and
 * then each one's first tap (its offset in the source) and four weights,
 * with sample_point's arithmetic: the coordinates in double, the weights
 * in float, no fused multiply-adds (the target is AVX2 without FMA), so
 * the same bits. */
SIMD_AVX2_EXACT static inline __attribute__((always_inline)) int points8(int sw, int x, int y, const double m[6],
                                                                   int rlo, int rhi, int base[8],
                                                                   float w[4][8])
{
    const __m256d m0 = _mm256_set1_pd(m[0]), m3 = _mm256_set1_pd(m[3]);
    const __m256d m2 = _mm256_set1_pd(m[2]), m5 = _mm256_set1_pd(m[5]);
    const __m256d by = _mm256_set1_pd(m[1] * y), cy = _mm256_set1_pd(m[4] * y);
    __m256d xa = _mm256_set_pd(x + 3, x + 2, x + 1, x), xb = _mm256_set_pd(x + 7, x + 6, x + 5, x + 4);
    __m256d sxa = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m0, xa), by), m2);
    __m256d sxb = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m0, xb), by), m2);
    __m256d sya = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m3, xa), cy), m5);
    __m256d syb = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m3, xb), cy), m5);
    __m256d fxa = _mm256_floor_pd(sxa), fxb = _mm256_floor_pd(sxb);
    __m256d fya = _mm256_floor_pd(sya), fyb = _mm256_floor_pd(syb);
    /* all four taps inside: 0 <= x0 <= sw - 2 and rlo <= y0 <= rhi - 2 */
    const __m256d x_lo = _mm256_setzero_pd(), x_hi = _mm256_set1_pd(sw - 2.0);
    const __m256d y_lo = _mm256_set1_pd(rlo), y_hi = _mm256_set1_pd(rhi - 2.0);
    __m256d ina = _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(fxa, x_lo, _CMP_GE_OQ), _mm256_cmp_pd(fxa, x_hi, _CMP_LE_OQ)),
                                _mm256_and_pd(_mm256_cmp_pd(fya, y_lo, _CMP_GE_OQ), _mm256_cmp_pd(fya, y_hi, _CMP_LE_OQ)));
    __m256d inb = _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(fxb, x_lo, _CMP_GE_OQ), _mm256_cmp_pd(fxb, x_hi, _CMP_LE_OQ)),
                                _mm256_and_pd(_mm256_cmp_pd(fyb, y_lo, _CMP_GE_OQ), _mm256_cmp_pd(fyb, y_hi, _CMP_LE_OQ)));
    if ((_mm256_movemask_pd(ina) & _mm256_movemask_pd(inb)) != 15)
        return 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_sub_pd(sxb, fxb)), _mm256_cvtpd_ps(_mm256_sub_pd(sxa, fxa)));
    __m256 ay = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_sub_pd(syb, fyb)), _mm256_cvtpd_ps(_mm256_sub_pd(sya, fya)));
    __m256 bx = _mm256_sub_ps(one, ax), bw = _mm256_sub_ps(one, ay);
    _mm256_storeu_ps(w[0], _mm256_mul_ps(bx, bw)), _mm256_storeu_ps(w[1], _mm256_mul_ps(ax, bw));
    _mm256_storeu_ps(w[2], _mm256_mul_ps(bx, ay)), _mm256_storeu_ps(w[3], _mm256_mul_ps(ax, ay));
    __m256i ix = _mm256_set_m128i(_mm256_cvttpd_epi32(fxb), _mm256_cvttpd_epi32(fxa));
    __m256i iy = _mm256_set_m128i(_mm256_cvttpd_epi32(fyb), _mm256_cvttpd_epi32(fya));
    /* (y0 * sw + x0) * 3: below 2^31 for any image the library takes */
    __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(iy, _mm256_set1_epi32(3 * sw)),
                                   _mm256_mullo_epi32(ix, _mm256_set1_epi32(3)));
    _mm256_storeu_si256((__m256i *)base, off);
    return 1;
}

/* Row y of a colour warp (no clamp), forward or adjoint (into source rows
 * [rlo, rhi)), with AVX2 where eight points in a row have all their taps
 * inside: each point's three channels as one 4-wide load per tap (gathers
 * are slow on many Intel cores), in sample_point's order, and only three
 * values written back (the fourth is another point's, perhaps another
 * core's). The 4-wide load reads one value past the tap, which exists
 * unless the tap is the source's last pixel; such points, and all the
 * others, take sample_point. The forward's sums start from the cleared
 * destination's +0; the adjoint skips a zero weight as tap() does. Every
 * value is the same to the bit as sample_point's. */
SIMD_AVX2_EXACT static void warp_row_rgb_avx2(float *src, int sh, int sw, float *dst, int dw, int y, const double m[6],
                                        int adjoint, int rlo, int rhi)
{
    const int last = 3 * sh * sw; /* one past the source's last value */
    int x = 0;
    for (; x + 8 <= dw; x += 8) {
        int base[8];
        float w[4][8];
        if (!points8(sw, x, y, m, rlo, rhi, base, w)) {
            for (int k = 0; k < 8; k++)
                sample_point(src, sh, sw, 3, dst, dw, x + k, y, m, adjoint, 0, rlo, rhi);
            continue;
        }
        float *d = dst + ((size_t)y * dw + x) * 3;
        for (int k = 0; k < 8; k++, d += 3) {
            if (base[k] + 3 * sw + 6 >= last) {
                sample_point(src, sh, sw, 3, dst, dw, x + k, y, m, adjoint, 0, rlo, rhi);
                continue;
            }
            float *r0 = src + base[k], *r1 = r0 + 3 * sw;
            float *t[4] = {r0, r0 + 3, r1, r1 + 3};
            if (!adjoint) {
                const float wk[4] = {w[0][k], w[1][k], w[2][k], w[3][k]};
                sum4_rgb(d, t, wk);
                continue;
            }
            /* the point's three values (a 4-wide load could read past
             * the last point), the fourth lane cleared */
            __m128 g = _mm_setr_ps(d[0], d[1], d[2], 0.0f);
            for (int j = 0; j < 4; j++) {
                if (w[j][k] == 0.0f)
                    continue;
                __m128 v = _mm_add_ps(_mm_loadu_ps(t[j]), _mm_mul_ps(_mm_set1_ps(w[j][k]), g));
                _mm_storel_pi((__m64 *)t[j], v);
                _mm_store_ss(t[j] + 2, _mm_movehl_ps(v, v));
            }
        }
    }
    for (; x < dw; x++)
        sample_point(src, sh, sw, 3, dst, dw, x, y, m, adjoint, 0, rlo, rhi);
}
#endif

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
#if SIMD_X86
        if (c == 3 && !clamp && SIMD_HAS_AVX2) {
#pragma omp parallel for schedule(static) num_threads(bands) if (bands > 1)
            for (int band = 0; band < bands; band++) {
                int rlo = (int)((long)sh * band / bands), rhi = (int)((long)sh * (band + 1) / bands);
                for (int y = 0; y < dh; y++)
                    if (row_reaches_band(m, y, dw, rlo, rhi, clamp))
                        warp_row_rgb_avx2(src, sh, sw, dst, dw, y, m, 1, rlo, rhi);
            }
            return;
        }
#endif
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
#if SIMD_X86
    if (c == 3 && !clamp && SIMD_HAS_AVX2) {
#pragma omp parallel for schedule(static) num_threads(cores) if (cores > 1)
        for (int y = 0; y < dh; y++)
            warp_row_rgb_avx2(src, sh, sw, dst, dw, y, m, 0, 0, sh);
        return;
    }
#endif
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
static inline __attribute__((always_inline)) void resize_row_c(float *src, const float *end, int sw, int c,
                                                               float *dst, int dw, int y, int adjoint,
                                                               const axis_tap *tx, const axis_tap *ty, int rlo,
                                                               int rhi)
{
    float ay = ty[y].frac;
    float *row0 = src + (size_t)ty[y].i0 * sw * c, *row1 = src + (size_t)ty[y].i1 * sw * c;
    int in0 = ty[y].i0 >= rlo && ty[y].i0 < rhi, in1 = ty[y].i1 >= rlo && ty[y].i1 < rhi;
    float *d = dst + (size_t)y * dw * c;
    for (int x = 0; x < dw; x++, d += c) {
        float ax = tx[x].frac;
        float w0 = (1 - ax) * (1 - ay), w1 = ax * (1 - ay), w2 = (1 - ax) * ay, w3 = ax * ay;
        size_t o0 = (size_t)tx[x].i0 * c, o1 = (size_t)tx[x].i1 * c;
#if SIMD_X86
        /* colour, forward: sum4_rgb (the same bits as sum4), unless the
         * last tap's 4-wide load would read past the source's end. Not
         * the adjoint: an upsampling's neighbouring points scatter into
         * the same source values, and a 4-wide load of values just stored
         * 3-wide stalls (it ran slower than the scalar code). */
        if (c == 3 && !adjoint && row1 + o1 + 4 <= end) {
            float *const t[4] = {row0 + o0, row0 + o1, row1 + o0, row1 + o1};
            const float w[4] = {w0, w1, w2, w3};
            sum4_rgb(d, t, w);
            continue;
        }
#else
        (void)end;
#endif
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
static void resize_row(float *src, const float *end, int sw, int c, float *dst, int dw, int y, int adjoint,
                       const axis_tap *tx, const axis_tap *ty, int rlo, int rhi)
{
    if (c == 3)
        resize_row_c(src, end, sw, 3, dst, dw, y, adjoint, tx, ty, rlo, rhi);
    else
        resize_row_c(src, end, sw, c, dst, dw, y, adjoint, tx, ty, rlo, rhi);
}

static void resize_separable(float *src, int sh, int sw, int c, float *dst, int dh, int dw, int adjoint,
                             const axis_tap *tx, const axis_tap *ty)
{
    const float *end = src + (size_t)sh * sw * c; /* one past the source */
    if (!adjoint) {
        memset(dst, 0, (size_t)dh * dw * c * sizeof(float));
        int cores = resample_cores((size_t)dh * dw * c);
#pragma omp parallel for schedule(static) num_threads(cores) if (cores > 1)
        for (int y = 0; y < dh; y++)
            resize_row(src, end, sw, c, dst, dw, y, 0, tx, ty, 0, INT_MAX);
        return;
    }
    /* the adjoint by bands of source rows, as sample() does */
    int bands = resample_cores((size_t)dh * dw * c);
#pragma omp parallel for schedule(static) num_threads(bands) if (bands > 1)
    for (int band = 0; band < bands; band++) {
        int rlo = (int)((long)sh * band / bands), rhi = (int)((long)sh * (band + 1) / bands);
        for (int y = 0; y < dh; y++)
            if (ty[y].i1 >= rlo && ty[y].i0 < rhi)
                resize_row(src, end, sw, c, dst, dw, y, 1, tx, ty, rlo, rhi);
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
