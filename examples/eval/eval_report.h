/* apf-eval's outputs: table.md, results.json, pairs.csv, ssim.csv, and
 * plots drawn by gnuplot from the CSV files (when gnuplot is installed). */
#ifndef APF_EVAL_REPORT_H
#define APF_EVAL_REPORT_H

#include <stdio.h>

#include "eval_score.h"

/* One row of the protection table: one way of protecting the faces, scored
 * on every recognizer (or, for "original accessible", each recognizer on
 * faces attacked on itself). */
typedef struct eval_row {
    char label[64];    /* "APF_g", "APF_g + JPEG q75", ... */
    char attack[16];
    int n;             /* pairs scored */
    int adv_adv;       /* sim_aa present */
    row_score score[EV_MAX_MODELS];
    double *ssim;      /* n per-pair SSIM (protected A vs A) */
    double device_ms;  /* device time per face, NAN when not measured */
    double server_ms;  /* cloud time per face, NAN when none */
} eval_row;

typedef struct eval_report {
    const char *out_dir;
    const char *command;     /* how it was run */
    const char *faces, *pairs;
    int fold, n_pairs, n_neg;
    const char *calib_desc;  /* which folds calibrated the thresholds */
    int jpeg_q;
    float eps;
    int iterations;
    const char *probe;
    const char *probe_settings; /* schedule, random target, texture, accessible iterations */
    const char *transfer, *enhancer, *transfer_s;
    int n_models;
    recognizer *rec;
    int n_rows;
    eval_row *rows;
    char (*pair_names)[128];
} eval_report;

/* Write every output file; returns 0, or -1 with a message on stderr. */
int eval_report_write(const eval_report *r);

/* p-th percentile (0..100) of n values (sorted copy, linear interpolation). */
double ev_percentile(const double *v, int n, double p);

#endif
