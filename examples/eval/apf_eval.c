/* apf-eval: measure protection on LFW-layout faces (usage() below).
 *
 * Protocol: thresholds are calibrated on clean pairs of folds other than
 * the scored one (LFW's own protocol) and applied unchanged; both photos of
 * each positive pair of the scored fold are protected; every recognizer's
 * clean embeddings are computed once. Each row (APF_g, APF_ĝ, APF_s,
 * original accessible, each also after JPEG re-encoding) is scored per
 * recognizer as Eq. 11 ASR, its ceiling and the broken share, for
 * protected-vs-original and protected-vs-protected matching. */
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
#include "apf/apf_photo.h"
#include "apf/apf_eval.h"
#include "eval_report.h"
#include "decoy_file.h"
#include "probe_list.h"
#include "lfw.h"
#include "wait_policy.h"

#define S EV_SIZE
#define PER EV_PER
#define MAXM EV_MAX_MODELS
#define MAX_ROWS 128

static int usage(FILE *f)
{
    fprintf(f,
        "usage: apf-eval [options]\n"
        "Protect both photos of each positive pair of one LFW fold and measure, per recognizer,\n"
        "how many matches protection breaks (docs/evaluation.md).\n\n"
        "data:\n"
        "  --lfw DIR              LFW-layout root with aligned112/ and pairs.txt (default $APF_LFW,\n"
        "                         else ../shared/data/lfw when present)\n"
        "  --faces DIR            face folder (default LFW/aligned112)\n"
        "  --pairs FILE           pairs file (default LFW/pairs.txt)\n"
        "  --fold K               scored fold, 1-based (default 8)\n"
        "  --calib-folds LIST     folds whose clean pairs set the thresholds (default: every other\n"
        "                         fold; with a one-fold file, the scored fold itself, said in the table)\n"
        "  --max-pairs N          score the first N positive pairs (default all)\n"
        "recognizers and protection:\n"
        "  --models A,B,...       recognizers (default models/{mobilefacenet,faceres,mobileface,\n"
        "                         faceapi-recognition}.apfm)\n"
        "  --probe LIST           device probe models, NAME-or-FILE[:WEIGHT[:SAMPLES[:PERIOD]]],... (default\n"
        "                         " PROBE_LIST_DEFAULT ")\n"
        "  --schedule S           all (every probe model each iteration) or rotate\n"
        "  --random-target W      weight of the per-face target direction (default " PROBE_LIST_RANDOM_TARGET_S ")\n"
        "  --decoys FILE|none     mosaic of 112-pixel faces whose embeddings are the target directions\n"
        "                         (apf_probe_set_decoys; default " DECOY_FILE_DEFAULT " beside the folder\n"
        "                         of the probe's first model); none: random directions\n"
        "  --texture-ssim S       per-pixel budget from texture aiming at local SSIM S (default 0: off)\n"
        "  --smooth SIGMA         blur each step's gradient by a Gaussian of SIGMA pixels (TI; default "
        PROBE_LIST_SMOOTH_S ")\n"
        "  --reach 0|1            1: the device bounds each value by how far its attack moved it\n"
        "                         (apf_probe_gradient_reach); 0: eps * g whole (default " PROBE_LIST_REACH_S ")\n"
        "  --jpeg-diversity Q     every second further sample of a model sees the face through a JPEG\n"
        "                         stand-in at quality Q (default " PROBE_LIST_JPEG_S "; 0: off)\n"
        "  --ssim-floor S         with the reach, scale down a face's reach until its SSIM is at least S\n"
        "                         (default " PROBE_LIST_SSIM_FLOOR_S "; 0: off)\n"
        "  --blur-diversity P     blur a share P of the input-diversity draws (diversity_blur; default\n"
        "                         " PROBE_LIST_BLUR_S ")\n"
        "  --blur-sigma S         the largest of those blurs, pixels (default " PROBE_LIST_BLUR_SIGMA_S ")\n"
        "  --attacks LIST         fgsm,i-fgsm,mi-fgsm,di2-fgsm,m-di2-fgsm (default di2-fgsm)\n"
        "  --eps E                L-inf budget, 0..255 units (default 8)\n"
        "  --step S               step per iteration, 0..255 units (default " PROBE_LIST_STEP_S ", the shipped\n"
        "                         device setting; the paper's is 2)\n"
        "  --iterations N         attack iterations (default " PROBE_LIST_ITERATIONS_S ", the shipped device setting)\n"
        "  --no-offset            probe without Eq. 13's enrolment offset\n"
        "  --transfer T.apfm      add the APF_ĝ row: s = clip(T(g))\n"
        "  --enhancer E.apfm      add the APF_s row: s = clip(T(g) + E(u)) (needs --transfer)\n"
        "  --transfer-s T2.apfm   T trained jointly with E, for APF_s (default: --transfer)\n"
        "  --accessible           add the original-accessible row: the attack run on each recognizer\n"
        "  --accessible-pairs N   pairs for it (default 100)\n"
        "  --accessible-iterations N  its iterations (default 30, the paper's)\n"
        "  --no-adv-adv           skip protected-vs-protected matching (halves the device work)\n"
        "  --jpeg Q               JPEG quality of the re-encoded rows (default 75)\n"
        "  --realign PX           score each protected face re-aligned as a recognizer's own detector\n"
        "                         would: shifted by up to PX pixels, turned by up to PX degrees and\n"
        "                         rescaled by up to PX%% (per face, fixed; SSIM stays on the face as\n"
        "                         protected; default 0: scored as the device aligned it)\n"
        "  --placed 0|1           1: the device attacks each face as placed in a photo at the identity\n"
        "                         (apf_probe_gradient_placed: re-alignment jitter on the draws\n"
        "                         input diversity leaves as they are, as apf protect does); default 0\n"
        "  --threads T            CPU threads (default 2)\n"
        "  --seed S               probe seed\n"
        "output:\n"
        "  --out DIR              table.md, results.json, pairs.csv, ssim.csv, broken.csv, plots.gp,\n"
        "                         ssim_hist.png and broken.png (gnuplot), examples.png (default out/eval)\n"
        "  -h, --help             this text\n"
        "  --version              the library version\n"
        "exit status: 0 done, 1 failed, 2 usage\n");
    return f == stdout ? 0 : 2;
}

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

