/* Thresholds, similarity and ASR over a set of recognizers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_eval.h"

/* Most pairs one call takes (LFW has 6,000): bounds every allocation. */
#define MAX_PAIRS (1 << 20)
#include "../core/internal.h"

#define MAX_MODELS 32
#define CHUNK 16

struct apf_evaluator {
    int n;
    apf_model *m[MAX_MODELS];
    int calibrated[MAX_MODELS];
    float thr[MAX_MODELS], far_thr[MAX_MODELS];
    double acc[MAX_MODELS];
};

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

apf_status apf_threshold_best_accuracy(const float *sim, const uint8_t *same, int n, float *threshold,
                                       double *accuracy)
{
    if (!sim || !same || !threshold || n < 1)
        return apf_fail(APF_E_INVALID, "threshold: bad arguments");
    for (int i = 0; i < n; i++)
        if (!isfinite(sim[i]))
            return apf_fail(APF_E_NUMERIC, "threshold: similarities are not finite");
    float *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return apf_fail(APF_E_NOMEM, "threshold: out of memory");
    memcpy(s, sim, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_float);
    /* Try the midpoint between every pair of neighbouring distinct values
     * (and both ends); n is a few thousand pairs at most, so O(n^2) is fine. */
    int best = -1;
    float best_t = s[0] - 1e-3f;
    for (int k = 0; k <= n; k++) {
        float t = k == 0 ? s[0] - 1e-3f : (k == n ? s[n - 1] + 1e-3f : 0.5f * (s[k - 1] + s[k]));
        if (k > 0 && k < n && s[k - 1] == s[k])
            continue;
        int correct = 0;
        for (int i = 0; i < n; i++)
            correct += (sim[i] >= t) == (same[i] != 0);
        if (correct > best) {
            best = correct;
            best_t = t;
        }
    }
    free(s);
    *threshold = best_t;
    if (accuracy)
        *accuracy = (double)best / n;
    return APF_OK;
}

apf_status apf_threshold_at_far(const float *sim, const uint8_t *same, int n, double far, float *threshold)
{
    if (!sim || !same || !threshold || n < 1 || !(far >= 0 && far < 1))
        return apf_fail(APF_E_INVALID, "threshold: bad arguments");
    int nneg = 0;
    for (int i = 0; i < n; i++)
        nneg += !same[i];
    if (!nneg)
        return apf_fail(APF_E_INVALID, "threshold: no different-person pairs");
    float *neg = malloc((size_t)nneg * sizeof *neg);
    if (!neg)
        return apf_fail(APF_E_NOMEM, "threshold: out of memory");
    for (int i = 0, k = 0; i < n; i++)
        if (!same[i])
            neg[k++] = sim[i];
    qsort(neg, (size_t)nneg, sizeof *neg, cmp_float);
    /* allow floor(far * nneg) false accepts: threshold just above the next one */
    int allowed = (int)floor(far * nneg);
    float above = neg[nneg - 1 - allowed];
    *threshold = nextafterf(above, INFINITY);
    free(neg);
    return APF_OK;
}

apf_status apf_evaluator_create(const char *const *paths, int n, int threads, apf_evaluator **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "evaluator: out is NULL");
    *out = NULL;
    if (!paths || n < 1 || n > MAX_MODELS || threads < 0 || threads > 256)
        return apf_fail(APF_E_INVALID, "evaluator: need 1..%d models", MAX_MODELS);
    apf_evaluator *ev = calloc(1, sizeof *ev);
    if (!ev)
        return apf_fail(APF_E_NOMEM, "evaluator: out of memory");
    for (int i = 0; i < n; i++) {
        apf_status st = paths[i] ? apf_model_load(paths[i], &ev->m[i]) : apf_fail(APF_E_INVALID, "evaluator: NULL path");
        if (st) {
            apf_evaluator_free(ev);
            return st;
        }
        ev->n++;
        if (threads)
            apf_model_set_threads(ev->m[i], threads);
    }
    *out = ev;
    return APF_OK;
}

void apf_evaluator_free(apf_evaluator *ev)
{
    if (!ev)
        return;
    for (int i = 0; i < ev->n; i++)
        apf_model_free(ev->m[i]);
    free(ev);
}

int apf_evaluator_model_count(const apf_evaluator *ev)
{
    return ev ? ev->n : 0;
}

apf_model *apf_evaluator_model(apf_evaluator *ev, int i)
{
    return ev && i >= 0 && i < ev->n ? ev->m[i] : NULL;
}

