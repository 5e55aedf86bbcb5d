#include "eval_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ev_percentile(const double *v, int n, double p)
{
    if (n <= 0)
        return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double k = p / 100.0 * (n - 1);
    int lo = (int)floor(k), hi = lo + 1 < n ? lo + 1 : lo;
    double r = s[lo] + (k - lo) * (s[hi] - s[lo]);
    free(s);
    return r;
}

static double mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : NAN;
}

static FILE *open_out(const eval_report *r, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "apf-eval: cannot write %s\n", path);
    return f;
}

static void pct(FILE *f, double v)
{
    if (isnan(v))
        fprintf(f, " - |");
    else
        fprintf(f, " %.1f%% |", 100 * v);
}

static void write_table(const eval_report *r, FILE *md)
{
    fprintf(md, "LFW-layout faces `%s`, pairs `%s`, fold %d: %d positive pairs (both photos of "
                "each pair protected, x_e = x), %d negative pairs; eps %g, %d iterations, probe `%s` "
                "(%s), JPEG q%d.\n\n",
            r->faces, r->pairs, r->fold, r->n_pairs, r->n_neg, r->eps, r->iterations, r->probe,
            r->probe_settings ? r->probe_settings : "", r->jpeg_q);
    if (r->transfer)
        fprintf(md, "APF_ĝ: s = clip(T(g)), T = `%s`. ", r->transfer);
    if (r->enhancer)
        fprintf(md, "APF_s: s = clip(T(g) + E(u)), T = `%s`, E and u = `%s`. ",
                r->transfer_s ? r->transfer_s : r->transfer, r->enhancer);
    fprintf(md, "\n\nThresholds: each recognizer's best-accuracy threshold and its threshold at "
                "0.1%% false accepts, %s; then applied unchanged to the scored fold.\n\n",
            r->calib_desc);
    fprintf(md, "| recognizer | calibration pairs | threshold (best acc) | accuracy there | "
                "threshold (FAR 0.1%%) | clean accuracy on the scored fold |\n|---|---|---|---|---|---|\n");
    for (int m = 0; m < r->n_models; m++)
        fprintf(md, "| %s | %d | %.3f | %.1f%% | %.3f | %.1f%% |\n", r->rec[m].name,
                r->rec[m].calib_pairs, r->rec[m].thr, 100 * r->rec[m].calib_acc, r->rec[m].thr_far,
                100 * r->rec[m].test_acc);
    fprintf(md, "\nPer recognizer and row: ceiling = share of the pairs matched before protection; "
                "ASR = Eq. 11, (matched before - matched after) / pairs, protected photo vs the "
                "other original; broken = ASR / ceiling; adv-adv = the same with both photos "
                "protected; FAR 0.1%% = broken share at that threshold.\n");
}

/* The protection tables: per attack, per recognizer, per row. */
static void write_tables(const eval_report *r, FILE *md)
{
    for (int k0 = 0; k0 < r->n_rows;) {
        int k1 = k0;
        while (k1 < r->n_rows && !strcmp(r->rows[k1].attack, r->rows[k0].attack))
            k1++;
        fprintf(md, "\n### %s\n\n| recognizer | row | pairs | ceiling | ASR | broken | adv-adv broken "
                    "| broken at FAR 0.1%% |\n|---|---|---|---|---|---|---|---|\n",
                r->rows[k0].attack);
        for (int m = 0; m < r->n_models; m++)
            for (int k = k0; k < k1; k++) {
                const eval_row *w = &r->rows[k];
                const row_score *s = &w->score[m];
                if (!s->sim)
                    continue;
                fprintf(md, "| %s | %s | %d |", k == k0 ? r->rec[m].name : "", w->label, s->n);
                pct(md, (double)s->matched0 / s->n);
                pct(md, ev_asr(s->matched0, s->matched, s->n));
                pct(md, ev_broken(s->matched0, s->matched));
                pct(md, w->adv_adv ? ev_broken(s->matched0, s->matched_aa) : NAN);
                pct(md, ev_broken(s->matched0_far, s->matched_far));
                fprintf(md, "\n");
            }
        fprintf(md, "\n| row | SSIM mean | SSIM 5th percentile | SSIM min | device ms/face | server "
                    "ms/face |\n|---|---|---|---|---|---|\n");
        for (int k = k0; k < k1; k++) {
            const eval_row *w = &r->rows[k];
            fprintf(md, "| %s | %.3f | %.3f | %.3f |", w->label, mean(w->ssim, w->n),
                    ev_percentile(w->ssim, w->n, 5), ev_percentile(w->ssim, w->n, 0));
            if (isnan(w->device_ms))
                fprintf(md, " - |");
            else
                fprintf(md, " %.0f |", w->device_ms);
            if (isnan(w->server_ms))
                fprintf(md, " - |\n");
            else
                fprintf(md, " %.1f |\n", w->server_ms);
        }
        k0 = k1;
    }
}

