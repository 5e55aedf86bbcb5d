/* apf-eval: measure protection on a face folder in the LFW layout.
 *
 *   apf-eval [--faces DIR] [--pairs FILE] [--fold K] [--models A.apfm,B.apfm,...]
 *            [--probe P.apfm] [--attacks fgsm,i-fgsm,...] [--eps 8] [--iterations 30]
 *            [--max-pairs N] [--accessible] [--accessible-pairs N] [--jpeg Q]
 *            [--adv-adv ATTACK] [--enrolled] [--threads T] [--seed S] [--out DIR]
 *            [--transfer T.apfm [--enhancer E.apfm [--transfer-s T2.apfm]]]
 *
 * Writes DIR/table.md (the paper's Table 2 shape: one block per recognizer,
 * rows APF_g, APF_ĝ (with --transfer: s = clip(T(g))), APF_s (with
 * --enhancer too: s = clip(T(g) + E(u))) and "original accessible", columns
 * the attacks), DIR/results.json,
 * DIR/examples.png (original | protected | noise x10), DIR/ssim.csv and
 * DIR/ssim_hist.png. Progress goes to stderr. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apf/apf_cloud.h"
#include "apf/apf_end.h"
#include "apf/apf_eval.h"
#include "lfw.h"

#define S 112
#define PER ((size_t)S * S * 3)
#define MAXM 8

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *q = buf + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            mkdir(buf, 0755);
            *q = '/';
        }
    return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int split(char *s, char **out, int max)
{
    int n = 0;
    for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static void die(const char *what)
{
    fprintf(stderr, "apf-eval: %s: %s\n", what, apf_last_error());
    exit(1);
}

/* Protect n faces with a probe (chunks of 16), showing progress. */
static void protect(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n, float eps,
                    uint8_t *out, const char *label)
{
    int8_t *g = malloc(16 * PER);
    double t0 = now_s();
    for (int i = 0; i < n; i += 16) {
        int c = n - i < 16 ? n - i : 16;
        if (apf_probe_gradient(p, faces + i * PER, enrolled ? enrolled + i * PER : NULL, c, S, g))
            die(label);
        apf_apply_perturbation(faces + i * PER, g, c * PER, eps, out + i * PER);
        double el = now_s() - t0, rate = (i + c) / el;
        fprintf(stderr, "\r  %-40s %4d/%d faces  %5.1f faces/s  ETA %4.0fs ", label, i + c, n, rate,
                (n - i - c) / rate);
    }
    fprintf(stderr, "\n");
    free(g);
}

static void jpeg_round_trip(const uint8_t *in, int n, int q, uint8_t *out)
{
    apf_image *im;
    apf_image_create(S, S, &im);
    for (int i = 0; i < n; i++) {
        memcpy(apf_image_pixels(im), in + i * PER, PER);
        void *buf;
        size_t len;
        apf_image *back;
        if (apf_image_encode_jpeg(im, q, &buf, &len) || apf_image_decode(buf, len, &back))
            die("jpeg");
        memcpy(out + i * PER, apf_image_pixels(back), PER);
        apf_image_free(back);
        free(buf);
    }
    apf_image_free(im);
}

static void save_png(apf_image *im, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path); /* our own generated output from an earlier run */
    if (apf_image_save(im, path, 0))
        die(path);
}

/* Grid of up to 4 examples: original | protected | 10x amplified noise. */
static void write_grid(const uint8_t *orig, const uint8_t *prot, int n, const char *dir)
{
    int rows = n < 4 ? n : 4;
    apf_image *im;
    apf_image_create(3 * S, rows * S, &im);
    uint8_t *px = apf_image_pixels(im);
    for (int r = 0; r < rows; r++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < 3; c++) {
                    size_t s = r * PER + ((size_t)y * S + x) * 3 + c;
                    size_t row = ((size_t)(r * S + y) * 3 * S) * 3;
                    int d = 128 + 10 * ((int)prot[s] - (int)orig[s]);
                    px[row + ((size_t)x) * 3 + c] = orig[s];
                    px[row + ((size_t)(S + x)) * 3 + c] = prot[s];
                    px[row + ((size_t)(2 * S + x)) * 3 + c] = (uint8_t)(d < 0 ? 0 : d > 255 ? 255 : d);
                }
    save_png(im, dir, "examples.png");
    apf_image_free(im);
}