static int pairs_header(const char *path, int *folds)
{
    FILE *f = fopen(path, "r");
    int per = 0;
    int ok = f && fscanf(f, "%d %d", folds, &per) == 2 && *folds > 0 && per > 0;
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

/* Faces of an lfw_set as bytes, in image order. */
static uint8_t *read_set_faces(const lfw_set *set)
{
    enum { CHUNK = 64 };
    uint8_t *img = malloc((size_t)set->n_images * PER);
    float *ff = malloc(CHUNK * PER * sizeof(float));
    if (!img || !ff)
        die("out of memory for faces");
    for (int i = 0; i < set->n_images; i += CHUNK) {
        int c = set->n_images - i < CHUNK ? set->n_images - i : CHUNK;
        if (lfw_read_faces(set, i, c, S, ff))
            exit(1);
        for (size_t q = 0; q < (size_t)c * PER; q++)
            img[(size_t)i * PER + q] = (uint8_t)lrintf(ff[q]);
    }
    free(ff);
    return img;
}

/* Calibrate every recognizer on the clean pairs of the given folds: each
 * image embedded once per recognizer. */
static void calibrate(recognizer *rec, int nm, const char *pairs, const char *faces, const int *folds,
                      int n_folds)
{
    float *sim[MAXM] = {0};
    uint8_t *same = NULL;
    int n = 0;
    for (int k = 0; k < n_folds; k++) {
        lfw_set set;
        if (lfw_load(pairs, faces, folds[k], &set))
            die("calibration pairs");
        fprintf(stderr, "calibrating on fold %d: %d pairs, %d images\n", folds[k], set.n_pairs,
                set.n_images);
        uint8_t *img = read_set_faces(&set);
        same = realloc(same, (size_t)(n + set.n_pairs));
        for (int i = 0; i < set.n_pairs; i++)
            same[n + i] = (uint8_t)set.pairs[i].same;
        for (int m = 0; m < nm; m++) {
            float *e = malloc((size_t)set.n_images * rec[m].dim * sizeof(float));
            if (!e || ev_embed(rec[m].model, img, set.n_images, e))
                die("calibration embeddings");
            sim[m] = realloc(sim[m], (size_t)(n + set.n_pairs) * sizeof(float));
            for (int i = 0; i < set.n_pairs; i++)
                sim[m][n + i] = ev_dot(e + (size_t)set.pairs[i].a * rec[m].dim,
                                       e + (size_t)set.pairs[i].b * rec[m].dim, rec[m].dim);
            free(e);
        }
        n += set.n_pairs;
        free(img);
        lfw_free(&set);
    }
    for (int m = 0; m < nm; m++) {
        if (ev_calibrate(&rec[m], sim[m], same, n))
            die("calibration (needs same- and different-person pairs)");
        free(sim[m]);
    }
    free(same);
}

/* Each face re-aligned by a similarity of its own, of up to px pixels,
 * degrees and percent (a fixed stream per face index and side, so every
 * row and setting sees the same re-alignments): what a recognizer that
 * detects the protected photo itself scores. */
static void realign(const uint8_t *in, int n, int side, float px, uint8_t *out)
{
    float *src = malloc(PER * sizeof *src), *dst = malloc(PER * sizeof *dst);
    if (!src || !dst)
        die("out of memory");
    for (int i = 0; i < n; i++) {
        uint64_t st = 0x9e3779b97f4a7c15ull * (uint64_t)(2 * i + side + 1);
        double u[4];
        for (int k = 0; k < 4; k++) { /* splitmix64 */
            uint64_t z = (st += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            u[k] = (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0 * 2 - 1; /* [-1, 1) */
        }
        double sc = 1 + px / 100 * u[0], th = px * u[1] * M_PI / 180;
        double tx = px * u[2], ty = px * u[3], h = (S - 1) / 2.0;
        double cs = cos(th) / sc, sn = sin(th) / sc;
        /* destination -> source: source = centre + R(-th)/sc (dest - centre - shift) */
        double m[6] = {cs, sn, h - cs * (h + tx) - sn * (h + ty), -sn, cs, h + sn * (h + tx) - cs * (h + ty)};
        const uint8_t *fi = in + (size_t)i * PER;
        for (size_t q = 0; q < PER; q++)
            src[q] = fi[q];
        if (apf_warp_affine(src, S, S, 3, dst, S, S, m, 0))
            die("realign");
        for (size_t q = 0; q < PER; q++)
            out[(size_t)i * PER + q] = (uint8_t)fminf(fmaxf(roundf(dst[q]), 0.0f), 255.0f);
    }
    free(src), free(dst);
}

/* The probe's reach_budget: the device bounds the noise by its attack's reach. */
static int uses_reach(const apf_probe *p)
{
    apf_probe_options o;
    apf_probe_options_init(&o);
    return !apf_probe_get_options(p, &o) && o.reach_budget;
}

/* Protect n faces with a probe in chunks of 16; returns ms per face. The
 * gradients and reaches are kept in g and reach (when not NULL) for the
 * cloud rows. placed: each face attacked as placed in a photo at the
 * identity, as apf protect places an aligned face (re-alignment jitter
 * where the input diversity leaves a draw as it is). */
static double probe_protect(apf_probe *p, const uint8_t *faces, int n, float eps, int placed, uint8_t *out,
                            int8_t *g, uint8_t *reach, const char *label)
{
    int8_t *gl = g ? NULL : malloc(16 * PER), *noise = malloc(16 * PER);
    uint8_t *rl = reach ? NULL : malloc(16 * PER);
    int bounded = uses_reach(p);
    double t0 = now_s(), busy = 0;
    for (int i = 0; i < n; i += 16) {
        int c = n - i < 16 ? n - i : 16;
        int8_t *gi = g ? g + (size_t)i * PER : gl;
        uint8_t *ri = reach ? reach + (size_t)i * PER : rl;
        double t1 = now_s();
        double ident[16 * 6];
        for (int k = 0; k < c; k++) {
            double one[6] = {1, 0, 0, 0, 1, 0};
            memcpy(ident + 6 * k, one, sizeof one);
        }
        if (apf_probe_gradient_reach(p, faces + (size_t)i * PER, NULL, c, S, placed ? ident : NULL, gi, ri))
            die(label);
        busy += now_s() - t1;
        /* the device applies eps * g within its per-pixel budget */
        for (size_t q = 0; q < (size_t)c * PER; q++)
            noise[q] = (int8_t)(gi[q] * (int)lrintf(eps));
        if (apf_probe_limit_noise(p, faces + (size_t)i * PER, c, S, noise))
            die(label);
        if (bounded && apf_limit_noise_to_reach(noise, ri, (size_t)c * PER))
            die(label);
        apf_apply_perturbation(faces + (size_t)i * PER, noise, (size_t)c * PER, 1.0f, out + (size_t)i * PER);
        double rate = (i + c) / (now_s() - t0);
        fprintf(stderr, "\r  %-44s %4d/%d faces  %5.1f faces/s  ETA %4.0fs ", label, i + c, n, rate,
                (n - i - c) / rate);
    }
    fprintf(stderr, "\n");
    free(gl);
    free(rl);
    free(noise);
    return 1000 * busy / n;
}

/* out = clip(faces + s) for the cloud's noise; returns server ms per face. */
static double cloud_protect(apf_probe *p, apf_transfer *t, const apf_enhancer *e, const uint8_t *faces,
                            const int8_t *g, const uint8_t *reach, int n, float eps, uint8_t *out)
{
    int bounded = uses_reach(p);
    float *s = malloc(16 * PER * sizeof(float));
    int8_t *noise = malloc(16 * PER);
    double busy = 0;
    for (int i = 0; i < n; i += 16) {
        int c = n - i < 16 ? n - i : 16;
        double t1 = now_s();
        if (apf_cloud_noise(t, e, g + (size_t)i * PER, c, eps, s))
            die("cloud noise");
        busy += now_s() - t1;
        /* as on the wire: integer offsets, then the device's budget */
        for (size_t q = 0; q < (size_t)c * PER; q++)
            noise[q] = (int8_t)lrintf(s[q]);
        if (apf_probe_limit_noise(p, faces + (size_t)i * PER, c, S, noise))
            die("noise limit");
        if (bounded && apf_limit_noise_to_reach(noise, reach + (size_t)i * PER, (size_t)c * PER))
            die("noise limit");
        apf_apply_perturbation(faces + (size_t)i * PER, noise, (size_t)c * PER, 1.0f, out + (size_t)i * PER);
    }
    free(s);
    free(noise);
    return 1000 * busy / n;
}

static void jpeg_round_trip(const uint8_t *in, int n, int q, uint8_t *out)
{
    apf_image *im;
    if (apf_image_create(S, S, &im))
        die("image");
    for (int i = 0; i < n; i++) {
        memcpy(apf_image_pixels(im), in + (size_t)i * PER, PER);
        void *buf;
        size_t len;
        apf_image *back;
        if (apf_image_encode_jpeg(im, q, &buf, &len) || apf_image_decode(buf, len, &back))
            die("jpeg");
        memcpy(out + (size_t)i * PER, apf_image_pixels(back), PER);
        apf_image_free(back);
        free(buf);
    }
    apf_image_free(im);
}

static double *ssim_of(const uint8_t *orig, const uint8_t *prot, int n)
{
    double *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        if (apf_ssim(orig + (size_t)i * PER, prot + (size_t)i * PER, S, S, &v[i], NULL))
            die("ssim");
    return v;
}

/* Grid of up to 4 examples: original | protected | noise x10 around grey. */
static void write_grid(const uint8_t *orig, const uint8_t *prot, int n, const char *dir, const char *name)
{
    int rows = n < 4 ? n : 4;
    apf_image *im;
    if (apf_image_create(3 * S, rows * S, &im))
        die("image");
    uint8_t *px = apf_image_pixels(im);
    for (int r = 0; r < rows; r++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < 3; c++) {
                    size_t s = r * PER + ((size_t)y * S + x) * 3 + c;
                    size_t row = ((size_t)(r * S + y) * 3 * S) * 3;
                    int d = 128 + 10 * ((int)prot[s] - (int)orig[s]);
                    px[row + (size_t)x * 3 + c] = orig[s];
                    px[row + (size_t)(S + x) * 3 + c] = prot[s];
                    px[row + (size_t)(2 * S + x) * 3 + c] = (uint8_t)(d < 0 ? 0 : d > 255 ? 255 : d);
                }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path); /* our own output of an earlier run */
    if (apf_image_save(im, path, 0))
        die(path);
    apf_image_free(im);
}

typedef struct ctx {
    recognizer *rec;
    int nm, jpeg_q;
    float realign_px; /* a recognizer's own alignment of a protected face up to this far off (0: none) */
    const uint8_t *A, *B;
    eval_row rows[MAX_ROWS];
    int n_rows;
} ctx;

/* Score one row (and its JPEG twin) on every recognizer, or on one (only >= 0). */
static void add_rows(ctx *c, const char *attack, const char *label, const uint8_t *PA, const uint8_t *PB,
                     int n, int only, double device_ms, double server_ms)
{
    uint8_t *JA = malloc((size_t)n * PER), *JB = PB ? malloc((size_t)n * PER) : NULL;
    jpeg_round_trip(PA, n, c->jpeg_q, JA);
    if (PB)
        jpeg_round_trip(PB, n, c->jpeg_q, JB);
    for (int j = 0; j < 2; j++) {
        eval_row *w = NULL;
        char lab[64];
        snprintf(lab, sizeof lab, j ? "%s + JPEG q%d" : "%s", label, c->jpeg_q);
        for (int k = 0; k < c->n_rows; k++) /* accessible rows gather one model at a time */
            if (!strcmp(c->rows[k].attack, attack) && !strcmp(c->rows[k].label, lab))
                w = &c->rows[k];
        if (!w) {
            if (c->n_rows == MAX_ROWS)
                die("too many rows");
            w = &c->rows[c->n_rows++];
            memset(w, 0, sizeof *w);
            snprintf(w->label, sizeof w->label, "%s", lab);
            snprintf(w->attack, sizeof w->attack, "%s", attack);
            w->n = n;
            w->adv_adv = PB != NULL;
            w->ssim = calloc((size_t)n, sizeof(double));
            w->device_ms = w->server_ms = NAN;
        }
        const uint8_t *pa = j ? JA : PA, *pb = j ? JB : PB;
        double *ss = ssim_of(c->A, pa, n);
        int share = only >= 0 ? c->nm : 1; /* accessible: SSIM averaged over the recognizers */
        for (int i = 0; i < n; i++)
            w->ssim[i] += ss[i] / share;
        free(ss);
        if (!isnan(device_ms))
            w->device_ms = isnan(w->device_ms) ? device_ms / (only >= 0 ? c->nm : 1)
                                               : w->device_ms + device_ms / c->nm;
        w->server_ms = server_ms;
        uint8_t *ra = NULL, *rb = NULL;
        if (c->realign_px > 0) { /* scored as a recognizer re-aligns them */
            ra = malloc((size_t)n * PER), rb = pb ? malloc((size_t)n * PER) : NULL;
            realign(pa, n, 0, c->realign_px, ra);
            if (pb)
                realign(pb, n, 1, c->realign_px, rb);
            pa = ra, pb = rb;
        }
        for (int m = 0; m < c->nm; m++)
            if ((only < 0 || only == m) && ev_score(&c->rec[m], pa, pb, n, &w->score[m]))
                die("score");
        free(ra), free(rb);
    }
    free(JA);
    free(JB);
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    const char *lfw = NULL, *faces_dir = NULL, *pairs = NULL;
    const char *probe_path = PROBE_LIST_DEFAULT, *out_dir = "out/eval", *models_dir = "models";
    const char *decoys_path = NULL; /* default: decoy_file_beside(models); none: random directions */
    char decoys_found[4096];
    apf_probe_schedule schedule = APF_SCHEDULE_ALL;
    float random_target = PROBE_LIST_RANDOM_TARGET, texture_ssim = 0.0f, smooth = PROBE_LIST_SMOOTH;
    int reach_budget = PROBE_LIST_REACH, diversity_jpeg = PROBE_LIST_JPEG, attack_placed = 0;
    float realign_px = 0; /* --realign: 0, scored as the device aligned each face */
    float ssim_floor = PROBE_LIST_SSIM_FLOOR;
    float blur_diversity = PROBE_LIST_BLUR, blur_sigma = PROBE_LIST_BLUR_SIGMA;
    char models_arg[2048] = "models/mobilefacenet.apfm,models/faceres.apfm,models/mobileface.apfm,"
                            "models/faceapi-recognition.apfm";
    char attacks_arg[256] = "di2-fgsm", calib_arg[256] = "";
    const char *transfer_path = NULL, *enhancer_path = NULL, *transfer_s_path = NULL;
    int fold = 8, iters = PROBE_LIST_ITERATIONS, max_pairs = 0, accessible = 0, acc_pairs = 100, jpeg_q = 75;
    int acc_iters = 30;
    int threads = 2, adv_adv = 1, offset = 1;
    float eps = 8, step = PROBE_LIST_STEP;
    unsigned long long seed = 0x41504621u;
    char command[4096] = "apf-eval";
    for (int i = 1; i < argc; i++)
        if (strlen(command) + strlen(argv[i]) + 2 < sizeof command)
            strcat(strcat(command, " "), argv[i]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        if (!strcmp(a, "--version")) {
            printf("apf-eval (libapf %s)\n", apf_version_string());
            return 0;
        }
        if (!strcmp(a, "--accessible")) {
            accessible = 1;
            continue;
        }
        if (!strcmp(a, "--no-adv-adv")) {
            adv_adv = 0;
            continue;
        }
        if (!strcmp(a, "--no-offset")) {
            offset = 0;
            continue;
        }
        if (strncmp(a, "--", 2)) {
            fprintf(stderr, "apf-eval: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "apf-eval: %s needs a value (see --help)\n", a);
            return 2;
        }
        i++;
        char *end = NULL;
        if (!strcmp(a, "--lfw")) lfw = v;
        else if (!strcmp(a, "--faces")) faces_dir = v;
        else if (!strcmp(a, "--pairs")) pairs = v;
        else if (!strcmp(a, "--fold")) fold = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--calib-folds")) snprintf(calib_arg, sizeof calib_arg, "%s", v);
        else if (!strcmp(a, "--models")) snprintf(models_arg, sizeof models_arg, "%s", v);
        else if (!strcmp(a, "--probe")) probe_path = v;
        else if (!strcmp(a, "--decoys")) decoys_path = v;
        else if (!strcmp(a, "--attacks")) snprintf(attacks_arg, sizeof attacks_arg, "%s", v);
        else if (!strcmp(a, "--eps")) eps = strtof(v, &end);
        else if (!strcmp(a, "--step")) step = strtof(v, &end);
        else if (!strcmp(a, "--iterations")) iters = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--max-pairs")) max_pairs = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--accessible-pairs")) acc_pairs = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--accessible-iterations")) acc_iters = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--jpeg")) jpeg_q = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--realign")) realign_px = strtof(v, &end);
        else if (!strcmp(a, "--placed")) attack_placed = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--threads")) threads = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, &end, 0);
        else if (!strcmp(a, "--random-target")) random_target = strtof(v, &end);
        else if (!strcmp(a, "--texture-ssim")) texture_ssim = strtof(v, &end);
        else if (!strcmp(a, "--smooth")) smooth = strtof(v, &end);
        else if (!strcmp(a, "--reach")) reach_budget = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--jpeg-diversity")) diversity_jpeg = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--ssim-floor")) ssim_floor = strtof(v, &end);
        else if (!strcmp(a, "--blur-diversity")) blur_diversity = strtof(v, &end);
        else if (!strcmp(a, "--blur-sigma")) blur_sigma = strtof(v, &end);
        else if (!strcmp(a, "--schedule")) {
            if (!strcmp(v, "all")) schedule = APF_SCHEDULE_ALL;
            else if (!strcmp(v, "rotate")) schedule = APF_SCHEDULE_ROTATE;
            else return fprintf(stderr, "apf-eval: --schedule is all or rotate\n"), 2;
        }
        else if (!strcmp(a, "--out")) out_dir = v;
        else if (!strcmp(a, "--transfer")) transfer_path = v;
        else if (!strcmp(a, "--enhancer")) enhancer_path = v;
        else if (!strcmp(a, "--transfer-s")) transfer_s_path = v;
        else {
            fprintf(stderr, "apf-eval: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "apf-eval: %s: not a number: %s\n", a, v);
            return 2;
        }
    }
    if (fold < 1 || iters < 1 || acc_iters < 1 || jpeg_q < 1 || jpeg_q > 100 || threads < 1 || acc_pairs < 1 ||
        !(eps > 0 && eps <= APF_EPS_MAX) || max_pairs < 0 || !(realign_px >= 0 && realign_px <= 10) ||
        (attack_placed != 0 && attack_placed != 1)) {
        fprintf(stderr, "apf-eval: an option is out of range (see --help)\n");
        return 2;
    }
    if (lfw_fill_paths(lfw, &faces_dir, &pairs, "apf-eval"))
        return 2;
    char *model_paths[MAXM], *att_names[APF_ATTACK_COUNT];
    int nm = split(models_arg, model_paths, MAXM), na = split(attacks_arg, att_names, APF_ATTACK_COUNT);
    apf_attack atts[APF_ATTACK_COUNT];
    for (int k = 0; k < na; k++)
        if (apf_attack_from_name(att_names[k], &atts[k])) {
            fprintf(stderr, "apf-eval: --attacks: %s\n", apf_last_error());
            return 2;
        }
    /* decoys only matter with a random target; "none" keeps random directions */
    if (!decoys_path) {
        decoy_file_for_list(probe_path, models_dir, decoys_found, sizeof decoys_found);
        decoys_path = decoys_found;
    }
    int with_decoys = random_target > 0 && strcmp(decoys_path, "none") != 0;
    /* read once, before the run allocates its work; every probe gets them */
    uint8_t *decoys = NULL;
    int n_decoys = 0;
    char decoy_msg[4400];
    if (with_decoys && decoy_file_read(decoys_path, &decoys, &n_decoys, decoy_msg, sizeof decoy_msg)) {
        fprintf(stderr, "apf-eval: %s\n", decoy_msg);
        return 1;
    }
    if (enhancer_path && !transfer_path) {
        fprintf(stderr, "apf-eval: --enhancer needs --transfer\n");
        return 2;
    }
    int n_folds = 0, calib[64], n_calib = 0;
    if (pairs_header(pairs, &n_folds) || fold > n_folds) {
        fprintf(stderr, "apf-eval: %s: not a pairs file with fold %d\n", pairs, fold);
        return 1;
    }
    if (calib_arg[0]) {
        char *f[64];
        int k = split(calib_arg, f, 64);
        for (int i = 0; i < k; i++) {
            calib[n_calib] = atoi(f[i]);
            if (calib[n_calib] < 1 || calib[n_calib] > n_folds || calib[n_calib] == fold) {
                fprintf(stderr, "apf-eval: --calib-folds: %s is not another fold of %s\n", f[i], pairs);
                return 2;
            }
            n_calib++;
        }
    } else {
        for (int k = 1; k <= n_folds && n_calib < 64; k++)
            if (k != fold)
                calib[n_calib++] = k;
    }
    char calib_desc[512];
    if (n_calib == 0) {
        calib[n_calib++] = fold;
        snprintf(calib_desc, sizeof calib_desc,
                 "calibrated on the scored fold itself (the pairs file has one fold: optimistic)");
    } else {
        int len = snprintf(calib_desc, sizeof calib_desc, "calibrated on the clean pairs of fold%s",
                           n_calib > 1 ? "s" : "");
        for (int k = 0; k < n_calib && len < (int)sizeof calib_desc - 8; k++)
            len += snprintf(calib_desc + len, sizeof calib_desc - len, "%s %d", k ? "," : "", calib[k]);
    }
    if (make_dirs(out_dir)) {
        fprintf(stderr, "apf-eval: cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }

    recognizer rec[MAXM];
    memset(rec, 0, sizeof rec);
    for (int m = 0; m < nm; m++) {
        if (apf_model_load(model_paths[m], &rec[m].model))
            die(model_paths[m]);
        apf_model_set_threads(rec[m].model, threads);
        snprintf(rec[m].name, sizeof rec[m].name, "%s", apf_model_name(rec[m].model));
        rec[m].dim = apf_model_embedding_dim(rec[m].model);
    }
    calibrate(rec, nm, pairs, faces_dir, calib, n_calib);

    /* the scored fold */
    lfw_set set;
    if (lfw_load(pairs, faces_dir, fold, &set))
        die("pairs");
    fprintf(stderr, "scored fold %d: %d pairs, %d images\n", fold, set.n_pairs, set.n_images);
    uint8_t *img = read_set_faces(&set);
    int np = set.n_pairs, npos = 0;
    uint8_t *A = malloc((size_t)np * PER), *B = malloc((size_t)np * PER);
    char(*names)[128] = calloc((size_t)np, sizeof *names);
    int *pos = malloc((size_t)np * sizeof *pos); /* the scored positive pairs */
    for (int i = 0; i < np; i++)
        if (set.pairs[i].same && (!max_pairs || npos < max_pairs)) {
            memcpy(A + (size_t)npos * PER, img + (size_t)set.pairs[i].a * PER, PER);
            memcpy(B + (size_t)npos * PER, img + (size_t)set.pairs[i].b * PER, PER);
            const char *p = strrchr(set.paths[set.pairs[i].a], '/');
            snprintf(names[npos], sizeof names[npos], "%s", p ? p + 1 : set.paths[set.pairs[i].a]);
            pos[npos++] = i;
        }
    if (npos == 0) {
        fprintf(stderr, "apf-eval: fold %d has no positive pairs\n", fold);
        return 1;
    }
    if (acc_pairs > npos)
        acc_pairs = npos;
    /* Every photo of the fold embedded once per recognizer: the clean
     * accuracy of the calibrated thresholds here, and the clean embeddings
     * and similarities the rows are scored against. */
    float *e = NULL;
    for (int m = 0; m < nm; m++) {
        int dim = rec[m].dim;
        e = realloc(e, (size_t)set.n_images * dim * sizeof(float));
        rec[m].eB = malloc((size_t)npos * dim * sizeof(float));
        rec[m].sim0 = malloc((size_t)npos * sizeof(float));
        if (!e || !rec[m].eB || !rec[m].sim0 || ev_embed(rec[m].model, img, set.n_images, e))
            die("clean embeddings");
        int correct = 0;
        for (int i = 0; i < np; i++) {
            float d = ev_dot(e + (size_t)set.pairs[i].a * dim, e + (size_t)set.pairs[i].b * dim, dim);
            correct += (d >= rec[m].thr) == set.pairs[i].same;
        }
        rec[m].test_acc = (double)correct / np;
        for (int k = 0; k < npos; k++) {
            const lfw_pair *pp = &set.pairs[pos[k]];
            memcpy(rec[m].eB + (size_t)k * dim, e + (size_t)pp->b * dim, (size_t)dim * sizeof(float));
            rec[m].sim0[k] = ev_dot(e + (size_t)pp->a * dim, e + (size_t)pp->b * dim, dim);
        }
    }
    free(e);
    free(pos);
    free(img);

    apf_transfer *T = NULL, *TS = NULL;
    apf_enhancer *EN = NULL;
    if (transfer_path && apf_transfer_load(transfer_path, &T))
        die(transfer_path);
    if (T)
        apf_transfer_set_threads(T, threads);
    TS = T;
    if (enhancer_path && apf_enhancer_load(enhancer_path, &EN))
        die(enhancer_path);
    if (transfer_s_path && apf_transfer_load(transfer_s_path, &TS))
        die(transfer_s_path);
    if (TS != T)
        apf_transfer_set_threads(TS, threads);

    ctx c = {.rec = rec, .nm = nm, .jpeg_q = jpeg_q, .realign_px = realign_px, .A = A, .B = B};
    uint8_t *PA = malloc((size_t)npos * PER), *PB = malloc((size_t)npos * PER);
    int8_t *gA = malloc((size_t)npos * PER), *gB = malloc((size_t)npos * PER);
    uint8_t *rA = malloc((size_t)npos * PER), *rB = malloc((size_t)npos * PER);
    for (int a = 0; a < na; a++) {
        const char *an = apf_attack_name(atts[a]);
        apf_probe_options o;
        apf_probe_options_init(&o);
        o.attack = atts[a];
        o.eps = eps;
        o.step = step;
        o.iterations = iters;
        o.threads = threads;
        o.seed = seed;
        o.enrol_offset = offset;
        o.schedule = schedule;
        o.random_target = random_target;
        o.texture_ssim = texture_ssim;
        o.smooth_sigma = smooth;
        o.reach_budget = reach_budget;
        o.diversity_jpeg = diversity_jpeg;
        o.ssim_floor = ssim_floor;
        o.diversity_blur = blur_diversity;
        o.diversity_blur_sigma = blur_sigma;
        apf_probe *pr;
        char msg[512];
        if (probe_list_create(probe_path, models_dir, &o, &pr, msg, sizeof msg)) {
            fprintf(stderr, "apf-eval: %s\n", msg);
            return 1;
        }
        if (with_decoys && apf_probe_set_decoys(pr, decoys, n_decoys, DECOY_SIDE))
            die("decoys");
        char label[96];
        snprintf(label, sizeof label, "APF_g %s (A)", an);
        double ms = probe_protect(pr, A, npos, eps, attack_placed, PA, gA, rA, label);
        if (adv_adv) {
            snprintf(label, sizeof label, "APF_g %s (B)", an);
            ms = (ms + probe_protect(pr, B, npos, eps, attack_placed, PB, gB, rB, label)) / 2;
        }
        add_rows(&c, an, "APF_g", PA, adv_adv ? PB : NULL, npos, -1, ms, NAN);
        if (a == 0)
            write_grid(A, PA, npos, out_dir, "examples.png");
        for (int pass = 0; pass < 2 && T; pass++) {
            if (pass == 1 && !EN)
                break;
            apf_transfer *t = pass ? TS : T;
            const apf_enhancer *e = pass ? EN : NULL;
            fprintf(stderr, "  %s %s: cloud noise\n", pass ? "APF_s" : "APF_ĝ", an);
            double sms = cloud_protect(pr, t, e, A, gA, rA, npos, eps, PA);
            if (adv_adv)
                sms = (sms + cloud_protect(pr, t, e, B, gB, rB, npos, eps, PB)) / 2;
            add_rows(&c, an, pass ? "APF_s" : "APF_ĝ", PA, adv_adv ? PB : NULL, npos, -1, ms, sms);
            if (a == 0)
                write_grid(A, PA, npos, out_dir, pass ? "examples_apf_s.png" : "examples_apf_ghat.png");
        }
        apf_probe_free(pr);
        for (int m = 0; accessible && m < nm; m++) {
            apf_probe *q;
            apf_probe_options ao = o;
            ao.iterations = acc_iters;
            if (apf_probe_create(model_paths[m], &ao, &q))
                die(model_paths[m]);
            if (with_decoys && apf_probe_set_decoys(q, decoys, n_decoys, DECOY_SIDE))
                die("decoys");
            snprintf(label, sizeof label, "accessible %s on %s (A)", an, rec[m].name);
            double ams = probe_protect(q, A, acc_pairs, eps, attack_placed, PA, NULL, NULL, label);
            if (adv_adv) {
                snprintf(label, sizeof label, "accessible %s on %s (B)", an, rec[m].name);
                ams = (ams + probe_protect(q, B, acc_pairs, eps, attack_placed, PB, NULL, NULL, label)) / 2;
            }
            add_rows(&c, an, "original accessible", PA, adv_adv ? PB : NULL, acc_pairs, m, ams, NAN);
            apf_probe_free(q);
        }
    }

    char realign_note[160] = "";
    if (realign_px > 0)
        snprintf(realign_note, sizeof realign_note,
                 "; protected faces scored re-aligned (up to %g px, %g degrees, %g%% scale)", realign_px, realign_px,
                 realign_px);
    char decoy_note[4200] = "";
    if (with_decoys)
        snprintf(decoy_note, sizeof decoy_note, " toward decoys `%s`", decoys_path);
    else if (random_target > 0)
        snprintf(decoy_note, sizeof decoy_note, " toward random directions");
    char probe_desc[8192];
    snprintf(probe_desc, sizeof probe_desc,
             "step %g, schedule %s, random target %g%s, texture SSIM %g, gradient smoothing %g px, %s, "
             "JPEG in the diversity %d, blur in the diversity %g (sigma up to %g px), SSIM floor %g, %s; the "
             "original-accessible rows: %d iterations on each recognizer alone%s",
             step, schedule == APF_SCHEDULE_ROTATE ? "rotate" : "all", random_target, decoy_note, texture_ssim, smooth,
             reach_budget ? "noise bounded by the attack's reach" : "eps * g whole", diversity_jpeg, blur_diversity,
             blur_sigma, ssim_floor,
             attack_placed ? "placed at the identity (re-alignment jitter)" : "not placed", acc_iters, realign_note);
    eval_report rep = {
        .out_dir = out_dir, .command = command, .faces = faces_dir, .pairs = pairs, .fold = fold,
        .n_pairs = npos, .calib_desc = calib_desc,
        .jpeg_q = jpeg_q, .eps = eps, .iterations = iters, .probe = probe_path, .probe_settings = probe_desc,
        .transfer = transfer_path, .enhancer = enhancer_path, .transfer_s = transfer_s_path,
        .n_models = nm, .rec = rec, .n_rows = c.n_rows, .rows = c.rows, .pair_names = names,
    };
    int neg = 0;
    for (int i = 0; i < np; i++)
        neg += !set.pairs[i].same;
    rep.n_neg = neg;
    if (eval_report_write(&rep))
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/table.md", out_dir);
    FILE *f = fopen(path, "r");
    char line[2048];
    while (f && fgets(line, sizeof line, f))
        fputs(line, stdout);
    if (f)
        fclose(f);
    for (int k = 0; k < c.n_rows; k++) {
        for (int m = 0; m < nm; m++)
            row_score_free(&c.rows[k].score[m]);
        free(c.rows[k].ssim);
    }
    for (int m = 0; m < nm; m++) {
        apf_model_free(rec[m].model);
        free(rec[m].eB);
        free(rec[m].sim0);
    }
    if (TS != T)
        apf_transfer_free(TS);
    apf_transfer_free(T);
    apf_enhancer_free(EN);
    lfw_free(&set);
    free(A), free(B), free(PA), free(PB), free(gA), free(gB), free(rA), free(rB), free(names), free(decoys);
    return 0;
}