static void json_num(FILE *f, double v)
{
    if (isnan(v))
        fprintf(f, "null");
    else
        fprintf(f, "%.5f", v);
}

static void write_json(const eval_report *r, FILE *js)
{
    fprintf(js, "{\n  \"faces\": \"%s\", \"pairs\": \"%s\", \"fold\": %d, \"positive_pairs\": %d, "
                "\"negative_pairs\": %d,\n  \"calibration\": \"%s\", \"eps\": %g, \"iterations\": %d, "
                "\"probe\": \"%s\", \"jpeg_quality\": %d,\n  \"recognizers\": [\n",
            r->faces, r->pairs, r->fold, r->n_pairs, r->n_neg, r->calib_desc, r->eps, r->iterations,
            r->probe, r->jpeg_q);
    for (int m = 0; m < r->n_models; m++)
        fprintf(js, "    {\"name\": \"%s\", \"threshold\": %.5f, \"threshold_far_0.1%%\": %.5f, "
                    "\"calibration_accuracy\": %.4f, \"calibration_pairs\": %d, \"test_accuracy\": %.4f}%s\n",
                r->rec[m].name, r->rec[m].thr, r->rec[m].thr_far, r->rec[m].calib_acc,
                r->rec[m].calib_pairs, r->rec[m].test_acc, m + 1 < r->n_models ? "," : "");
    fprintf(js, "  ],\n  \"rows\": [\n");
    for (int k = 0; k < r->n_rows; k++) {
        const eval_row *w = &r->rows[k];
        fprintf(js, "    {\"attack\": \"%s\", \"row\": \"%s\", \"pairs\": %d, \"ssim_mean\": ", w->attack,
                w->label, w->n);
        json_num(js, mean(w->ssim, w->n));
        fprintf(js, ", \"ssim_p5\": ");
        json_num(js, ev_percentile(w->ssim, w->n, 5));
        fprintf(js, ", \"ssim_min\": ");
        json_num(js, ev_percentile(w->ssim, w->n, 0));
        fprintf(js, ", \"device_ms_per_face\": ");
        json_num(js, w->device_ms);
        fprintf(js, ", \"server_ms_per_face\": ");
        json_num(js, w->server_ms);
        fprintf(js, ",\n     \"per_recognizer\": {");
        int first = 1;
        for (int m = 0; m < r->n_models; m++) {
            const row_score *s = &w->score[m];
            if (!s->sim)
                continue;
            fprintf(js, "%s\n       \"%s\": {\"matched_before\": %d, \"matched_after\": %d, "
                        "\"matched_adv_adv\": ",
                    first ? "" : ",", r->rec[m].name, s->matched0, s->matched);
            if (w->adv_adv)
                fprintf(js, "%d", s->matched_aa);
            else
                fprintf(js, "null");
            fprintf(js, ", \"ceiling\": %.5f, \"asr\": %.5f, \"broken\": %.5f, \"broken_adv_adv\": ",
                    (double)s->matched0 / s->n, ev_asr(s->matched0, s->matched, s->n),
                    ev_broken(s->matched0, s->matched));
            json_num(js, w->adv_adv ? ev_broken(s->matched0, s->matched_aa) : NAN);
            fprintf(js, ", \"broken_far\": %.5f}", ev_broken(s->matched0_far, s->matched_far));
            first = 0;
        }
        fprintf(js, "}}%s\n", k + 1 < r->n_rows ? "," : "");
    }
    fprintf(js, "  ]\n}\n");
}

/* Every pair of every row for every recognizer: similarities and matches,
 * so any figure in the tables can be recomputed pair by pair. */
static void write_pairs_csv(const eval_report *r, FILE *f)
{
    fprintf(f, "attack,row,recognizer,pair,names,threshold,sim_clean,sim_adv_orig,sim_adv_adv,"
               "matched_clean,matched_adv_orig,matched_adv_adv,ssim\n");
    for (int k = 0; k < r->n_rows; k++) {
        const eval_row *w = &r->rows[k];
        for (int m = 0; m < r->n_models; m++) {
            const row_score *s = &w->score[m];
            const recognizer *q = &r->rec[m];
            for (int i = 0; s->sim && i < s->n; i++) {
                fprintf(f, "%s,%s,%s,%d,%s,%.5f,%.5f,%.5f,", w->attack, w->label, q->name, i,
                        r->pair_names[i], q->thr, q->sim0[i], s->sim[i]);
                if (w->adv_adv)
                    fprintf(f, "%.5f", s->sim_aa[i]);
                fprintf(f, ",%d,%d,", q->sim0[i] >= q->thr, s->sim[i] >= q->thr);
                if (w->adv_adv)
                    fprintf(f, "%d", s->sim_aa[i] >= q->thr);
                fprintf(f, ",%.5f\n", w->ssim[i]);
            }
        }
    }
}