/* Embed n byte faces in chunks; out gets n x dim unit vectors. */
static apf_status embed_bytes(apf_model *m, const uint8_t *faces, int n, int size, float *out)
{
    size_t per = (size_t)size * size * 3;
    int dim = apf_model_embedding_dim(m);
    float *f = malloc(CHUNK * per * sizeof(float));
    if (!f)
        return apf_fail(APF_E_NOMEM, "evaluator: out of memory");
    apf_status st = APF_OK;
    for (int i = 0; i < n && !st; i += CHUNK) {
        int c = n - i < CHUNK ? n - i : CHUNK;
        for (size_t q = 0; q < c * per; q++)
            f[q] = faces[(size_t)i * per + q];
        st = apf_model_embed(m, f, c, size, out + (size_t)i * dim);
    }
    free(f);
    return st;
}

apf_status apf_evaluator_similarity(apf_evaluator *ev, int model, const uint8_t *a, const uint8_t *b,
                                    int n, int size, float *sim)
{
    if (!ev || model < 0 || model >= ev->n || !a || !b || !sim || n < 1 || n > MAX_PAIRS || size < 16 ||
        size > 1024)
        return apf_fail(APF_E_INVALID, "evaluator: bad arguments");
    apf_model *m = ev->m[model];
    int dim = apf_model_embedding_dim(m);
    float *ea = malloc((size_t)n * dim * sizeof(float)), *eb = malloc((size_t)n * dim * sizeof(float));
    apf_status st = (!ea || !eb) ? apf_fail(APF_E_NOMEM, "evaluator: out of memory") : APF_OK;
    if (!st)
        st = embed_bytes(m, a, n, size, ea);
    if (!st)
        st = embed_bytes(m, b, n, size, eb);
    for (int i = 0; !st && i < n; i++) {
        double s = 0;
        for (int k = 0; k < dim; k++)
            s += (double)ea[(size_t)i * dim + k] * eb[(size_t)i * dim + k];
        sim[i] = (float)s;
    }
    free(ea);
    free(eb);
    return st;
}

apf_status apf_evaluator_calibrate(apf_evaluator *ev, const uint8_t *a, const uint8_t *b,
                                   const uint8_t *same, int n, int size)
{
    if (!ev || !same || n < 2 || n > MAX_PAIRS)
        return apf_fail(APF_E_INVALID, "evaluator: bad arguments");
    float *sim = malloc((size_t)n * sizeof *sim);
    if (!sim)
        return apf_fail(APF_E_NOMEM, "evaluator: out of memory");
    apf_status st = APF_OK;
    for (int i = 0; i < ev->n && !st; i++) {
        st = apf_evaluator_similarity(ev, i, a, b, n, size, sim);
        if (!st)
            st = apf_threshold_best_accuracy(sim, same, n, &ev->thr[i], &ev->acc[i]);
        if (!st)
            st = apf_threshold_at_far(sim, same, n, 0.001, &ev->far_thr[i]);
        ev->calibrated[i] = !st;
    }
    free(sim);
    return st;
}

apf_status apf_evaluator_thresholds(const apf_evaluator *ev, int model, float *threshold, double *accuracy,
                                    float *far_threshold)
{
    if (!ev || model < 0 || model >= ev->n)
        return apf_fail(APF_E_INVALID, "evaluator: bad model index");
    if (!ev->calibrated[model])
        return apf_fail(APF_E_STATE, "evaluator: calibrate first");
    if (threshold)
        *threshold = ev->thr[model];
    if (accuracy)
        *accuracy = ev->acc[model];
    if (far_threshold)
        *far_threshold = ev->far_thr[model];
    return APF_OK;
}

apf_status apf_evaluator_asr(apf_evaluator *ev, int model, const uint8_t *original, const uint8_t *prot,
                             const uint8_t *other, int n, int size, double *asr, int *before, int *after)
{
    if (!ev || model < 0 || model >= ev->n || !asr || n < 1 || n > MAX_PAIRS)
        return apf_fail(APF_E_INVALID, "evaluator: bad arguments");
    if (!ev->calibrated[model])
        return apf_fail(APF_E_STATE, "evaluator: calibrate first");
    float *s0 = malloc((size_t)n * sizeof(float)), *s1 = malloc((size_t)n * sizeof(float));
    apf_status st = (!s0 || !s1) ? apf_fail(APF_E_NOMEM, "evaluator: out of memory") : APF_OK;
    if (!st)
        st = apf_evaluator_similarity(ev, model, original, other, n, size, s0);
    if (!st)
        st = apf_evaluator_similarity(ev, model, prot, other, n, size, s1);
    if (!st) {
        int b = 0, a = 0;
        for (int i = 0; i < n; i++) {
            b += s0[i] >= ev->thr[model];
            a += s1[i] >= ev->thr[model];
        }
        *asr = (double)(b - a) / n;
        if (before)
            *before = b;
        if (after)
            *after = a;
    }
    free(s0);
    free(s1);
    return st;
}