/* One histogram panel per attack, SSIM in [lo, 1], 50 bins, bars in grey. */
static void write_hist(double *ssim, int n_att, int n, double lo, const char *dir)
{
    const int W = 500, H = 100, BINS = 50;
    apf_image *im;
    apf_image_create(W, H * n_att, &im);
    uint8_t *px = apf_image_pixels(im);
    memset(px, 255, (size_t)W * H * n_att * 3);
    for (int a = 0; a < n_att; a++) {
        int cnt[50] = {0}, mx = 1;
        for (int i = 0; i < n; i++) {
            int b = (int)((ssim[a * n + i] - lo) / (1.0 - lo) * BINS);
            b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
            if (++cnt[b] > mx)
                mx = cnt[b];
        }
        for (int b = 0; b < BINS; b++) {
            int h = cnt[b] * (H - 10) / mx;
            for (int y = 0; y < h; y++)
                for (int x = b * W / BINS + 1; x < (b + 1) * W / BINS; x++)
                    memset(px + ((size_t)(a * H + H - 1 - y) * W + x) * 3, 60 + 30 * a, 3);
        }
        memset(px + ((size_t)(a * H + H - 1) * W) * 3, 0, (size_t)W * 3); /* axis */
    }
    save_png(im, dir, "ssim_hist.png");
    apf_image_free(im);
}

