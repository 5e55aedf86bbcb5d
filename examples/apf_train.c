/* apf-train: train the cloud side (paper Eq. 4-10) on LFW-layout faces.
 * `apf-train --help` lists the options; weights/README.md has the command
 * that made the shipped weights.
 *
 * Training faces: every photo of every identity that appears in neither the
 * validation fold nor the excluded (report) fold of the pairs file.
 * Validation: the validation fold's first N positive pairs, ASR (Eq. 11) of
 * the cloud's noise at thresholds calibrated on that whole fold.
 * Stage 1 regresses the ensemble's gradient sign (Eq. 4, 5); stage 2 trains
 * T (and E) to maximise the ensemble's embedding distance through the
 * budget clip (Eq. 9, 10), the server models seeing randomly shifted and
 * rescaled faces (input diversity). u is optimised within +-B (default
 * eps/2). Writes DIR/transfer.apfm, DIR/enhancer.apfm, DIR/state.txt (the
 * epochs done, for --resume), DIR/log.csv and DIR/convergence.png.
 *
 * Data-parallel under Open MPI (`mpirun -np N apf-train ...`, when built
 * with MPI; docs/deploy.md): every rank takes its 1/N share of each batch
 * (g, clean embeddings, forward and backward on its rows only), the
 * gradients of T, E and u are summed over the ranks before each step, and
 * rank 0 alone validates and writes DIR. Ranks start from the same seed, so
 * their weights stay identical.
 */
#include <dirent.h>
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
#include "lfw.h"
#include "dist.h"
#include "decoy_file.h"
#include "probe_list.h"
#include "wait_policy.h"

#define S 112
#define PER ((size_t)S * S * 3)
#define MAXK 4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "apf-train (rank %d): %s: %s\n", dist_rank(), what, apf_last_error());
    dist_abort(1); /* the whole job: the other ranks would wait in a collective */
}

/* Sum T's weight gradients over the ranks (after each backward, before the step). */
static void share_gradients(apf_transfer *t)
{
    if (dist_size() == 1)
        return;
    size_t n = 0;
    if (apf_transfer_gradient_size(t, &n))
        die("gradient size");
    float *v = malloc(n * sizeof(float));
    if (!v || apf_transfer_get_gradients(t, v, n))
        die("gradients");
    dist_sum_floats(v, n);
    if (apf_transfer_set_gradients(t, v, n))
        die("gradients");
    free(v);
}

static void progress(const char *label, int done, int total, double t0, double loss)
{
    if (dist_rank() != 0)
        return;
    double el = now_s() - t0, rate = done / (el > 0 ? el : 1e-9);
    fprintf(stderr, "\r  %-28s %5d/%d  %6.1f faces/s  ETA %5.0fs  loss %.5g   ", label, done, total, rate,
            (total - done) / (rate > 0 ? rate : 1), loss);
    if (done == total)
        fprintf(stderr, "\n");
}

static int usage(FILE *f)
{
    fprintf(f,
        "usage: apf-train [options]\n"
        "Train the cloud side (T, u and E) on LFW-layout faces (docs/cloud-side.md).\n"
        "  --lfw DIR              LFW-layout root with aligned112/ and pairs.txt (default $APF_LFW,\n"
        "                         else ../shared/data/lfw when present)\n"
        "  --faces DIR, --pairs FILE  the face folder and pairs file (default LFW/aligned112, LFW/pairs.txt)\n"
        "  --val-fold K           validation fold, not trained on (default 7)\n"
        "  --exclude-fold K       report fold, neither trained nor validated on (default 8; 0: none)\n"
        "  --train N              training photos (default 0: all)\n"
        "  --val N                validation positive pairs (default 64)\n"
        "  --probe LIST           device probe for g: NAME-or-FILE[:WEIGHT[:SAMPLES[:PERIOD]]],... (default\n"
        "                         models/mobilefacenet.apfm; the shipped device: " PROBE_LIST_DEFAULT ")\n"
        "  --random-target W      the probe's random target weight (default " PROBE_LIST_RANDOM_TARGET_S ")\n"
        "  --servers A,B,...      server ensemble, weights 1/K (default the four recognizers)\n"
        "  --holdout C.apfm       a recognizer scored in validation but not trained on\n"
        "  --attack NAME --iterations N --eps E   how g is made (default di2-fgsm, 30, 8)\n"
        "  --base C --levels L --convs K   U-Net width, depth, convolutions per level (24, 4, 2)\n"
        "  --residual 0|1         T(g) = g + U(g), starting as g itself (default 1)\n"
        "  --objective O          stage 2: hinge (default: push each server's cosine below its\n"
        "                         threshold less --margin, 0.1) or distance (||f(x') - f(x)||^2)\n"
        "  --batch B --lr R       batch (16) and Adam learning rate (1e-4)\n"
        "  --diversity P          stage 2: probability of a random shift/rescale per batch (0.5)\n"
        "  --universal-epochs N --stage1-epochs N --stage2-epochs N   (2, 3, 3)\n"
        "  --u-budget B           L-inf bound of u (default eps/2)\n"
        "  --enhancer-gain G      E's starting gain beta on u (default 0: E(u) starts as nothing)\n"
        "  --enhancer-lr R        E's Adam learning rate (default 10 x --lr)\n"
        "  --compare-no-enhancer  also train T alone in stage 2 (transfer-no-enhancer.apfm)\n"
        "  --resume               continue from DIR's weights and state.txt\n"
        "  --seed S --threads T --out DIR (default out/train)\n"
        "exit status: 0 done, 1 failed, 2 usage\n");
    return f == stdout ? 0 : 2;
}

