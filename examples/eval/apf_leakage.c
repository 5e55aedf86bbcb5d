/* apf-leakage: what a curious server learns about a face from the gradient
 * blob g the device sends (docs/threat-model.md).
 *
 * The server is played by an inversion network: the core's U-Net (the same
 * network T is built from) trained to map g back to the face, on the
 * training identities (outside the calibration and report folds), with g
 * computed exactly as the device computes it and the device-side
 * mitigation applied. On the report fold it measures the reconstructions:
 * SSIM and PSNR against the original, and for every bundled recognizer the
 * verification accuracy of (reconstruction of A, original B) over the
 * fold's positive and negative pairs at thresholds calibrated on clean
 * pairs of another fold; 50% is chance. The zero-knowledge baseline renders
 * g itself as an image. The same g (the cloud passing eps * g through, the
 * shipped default) also gives the protection that setting keeps: the broken
 * share per recognizer. One row per run; bench/leakage.sh runs the settings.
 *
 * Mitigations (--mitigation): none; flip:P (each nonzero value's sign
 * flipped with probability P); drop:P (each value zeroed with probability
 * P); down:F (g averaged over F x F blocks and re-quantised to signs, sent
 * at 1/F resolution and expanded by the cloud). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apf/apf_cloud.h"
#include "apf/apf_end.h"
#include "apf/apf_eval.h"
#include "apf/apf_photo.h"
#include "lfw.h"
#include "decoy_file.h"
#include "probe_list.h"
#include "wait_policy.h"

#define S 112
#define PER ((size_t)S * S * 3)
#define NREC BUNDLED_RECOGNIZERS
#define INV_EPS 64.0f /* the U-Net's input/output scale: g enters as 64 * g, so as {-1, 0, 1} */

static const char *const *const REC = bundled_recognizer;

typedef struct mitigation {
    char kind; /* n none, f flip, d drop, s downsample */
    float p;
    int f;
} mitigation;

static int usage(FILE *f)
{
    fprintf(f,
        "usage: apf-leakage [options]\n"
        "Train an inversion network from the device's g to the face and measure what it recovers\n"
        "(docs/threat-model.md).\n"
        "  --lfw DIR            LFW-layout root (default $APF_LFW, else ../shared/data/lfw)\n"
        "  --models DIR         face models (default models)\n"
        "  --probe LIST         the device probe (default the shipped ensemble: %s)\n"
        "  --iterations N       probe iterations (default %d)\n"
        "  --mitigation M       none | flip:P | drop:P | down:F | pad (default none)\n"
        "  --train N            training photos (default 4096)\n"
        "  --epochs N           inversion training epochs (default 8)\n"
        "  --base C --levels L  the inversion U-Net (default 24, 4)\n"
        "  --lr R --batch B     Adam learning rate and batch (default 1e-3, 16)\n"
        "  --fold K             report fold (default 8); --calib-fold K thresholds (default 7)\n"
        "  --g-cache DIR        the device's g, computed once for every setting (default out/leakage-g)\n"
        "  --threads T --seed S --out DIR (default out/leakage) --resume\n"
        "Output: DIR/row.md (one table row), DIR/inverter.apfm, DIR/log.csv, DIR/examples.png.\n"
        "exit status: 0 done, 1 failed, 2 usage\n",
        PROBE_LIST_DEFAULT, PROBE_LIST_ITERATIONS);
    return f == stdout ? 0 : 2;
}

