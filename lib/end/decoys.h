/* Decoys: faces of other people that each protected face is pulled toward.
 *
 * Pushed only away from their own embedding, two photos of one person move
 * alike and end near each other (protected-vs-protected matches survive).
 * With a random direction per photo they part, but a random unit vector in
 * a recognizer's embedding space points away from every face it has
 * learnt. A decoy's embedding is a point the network does produce for a
 * face, and the same decoy person is the target in every model, so two
 * photos given two different decoys are pulled toward two different
 * people; on LFW that parted them more, at less cost, than random
 * directions of the same weight (docs/protection.md).
 *
 * A set keeps its faces and, per probe model, their embeddings, computed
 * the first time a decoy is needed by that model. It is touched only under
 * the probe's lock. */
#ifndef APF_DECOYS_H
#define APF_DECOYS_H

#include <stdint.h>

#include "apf/apf_end.h"

typedef struct decoy_set {
    uint8_t *faces; /* n x size x size x 3 */
    int n, size;
    float *emb[APF_PROBE_MAX_MODELS];          /* per model: n x dim, NULL until first needed */
    unsigned char *ready[APF_PROBE_MAX_MODELS]; /* per model: n flags */
} decoy_set;

/* Replace the set's faces by a copy of n faces of size x size (n = 0: no
 * decoys). Returns APF_OK, APF_E_INVALID or APF_E_NOMEM (the set unchanged). */
apf_status decoys_replace(decoy_set *d, const uint8_t *faces, int n, int size);

void decoys_free(decoy_set *d);

/* Which decoy a face gets: from a draw of the face's own random stream, so
 * the choice depends on the seed and the face's pixels, the same for every
 * model. */
int decoys_pick(const decoy_set *d, uint64_t draw);

/* The embedding (dim values) of decoy `index` by `model`, in slot m;
 * computed on first use. */
apf_status decoys_embedding(decoy_set *d, int m, apf_model *model, int index, const float **out);

#endif