/* ---- resumable state: epochs done per stage, in DIR/state.txt ---- */

typedef struct train_state {
    int stage1, stage2;
} train_state;

static void state_read(const char *dir, train_state *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    st->stage1 = st->stage2 = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fscanf(f, "stage1 %d stage2 %d", &st->stage1, &st->stage2) != 2)
        st->stage1 = st->stage2 = 0;
    fclose(f);
}

/* Written after the weights of an epoch are saved, via rename. */
static void state_write(const char *dir, const train_state *st)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "stage1 %d stage2 %d\n", st->stage1, st->stage2) < 0 || fclose(f) ||
        rename(tmp, path)) {
        fprintf(stderr, "apf-train: cannot write %s\n", path);
        dist_abort(1);
    }
}

/* ---- stage-2 input diversity: one random shift and rescale per batch ---- */

typedef struct warp {
    int active;
    double m[6]; /* destination-to-source, for apf_warp_affine */
} warp;

static void warp_draw(unsigned long long *r, float p, warp *w)
{
    double u[4];
    for (int k = 0; k < 4; k++) {
        *r = *r * 6364136223846793005ull + 1442695040888963407ull;
        u[k] = (double)(*r >> 11) / 9007199254740992.0;
    }
    w->active = u[0] < p;
    double sc = 1.0 / (0.9 + 0.2 * u[1]), tx = (u[2] * 2 - 1) * 4, ty = (u[3] * 2 - 1) * 4;
    double c = (S - 1) / 2.0;
    w->m[0] = sc, w->m[1] = 0, w->m[2] = c - sc * (c + tx);
    w->m[3] = 0, w->m[4] = sc, w->m[5] = c - sc * (c + ty);
}

static void warp_batch(const warp *w, const float *src, int n, float *dst)
{
    for (int i = 0; i < n; i++)
        if (apf_warp_affine((float *)src + (size_t)i * PER, S, S, 3, dst + (size_t)i * PER, S, S, w->m, 0))
            die("warp");
}

/* d/d(src) from d/d(dst): the warp's adjoint (overwrites d_src). */
static void warp_batch_adjoint(const warp *w, float *d_dst, int n, float *d_src)
{
    memset(d_src, 0, (size_t)n * PER * sizeof(float));
    for (int i = 0; i < n; i++)
        if (apf_warp_affine(d_src + (size_t)i * PER, S, S, 3, d_dst + (size_t)i * PER, S, S, w->m, 1))
            die("warp adjoint");
}

/* ---- the server ensemble ---- */

typedef struct ensemble {
    int k;
    apf_model *m[MAXK];
    float w[MAXK];
    float thr[MAXK]; /* each server's match threshold (cosine), for the hinge objective */
    int hinge;       /* objective: 0 distance, 1 hinge (below) */
    float margin;
} ensemble;

/* The per-server objective D_k to maximise, on unit embeddings e and the
 * clean ones t:
 *   distance: D = ||e - t||^2;
 *   hinge:    D = -max(0, e.t - (thr - margin)): only a face the server
 *             still matches (cosine above its threshold less a margin)
 *             pulls, so the ensemble's effort goes to the servers not yet
 *             fooled instead of piling distance on the easiest one. */
typedef struct dtarget {
    const float *t; /* n x dim clean embeddings */
    float scale;    /* dL/de = scale * dD/de */
    int hinge;
    float bound;    /* thr - margin */
} dtarget;

static int objective_grad(const float *e, int n, int dim, float *de, void *user)
{
    const dtarget *d = user;
    if (!d->hinge) {
        for (int i = 0; i < n * dim; i++)
            de[i] = d->scale * 2.0f * (e[i] - d->t[i]);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        double c = 0;
        for (int q = 0; q < dim; q++)
            c += (double)e[i * dim + q] * d->t[i * dim + q];
        float on = c > d->bound ? -1.0f : 0.0f;
        for (int q = 0; q < dim; q++)
            de[i * dim + q] = d->scale * on * d->t[i * dim + q];
    }
    return 0;
}

/* Sum over servers of w_k * d/dx of (sign * D_k(x', x)) into dx (n
 * faces); returns the mean weighted D. clean_k: clean embeddings. */
static double ensemble_grad(ensemble *E, float *const *clean, const float *xp, int n, float sign, float *dx,
                            float *tmp)
{
    double total = 0;
    memset(dx, 0, n * PER * sizeof(float));
    for (int k = 0; k < E->k; k++) {
        int dim = apf_model_embedding_dim(E->m[k]);
        float *e = malloc((size_t)n * dim * sizeof(float));
        dtarget dt = {clean[k], sign * E->w[k], E->hinge, E->thr[k] - E->margin};
        if (apf_model_embed_backward(E->m[k], xp, n, S, e, objective_grad, NULL, &dt, tmp))
            die("server gradient");
        for (int i = 0; i < n; i++) {
            double d = 0, c = 0;
            for (int q = 0; q < dim; q++) {
                double r = e[i * dim + q] - clean[k][i * dim + q];
                d += r * r;
                c += (double)e[i * dim + q] * clean[k][i * dim + q];
            }
            if (E->hinge)
                d = -(c > dt.bound ? c - dt.bound : 0);
            total += E->w[k] * d / n;
        }
        for (size_t i = 0; i < n * PER; i++)
            dx[i] += tmp[i];
        free(e);
    }
    return total;
}

