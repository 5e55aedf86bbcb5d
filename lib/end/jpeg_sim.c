/* JPEG's loss on a face, in floats (jpeg_sim.h). The steps follow the JPEG
 * standard (ITU T.81, Annex K tables) and libjpeg's defaults for a colour
 * photo: 4:2:0 chroma, averaged down and triangle-filtered back up. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "jpeg_sim.h"
#include "../core/simd.h"

static const unsigned char luma_table[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
static const unsigned char chroma_table[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

/* libjpeg's scaling of the tables by quality (jpeg_quality_scaling). */
SIMD_INLINE void scaled_table(const unsigned char *base, int quality, float *q)
{
    quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    for (int i = 0; i < 64; i++) {
        int v = (base[i] * scale + 50) / 100;
        q[i] = (float)(v < 1 ? 1 : v > 255 ? 255 : v);
    }
}

/* Orthonormal 8-point DCT-II basis, the scaling JPEG's FDCT uses:
 * c[u][x] = (u ? 1/2 : sqrt(1/8)) cos((2x + 1) u pi / 16), as floats. The
 * literal values are what that expression gives through libm's cos (a
 * table instead of 64 cos calls on every round trip). */
static const float DCT_BASIS[8][8] = {
    {0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2},
    {0x1.f6297cp-2, 0x1.a9b662p-2, 0x1.1c73b4p-2, 0x1.8f8b84p-4, -0x1.8f8b84p-4, -0x1.1c73b4p-2, -0x1.a9b662p-2, -0x1.f6297cp-2},
    {0x1.d906bcp-2, 0x1.87de2ap-3, -0x1.87de2ap-3, -0x1.d906bcp-2, -0x1.d906bcp-2, -0x1.87de2ap-3, 0x1.87de2ap-3, 0x1.d906bcp-2},
    {0x1.a9b662p-2, -0x1.8f8b84p-4, -0x1.f6297cp-2, -0x1.1c73b4p-2, 0x1.1c73b4p-2, 0x1.f6297cp-2, 0x1.8f8b84p-4, -0x1.a9b662p-2},
    {0x1.6a09e6p-2, -0x1.6a09e6p-2, -0x1.6a09e6p-2, 0x1.6a09e6p-2, 0x1.6a09e6p-2, -0x1.6a09e6p-2, -0x1.6a09e6p-2, 0x1.6a09e6p-2},
    {0x1.1c73b4p-2, -0x1.f6297cp-2, 0x1.8f8b84p-4, 0x1.a9b662p-2, -0x1.a9b662p-2, -0x1.8f8b84p-4, 0x1.f6297cp-2, -0x1.1c73b4p-2},
    {0x1.87de2ap-3, -0x1.d906bcp-2, 0x1.d906bcp-2, -0x1.87de2ap-3, -0x1.87de2ap-3, 0x1.d906bcp-2, -0x1.d906bcp-2, 0x1.87de2ap-3},
    {0x1.8f8b84p-4, -0x1.1c73b4p-2, 0x1.a9b662p-2, -0x1.f6297cp-2, 0x1.f6297cp-2, -0x1.a9b662p-2, 0x1.1c73b4p-2, -0x1.8f8b84p-4},
};

/* Eight floats as one value (GCC's vector extension): one AVX register in
 * the AVX2 build, two SSE ones in the baseline one, the same arithmetic. */
typedef float v8f __attribute__((vector_size(32)));

/* s[k] = sum over i of a[i] m[i][k], the terms in index order, the eight
 * outputs side by side. Each pass of the 8x8 transform below is eight of
 * these. */
SIMD_INLINE void row_times(const float a[8], float m[8][8], float s[8])
{
    v8f acc = {0}, row;
    for (int i = 0; i < 8; i++) {
        memcpy(&row, m[i], sizeof row);
        acc += a[i] * row;
    }
    memcpy(s, &acc, sizeof acc);
}

/* Every 8x8 block of a w x w plane (edge pixels repeated past the border):
 * level shift, DCT, quantise, inverse. Each sum runs its terms in the
 * order of the plain triple loop, so the result is that loop's. ct is c
 * transposed. */
