#include "blur.h"

#include <math.h>
#include <stddef.h>

#define MAX_RADIUS 24

int blur_radius(float sigma, int size)
{
    int r = (int)ceilf(3.0f * sigma);
    if (r > MAX_RADIUS)
        r = MAX_RADIUS;
    return r < size ? r : size - 1;
}

void blur_hwc(const float *in, float *tmp, float *out, int size, float sigma)
{
    int radius = blur_radius(sigma, size);
    float k[2 * MAX_RADIUS + 1];
    double sum = 0;
    for (int i = -radius; i <= radius; i++)
        sum += k[i + radius] = (float)exp(-0.5 * i * i / ((double)sigma * sigma));
    for (int i = 0; i <= 2 * radius; i++)
        k[i] = (float)(k[i] / sum);
    for (int pass = 0; pass < 2; pass++) {
        const float *src = pass ? tmp : in;
        float *dst = pass ? out : tmp;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 3; c++) {
                    float acc = 0;
                    for (int i = -radius; i <= radius; i++) {
                        int u = pass ? y + i : x + i;
                        u = u < 0 ? -u : u >= size ? 2 * size - 2 - u : u;
                        int yy = pass ? u : y, xx = pass ? x : u;
                        acc += k[i + radius] * src[((size_t)yy * size + xx) * 3 + c];
                    }
                    dst[((size_t)y * size + x) * 3 + c] = acc;
                }
    }
}
