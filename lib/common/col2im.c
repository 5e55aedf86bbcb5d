/* col2im as a gather (see col2im.h): each thread writes whole input rows,
 * so there are no write races, and the taps that reach each input
 * coordinate come from per-axis tables made once, so the inner loop has no
 * division or bounds test. */
#include <stdlib.h>
#include <string.h>

#include "col2im.h"

/* For every input coordinate along one axis, the kernel taps k whose output
 * coordinate o = (i + pad - k * dil) / stride is whole and in range. */
typedef struct axis_taps {
    int kmax;
    int *n;     /* per input coordinate: how many taps */
    int *k, *o; /* per input coordinate, kmax slots each */
} axis_taps;

struct col2im {
    eng_conv_desc d;
    axis_taps rows, cols;
};

static int axis_taps_make(axis_taps *t, int len, int k, int stride, int pad, int dil, int out)
{
    t->kmax = k;
    t->n = calloc((size_t)len, sizeof *t->n);
    t->k = calloc((size_t)len * k, sizeof *t->k);
    t->o = calloc((size_t)len * k, sizeof *t->o);
    if (!t->n || !t->k || !t->o)
        return -1;
    for (int i = 0; i < len; i++)
        for (int j = 0; j < k; j++) {
            int at = i + pad - j * dil;
            if (at < 0 || at % stride || at / stride >= out)
                continue;
            t->k[(size_t)i * k + t->n[i]] = j;
            t->o[(size_t)i * k + t->n[i]++] = at / stride;
        }
    return 0;
}

void col2im_free(col2im *t)
{
    if (!t)
        return;
    axis_taps *ax[2] = {&t->rows, &t->cols};
    for (int a = 0; a < 2; a++) {
        free(ax[a]->n);
        free(ax[a]->k);
        free(ax[a]->o);
    }
    free(t);
}

col2im *col2im_make(const eng_conv_desc *d)
{
    col2im *t = calloc(1, sizeof *t);
    if (!t || d->c > 4)
        goto fail;
    t->d = *d;
    if (axis_taps_make(&t->rows, d->h, d->kh, d->sh, d->pt, d->dh, d->oh) ||
        axis_taps_make(&t->cols, d->w, d->kw, d->sw, d->pl, d->dw, d->ow))
        goto fail;
    return t;
fail:
    col2im_free(t);
    return NULL;
}

void col2im_run(const col2im *t, const float *col, int kpad, float *dsrc)
{
    const eng_conv_desc *d = &t->d;
    const axis_taps *rt = &t->rows, *ct = &t->cols;
    const int c = d->c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < d->n; b++)
        for (int iy = 0; iy < d->h; iy++) {
            const int *rk = rt->k + (size_t)iy * rt->kmax, *ro = rt->o + (size_t)iy * rt->kmax;
            float *out = dsrc + ((size_t)b * d->h + iy) * d->w * c;
            for (int ix = 0; ix < d->w; ix++) {
                const int *ck = ct->k + (size_t)ix * ct->kmax, *co = ct->o + (size_t)ix * ct->kmax;
                float acc[4] = {0, 0, 0, 0};
                for (int r = 0; r < rt->n[iy]; r++) {
                    const float *row = col + ((size_t)b * d->oh + ro[r]) * d->ow * kpad;
                    for (int q = 0; q < ct->n[ix]; q++) {
                        const float *tap = row + (size_t)co[q] * kpad + (size_t)(rk[r] * d->kw + ck[q]) * c;
                        for (int ci = 0; ci < c; ci++)
                            acc[ci] += tap[ci];
                    }
                }
                memcpy(out + (size_t)ix * c, acc, (size_t)c * sizeof(float));
            }
        }
}
