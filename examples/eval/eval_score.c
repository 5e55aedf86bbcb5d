#include "eval_score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float ev_dot(const float *x, const float *y, int dim)
{
    double s = 0;
    for (int k = 0; k < dim; k++)
        s += (double)x[k] * y[k];
    return (float)s;
}

apf_status ev_embed(apf_model *m, const uint8_t *faces, int n, float *out)
{
    enum { BATCH = 16 };
    float *f = malloc(BATCH * EV_PER * sizeof(float));
    if (!f)
        return APF_E_NOMEM;
    int dim = apf_model_embedding_dim(m);
    apf_status st = APF_OK;
    for (int i = 0; i < n && !st; i += BATCH) {
        int c = n - i < BATCH ? n - i : BATCH;
        for (size_t q = 0; q < (size_t)c * EV_PER; q++)
            f[q] = faces[(size_t)i * EV_PER + q];
        st = apf_model_embed(m, f, c, EV_SIZE, out + (size_t)i * dim);
    }
    free(f);
    return st;
}

apf_status ev_calibrate(recognizer *r, const float *sim, const uint8_t *same, int n)
{
    apf_status st = apf_threshold_best_accuracy(sim, same, n, &r->thr, &r->calib_acc);
    if (!st)
        st = apf_threshold_at_far(sim, same, n, 0.001, &r->thr_far);
    r->calib_pairs = n;
    return st;
}

apf_status ev_score(const recognizer *r, const uint8_t *PA, const uint8_t *PB, int n, row_score *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    float *eA = malloc((size_t)n * r->dim * sizeof(float));
    float *eP = PB ? malloc((size_t)n * r->dim * sizeof(float)) : NULL;
    s->sim = malloc((size_t)n * sizeof(float));
    s->sim_aa = PB ? malloc((size_t)n * sizeof(float)) : NULL;
    if (!eA || !s->sim || (PB && (!eP || !s->sim_aa))) {
        free(eA), free(eP);
        row_score_free(s);
        return APF_E_NOMEM;
    }
    apf_status st = ev_embed(r->model, PA, n, eA);
    if (!st && PB)
        st = ev_embed(r->model, PB, n, eP);
    for (int i = 0; i < n && !st; i++) {
        const float *a = eA + (size_t)i * r->dim;
        s->sim[i] = ev_dot(a, r->eB + (size_t)i * r->dim, r->dim);
        s->matched0 += r->sim0[i] >= r->thr;
        s->matched0_far += r->sim0[i] >= r->thr_far;
        s->matched += s->sim[i] >= r->thr;
        s->matched_far += s->sim[i] >= r->thr_far;
        if (PB) {
            s->sim_aa[i] = ev_dot(a, eP + (size_t)i * r->dim, r->dim);
            s->matched_aa += s->sim_aa[i] >= r->thr;
        }
    }
    free(eA), free(eP);
    if (st)
        row_score_free(s);
    return st;
}

void row_score_free(row_score *s)
{
    free(s->sim);
    free(s->sim_aa);
    s->sim = s->sim_aa = NULL;
}
