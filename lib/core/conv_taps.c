/* Tap tables for the backward gathers (see conv_taps.h). */
#include <stdlib.h>

#include "conv_taps.h"

int conv_taps_make(conv_taps *t, int len, int k, int stride, int pad, int dil, int out)
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

void conv_taps_free(conv_taps *t)
{
    free(t->n);
    free(t->k);
    free(t->o);
    t->n = t->k = t->o = NULL;
}