static void embed_all_n(apf_model *m, const float *x, int n, float *out);
static void embed_all(apf_model *m, const float *x, int n, float *out)
{
    embed_all_n(m, x, n, out);
}

static void embed_all_n(apf_model *m, const float *x, int n, float *out)
{
    int dim = apf_model_embedding_dim(m);
    for (int i = 0; i < n; i += 16) {
        int c = n - i < 16 ? n - i : 16;
        if (apf_model_embed(m, x + i * PER, c, S, out + (size_t)i * dim))
            die("embed");
    }
}

/* ---- plotting: ASR per epoch, one line per series ---- */

static void plot(const double *y, int series, int points, const char *path)
{
    const int W = 480, H = 240, M = 20;
    apf_image *im;
    apf_image_create(W, H, &im);
    uint8_t *px = apf_image_pixels(im);
    memset(px, 255, (size_t)W * H * 3);
    for (int x = M; x < W - M; x++)
        memset(px + ((size_t)(H - M) * W + x) * 3, 0, 3);
    for (int yy = M; yy < H - M; yy++)
        memset(px + ((size_t)yy * W + M) * 3, 0, 3);
    static const uint8_t col[4][3] = {{200, 30, 30}, {30, 30, 200}, {30, 150, 30}, {150, 100, 0}};
    for (int s = 0; s < series; s++)
        for (int p = 0; p + 1 < points || (points == 1 && p == 0); p++) {
            int steps = 60;
            for (int q = 0; q <= steps; q++) {
                double f = (double)q / steps;
                double v = points == 1 ? y[s * points] : y[s * points + p] * (1 - f) + y[s * points + p + 1] * f;
                int x = M + (int)((points == 1 ? 0.5 : (p + f) / (points - 1)) * (W - 2 * M - 1));
                int yy = H - M - 1 - (int)(fmax(0, fmin(1, v)) * (H - 2 * M - 1));
                for (int d = -1; d <= 1; d++)
                    if (yy + d >= 0 && yy + d < H)
                        memcpy(px + ((size_t)(yy + d) * W + x) * 3, col[s % 4], 3);
            }
            if (points == 1)
                break;
        }
    unlink(path);
    if (apf_image_save(im, path, 0))
        die(path);
    apf_image_free(im);
}

static int train(int argc, char **argv);

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    if (dist_init(&argc, &argv, "apf-train"))
        return 2;
    int rc = train(argc, argv);
    if (rc)
        dist_abort(rc);
    dist_finalize();
    return 0;
}