static void die(const char *what)
{
    fprintf(stderr, "apf-leakage: %s: %s\n", what, apf_last_error());
    exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int parse_mitigation(const char *s, mitigation *m)
{
    memset(m, 0, sizeof *m);
    char *end;
    if (!strcmp(s, "none"))
        m->kind = 'n';
    else if (!strcmp(s, "pad"))
        m->kind = 'p';
    else if (!strncmp(s, "flip:", 5) || !strncmp(s, "drop:", 5)) {
        m->kind = s[0] == 'f' ? 'f' : 'd';
        m->p = strtof(s + 5, &end);
        if (*end || !(m->p >= 0 && m->p <= 1))
            return -1;
    } else if (!strncmp(s, "down:", 5)) {
        m->kind = 's';
        m->f = (int)strtol(s + 5, &end, 10);
        if (*end || m->f < 1 || m->f > 16 || S % m->f)
            return -1;
    } else {
        return -1;
    }
    return 0;
}

/* The device's mitigation on one face's g, in place; per-face seed. */
static void mitigate(const mitigation *m, int8_t *g, unsigned long long seed)
{
    unsigned long long r = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    if (m->kind == 'p') { /* a fresh random sign per value: what the server sees under the pad */
        for (size_t i = 0; i < PER; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            if (r >> 63)
                g[i] = (int8_t)-g[i];
        }
    } else if (m->kind == 'f' || m->kind == 'd') {
        for (size_t i = 0; i < PER; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            if ((double)(r >> 11) / 9007199254740992.0 < m->p)
                g[i] = m->kind == 'f' ? (int8_t)-g[i] : 0;
        }
    } else if (m->kind == 's' && m->f > 1) {
        int f = m->f;
        for (int y = 0; y < S; y += f)
            for (int x = 0; x < S; x += f)
                for (int c = 0; c < 3; c++) {
                    int sum = 0;
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++)
                            sum += g[((size_t)(y + dy) * S + x + dx) * 3 + c];
                    int8_t v = (int8_t)((sum > 0) - (sum < 0));
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++)
                            g[((size_t)(y + dy) * S + x + dx) * 3 + c] = v;
                }
    }
}

/* Bytes on the wire for one face's mitigated g (a lower-resolution g is
 * sent at its own size). */
static size_t wire_bytes(const mitigation *m, const int8_t *g)
{
    int side = m->kind == 's' ? S / m->f : S;
    int8_t *small = malloc((size_t)side * side * 3);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            for (int c = 0; c < 3; c++)
                small[((size_t)y * side + x) * 3 + c] =
                    g[((size_t)(y * (S / side)) * S + x * (S / side)) * 3 + c];
    apf_wire_info in = {APF_WIRE_GRADIENT, 0, 1, side, side, 3, 8.0f, 0};
    void *blob;
    size_t size = 0;
    if (apf_wire_encode(&in, small, &blob, &size) == APF_OK)
        free(blob);
    free(small);
    return size;
}

/* g for n faces, cached in `path` (grows batch by batch, resumes). */
static void gradients(apf_probe *probe, const uint8_t *x8, int n, const char *path, int8_t *g)
{
    int have = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        while (have < n && fread(g + (size_t)have * PER, 1, PER, f) == PER)
            have++;
        fclose(f);
    }
    if (have == n)
        return;
    f = fopen(path, have ? "r+b" : "wb");
    if (!f || fseek(f, (long)((size_t)have * PER), SEEK_SET))
        die(path);
    double t0 = now_s();
    for (int i = have; i < n; i += 4) {
        int c = n - i < 4 ? n - i : 4;
        if (apf_probe_gradient(probe, x8 + (size_t)i * PER, NULL, c, S, g + (size_t)i * PER))
            die("probe");
        if (fwrite(g + (size_t)i * PER, 1, (size_t)c * PER, f) != (size_t)c * PER || fflush(f))
            die(path);
        fprintf(stderr, "\r  g: %d/%d faces, %.1f faces/s   ", i + c, n, (i + c - have) / (now_s() - t0));
    }
    fprintf(stderr, "\n");
    fclose(f);
}

static void read_u8(const lfw_set *s, int first, int n, uint8_t *out)
{
    float *tmp = malloc((size_t)n * PER * sizeof(float));
    if (!tmp || lfw_read_faces(s, first, n, S, tmp))
        die("reading faces");
    for (size_t q = 0; q < (size_t)n * PER; q++)
        out[q] = (uint8_t)tmp[q];
    free(tmp);
}

