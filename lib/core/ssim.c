/* SSIM exactly as scikit-image 0.19 computes it with gaussian_weights=True
 * (apf_ssim in apf_eval.h); separable 11-tap Gaussian, float64 throughout.
 * In the core because both the evaluator (which reports it) and the probe
 * (which holds every face above a floor of it) need the same number. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

#define R 5 /* int(3.5 * 1.5 + 0.5) */

/* Blur of f over the valid region: out has (h-2R) x (w-2R) entries. */
static void blur(const double *f, int w, int h, const double *k, double *tmp, double *out)
{
    int ow = w - 2 * R, oh = h - 2 * R;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < ow; x++) {
            double s = 0;
            for (int t = -R; t <= R; t++)
                s += k[t + R] * f[(size_t)y * w + x + R + t];
            tmp[(size_t)y * ow + x] = s;
        }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            double s = 0;
            for (int t = -R; t <= R; t++)
                s += k[t + R] * tmp[(size_t)(y + R + t) * ow + x];
            out[(size_t)y * ow + x] = s;
        }
}

apf_status apf_image_ssim(const uint8_t *a, const uint8_t *b, int w, int h, double *ssim, double per[3])
{
    if (!a || !b || !ssim || w < 2 * R + 1 || h < 2 * R + 1 || w > APF_IMAGE_MAX_SIDE ||
        h > APF_IMAGE_MAX_SIDE)
        return apf_fail(APF_E_INVALID, "ssim: bad arguments (images must be at least 11x11)");
    double k[2 * R + 1], ks = 0;
    for (int t = -R; t <= R; t++)
        ks += k[t + R] = exp(-(double)t * t / (2 * 1.5 * 1.5));
    for (int t = 0; t <= 2 * R; t++)
        k[t] /= ks;
    size_t n = (size_t)w * h, on = (size_t)(w - 2 * R) * (h - 2 * R);
    /* five full-size planes, five blurred planes, one row-blurred scratch */
    double *buf = malloc((5 * n + 5 * on + (size_t)h * (w - 2 * R)) * sizeof(double));
    if (!buf)
        return apf_fail(APF_E_NOMEM, "ssim: out of memory");
    double *fx = buf, *fy = fx + n, *fxx = fy + n, *fyy = fxx + n, *fxy = fyy + n;
    double *mx = fxy + n, *my = mx + on, *sxx = my + on, *syy = sxx + on, *sxy = syy + on;
    double *tmp2 = sxy + on;
    const double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);
    double total = 0;
    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < n; i++) {
            double x = a[3 * i + c], y = b[3 * i + c];
            fx[i] = x, fy[i] = y, fxx[i] = x * x, fyy[i] = y * y, fxy[i] = x * y;
        }
        blur(fx, w, h, k, tmp2, mx);
        blur(fy, w, h, k, tmp2, my);
        blur(fxx, w, h, k, tmp2, sxx);
        blur(fyy, w, h, k, tmp2, syy);
        blur(fxy, w, h, k, tmp2, sxy);
        double s = 0;
        for (size_t i = 0; i < on; i++) {
            double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i];
            double cxy = sxy[i] - mx[i] * my[i];
            s += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) /
                 ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
        }
        s /= (double)on;
        if (per)
            per[c] = s;
        total += s;
    }
    free(buf);
    *ssim = total / 3;
    return APF_OK;
}