static int train(int argc, char **argv)
{
    const char *faces_dir = NULL, *pairs = NULL, *lfw = NULL;
    const char *probe_spec = "models/mobilefacenet.apfm", *holdout = "";
    char probe_path[4096]; /* the probe's first model, scored with the others */
    float random_target = PROBE_LIST_RANDOM_TARGET;
    const char *out_dir = "out/train", *attack = "di2-fgsm";
    char servers_arg[2048] = "models/mobilefacenet.apfm,models/faceres.apfm,models/mobileface.apfm,"
                             "models/faceapi-recognition.apfm";
    int val_fold = 7, exclude_fold = 8, ntrain = 0, nval = 64, iters = 30, batch = 16, base = 24;
    int levels = 4, convs = 2, residual = 1, threads = 2, hinge = 1;
    float margin = 0.1f;
    int u_epochs = 2, s1_epochs = 3, s2_epochs = 3, compare = 0, resume = 0;
    float eps = 8, lr = 1e-4f, u_budget = -1, div_prob = 0.5f, e_gain = 0.0f, e_lr = -1;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
        if (OPT("--lfw")) lfw = v;
        else if (OPT("--faces")) faces_dir = v;
        else if (OPT("--pairs")) pairs = v;
        else if (OPT("--val-fold")) val_fold = atoi(v);
        else if (OPT("--exclude-fold")) exclude_fold = atoi(v);
        else if (OPT("--levels")) levels = atoi(v);
        else if (OPT("--convs")) convs = atoi(v);
        else if (OPT("--residual")) residual = atoi(v);
        else if (OPT("--objective")) hinge = !strcmp(v, "hinge") ? 1 : !strcmp(v, "distance") ? 0 : -1;
        else if (OPT("--margin")) margin = (float)atof(v);
        else if (OPT("--diversity")) div_prob = (float)atof(v);
        else if (OPT("--train")) ntrain = atoi(v);
        else if (OPT("--val")) nval = atoi(v);
        else if (OPT("--probe")) probe_spec = v;
        else if (OPT("--random-target")) random_target = (float)atof(v);
        else if (OPT("--servers")) snprintf(servers_arg, sizeof servers_arg, "%s", v);
        else if (OPT("--holdout")) holdout = v;
        else if (OPT("--attack")) attack = v;
        else if (OPT("--iterations")) iters = atoi(v);
        else if (OPT("--eps")) eps = (float)atof(v);
        else if (OPT("--batch")) batch = atoi(v);
        else if (OPT("--lr")) lr = (float)atof(v);
        else if (OPT("--u-budget")) u_budget = (float)atof(v);
        else if (OPT("--enhancer-gain")) e_gain = (float)atof(v);
        else if (OPT("--enhancer-lr")) e_lr = (float)atof(v);
        else if (OPT("--base")) base = atoi(v);
        else if (OPT("--universal-epochs")) u_epochs = atoi(v);
        else if (OPT("--stage1-epochs")) s1_epochs = atoi(v);
        else if (OPT("--stage2-epochs")) s2_epochs = atoi(v);
        else if (OPT("--seed")) seed = strtoull(v, NULL, 0);
        else if (OPT("--threads")) threads = atoi(v);
        else if (OPT("--out")) out_dir = v;
        else if (!strcmp(a, "--compare-no-enhancer")) compare = 1;
        else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        else {
            fprintf(stderr, "apf-train: unknown option or missing value: %s (see --help)\n", a);
            return 2;
        }
    }
    if (hinge < 0) {
        fprintf(stderr, "apf-train: --objective is hinge or distance\n");
        return 2;
    }
    if (batch < 1 || batch > 64 || ntrain < 0 || (ntrain && ntrain < batch) || nval < 1 ||
        !(div_prob >= 0 && div_prob <= 1)) {
        fprintf(stderr, "apf-train: need 1 <= batch <= 64, train 0 (all) or >= batch, val >= 1, "
                        "diversity in [0, 1]\n");
        return 2;
    }
    if (batch % dist_size()) {
        fprintf(stderr, "apf-train: --batch %d does not split over %d ranks\n", batch, dist_size());
        return 2;
    }
    if (compare && dist_size() > 1) {
        fprintf(stderr, "apf-train: --compare-no-enhancer runs in one process only\n");
        return 2;
    }
    if (lfw_fill_paths(lfw, &faces_dir, &pairs, "apf-train"))
        return 2;
    const int rank0 = dist_rank() == 0;
    int lo, nb; /* this rank's rows of every batch: [i + lo, i + lo + nb) */
    dist_shard(batch, &lo, &nb);
    if (u_budget < 0)
        u_budget = eps / 2;
    if (e_lr < 0) /* E has 18 parameters and its gain starts at 0: it needs larger steps than T */
        e_lr = 10 * lr < 0.5f ? 10 * lr : 0.5f;
    if (rank0)
        mkdir(out_dir, 0755);
    char path[4096], local[4200];

    /* ---- data ---- */
    lfw_set vs;
    if (lfw_load(pairs, faces_dir, val_fold, &vs)) {
        fprintf(stderr, "apf-train: cannot read %s fold %d\n", pairs, val_fold);
        return 1;
    }
    lfw_set xs = {0};
    if (exclude_fold > 0 && exclude_fold != val_fold && lfw_load(pairs, faces_dir, exclude_fold, &xs)) {
        fprintf(stderr, "apf-train: cannot read %s fold %d\n", pairs, exclude_fold);
        return 1;
    }
    /* every photo of every identity in neither held-out fold */
    const lfw_set *held_out[2] = {&vs, &xs};
    int nids = 0, nphotos = 0;
    lfw_set ts;
    if (lfw_training_set(faces_dir, held_out, 2, seed, ntrain, batch, &ts, &nphotos, &nids)) {
        fprintf(stderr, "apf-train: cannot list %s\n", faces_dir);
        return 1;
    }
    ntrain = ts.n_images;
    if (rank0)
        fprintf(stderr, "%d photos of %d identities outside folds %d and %d (using %d), validating on fold %d%s\n",
                nphotos, nids, val_fold, exclude_fold, ntrain, val_fold,
                dist_size() > 1 ? "; data-parallel over MPI ranks" : "");
    float *X = malloc(ntrain * PER * sizeof(float));
    if (lfw_read_faces(&ts, 0, ntrain, S, X))
        return 1;
    uint8_t *X8 = malloc(ntrain * PER);
    for (size_t i = 0; i < ntrain * PER; i++)
        X8[i] = (uint8_t)X[i];
    /* validation: all fold pairs for thresholds, the first nval positives for ASR */
    float *VF = malloc((size_t)vs.n_images * PER * sizeof(float));
    if (lfw_read_faces(&vs, 0, vs.n_images, S, VF))
        return 1;
    int np = vs.n_pairs;
    uint8_t *VA = malloc(np * PER), *VB = malloc(np * PER), *same = malloc(np);
    for (int i = 0; i < np; i++) {
        for (size_t q = 0; q < PER; q++) {
            VA[i * PER + q] = (uint8_t)VF[vs.pairs[i].a * PER + q];
            VB[i * PER + q] = (uint8_t)VF[vs.pairs[i].b * PER + q];
        }
        same[i] = (uint8_t)vs.pairs[i].same;
    }
    free(VF);
    int npos = 0;
    uint8_t *PA = malloc(np * PER), *PB = malloc(np * PER);
    for (int i = 0; i < np && npos < nval; i++)
        if (same[i]) {
            memcpy(PA + npos * PER, VA + i * PER, PER);
            memcpy(PB + npos * PER, VB + i * PER, PER);
            npos++;
        }
    nval = npos;

    /* ---- models ---- */
    char *servers[MAXK];
    int K = 0;
    for (char *t = strtok(servers_arg, ","); t && K < MAXK; t = strtok(NULL, ","))
        servers[K++] = t;
    ensemble E;
    memset(&E, 0, sizeof E);
    E.k = K;
    const char *eval_paths[MAXK + 2];
    int ne = 0;
    for (int k = 0; k < K; k++) {
        if (apf_model_load(servers[k], &E.m[k]))
            die(servers[k]);
        apf_model_set_threads(E.m[k], threads);
        E.w[k] = 1.0f / K; /* alpha_k = 1/K */
        eval_paths[ne++] = servers[k];
    }
    if (holdout && *holdout) /* "" skips the held-out recognizer */
        eval_paths[ne++] = holdout;
    probe_list_first_path(probe_spec, "models", probe_path, sizeof probe_path);
    int probe_is_server = 0; /* scored once, not twice, when it is also a server */
    for (int k = 0; k < K; k++)
        probe_is_server |= !strcmp(servers[k], probe_path);
    if (!probe_is_server)
        eval_paths[ne++] = probe_path;
    apf_evaluator *ev = NULL; /* rank 0 validates */
    if (rank0 && (apf_evaluator_create(eval_paths, ne, threads, &ev) ||
                  apf_evaluator_calibrate(ev, VA, VB, same, np, S)))
        die("evaluator");
    /* the servers' thresholds for the hinge objective: calibrated on the
     * validation fold's clean pairs (never on the report fold) */
    for (int k = 0; rank0 && k < K; k++)
        if (apf_evaluator_thresholds(ev, k, &E.thr[k], NULL, NULL))
            die("thresholds");
    dist_broadcast(E.thr, sizeof E.thr);

    /* ---- g for training and validation faces (cached) ---- */
    apf_probe_options po;
    probe_list_options_init(&po);
    if (apf_attack_from_name(attack, &po.attack))
        die("--attack");
    po.iterations = iters, po.eps = eps, po.threads = threads, po.seed = seed;
    po.random_target = random_target;
    apf_probe *probe;
    char msg[512];
    char decoys[4096];
    decoy_file_for_list(probe_spec, "models", decoys, sizeof decoys);
    if (probe_list_create(probe_spec, "models", &po, &probe, msg, sizeof msg) ||
        (random_target > 0 && decoy_file_load(probe, decoys, msg, sizeof msg))) {
        fprintf(stderr, "apf-train: %s\n", msg);
        return 1;
    }
    int8_t *G = malloc(ntrain * PER), *GV = malloc(nval * PER);
    /* The cache names everything g depends on, and grows batch by batch:
     * with several probe models g takes about an hour for 9.8k faces, and
     * a run stopped half-way resumes where it was. Validation g first. */
    unsigned long long spec_hash = probe_list_hash(probe_spec);
    snprintf(path, sizeof path, "%s/g-%s-%d-%d-%llu-%016llx-rt%g%s-ti%g.bin", out_dir, attack, iters, ntrain,
             seed, (unsigned long long)spec_hash, random_target, random_target > 0 ? "-decoys" : "",
             po.smooth_sigma);
    /* Rank 0 reads the cache and shares what it holds; each rank computes
     * its rows of each further batch, every rank receives all of them, and
     * rank 0 appends them to the cache. */
    int have = 0; /* validation faces, then training faces, already in the cache */
    FILE *f = rank0 ? fopen(path, "rb") : NULL;
    if (f) {
        if (fread(GV, 1, nval * PER, f) == nval * PER)
            while (have < ntrain && fread(G + (size_t)have * PER, 1, PER, f) == PER)
                have++;
        else
            have = -1;
        fclose(f);
    } else {
        have = -1;
    }
    dist_broadcast(&have, sizeof have);
    if (have > 0)
        dist_broadcast(G, (size_t)have * PER);
    if (have < ntrain) {
        f = NULL;
        if (rank0 && have < 0) {
            for (int i = 0; i < nval; i += 16) {
                int c = nval - i < 16 ? nval - i : 16;
                if (apf_probe_gradient(probe, PA + i * PER, NULL, c, S, GV + i * PER))
                    die("probe");
            }
            f = fopen(path, "wb");
            if (!f || fwrite(GV, 1, nval * PER, f) != nval * PER)
                die(path);
            fclose(f);
        } else if (rank0) {
            fprintf(stderr, "g cache %s: %d of %d training faces, resuming\n", path, have, ntrain);
            /* drop a face cut short by the stop */
            if (truncate(path, (off_t)(nval + have) * PER))
                die(path);
        }
        if (have < 0)
            have = 0;
        if (rank0 && !(f = fopen(path, "ab")))
            die(path);
        double t0 = now_s();
        int first[64], count[64]; /* every rank's rows of a batch (batch <= 64, so at most 64 ranks) */
        for (int r = 0; r < dist_size() && r < 64; r++) {
            first[r] = (int)((long long)batch * r / dist_size());
            count[r] = (int)((long long)batch * (r + 1) / dist_size()) - first[r];
        }
        for (int i = have; i < ntrain; i += batch) {
            /* ntrain is a multiple of batch, and `have` too unless the cache was cut */
            int c = ntrain - i < batch ? ntrain - i : batch;
            if (c == batch) {
                if (nb > 0 && apf_probe_gradient(probe, X8 + (size_t)(i + lo) * PER, NULL, nb, S,
                                                 G + (size_t)(i + lo) * PER))
                    die("probe");
                dist_share_rows(G + (size_t)i * PER, PER, first, count);
            } else { /* a partial batch: every rank computes all of it */
                if (apf_probe_gradient(probe, X8 + (size_t)i * PER, NULL, c, S, G + (size_t)i * PER))
                    die("probe");
            }
            if (rank0 && (fwrite(G + i * PER, 1, (size_t)c * PER, f) != (size_t)c * PER || fflush(f)))
                die(path);
            progress("g (probe, training faces)", i + c, ntrain, t0, 0);
        }
        if (f)
            fclose(f);
    }
    apf_probe_free(probe);

    /* clean embeddings per server */
    float *clean[MAXK], *cbw[MAXK];
    for (int k = 0; k < K; k++)
        cbw[k] = malloc((size_t)batch * apf_model_embedding_dim(E.m[k]) * sizeof(float));
    for (int k = 0; k < K; k++) { /* this rank's rows only */
        int dim = apf_model_embedding_dim(E.m[k]);
        clean[k] = calloc((size_t)ntrain * dim, sizeof(float));
        for (int i = 0; i < ntrain; i += batch)
            embed_all(E.m[k], X + (size_t)(i + lo) * PER, nb, clean[k] + (size_t)(i + lo) * dim);
    }
    float *xp = malloc(batch * PER * sizeof(float)), *dx = malloc(batch * PER * sizeof(float));
    float *tmp = malloc(batch * PER * sizeof(float));
    float *cb[MAXK];
    float *wx = malloc(batch * PER * sizeof(float));
    unsigned long long wr = seed * 0xD1B54A32D192ED03ull + 7;
    char enh_path[4096];
    snprintf(enh_path, sizeof enh_path, "%s/enhancer.apfm", out_dir);

    /* ---- universal perturbation u (Eq. 7) ---- */
    float *u = calloc(PER, sizeof(float));
    apf_enhancer *enh = NULL;
    snprintf(path, sizeof path, "%s/enhancer.apfm", out_dir);
    train_state done = {0, 0};
    if (resume && rank0)
        state_read(out_dir, &done);
    dist_broadcast(&done, sizeof done);
    if (resume && compare) {
        fprintf(stderr, "apf-train: --resume does not continue --compare-no-enhancer runs\n");
        return 2;
    }
    const char *shared = resume ? dist_share_file(path, local, sizeof local) : NULL;
    if (shared && apf_enhancer_load(shared, &enh) == APF_OK) {
        if (rank0)
            fprintf(stderr, "resumed u and E from %s (stage 1: %d epochs done, stage 2: %d)\n", path,
                done.stage1, done.stage2);
        u_epochs = 0;
    }
    unsigned long long rr = seed;
    for (size_t i = 0; i < PER; i++) {
        rr = rr * 6364136223846793005ull + 1442695040888963407ull;
        u[i] = ((double)(rr >> 11) / 9007199254740992.0 * 2 - 1) * 2.0f; /* small random start */
    }
    double *usum = malloc((PER + 1) * sizeof(double)); /* the batch's gradient sum over u, then D */
    for (int ep = 0; ep < u_epochs; ep++) {
        double t0 = now_s(), dsum = 0;
        for (int i = 0; i < ntrain; i += batch) {
            for (size_t q = 0; q < nb * PER; q++) {
                float v = X[(i + lo) * PER + q] + u[q % PER];
                xp[q] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
            for (int k = 0; k < K; k++)
                cb[k] = clean[k] + (size_t)(i + lo) * apf_model_embedding_dim(E.m[k]);
            usum[PER] = ensemble_grad(&E, cb, xp, nb, 1.0f, dx, tmp) * nb / batch;
            for (size_t q = 0; q < PER; q++) {
                double s = 0;
                for (int b = 0; b < nb; b++)
                    s += dx[b * PER + q];
                usum[q] = s;
            }
            dist_sum_doubles(usum, PER + 1);
            dsum += usum[PER];
            for (size_t q = 0; q < PER; q++) {
                double s = usum[q];
                float v = u[q] + 1.0f * (float)((s > 0) - (s < 0)); /* step 1 pixel */
                u[q] = v < -u_budget ? -u_budget : v > u_budget ? u_budget : v;
            }
            progress("universal u", i + batch, ntrain, t0, dsum * batch / (i + batch));
        }
    }
    if (!enh && (apf_enhancer_create(u, &enh) || apf_enhancer_set_gain(enh, e_gain)))
        die("enhancer");

    /* ---- T ---- */
    apf_transfer *T;
    snprintf(path, sizeof path, "%s/transfer.apfm", out_dir);
    shared = resume ? dist_share_file(path, local, sizeof local) : NULL;
    if (shared && apf_transfer_load(shared, &T) == APF_OK) {
        if (rank0)
            fprintf(stderr, "resumed T from %s\n", path);
    } else if (apf_transfer_create_unet(base, levels, convs, residual, eps, seed, &T)) {
        die("transfer");
    } else {
        done.stage1 = done.stage2 = 0;
    }
    int s1_from = done.stage1 < s1_epochs ? done.stage1 : s1_epochs;
    int s2_from = done.stage2 < s2_epochs ? done.stage2 : s2_epochs;
    if (s2_from > 0) /* stage 2 had begun: stage 1 is over */
        s1_from = s1_epochs;
    apf_transfer_set_threads(T, threads);
    snprintf(path, sizeof path, "%s/log.csv", out_dir);
    FILE *log = rank0 ? fopen(path, resume ? "a" : "w") : NULL;
    if (rank0 && !log)
        die(path);
    if (rank0 && !resume) {
        fprintf(log, "stage,enhancer,epoch,loss");
        for (int m = 0; m < ne; m++)
            fprintf(log, ",asr_%s", apf_model_name(apf_evaluator_model(ev, m)));
        fprintf(log, "\n");
    }

    /* validation: ASR of APF_s on the fold's positive pairs */
    float *sv = malloc(nval * PER * sizeof(float));
    uint8_t *adv = malloc(nval * PER);
    double curve[2][64];
    int npoints[2] = {0, 0};
#define VALIDATE(net, stage, use_e, epoch, loss)                                                    \
    if (rank0) do {                                                                                  \
        if (apf_cloud_noise(net, (use_e) ? enh : NULL, GV, nval, eps, sv))                          \
            die("validation");                                                                       \
        for (size_t q = 0; q < nval * PER; q++) {                                                    \
            float v = roundf(PA[q] + sv[q]);                                                          \
            adv[q] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);                                        \
        }                                                                                            \
        fprintf(log, "%s,%d,%d,%.6g", stage, use_e, epoch, loss);                                    \
        double mean_asr = 0;                                                                         \
        for (int m = 0; m < ne; m++) {                                                               \
            double a;                                                                                \
            apf_evaluator_asr(ev, m, PA, adv, PB, nval, S, &a, NULL, NULL);                         \
            fprintf(log, ",%.4f", a);                                                                \
            fprintf(stderr, "    %s ASR %.1f%%", apf_model_name(apf_evaluator_model(ev, m)), 100 * a); \
            if (m < K)                                                                               \
                mean_asr += a / K;                                                                   \
        }                                                                                            \
        fprintf(stderr, "\n");                                                                       \
        fprintf(log, "\n");                                                                          \
        fflush(log);                                                                                 \
        if (!strcmp(stage, "stage2") && npoints[use_e] < 64)                                         \
            curve[use_e][npoints[use_e]++] = mean_asr;                                               \
    } while (0)

    /* ---- stage 1: regress the ensemble's gradient (Eq. 4, 5) ---- */
    float *tgt = NULL;
    float *gf = malloc(batch * PER * sizeof(float)), *gh = malloc(batch * PER * sizeof(float));
    float *dgh = malloc(batch * PER * sizeof(float)), *eu = malloc(PER * sizeof(float));
    float *deu = malloc(PER * sizeof(float));
    if (s1_from < s1_epochs) {
        /* targets: eps * sign of the ensemble's gradient at the probe's adversarial point */
        tgt = malloc(ntrain * PER * sizeof(float));
        double t0 = now_s();
        for (int i = 0; i < ntrain; i += batch) { /* this rank's rows */
            for (size_t q = 0; q < nb * PER; q++) {
                float v = X[(i + lo) * PER + q] + eps * G[(i + lo) * PER + q];
                xp[q] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
            for (int k = 0; k < K; k++)
                cb[k] = clean[k] + (size_t)(i + lo) * apf_model_embedding_dim(E.m[k]);
            ensemble_grad(&E, cb, xp, nb, 1.0f, dx, tmp);
            for (size_t q = 0; q < nb * PER; q++)
                tgt[(i + lo) * PER + q] = eps * (float)((dx[q] > 0) - (dx[q] < 0));
            progress("stage 1 targets (servers)", i + batch, ntrain, t0, 0);
        }
    }
    for (int ep = s1_from; ep < s1_epochs; ep++) {
        double t0 = now_s(), lsum = 0;
        for (int i = 0; i < ntrain; i += batch) {
            for (size_t q = 0; q < nb * PER; q++)
                gf[q] = eps * G[(i + lo) * PER + q];
            if (apf_transfer_forward(T, gf, nb, 1, gh))
                die("T forward");
            double l = 0;
            for (size_t q = 0; q < nb * PER; q++) {
                float rdiff = gh[q] - tgt[(i + lo) * PER + q];
                l += (double)rdiff * rdiff;
                dgh[q] = 2.0f * rdiff / (float)(batch * PER); /* the whole batch's mean */
            }
            lsum += l / (batch * PER);
            if (apf_transfer_backward(T, dgh, nb))
                die("T backward");
            share_gradients(T);
            if (apf_transfer_adam_step(T, lr))
                die("T step");
            progress("stage 1 epoch", i + batch, ntrain, t0, lsum * batch / (i + batch));
        }
        dist_sum_doubles(&lsum, 1);
        VALIDATE(T, "stage1", 0, ep + 1, lsum * batch / ntrain);
        snprintf(path, sizeof path, "%s/transfer.apfm", out_dir);
        if (rank0 && (apf_transfer_save(T, path) || apf_enhancer_save(enh, enh_path)))
            die(path);
        done.stage1 = ep + 1;
        if (rank0)
            state_write(out_dir, &done);
    }
    free(tgt);

    /* ---- stage 2: T and E jointly maximise the ensemble distance (Eq. 9, 10) ---- */
    snprintf(path, sizeof path, "%s/transfer.apfm", out_dir);
    if (rank0 && s1_from == s1_epochs && s2_from == 0 && apf_transfer_save(T, path))
        die(path);
    E.hinge = hinge; /* u and stage 1 use the distance */
    E.margin = margin;
    int runs = compare ? 2 : 1;
    for (int run = 0; run < runs; run++) {
        int use_e = run == 0;
        apf_transfer *T2 = T;
        if (run == 1 && apf_transfer_load(path, &T2)) /* same stage-1 start, no E */
            die(path);
        apf_transfer_set_threads(T2, threads);
        if (s2_from == 0 && run == 0)
            VALIDATE(NULL, "g", 0, 0, 0.0); /* the device's g alone (T = identity, no E): the bar */
        if (s2_from == 0)
            VALIDATE(T2, "stage2", use_e, 0, 0.0);
        for (int ep = run ? 0 : s2_from; ep < s2_epochs; ep++) {
            double t0 = now_s(), lsum = 0;
            for (int i = 0; i < ntrain; i += batch) {
                for (size_t q = 0; q < nb * PER; q++)
                    gf[q] = eps * G[(i + lo) * PER + q];
                if (apf_transfer_forward(T2, gf, nb, 1, gh))
                    die("T forward");
                if (use_e)
                    apf_enhancer_output(enh, eu);
                for (size_t q = 0; q < nb * PER; q++) {
                    float pre = gh[q] + (use_e ? eu[q % PER] : 0.0f);
                    float s = pre < -eps ? -eps : pre > eps ? eps : pre;
                    float v = X[(i + lo) * PER + q] + s;
                    xp[q] = v < 0 ? 0 : v > 255 ? 255 : v;
                    dgh[q] = pre; /* keep pre for the mask below */
                }
                for (int k = 0; k < K; k++)
                    cb[k] = clean[k] + (size_t)(i + lo) * apf_model_embedding_dim(E.m[k]);
                /* the servers see x' (and, for their clean reference, x)
                 * through one random shift and rescale per batch (every
                 * rank draws the same one) */
                warp w;
                warp_draw(&wr, div_prob, &w);
                const float *xs_in = xp;
                if (w.active) {
                    warp_batch(&w, X + (size_t)(i + lo) * PER, nb, wx);
                    for (int k = 0; k < K; k++) {
                        embed_all_n(E.m[k], wx, nb, cbw[k]);
                        cb[k] = cbw[k];
                    }
                    warp_batch(&w, xp, nb, wx);
                    xs_in = wx;
                }
                /* loss L = -mean D over the whole batch: gradient of -D / batch */
                double D = ensemble_grad(&E, cb, xs_in, nb, -1.0f / batch, dx, tmp);
                if (w.active) {
                    memcpy(tmp, dx, nb * PER * sizeof(float));
                    warp_batch_adjoint(&w, tmp, nb, dx);
                }
                lsum += -D * nb / batch;
                memset(deu, 0, PER * sizeof(float));
                for (size_t q = 0; q < nb * PER; q++) {
                    /* Through the budget clip, a gradient passes where the
                     * value is inside the budget, and also where a step
                     * along it (Adam descends: pre - lr * g) brings a
                     * clipped value back inside; a plain clip blocks
                     * everything saturated, and T trained to the stage-1
                     * targets (+-eps) starts out saturated almost everywhere. */
                    float pre = dgh[q], v = X[(i + lo) * PER + q] + (pre < -eps ? -eps : pre > eps ? eps : pre);
                    float g = dx[q] * (float)(v > 0 && v < 255);
                    int inside = pre > -eps && pre < eps, inward = (pre >= eps && g > 0) || (pre <= -eps && g < 0);
                    g = inside || inward ? g : 0.0f;
                    dgh[q] = g;
                    deu[q % PER] += g;
                }
                if (apf_transfer_backward(T2, dgh, nb))
                    die("T backward");
                share_gradients(T2);
                if (apf_transfer_adam_step(T2, lr))
                    die("T step");
                if (use_e)
                    dist_sum_floats(deu, PER);
                if (use_e && (apf_enhancer_backward(enh, deu) || apf_enhancer_adam_step(enh, e_lr)))
                    die("E step");
                progress(use_e ? "stage 2 (T + E)" : "stage 2 (T only)", i + batch, ntrain, t0,
                         lsum * batch / (i + batch));
            }
            dist_sum_doubles(&lsum, 1);
            VALIDATE(T2, "stage2", use_e, ep + 1, lsum * batch / ntrain);
            if (use_e && rank0) {
                char p2[4096];
                snprintf(p2, sizeof p2, "%s/transfer.apfm", out_dir);
                if (apf_transfer_save(T2, p2))
                    die(p2);
                if (apf_enhancer_save(enh, enh_path))
                    die(enh_path);
                done.stage2 = ep + 1;
                state_write(out_dir, &done);
            } else if (!use_e) {
                char p2[4096];
                snprintf(p2, sizeof p2, "%s/transfer-no-enhancer.apfm", out_dir);
                apf_transfer_save(T2, p2);
            }
        }
        if (run == 1)
            apf_transfer_free(T2);
    }
    if (rank0 && s2_epochs == 0) {
        snprintf(path, sizeof path, "%s/enhancer.apfm", out_dir);
        if (apf_enhancer_save(enh, path))
            die(path);
    }
    if (log)
        fclose(log);
    /* convergence: mean server ASR per stage-2 epoch, with E (red) and without (blue) */
    double y[2 * 64];
    int pts = npoints[1] > 0 ? npoints[1] : 1;
    if (compare && npoints[0] < pts)
        pts = npoints[0];
    for (int q = 0; q < pts; q++) {
        y[q] = curve[1][q];
        y[pts + q] = compare ? curve[0][q] : curve[1][q];
    }
    snprintf(path, sizeof path, "%s/convergence.png", out_dir);
    if (rank0) {
        plot(y, compare ? 2 : 1, pts, path);
        fprintf(stderr, "wrote %s/{transfer,enhancer}.apfm, log.csv, convergence.png%s\n", out_dir,
                dist_size() > 1 ? " (data-parallel)" : "");
    }
    apf_transfer_free(T);
    apf_enhancer_free(enh);
    apf_evaluator_free(ev);
    for (int k = 0; k < K; k++) {
        apf_model_free(E.m[k]);
        free(clean[k]);
        free(cbw[k]);
    }
    free(wx);
    /* everything else, so leak checkers see a clean exit */
    free(X), free(X8), free(VA), free(VB), free(same), free(PA), free(PB), free(G), free(GV);
    free(xp), free(dx), free(tmp), free(u), free(usum), free(sv), free(adv);
    free(gf), free(gh), free(dgh), free(eu), free(deu);
    lfw_free(&ts);
    lfw_free(&vs);
    lfw_free(&xs);
    return 0;
}
