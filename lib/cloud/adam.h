/* Adam (Kingma & Ba 2015) over one flat parameter array. */
#ifndef APF_ADAM_H
#define APF_ADAM_H

#include <math.h>
#include <stddef.h>

typedef struct adam {
    float *m, *v; /* moments, same length as the parameters */
    long t;       /* steps taken */
} adam;

static inline void adam_update(adam *a, float *w, const float *g, size_t n, float lr, long t)
{
    const float b1 = 0.9f, b2 = 0.999f, e = 1e-8f;
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < n; i++) {
        a->m[i] = b1 * a->m[i] + (1 - b1) * g[i];
        a->v[i] = b2 * a->v[i] + (1 - b2) * g[i] * g[i];
        w[i] -= lr * (a->m[i] / c1) / (sqrtf(a->v[i] / c2) + e);
    }
}

#endif