SIMD_INLINE void quantise_plane(float *p, int w, const float *q, float c[8][8], float ct[8][8])
{
    for (int by = 0; by < w; by += 8)
        for (int bx = 0; bx < w; bx += 8) {
            float b[8][8], t[8][8], s[8];
            int whole = by + 8 <= w && bx + 8 <= w; /* eight contiguous values a row, no clamps */
            for (int y = 0; y < 8; y++)
                if (whole)
                    for (int x = 0; x < 8; x++)
                        b[y][x] = p[(by + y) * w + bx + x] - 128.0f;
                else
                    for (int x = 0; x < 8; x++) {
                        int sy = by + y < w ? by + y : w - 1, sx = bx + x < w ? bx + x : w - 1;
                        b[y][x] = p[sy * w + sx] - 128.0f;
                    }
            for (int y = 0; y < 8; y++) /* rows: t[y][u] = sum_x b[y][x] c[u][x] */
                row_times(b[y], ct, t[y]);
            for (int v = 0; v < 8; v++) { /* columns: sum_y c[v][y] t[y][u], quantised */
                row_times(c[v], t, s);
                for (int u = 0; u < 8; u++)
                    b[v][u] = rintf(s[u] / q[v * 8 + u]) * q[v * 8 + u];
            }
            for (int y = 0; y < 8; y++) /* inverse: columns (t[y][u] = sum_v c[v][y] b[v][u]) */
                row_times(ct[y], b, t[y]);
            for (int y = 0; y < 8 && by + y < w; y++) { /* then rows */
                row_times(t[y], c, s);
                int n = whole ? 8 : w - bx < 8 ? w - bx : 8;
                for (int x = 0; x < n; x++)
                    p[(by + y) * w + bx + x] = s[x] + 128.0f;
            }
        }
}

/* Rows are converted in chunks of this many pixels, in buffers on the
 * stack, so that each step is a plain loop over arrays the compiler
 * vectorises. Even, so that a chunk holds whole 2x2 chroma cells. */
#define CHUNK 64

/* Y at full resolution and Cb, Cr averaged over each 2x2 cell (a lone
 * edge pixel counts for all its cell). Each cell's sum adds its pixels'
 * shares in raster order from zero, as a pixel-by-pixel scan would. */
SIMD_INLINE void to_ycc(const float *img, int size, float *yp, float *cb, float *cr)
{
    const int cw = (size + 1) / 2, odd = size % 2;
    for (int y = 0; y < size; y++) {
        const float row_share = 0.25f * (odd && y == size - 1 ? 2.0f : 1.0f);
        float *cbj = cb + (y / 2) * cw, *crj = cr + (y / 2) * cw;
        for (int x0 = 0; x0 < size; x0 += CHUNK) {
            const int w = size - x0 < CHUNK ? size - x0 : CHUNK;
            const float *px = img + 3 * ((size_t)y * size + x0);
            float *yrow = yp + (size_t)y * size + x0, vb[CHUNK], vr[CHUNK];
            for (int x = 0; x < w; x++) {
                float r = px[3 * x], g = px[3 * x + 1], b = px[3 * x + 2];
                float share = row_share * (odd && x0 + x == size - 1 ? 2.0f : 1.0f);
                yrow[x] = 0.299f * r + 0.587f * g + 0.114f * b;
                vb[x] = share * (-0.168736f * r - 0.331264f * g + 0.5f * b + 128.0f);
                vr[x] = share * (0.5f * r - 0.418688f * g - 0.081312f * b + 128.0f);
            }
            for (int x = 0; x < w; x += 2) {
                int i = (x0 + x) / 2;
                float sb = y % 2 ? cbj[i] : 0.0f, sr = y % 2 ? crj[i] : 0.0f;
                sb += vb[x], sr += vr[x];
                if (x + 1 < w)
                    sb += vb[x + 1], sr += vr[x + 1];
                cbj[i] = sb, crj[i] = sr;
            }
        }
    }
}

/* libjpeg's "fancy" h2v2 upsampling of one chroma plane for output row y,
 * pixels x0 .. x0 + w - 1 (x0 even), minus the 128 offset: each output
 * pixel 3/4 of its own chroma sample and 1/4 of the next one out, in each
 * direction. An even pixel's horizontal neighbour is the sample to its
 * left, an odd one's the sample to its right, so with the samples laid
 * out once beside their neighbours (edges repeated) each half is an
 * elementwise loop; the halves are then interleaved. */