static void write_ssim_csv(const eval_report *r, FILE *f)
{
    fprintf(f, "attack,row,pair,ssim\n");
    for (int k = 0; k < r->n_rows; k++)
        for (int i = 0; i < r->rows[k].n; i++)
            fprintf(f, "%s,%s,%d,%.6f\n", r->rows[k].attack, r->rows[k].label, i, r->rows[k].ssim[i]);
}

/* broken.csv: one line per (attack, row, recognizer), for the bar chart. */
static void write_broken_csv(const eval_report *r, FILE *f)
{
    fprintf(f, "attack,row,recognizer,broken,broken_adv_adv\n");
    for (int k = 0; k < r->n_rows; k++)
        for (int m = 0; m < r->n_models; m++) {
            const row_score *s = &r->rows[k].score[m];
            if (!s->sim)
                continue;
            fprintf(f, "%s,%s,%s,%.4f,", r->rows[k].attack, r->rows[k].label, r->rec[m].name,
                    ev_broken(s->matched0, s->matched));
            if (r->rows[k].adv_adv)
                fprintf(f, "%.4f", ev_broken(s->matched0, s->matched_aa));
            fprintf(f, "\n");
        }
}

/* A gnuplot script for the two figures: the SSIM distribution per row
 * (histogram lines) and the broken share per recognizer and row (bars). */
static void write_plots(const eval_report *r)
{
    FILE *gp = open_out(r, "plots.gp");
    if (!gp)
        return;
    fprintf(gp, "# Drawn by gnuplot from ssim.csv and broken.csv: gnuplot plots.gp\n"
                "set datafile separator ','\nset terminal pngcairo size 900,500 font ',10'\n"
                "set output 'ssim_hist.png'\nset title 'SSIM of protected vs original face (fold %d, %d pairs)'\n"
                "set xlabel 'SSIM'\nset ylabel 'faces per 0.01 bin'\nset key top left\n"
                "set grid\nset boxwidth 0.01\nbin(x) = floor(x / 0.01) * 0.01 + 0.005\n"
                "set style fill transparent solid 0.35 noborder\nplot ",
            r->fold, r->n_pairs);
    int first = 1;
    for (int k = 0; k < r->n_rows; k++) {
        if (strstr(r->rows[k].label, "JPEG") || strstr(r->rows[k].label, "accessible"))
            continue;
        fprintf(gp, "%s'ssim.csv' using (strcol(1) eq '%s' && strcol(2) eq '%s' ? bin($4) : NaN):(1) "
                    "smooth frequency with boxes title '%s %s'",
                first ? "" : ", \\\n     ", r->rows[k].attack, r->rows[k].label, r->rows[k].attack,
                r->rows[k].label);
        first = 0;
    }
    fprintf(gp, "\n\nset output 'broken.png'\nset title 'Broken share (ASR / ceiling) per recognizer, "
                "adv-orig'\nset style data histogram\nset style histogram clustered gap 1\n"
                "set style fill solid 0.8 border -1\nset yrange [0:1.05]\nset ylabel 'broken share'\n"
                "unset xlabel\nset key outside right\nset xtics rotate by -20\nplot ");
    first = 1;
    for (int k = 0; k < r->n_rows; k++) {
        if (strstr(r->rows[k].label, "JPEG"))
            continue;
        fprintf(gp, "%s'< grep \",%s,\" broken.csv | grep \"^%s,\"' using 4:xtic(3) title '%s %s'",
                first ? "" : ", \\\n     ", r->rows[k].label, r->rows[k].attack, r->rows[k].attack,
                r->rows[k].label);
        first = 0;
    }
    fprintf(gp, "\n");
    fclose(gp);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "command -v gnuplot >/dev/null 2>&1 && cd '%s' && gnuplot plots.gp", r->out_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "apf-eval: plots not drawn (install gnuplot, then run gnuplot plots.gp in %s)\n",
                r->out_dir);
}

int eval_report_write(const eval_report *r)
{
    static const char *names[5] = {"table.md", "results.json", "pairs.csv", "ssim.csv", "broken.csv"};
    FILE *f[5];
    int ok = 1;
    for (int k = 0; k < 5; k++)
        ok &= (f[k] = open_out(r, names[k])) != NULL;
    if (ok) {
        write_table(r, f[0]);
        write_tables(r, f[0]);
        fprintf(f[0], "\nCommand: `%s`\n", r->command);
        write_json(r, f[1]);
        write_pairs_csv(r, f[2]);
        write_ssim_csv(r, f[3]);
        write_broken_csv(r, f[4]);
    }
    for (int k = 0; k < 5; k++)
        if (f[k])
            fclose(f[k]);
    if (ok)
        write_plots(r);
    return ok ? 0 : -1;
}
