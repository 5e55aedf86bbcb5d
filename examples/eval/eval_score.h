/* apf-eval's measuring: recognizers with thresholds calibrated on folds
 * other than the scored one, clean embeddings computed once, and the
 * scoring of one row of protected faces against them (Eq. 11 ASR, its
 * ceiling, the broken share, protected-vs-protected matching). */
#ifndef APF_EVAL_SCORE_H
#define APF_EVAL_SCORE_H

#include <stdint.h>

#include "apf/apf_eval.h"

#define EV_SIZE 112
#define EV_PER ((size_t)EV_SIZE * EV_SIZE * 3)
#define EV_MAX_MODELS 8

typedef struct recognizer {
    apf_model *model;
    char name[64];
    int dim;
    float thr;            /* best accuracy on the calibration pairs */
    float thr_far;        /* false accepts <= 0.1% on the calibration pairs */
    double calib_acc;     /* accuracy at thr on the calibration pairs */
    double test_acc;      /* accuracy at thr on the scored fold's clean pairs */
    int calib_pairs;
    float *eB;            /* clean embeddings of the scored positive pairs' second faces */
    float *sim0;          /* clean similarity of each scored positive pair */
} recognizer;

/* Embed n faces (bytes) in batches; out gets n x dim. */
apf_status ev_embed(apf_model *m, const uint8_t *faces, int n, float *out);

/* Thresholds from clean labelled pairs given as embeddings. */
apf_status ev_calibrate(recognizer *r, const float *sim, const uint8_t *same, int n);

/* Cosine similarity of two unit embeddings (double accumulation). */
float ev_dot(const float *x, const float *y, int dim);

/* What one row did to one recognizer, over its first n pairs. */
typedef struct row_score {
    int n;
    int matched0, matched, matched_aa;         /* at thr: clean, adv-orig, adv-adv */
    int matched0_far, matched_far;             /* at thr_far */
    float *sim, *sim_aa;                       /* per pair (sim_aa NULL without adv-adv) */
} row_score;

/* Score protected A' (and B', may be NULL) against recognizer r. */
apf_status ev_score(const recognizer *r, const uint8_t *PA, const uint8_t *PB, int n, row_score *out);
void row_score_free(row_score *s);

/* Eq. 11 ASR = (matched before - matched after) / n; ceiling = matched
 * before / n; broken = ASR / ceiling. */
static inline double ev_asr(int before, int after, int n) { return n ? (double)(before - after) / n : 0; }
static inline double ev_broken(int before, int after)
{
    return before ? (double)(before - after) / before : 0;
}

#endif
