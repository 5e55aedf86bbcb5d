#include "decoys.h"

#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"

apf_status decoys_replace(decoy_set *d, const uint8_t *faces, int n, int size)
{
    if (n < 0 || n > APF_PROBE_MAX_DECOYS || (n > 0 && !faces))
        return apf_fail(APF_E_INVALID, "probe: decoys: need 0..%d faces (and their pixels)",
                        APF_PROBE_MAX_DECOYS);
    if (n > 0 && (size < 16 || size > APF_WIRE_MAX_SIDE))
        return apf_fail(APF_E_INVALID, "probe: decoys: faces of 16..%d pixels", APF_WIRE_MAX_SIDE);
    uint8_t *copy = NULL;
    size_t count = (size_t)n * size * size * 3;
    if (n > 0) {
        if (!(copy = malloc(count)))
            return apf_fail(APF_E_NOMEM, "probe: out of memory for %d decoys", n);
        memcpy(copy, faces, count);
    }
    decoys_free(d);
    d->faces = copy;
    d->n = n;
    d->size = n > 0 ? size : 0;
    return APF_OK;
}

void decoys_free(decoy_set *d)
{
    for (int m = 0; m < APF_PROBE_MAX_MODELS; m++)
        free(d->emb[m]), free(d->ready[m]);
    free(d->faces);
    memset(d, 0, sizeof *d);
}

int decoys_pick(const decoy_set *d, uint64_t draw)
{
    return d->n > 0 ? (int)(draw % (uint64_t)d->n) : -1;
}

apf_status decoys_embedding(decoy_set *d, int m, apf_model *model, int index, const float **out)
{
    if (index < 0 || index >= d->n || m < 0 || m >= APF_PROBE_MAX_MODELS)
        return apf_fail(APF_E_INVALID, "probe: no decoy %d", index);
    size_t dim = (size_t)apf_model_embedding_dim(model);
    if (!d->emb[m]) {
        d->emb[m] = malloc((size_t)d->n * dim * sizeof *d->emb[m]);
        d->ready[m] = calloc((size_t)d->n, 1);
        if (!d->emb[m] || !d->ready[m]) {
            free(d->emb[m]), free(d->ready[m]);
            d->emb[m] = NULL, d->ready[m] = NULL;
            return apf_fail(APF_E_NOMEM, "probe: out of memory for decoy embeddings");
        }
    }
    float *e = d->emb[m] + (size_t)index * dim;
    if (!d->ready[m][index]) {
        size_t per = (size_t)d->size * d->size * 3;
        float *x = malloc(per * sizeof *x);
        if (!x)
            return apf_fail(APF_E_NOMEM, "probe: out of memory for a decoy");
        const uint8_t *face = d->faces + (size_t)index * per;
        for (size_t i = 0; i < per; i++)
            x[i] = face[i];
        apf_status st = apf_model_embed(model, x, 1, d->size, e);
        free(x);
        if (st)
            return st;
        d->ready[m][index] = 1;
    }
    *out = e;
    return APF_OK;
}