/* The inversion network's output for n mitigated g's, as images. */
static void invert(apf_transfer *t, const int8_t *g, int n, uint8_t *out, float *in, float *y)
{
    for (int i = 0; i < n; i += 16) {
        int c = n - i < 16 ? n - i : 16;
        for (size_t q = 0; q < (size_t)c * PER; q++)
            in[q] = INV_EPS * g[(size_t)i * PER + q];
        if (apf_transfer_forward(t, in, c, 0, y))
            die("inverter");
        for (size_t q = 0; q < (size_t)c * PER; q++) {
            float v = roundf(127.5f + y[q]);
            out[(size_t)i * PER + q] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* Embeddings of n faces (bytes) with one recognizer, 16 at a time. */
static void embed_faces(apf_model *m, const uint8_t *faces, int n, float *e, float *tmp16)
{
    int dim = apf_model_embedding_dim(m);
    for (int i = 0; i < n; i += 16) {
        int c = n - i < 16 ? n - i : 16;
        for (size_t q = 0; q < (size_t)c * PER; q++)
            tmp16[q] = faces[(size_t)i * PER + q];
        if (apf_model_embed(m, tmp16, c, S, e + (size_t)i * dim))
            die("embedding");
    }
}

/* Verification accuracy over the fold's pairs, A's image embedded in ea and
 * B's in eb (both indexed by image), at threshold thr. */
static double accuracy(const lfw_set *rs, const float *ea, const float *eb, int dim, float thr)
{
    int right = 0;
    for (int i = 0; i < rs->n_pairs; i++) {
        const lfw_pair *p = &rs->pairs[i];
        float sim = lfw_dot(ea + (size_t)p->a * dim, eb + (size_t)p->b * dim, dim);
        right += (sim >= thr) == (p->same != 0);
    }
    return (double)right / rs->n_pairs;
}

/* The accuracy an attacker gets who also picks the threshold that suits its
 * reconstructions (the best one on these very pairs: an upper bound of what
 * a threshold calibrated on other faces would give). */
static double best_accuracy(const lfw_set *rs, const float *ea, const float *eb, int dim)
{
    float *sim = malloc((size_t)rs->n_pairs * sizeof(float)), thr;
    if (!sim)
        die("out of memory");
    for (int i = 0; i < rs->n_pairs; i++)
        sim[i] = lfw_dot(ea + (size_t)rs->pairs[i].a * dim, eb + (size_t)rs->pairs[i].b * dim, dim);
    double acc = lfw_best_accuracy(sim, rs->pairs, rs->n_pairs, &thr);
    free(sim);
    return acc;
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    const char *lfw = NULL, *models = "models", *probe_spec = PROBE_LIST_DEFAULT, *out_dir = "out/leakage";
    const char *mit_arg = "none", *cache_dir = "out/leakage-g";
    int iters = PROBE_LIST_ITERATIONS, ntrain = 4096, epochs = 8, base = 24, levels = 4, batch = 16;
    int fold = 8, calib = 7, threads = 2, resume = 0;
    float lr = 1e-3f;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
        if (OPT("--lfw")) lfw = v;
        else if (OPT("--models")) models = v;
        else if (OPT("--probe")) probe_spec = v;
        else if (OPT("--iterations")) iters = atoi(v);
        else if (OPT("--mitigation")) mit_arg = v;
        else if (OPT("--g-cache")) cache_dir = v;
        else if (OPT("--train")) ntrain = atoi(v);
        else if (OPT("--epochs")) epochs = atoi(v);
        else if (OPT("--base")) base = atoi(v);
        else if (OPT("--levels")) levels = atoi(v);
        else if (OPT("--lr")) lr = (float)atof(v);
        else if (OPT("--batch")) batch = atoi(v);
        else if (OPT("--fold")) fold = atoi(v);
        else if (OPT("--calib-fold")) calib = atoi(v);
        else if (OPT("--threads")) threads = atoi(v);
        else if (OPT("--seed")) seed = strtoull(v, NULL, 0);
        else if (OPT("--out")) out_dir = v;
        else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        else {
            fprintf(stderr, "apf-leakage: unknown option or missing value: %s (see --help)\n", a);
            return 2;
        }
    }
    mitigation mit;
    if (parse_mitigation(mit_arg, &mit)) {
        fprintf(stderr, "apf-leakage: --mitigation is none, flip:P, drop:P (P in [0, 1]) or down:F (F divides 112)\n");
        return 2;
    }
    if (iters < 1 || ntrain < batch || epochs < 0 || batch < 1 || batch > 64 || !(lr > 0 && lr < 1) ||
        fold < 1 || calib < 1 || fold == calib) {
        fprintf(stderr, "apf-leakage: bad numbers (see --help)\n");
        return 2;
    }
    const char *faces_dir = NULL, *pairs = NULL;
    if (lfw_fill_paths(lfw, &faces_dir, &pairs, "apf-leakage"))
        return 2;
    mkdir(out_dir, 0755);
    mkdir(cache_dir, 0755);
    char path[4096];

    /* ---- data: calibration fold, report fold, training photos outside both ---- */
    lfw_set cs, rs, ts;
    if (lfw_load(pairs, faces_dir, calib, &cs) || lfw_load(pairs, faces_dir, fold, &rs)) {
        fprintf(stderr, "apf-leakage: cannot read folds %d and %d of %s\n", calib, fold, pairs);
        return 1;
    }
    const lfw_set *held[2] = {&cs, &rs};
    int total = 0, ids = 0;
    if (lfw_training_set(faces_dir, held, 2, seed, ntrain, batch, &ts, &total, &ids))
        die("listing training photos");
    ntrain = ts.n_images;
    fprintf(stderr, "training on %d of %d photos (%d identities outside folds %d and %d); reporting on fold %d "
                    "(%d pairs)\n", ntrain, total, ids, calib, fold, fold, rs.n_pairs);
    uint8_t *X = malloc((size_t)ntrain * PER), *R = malloc((size_t)rs.n_images * PER);
    uint8_t *C = malloc((size_t)cs.n_images * PER);
    if (!X || !R || !C)
        die("out of memory");
    read_u8(&ts, 0, ntrain, X);
    read_u8(&rs, 0, rs.n_images, R);
    read_u8(&cs, 0, cs.n_images, C);

    /* ---- the device's g (cached; the mitigation is applied after) ---- */
    apf_probe_options po;
    probe_list_options_init(&po);
    po.iterations = iters, po.threads = threads, po.seed = seed;
    apf_probe *probe;
    char msg[512];
    char decoys[4096];
    decoy_file_for_list(probe_spec, models, decoys, sizeof decoys);
    if (probe_list_create(probe_spec, models, &po, &probe, msg, sizeof msg) ||
        decoy_file_load(probe, decoys, msg, sizeof msg)) {
        fprintf(stderr, "apf-leakage: %s\n", msg);
        return 1;
    }
    unsigned long long h = probe_list_hash(probe_spec);
    int8_t *G = malloc((size_t)ntrain * PER), *GR = malloc((size_t)rs.n_images * PER);
    /* the device's g before the mitigation, shared by every setting's run;
     * the names hold everything g depends on, so a cache made with another
     * device setting is not reused */
    snprintf(path, sizeof path, "%s/g-train-%016llx-%d-%d-%llu-ti%g-rt%g-decoys.bin", cache_dir, h, iters, ntrain,
             seed, po.smooth_sigma, po.random_target);
    gradients(probe, X, ntrain, path, G);
    snprintf(path, sizeof path, "%s/g-fold%d-%016llx-%d-%llu-ti%g-rt%g-decoys.bin", cache_dir, fold, h, iters, seed,
             po.smooth_sigma, po.random_target);
    gradients(probe, R, rs.n_images, path, GR);
    apf_probe_free(probe);
    size_t bytes = 0;
    /* The pad is undone on the device, so it protects with the g before it;
     * every other mitigation changes what the cloud turns into noise. */
    int8_t *GP = NULL;
    if (mit.kind == 'p') {
        GP = malloc((size_t)rs.n_images * PER);
        if (!GP)
            die("out of memory");
        memcpy(GP, GR, (size_t)rs.n_images * PER);
    }
    for (int i = 0; i < ntrain; i++)
        mitigate(&mit, G + (size_t)i * PER, seed + (unsigned long long)i);
    for (int i = 0; i < rs.n_images; i++) {
        mitigate(&mit, GR + (size_t)i * PER, seed + 0x5bd1e995ull * (unsigned long long)(i + 1));
        bytes += wire_bytes(&mit, GR + (size_t)i * PER);
    }

    /* ---- the curious server: an inversion U-Net, g -> face ---- */
    apf_transfer *inv = NULL;
    int done = 0;
    snprintf(path, sizeof path, "%s/inverter.apfm", out_dir);
    char state[4096];
    snprintf(state, sizeof state, "%s/state.txt", out_dir);
    if (resume && apf_transfer_load(path, &inv) == APF_OK) {
        FILE *sf = fopen(state, "r");
        if (!sf || fscanf(sf, "epochs %d", &done) != 1)
            done = 0;
        if (sf)
            fclose(sf);
        fprintf(stderr, "resumed the inverter after %d epochs\n", done);
    } else if (apf_transfer_create_unet(base, levels, 2, 0, INV_EPS, seed, &inv)) {
        die("inverter");
    }
    apf_transfer_set_threads(inv, threads);
    snprintf(msg, sizeof msg, "%s/log.csv", out_dir);
    FILE *log = fopen(msg, done ? "a" : "w");
    if (!log)
        die(msg);
    if (!done)
        fprintf(log, "epoch,mse\n");
    float *in = malloc((size_t)batch * PER * sizeof(float)), *y = malloc((size_t)batch * PER * sizeof(float));
    float *dy = malloc((size_t)batch * PER * sizeof(float));
    float *in16 = malloc(16 * PER * sizeof(float)), *y16 = malloc(16 * PER * sizeof(float));
    for (int ep = done; ep < epochs; ep++) {
        double t0 = now_s(), lsum = 0;
        for (int i = 0; i + batch <= ntrain; i += batch) {
            for (size_t q = 0; q < (size_t)batch * PER; q++)
                in[q] = INV_EPS * G[(size_t)i * PER + q];
            if (apf_transfer_forward(inv, in, batch, 1, y))
                die("inverter forward");
            double l = 0;
            for (size_t q = 0; q < (size_t)batch * PER; q++) {
                float d = y[q] - ((float)X[(size_t)i * PER + q] - 127.5f);
                l += (double)d * d;
                dy[q] = 2.0f * d / (float)((size_t)batch * PER);
            }
            lsum += l / ((double)batch * PER);
            if (apf_transfer_backward(inv, dy, batch) || apf_transfer_adam_step(inv, lr))
                die("inverter step");
            fprintf(stderr, "\r  epoch %d: %d/%d, mse %.1f, %.1f faces/s   ", ep + 1, i + batch, ntrain,
                    lsum * batch / (i + batch), (i + batch) / (now_s() - t0));
        }
        fprintf(stderr, "\n");
        fprintf(log, "%d,%.3f\n", ep + 1, lsum * batch / ntrain);
        fflush(log);
        if (apf_transfer_save(inv, path))
            die(path);
        FILE *sf = fopen(state, "w");
        if (!sf || fprintf(sf, "epochs %d\n", ep + 1) < 0 || fclose(sf))
            die(state);
    }
    fclose(log);

    /* ---- the report fold ---- */
    int n = rs.n_pairs, ni = rs.n_images;
    uint8_t *rec = malloc((size_t)ni * PER), *zero = malloc((size_t)ni * PER);
    invert(inv, GR, ni, rec, in16, y16);
    for (size_t q = 0; q < (size_t)ni * PER; q++)
        zero[q] = (uint8_t)(127 + 127 * GR[q]); /* g rendered as an image */
    double ssim_sum = 0, psnr_sum = 0;
    for (int i = 0; i < ni; i++) {
        double s, mse = 0;
        apf_ssim(R + (size_t)i * PER, rec + (size_t)i * PER, S, S, &s, NULL);
        for (size_t q = 0; q < PER; q++) {
            double d = (double)R[(size_t)i * PER + q] - rec[(size_t)i * PER + q];
            mse += d * d;
        }
        ssim_sum += s;
        psnr_sum += 10 * log10(255.0 * 255.0 / (mse / PER + 1e-12));
    }
    /* recognizers, thresholds from the calibration fold's clean pairs */
    char rp[NREC][4096];
    const char *paths[NREC];
    bundled_recognizer_paths(models, rp, paths);
    apf_evaluator *ev;
    if (apf_evaluator_create(paths, NREC, threads, &ev))
        die("evaluator");
    int nc = cs.n_pairs;
    uint8_t *ca = malloc((size_t)nc * PER), *cb = malloc((size_t)nc * PER), *csame = malloc(nc);
    for (int i = 0; i < nc; i++) {
        memcpy(ca + (size_t)i * PER, C + (size_t)cs.pairs[i].a * PER, PER);
        memcpy(cb + (size_t)i * PER, C + (size_t)cs.pairs[i].b * PER, PER);
        csame[i] = (uint8_t)cs.pairs[i].same;
    }
    if (apf_evaluator_calibrate(ev, ca, cb, csame, nc, S))
        die("calibration");
    /* every image of the fold embedded once per recognizer: original,
     * reconstruction and g as an image; pairs are looked up by index */
    int npos = 0;
    for (int i = 0; i < n; i++)
        npos += rs.pairs[i].same != 0;
    uint8_t *PA = malloc((size_t)npos * PER), *PB = malloc((size_t)npos * PER), *PS = malloc((size_t)npos * PER);
    for (int i = 0, p = 0; i < n; i++) {
        int a = rs.pairs[i].a, b = rs.pairs[i].b;
        if (rs.pairs[i].same) {
            memcpy(PA + (size_t)p * PER, R + (size_t)a * PER, PER);
            memcpy(PB + (size_t)p * PER, R + (size_t)b * PER, PER);
            for (size_t q = 0; q < PER; q++) { /* the protection this g gives: s = eps * g */
                int v = R[(size_t)a * PER + q] + 8 * (GP ? GP : GR)[(size_t)a * PER + q];
                PS[(size_t)p * PER + q] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
            p++;
        }
    }
    double acc_clean[NREC], acc_rec[NREC], acc_rec_best[NREC], acc_zero[NREC], broken[NREC];
    for (int k = 0; k < NREC; k++) {
        apf_model *m = apf_evaluator_model(ev, k);
        int dim = apf_model_embedding_dim(m);
        float thr, *eo = malloc((size_t)ni * dim * sizeof(float)), *er = malloc((size_t)ni * dim * sizeof(float));
        float *ez = malloc((size_t)ni * dim * sizeof(float));
        if (!eo || !er || !ez || apf_evaluator_thresholds(ev, k, &thr, NULL, NULL))
            die("evaluator");
        embed_faces(m, R, ni, eo, in16);
        embed_faces(m, rec, ni, er, in16);
        embed_faces(m, zero, ni, ez, in16);
        acc_clean[k] = accuracy(&rs, eo, eo, dim, thr);
        acc_rec[k] = accuracy(&rs, er, eo, dim, thr);
        acc_rec_best[k] = best_accuracy(&rs, er, eo, dim);
        acc_zero[k] = best_accuracy(&rs, ez, eo, dim);
        free(eo), free(er), free(ez);
        double asr;
        int before = 0, after = 0;
        if (apf_evaluator_asr(ev, k, PA, PS, PB, npos, S, &asr, &before, &after))
            die("asr");
        broken[k] = before ? asr * npos / before : 0;
    }
    snprintf(path, sizeof path, "%s/row.md", out_dir);
    FILE *row = fopen(path, "w");
    if (!row)
        die(path);
    FILE *outs[2] = {stdout, row};
    for (int o = 0; o < 2; o++) {
        fprintf(outs[o], "| %s | %.3f | %.1f |", mit_arg, ssim_sum / ni, psnr_sum / ni);
        for (int k = 0; k < NREC; k++)
            fprintf(outs[o], " %.1f / %.1f / %.1f / %.1f |", 100 * acc_rec[k], 100 * acc_rec_best[k],
                    100 * acc_zero[k], 100 * acc_clean[k]);
        for (int k = 0; k < NREC; k++)
            fprintf(outs[o], " %.1f |", 100 * broken[k]);
        fprintf(outs[o], " %.0f |\n", (double)bytes / ni);
    }
    fclose(row);
    fprintf(stderr, "columns: setting | SSIM | PSNR | per recognizer (%s, %s, %s, %s): verification accuracy "
                    "of the reconstruction at the clean threshold / of the reconstruction at its best "
                    "threshold / of g as an image at its best threshold / of the clean photo (%%) | broken "
                    "share of the protection (%%) | bytes per face\n", REC[0], REC[1], REC[2], REC[3]);
    /* the first four reconstructions beside their originals */
    int nshow = ni < 4 ? ni : 4;
    apf_image *im;
    if (apf_image_create(S * 3, S * nshow, &im) == APF_OK) {
        uint8_t *px = apf_image_pixels(im);
        for (int i = 0; i < nshow; i++)
            for (int yy = 0; yy < S; yy++) {
                memcpy(px + ((size_t)(i * S + yy) * S * 3) * 3, R + (size_t)i * PER + (size_t)yy * S * 3, S * 3);
                memcpy(px + ((size_t)(i * S + yy) * S * 3 + S) * 3, zero + (size_t)i * PER + (size_t)yy * S * 3, S * 3);
                memcpy(px + ((size_t)(i * S + yy) * S * 3 + 2 * S) * 3, rec + (size_t)i * PER + (size_t)yy * S * 3,
                       S * 3);
            }
        snprintf(path, sizeof path, "%s/examples.png", out_dir);
        remove(path);
        apf_image_save(im, path, 0);
        apf_image_free(im);
    }
    apf_evaluator_free(ev);
    apf_transfer_free(inv);
    free(X), free(R), free(C), free(G), free(GR), free(in), free(y), free(dy), free(in16), free(y16);
    free(rec), free(zero), free(ca), free(cb), free(csame);
    free(PA), free(PB), free(PS), free(GP);
    lfw_free(&cs), lfw_free(&rs), lfw_free(&ts);
    return 0;
}