SIMD_INLINE void upsample_row(const float *c, int cw, int y, int x0, int w, float *out)
{
    int j = y / 2, nj = y % 2 ? j + 1 : j - 1;
    nj = nj < 0 ? 0 : nj >= cw ? cw - 1 : nj;
    const float *cj = c + j * cw, *cn = c + nj * cw;
    const int i0 = x0 / 2, ni = (w + 1) / 2; /* samples i0 .. i0 + ni - 1 */
    float pj[CHUNK / 2 + 2], pn[CHUNK / 2 + 2], even[CHUNK / 2], odd[CHUNK / 2];
    for (int k = 0; k < ni + 2; k++) { /* pj[k] = cj[i0 + k - 1], clamped */
        int i = i0 + k - 1;
        i = i < 0 ? 0 : i >= cw ? cw - 1 : i;
        pj[k] = cj[i], pn[k] = cn[i];
    }
    for (int k = 0; k < ni; k++)
        even[k] = 0.5625f * pj[k + 1] + 0.1875f * (pj[k] + pn[k + 1]) + 0.0625f * pn[k] - 128.0f;
    for (int k = 0; k < ni; k++)
        odd[k] = 0.5625f * pj[k + 1] + 0.1875f * (pj[k + 2] + pn[k + 1]) + 0.0625f * pn[k + 2] - 128.0f;
    for (int x = 0; x < w; x++)
        out[x] = x % 2 ? odd[x / 2] : even[x / 2];
}

/* Back to RGB, rounded and clamped to 0..255 as the decoder's output. */
SIMD_INLINE void from_ycc(float *img, int size, const float *yp, const float *cb, const float *cr)
{
    const int cw = (size + 1) / 2;
    for (int y = 0; y < size; y++)
        for (int x0 = 0; x0 < size; x0 += CHUNK) {
            const int w = size - x0 < CHUNK ? size - x0 : CHUNK;
            const float *l = yp + (size_t)y * size + x0;
            float u[CHUNK], v[CHUNK], rgb[3][CHUNK];
            upsample_row(cb, cw, y, x0, w, u);
            upsample_row(cr, cw, y, x0, w, v);
            for (int x = 0; x < w; x++) {
                rgb[0][x] = l[x] + 1.402f * v[x];
                rgb[1][x] = l[x] - 0.344136f * u[x] - 0.714136f * v[x];
                rgb[2][x] = l[x] + 1.772f * u[x];
            }
            for (int k = 0; k < 3; k++)
                for (int x = 0; x < w; x++) { /* a clamp without libm's NaN-aware calls (finite here) */
                    float q = rintf(rgb[k][x]);
                    rgb[k][x] = q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q;
                }
            float *px = img + 3 * ((size_t)y * size + x0);
            for (int x = 0; x < w; x++)
                px[3 * x] = rgb[0][x], px[3 * x + 1] = rgb[1][x], px[3 * x + 2] = rgb[2][x];
        }
}

SIMD_INLINE void round_trip(float *img, int size, int quality, float *scratch)
{
    float c[8][8], ct[8][8], ql[64], qc[64];
    memcpy(c, DCT_BASIS, sizeof c);
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            ct[x][u] = c[u][x];
    scaled_table(luma_table, quality, ql);
    scaled_table(chroma_table, quality, qc);
    int cw = (size + 1) / 2;
    float *yp = scratch, *cb = scratch + size * size, *cr = cb + cw * cw;
    to_ycc(img, size, yp, cb, cr);
    quantise_plane(yp, size, ql, c, ct);
    quantise_plane(cb, cw, qc, c, ct);
    quantise_plane(cr, cw, qc, c, ct);
    from_ycc(img, size, yp, cb, cr);
}

/* The same C twice: for AVX2 the loops above run eight lanes wide,
 * without FMA, so both builds give the same bits (jpeg_sim.h). */
#if SIMD_X86
SIMD_AVX2_EXACT static void round_trip_avx2(float *img, int size, int quality, float *scratch)
{
    round_trip(img, size, quality, scratch);
}
#endif

void jpeg_sim_baseline(float *img, int size, int quality, float *scratch)
{
    round_trip(img, size, quality, scratch);
}

void jpeg_sim(float *img, int size, int quality, float *scratch)
{
#if SIMD_X86
    if (SIMD_HAS_AVX2) {
        round_trip_avx2(img, size, quality, scratch);
        return;
    }
#endif
    round_trip(img, size, quality, scratch);
}