int main(int argc, char **argv)
{
    const char *faces_dir = "../shared/data/lfw/aligned112", *pairs = "../shared/data/lfw/pairs.txt";
    const char *probe_path = "models/mobilefacenet.apfm", *out_dir = "out/eval";
    char models_arg[2048] = "models/mobilefacenet.apfm,models/faceres.apfm,models/mobileface.apfm,"
                            "models/faceapi-recognition.apfm";
    char attacks_arg[256] = "fgsm,i-fgsm,mi-fgsm,di2-fgsm,m-di2-fgsm";
    const char *adv_adv = "di2-fgsm", *transfer_path = NULL, *enhancer_path = NULL, *transfer_s_path = NULL;
    int fold = 8, iters = 30, max_pairs = 0, accessible = 0, acc_pairs = 100, jpeg_q = 75;
    int threads = 2, enrolled_mode = 0;
    float eps = 8;
    unsigned long long seed = 0x41504621u;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
        if (OPT("--faces")) faces_dir = v;
        else if (OPT("--pairs")) pairs = v;
        else if (OPT("--fold")) fold = atoi(v);
        else if (OPT("--models")) snprintf(models_arg, sizeof models_arg, "%s", v);
        else if (OPT("--probe")) probe_path = v;
        else if (OPT("--attacks")) snprintf(attacks_arg, sizeof attacks_arg, "%s", v);
        else if (OPT("--eps")) eps = (float)atof(v);
        else if (OPT("--iterations")) iters = atoi(v);
        else if (OPT("--max-pairs")) max_pairs = atoi(v);
        else if (OPT("--accessible-pairs")) acc_pairs = atoi(v);
        else if (OPT("--jpeg")) jpeg_q = atoi(v);
        else if (OPT("--adv-adv")) adv_adv = v;
        else if (OPT("--threads")) threads = atoi(v);
        else if (OPT("--seed")) seed = strtoull(v, NULL, 0);
        else if (OPT("--out")) out_dir = v;
        else if (OPT("--transfer")) transfer_path = v;
        else if (OPT("--enhancer")) enhancer_path = v;
        else if (OPT("--transfer-s")) transfer_s_path = v; /* T trained jointly with E, for APF_s */
        else if (!strcmp(a, "--accessible")) accessible = 1;
        else if (!strcmp(a, "--enrolled")) enrolled_mode = 1;
        else {
            fprintf(stderr, "usage: see the comment at the top of examples/apf_eval.c\n");
            return 2;
        }
    }
    char *model_paths[MAXM], *att_names[APF_ATTACK_COUNT];
    int nm = split(models_arg, model_paths, MAXM), na = split(attacks_arg, att_names, APF_ATTACK_COUNT);
    apf_attack atts[APF_ATTACK_COUNT];
    for (int k = 0; k < na; k++)
        if (apf_attack_from_name(att_names[k], &atts[k]))
            die("--attacks");
    apf_attack adv_att;
    if (apf_attack_from_name(adv_adv, &adv_att))
        die("--adv-adv");
    if (make_dirs(out_dir)) {
        fprintf(stderr, "apf-eval: cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }

    lfw_set set;
    if (lfw_load(pairs, faces_dir, fold, &set)) {
        fprintf(stderr, "apf-eval: cannot read pairs %s (fold %d)\n", pairs, fold);
        return 1;
    }
    fprintf(stderr, "loading %d images of %d pairs\n", set.n_images, set.n_pairs);
    float *ff = malloc((size_t)set.n_images * PER * sizeof(float));
    if (lfw_read_faces(&set, 0, set.n_images, S, ff))
        return 1;
    uint8_t *img = malloc((size_t)set.n_images * PER);
    for (size_t i = 0; i < (size_t)set.n_images * PER; i++)
        img[i] = (uint8_t)lrintf(ff[i]);
    free(ff);
    int np = set.n_pairs;
    uint8_t *A = malloc(np * PER), *B = malloc(np * PER), *same = malloc(np);
    for (int i = 0; i < np; i++) {
        memcpy(A + i * PER, img + set.pairs[i].a * PER, PER);
        memcpy(B + i * PER, img + set.pairs[i].b * PER, PER);
        same[i] = (uint8_t)set.pairs[i].same;
    }
    apf_transfer *T = NULL;
    apf_enhancer *EN = NULL;
    if (transfer_path && apf_transfer_load(transfer_path, &T))
        die(transfer_path);
    if (T)
        apf_transfer_set_threads(T, threads);
    if (enhancer_path && (!T || apf_enhancer_load(enhancer_path, &EN)))
        die("--enhancer needs --transfer and a readable file");
    apf_transfer *TS = T;
    if (transfer_s_path && apf_transfer_load(transfer_s_path, &TS))
        die(transfer_s_path);
    if (TS != T)
        apf_transfer_set_threads(TS, threads);
    apf_evaluator *ev;
    if (apf_evaluator_create((const char *const *)model_paths, nm, threads, &ev))
        die("models");
    fprintf(stderr, "calibrating thresholds on %d clean pairs\n", np);
    if (apf_evaluator_calibrate(ev, A, B, same, np, S))
        die("calibrate");
    /* positive pairs: protect the first photo, compare with the second */
    int npos = 0;
    for (int i = 0; i < np; i++)
        if (same[i]) {
            memmove(A + npos * PER, A + i * PER, PER);
            memmove(B + npos * PER, B + i * PER, PER);
            npos++;
        }
    if (max_pairs > 0 && max_pairs < npos)
        npos = max_pairs;
    if (acc_pairs > npos)
        acc_pairs = npos;

    double asr_g[APF_ATTACK_COUNT][MAXM], asr_jpeg[APF_ATTACK_COUNT][MAXM], asr_acc[APF_ATTACK_COUNT][MAXM];
    double asr_gh[APF_ATTACK_COUNT][MAXM], asr_s[APF_ATTACK_COUNT][MAXM], asr_s_jpeg[APF_ATTACK_COUNT][MAXM];
    double ssim_s_mean[APF_ATTACK_COUNT], ssim_s_min[APF_ATTACK_COUNT];
    double ssim_gh_mean[APF_ATTACK_COUNT], ssim_gh_min[APF_ATTACK_COUNT];
    int matched0[MAXM] = {0};
    double *ssim = malloc(sizeof(double) * na * npos), ssim_mean[APF_ATTACK_COUNT], ssim_min[APF_ATTACK_COUNT];
    double t4[2][2][MAXM]; /* [delta on/off][adv-orig, adv-adv][model] */
    int have_t4 = 0;
    for (int a = 0; a < na; a++)
        for (int m = 0; m < nm; m++)
            asr_acc[a][m] = NAN;
    uint8_t *P = malloc(npos * PER), *PB = malloc(npos * PER), *J = malloc(npos * PER);
    for (int a = 0; a < na; a++) {
        apf_probe_options o;
        apf_probe_options_init(&o);
        o.attack = atts[a];
        o.eps = eps;
        o.iterations = iters;
        o.threads = threads;
        o.seed = seed;
        apf_probe *pr;
        if (apf_probe_create(probe_path, &o, &pr))
            die(probe_path);
        char label[64];
        snprintf(label, sizeof label, "APF_g %s", apf_attack_name(atts[a]));
        if (T) {
            /* the cloud rows need g itself: compute it once, derive APF_g, APF_ĝ, APF_s */
            int8_t *gall = malloc(npos * PER);
            float *sn = malloc(16 * PER * sizeof(float));
            uint8_t *GH = malloc(npos * PER), *SS = malloc(npos * PER);
            double t0 = now_s();
            for (int i = 0; i < npos; i += 16) {
                int c = npos - i < 16 ? npos - i : 16;
                if (apf_probe_gradient(pr, A + i * PER, enrolled_mode ? B + i * PER : NULL, c, S, gall + i * PER))
                    die(label);
                apf_apply_perturbation(A + i * PER, gall + i * PER, c * PER, eps, P + i * PER);
                for (int pass = 0; pass < 2 && !(pass == 1 && !EN); pass++) {
                    if (apf_cloud_noise(pass ? TS : T, pass ? EN : NULL, gall + i * PER, c, eps, sn))
                        die("cloud noise");
                    uint8_t *dst = (pass ? SS : GH) + i * PER;
                    for (size_t q = 0; q < c * PER; q++) {
                        float v = roundf(A[i * PER + q] + sn[q]);
                        dst[q] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                    }
                }
                fprintf(stderr, "\r  %-40s %4d/%d faces  %5.1f faces/s ", label, i + c, npos, (i + c) / (now_s() - t0));
            }
            fprintf(stderr, "\n");
            ssim_s_mean[a] = 0, ssim_s_min[a] = 1;
            ssim_gh_mean[a] = 0, ssim_gh_min[a] = 1;
            for (int i = 0; i < npos; i++) {
                double sv;
                apf_ssim(A + i * PER, GH + i * PER, S, S, &sv, NULL);
                ssim_gh_mean[a] += sv / npos;
                ssim_gh_min[a] = fmin(ssim_gh_min[a], sv);
            }
            for (int m = 0; m < nm; m++) {
                apf_evaluator_asr(ev, m, A, GH, B, npos, S, &asr_gh[a][m], NULL, NULL);
                asr_s[a][m] = asr_s_jpeg[a][m] = NAN;
                if (EN) {
                    apf_evaluator_asr(ev, m, A, SS, B, npos, S, &asr_s[a][m], NULL, NULL);
                    jpeg_round_trip(SS, npos, jpeg_q, J);
                    apf_evaluator_asr(ev, m, A, J, B, npos, S, &asr_s_jpeg[a][m], NULL, NULL);
                }
            }
            for (int i = 0; EN && i < npos; i++) {
                double sv;
                apf_ssim(A + i * PER, SS + i * PER, S, S, &sv, NULL);
                ssim_s_mean[a] += sv / npos;
                ssim_s_min[a] = fmin(ssim_s_min[a], sv);
            }
            if (EN && atts[a] == APF_ATTACK_DI2FGSM)
                write_grid(A, SS, npos, out_dir);
            free(gall), free(sn), free(GH), free(SS);
        } else {
            protect(pr, A, enrolled_mode ? B : NULL, npos, eps, P, label);
        }
        jpeg_round_trip(P, npos, jpeg_q, J);
        ssim_mean[a] = 0, ssim_min[a] = 1;
        for (int i = 0; i < npos; i++) {
            double s;
            apf_ssim(A + i * PER, P + i * PER, S, S, &s, NULL);
            ssim[a * npos + i] = s;
            ssim_mean[a] += s / npos;
            ssim_min[a] = fmin(ssim_min[a], s);
        }
        for (int m = 0; m < nm; m++) {
            int b0, b1;
            if (apf_evaluator_asr(ev, m, A, P, B, npos, S, &asr_g[a][m], &b0, &b1) ||
                apf_evaluator_asr(ev, m, A, J, B, npos, S, &asr_jpeg[a][m], NULL, NULL))
                die("asr");
            matched0[m] = b0;
        }
        if ((a == 0 || atts[a] == APF_ATTACK_DI2FGSM) && !EN)
            write_grid(A, P, npos, out_dir);
        if (atts[a] == adv_att) {
            /* Table 4: adv-orig and adv-adv, with and without the Eq. 13 offset */
            for (int d = 0; d < 2; d++) {
                apf_probe *q = pr;
                if (d == 1) {
                    o.enrol_offset = 0;
                    if (apf_probe_create(probe_path, &o, &q))
                        die(probe_path);
                    protect(q, A, enrolled_mode ? B : NULL, npos, eps, J, "APF_g no delta (A)");
                }
                const uint8_t *PA = d == 0 ? P : J;
                protect(q, B, enrolled_mode ? A : NULL, npos, eps, PB, d ? "APF_g no delta (B)" : "APF_g delta (B)");
                for (int m = 0; m < nm; m++) {
                    int b0, b1;
                    double x;
                    apf_evaluator_asr(ev, m, A, PA, B, npos, S, &t4[d][0][m], NULL, NULL);
                    apf_evaluator_asr(ev, m, A, PA, PB, npos, S, &x, &b0, &b1);
                    /* adv-adv: clean pairs matched before, protected pairs after */
                    t4[d][1][m] = (double)(matched0[m] - b1) / npos;
                }
                if (d == 1)
                    apf_probe_free(q);
            }
            have_t4 = 1;
        }
        apf_probe_free(pr);
        /* original accessible: the same attack run directly on each recognizer */
        for (int m = 0; accessible && m < nm; m++) {
            if (!strcmp(model_paths[m], probe_path)) {
                asr_acc[a][m] = asr_g[a][m];
                continue;
            }
            apf_probe *q;
            if (apf_probe_create(model_paths[m], &o, &q))
                die(model_paths[m]);
            snprintf(label, sizeof label, "accessible %s on %s", apf_attack_name(atts[a]),
                     apf_model_name(apf_evaluator_model(ev, m)));
            protect(q, A, enrolled_mode ? B : NULL, acc_pairs, eps, PB, label);
            apf_evaluator_asr(ev, m, A, PB, B, acc_pairs, S, &asr_acc[a][m], NULL, NULL);
            apf_probe_free(q);
        }
    }

    /* ---- outputs ---- */
    char path[4096];
    snprintf(path, sizeof path, "%s/table.md", out_dir);
    FILE *md = fopen(path, "w");
    snprintf(path, sizeof path, "%s/results.json", out_dir);
    FILE *js = fopen(path, "w");
    snprintf(path, sizeof path, "%s/ssim.csv", out_dir);
    FILE *csv = fopen(path, "w");
    if (!md || !js || !csv) {
        fprintf(stderr, "apf-eval: cannot write into %s\n", out_dir);
        return 1;
    }
    fprintf(md, "LFW-layout faces `%s`, pairs `%s` fold %d: %d positive pairs protected (%s), eps %.0f, "
                "%d iterations, probe `%s`, JPEG q%d.\n\n", faces_dir, pairs, fold, npos,
            enrolled_mode ? "x_e = the pair's other photo" : "x_e = x", eps, iters, probe_path, jpeg_q);
    if (T)
        fprintf(md, "APF_ĝ: s = clip(T(g)) with T = `%s`. ", transfer_path);
    if (EN)
        fprintf(md, "APF_s: s = clip(T(g) + E(u)) with T = `%s`, E and u = `%s`.", transfer_s_path ? transfer_s_path : transfer_path,
                enhancer_path);
    fprintf(md, "\n\nASR (Eq. 11) at each recognizer's best-accuracy threshold "
                "(calibrated on the fold's %d clean pairs).\n\n", np);
    fprintf(md, "| recognizer | row |");
    for (int a = 0; a < na; a++)
        fprintf(md, " %s |", apf_attack_name(atts[a]));
    fprintf(md, "\n|---|---|");
    for (int a = 0; a < na; a++)
        fprintf(md, "---|");
    fprintf(md, "\n");
    for (int m = 0; m < nm; m++) {
        float thr;
        double acc;
        apf_evaluator_thresholds(ev, m, &thr, &acc, NULL);
        const char *name = apf_model_name(apf_evaluator_model(ev, m));
        fprintf(md, "| %s (acc %.1f%%, t %.3f) | APF_g |", name, 100 * acc, thr);
        for (int a = 0; a < na; a++)
            fprintf(md, " %.1f%% |", 100 * asr_g[a][m]);
        fprintf(md, "\n| | APF_g after JPEG q%d |", jpeg_q);
        for (int a = 0; a < na; a++)
            fprintf(md, " %.1f%% |", 100 * asr_jpeg[a][m]);
        if (T) {
            fprintf(md, "\n| | APF_ĝ |");
            for (int a = 0; a < na; a++)
                fprintf(md, " %.1f%% |", 100 * asr_gh[a][m]);
        }
        if (EN) {
            fprintf(md, "\n| | APF_s |");
            for (int a = 0; a < na; a++)
                fprintf(md, " %.1f%% |", 100 * asr_s[a][m]);
            fprintf(md, "\n| | APF_s after JPEG q%d |", jpeg_q);
            for (int a = 0; a < na; a++)
                fprintf(md, " %.1f%% |", 100 * asr_s_jpeg[a][m]);
        }
        if (accessible) {
            fprintf(md, "\n| | original accessible (%d pairs) |", acc_pairs);
            for (int a = 0; a < na; a++)
                fprintf(md, " %.1f%% |", 100 * asr_acc[a][m]);
        }
        fprintf(md, "\n");
    }
    fprintf(md, "| SSIM APF_g | mean / min |");
    for (int a = 0; a < na; a++)
        fprintf(md, " %.3f / %.3f |", ssim_mean[a], ssim_min[a]);
    fprintf(md, "\n");
    if (T) {
        fprintf(md, "| SSIM APF_ĝ | mean / min |");
        for (int a = 0; a < na; a++)
            fprintf(md, " %.3f / %.3f |", ssim_gh_mean[a], ssim_gh_min[a]);
        fprintf(md, "\n");
    }
    if (EN) {
        fprintf(md, "| SSIM APF_s | mean / min |");
        for (int a = 0; a < na; a++)
            fprintf(md, " %.3f / %.3f |", ssim_s_mean[a], ssim_s_min[a]);
        fprintf(md, "\n");
    }
    if (have_t4) {
        fprintf(md, "\nTable 4 analogue (%s): ASR of protected vs original (adv-orig) and protected vs "
                    "protected (adv-adv) photos of the same person.\n\n| recognizer | adv-orig with delta | "
                    "adv-adv with delta | adv-orig without delta | adv-adv without delta |\n|---|---|---|---|---|\n",
                apf_attack_name(adv_att));
        for (int m = 0; m < nm; m++)
            fprintf(md, "| %s | %.1f%% | %.1f%% | %.1f%% | %.1f%% |\n", apf_model_name(apf_evaluator_model(ev, m)),
                    100 * t4[0][0][m], 100 * t4[0][1][m], 100 * t4[1][0][m], 100 * t4[1][1][m]);
    }
    fprintf(js, "{\n  \"faces\": \"%s\", \"pairs\": \"%s\", \"fold\": %d, \"positive_pairs\": %d,\n"
                "  \"eps\": %g, \"iterations\": %d, \"probe\": \"%s\", \"jpeg_quality\": %d, \"enrolled\": %s,\n  \"models\": [\n",
            faces_dir, pairs, fold, npos, eps, iters, probe_path, jpeg_q, enrolled_mode ? "true" : "false");
    for (int m = 0; m < nm; m++) {
        float thr, far;
        double acc;
        apf_evaluator_thresholds(ev, m, &thr, &acc, &far);
        fprintf(js, "    {\"name\": \"%s\", \"file\": \"%s\", \"clean_accuracy\": %.4f, \"threshold\": %.5f, "
                    "\"threshold_far_0.1%%\": %.5f, \"matched_before\": %d,\n     \"attacks\": {",
                apf_model_name(apf_evaluator_model(ev, m)), model_paths[m], acc, thr, far, matched0[m]);
        for (int a = 0; a < na; a++) {
            fprintf(js, "%s\"%s\": {\"asr_apf_g\": %.4f, \"asr_jpeg\": %.4f", a ? ", " : "",
                    apf_attack_name(atts[a]), asr_g[a][m], asr_jpeg[a][m]);
            if (accessible)
                fprintf(js, ", \"asr_original_accessible\": %.4f", asr_acc[a][m]);
            if (T)
                fprintf(js, ", \"asr_apf_ghat\": %.4f", asr_gh[a][m]);
            if (EN)
                fprintf(js, ", \"asr_apf_s\": %.4f, \"asr_apf_s_jpeg\": %.4f", asr_s[a][m], asr_s_jpeg[a][m]);
            fprintf(js, "}");
        }
        fprintf(js, "}");
        if (have_t4)
            fprintf(js, ",\n     \"table4\": {\"adv_orig_delta\": %.4f, \"adv_adv_delta\": %.4f, "
                        "\"adv_orig_no_delta\": %.4f, \"adv_adv_no_delta\": %.4f}",
                    t4[0][0][m], t4[0][1][m], t4[1][0][m], t4[1][1][m]);
        fprintf(js, "}%s\n", m + 1 < nm ? "," : "");
    }
    fprintf(js, "  ],\n  \"ssim\": {");
    for (int a = 0; a < na; a++)
        fprintf(js, "%s\"%s\": {\"mean\": %.5f, \"min\": %.5f}", a ? ", " : "", apf_attack_name(atts[a]),
                ssim_mean[a], ssim_min[a]);
    fprintf(js, "}");
    if (EN) {
        fprintf(js, ",\n  \"ssim_apf_s\": {");
        for (int a = 0; a < na; a++)
            fprintf(js, "%s\"%s\": {\"mean\": %.5f, \"min\": %.5f}", a ? ", " : "", apf_attack_name(atts[a]),
                    ssim_s_mean[a], ssim_s_min[a]);
        fprintf(js, "}");
    }
    fprintf(js, "\n}\n");
    fprintf(csv, "attack,pair,ssim\n");
    double lo = 1;
    for (int a = 0; a < na; a++)
        for (int i = 0; i < npos; i++) {
            fprintf(csv, "%s,%d,%.6f\n", apf_attack_name(atts[a]), i, ssim[a * npos + i]);
            lo = fmin(lo, ssim[a * npos + i]);
        }
    fclose(md), fclose(js), fclose(csv);
    write_hist(ssim, na, npos, floor(lo * 20) / 20, out_dir);
    snprintf(path, sizeof path, "%s/table.md", out_dir);
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        fputs(line, stdout);
    if (f)
        fclose(f);
    apf_evaluator_free(ev);
    if (TS != T)
        apf_transfer_free(TS);
    apf_transfer_free(T);
    apf_enhancer_free(EN);
    lfw_free(&set);
    free(img), free(A), free(B), free(same), free(P), free(PB), free(J), free(ssim);
    return 0;
}
