/* JPEG's loss on a face, in floats (jpeg_sim.h). The steps follow the JPEG
 * standard (ITU T.81, Annex K tables) and libjpeg's defaults for a colour
 * photo: 4:2:0 chroma, averaged down and triangle-filtered back up. */
#include <math.h>

#include "jpeg_sim.h"

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
static void scaled_table(const unsigned char *base, int quality, float *q)
{
    quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    for (int i = 0; i < 64; i++) {
        int v = (base[i] * scale + 50) / 100;
        q[i] = (float)(v < 1 ? 1 : v > 255 ? 255 : v);
    }
}

/* Orthonormal 8-point DCT-II basis: the scaling JPEG's FDCT uses. */
static void dct_basis(float c[8][8])
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            c[u][x] = (float)((u ? 0.5 : sqrt(0.125)) * cos((2 * x + 1) * u * M_PI / 16));
}

/* s[k] = sum over i of a[i] m[i][k], the terms in index order, the eight
 * outputs side by side (lanes the compiler vectorises). Each pass of the
 * 8x8 transform below is eight of these. */
static inline void row_times(const float a[8], float m[8][8], float s[8])
{
    float acc[8] = {0}; /* local, so it stays in registers whatever s aliases */
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8; k++)
            acc[k] += a[i] * m[i][k];
    for (int k = 0; k < 8; k++)
        s[k] = acc[k];
}

/* Every 8x8 block of a w x w plane (edge pixels repeated past the border):
 * level shift, DCT, quantise, inverse. Each sum runs its terms in the
 * order of the plain triple loop, so the result is that loop's. ct is c
 * transposed. */
static void quantise_plane(float *p, int w, const float *q, float c[8][8], float ct[8][8])
{
    for (int by = 0; by < w; by += 8)
        for (int bx = 0; bx < w; bx += 8) {
            float b[8][8], t[8][8], s[8];
            for (int y = 0; y < 8; y++)
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
                for (int x = 0; x < 8 && bx + x < w; x++)
                    p[(by + y) * w + bx + x] = s[x] + 128.0f;
            }
        }
}

/* libjpeg's "fancy" h2v2 upsampling: each output pixel 3/4 of its own
 * chroma sample and 1/4 of the next one out, in each direction. */
static inline float upsampled(const float *c, int cw, int x, int y)
{
    int i = x / 2, j = y / 2;
    int ni = x % 2 ? i + 1 : i - 1, nj = y % 2 ? j + 1 : j - 1;
    ni = ni < 0 ? 0 : ni >= cw ? cw - 1 : ni;
    nj = nj < 0 ? 0 : nj >= cw ? cw - 1 : nj;
    return 0.5625f * c[j * cw + i] + 0.1875f * (c[j * cw + ni] + c[nj * cw + i]) + 0.0625f * c[nj * cw + ni];
}

void jpeg_sim(float *img, int size, int quality, float *scratch)
{
    float c[8][8], ct[8][8], ql[64], qc[64];
    dct_basis(c);
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            ct[x][u] = c[u][x];
    scaled_table(luma_table, quality, ql);
    scaled_table(chroma_table, quality, qc);
    int cw = (size + 1) / 2;
    float *yp = scratch, *cb = scratch + size * size, *cr = cb + cw * cw;
    for (int i = 0; i < cw * cw; i++)
        cb[i] = cr[i] = 0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const float *px = img + 3 * (y * size + x);
            float r = px[0], g = px[1], b = px[2];
            yp[y * size + x] = 0.299f * r + 0.587f * g + 0.114f * b;
            /* the average of each 2x2 (a lone edge pixel counts for all four) */
            int j = y / 2, i = x / 2;
            float share = 0.25f * (size % 2 && y == size - 1 ? 2 : 1) * (size % 2 && x == size - 1 ? 2 : 1);
            cb[j * cw + i] += share * (-0.168736f * r - 0.331264f * g + 0.5f * b + 128.0f);
            cr[j * cw + i] += share * (0.5f * r - 0.418688f * g - 0.081312f * b + 128.0f);
        }
    quantise_plane(yp, size, ql, c, ct);
    quantise_plane(cb, cw, qc, c, ct);
    quantise_plane(cr, cw, qc, c, ct);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float l = yp[y * size + x], u = upsampled(cb, cw, x, y) - 128.0f, v = upsampled(cr, cw, x, y) - 128.0f;
            float rgb[3] = {l + 1.402f * v, l - 0.344136f * u - 0.714136f * v, l + 1.772f * u};
            for (int k = 0; k < 3; k++) { /* a clamp without libm's NaN-aware calls (finite here) */
                float q = rintf(rgb[k]);
                img[3 * (y * size + x) + k] = q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q;
            }
        }
}
