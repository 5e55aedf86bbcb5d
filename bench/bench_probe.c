/* End-side benchmark: milliseconds per face for each attack at batch 1 and
 * 16, peak resident memory, and bytes per face on the wire.
 *
 *   apf-bench-probe [--models DIR] [--lfw DIR] [--threads T] [--faces N]
 *                   [--ensemble LIST:ITERATIONS[:rotate]]... [--neighbours N]
 *                   [--smooth SIGMA] [--decoys FILE|none]
 *
 * Then the paper's DI2-FGSM at batch 1 on a quiet machine and beside
 * --neighbours N (default 2) CPU-bound processes this program starts, as a
 * photo application meets it: the slowdown against the share of the CPUs
 * the neighbours take (N neighbours + T threads on C cores: share
 * C / (N + T) of what T threads had, at most 1).
 *
 * Each --ensemble (default: the shipped device setting) is timed at batch 1
 * against the paper's probe (MobileFaceNet, DI2-FGSM, 30 iterations),
 * interleaved in one run, and printed as a ratio: a noisy machine slows
 * both alike; and again placed in a photo at LFW's scale (the attack
 * through the photo round trip, as apf protect runs it on whole photos).
 *
 * Peak RSS is read from /proc/self/status (VmHWM) after the batch-1 runs
 * (the device scenario) and again at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apf/apf_end.h"
#include "lfw.h"
#include "decoy_file.h"
#include "probe_list.h"
#include "clock.h"
#include "wait_policy.h"

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

/* The paper's probe (MobileFaceNet, DI2-FGSM, 30 iterations) that the
 * other settings are timed against; *o receives its options. */
static apf_probe *paper_probe(const char *models, int threads, apf_probe_options *o)
{
    char model[4096];
    snprintf(model, sizeof model, "%s/mobilefacenet.apfm", models);
    apf_probe_options_init(o);
    o->threads = threads;
    apf_probe *p;
    if (apf_probe_create(model, o, &p)) {
        fprintf(stderr, "%s\n", apf_last_error());
        return NULL;
    }
    return p;
}

/* Batch-1 ms/face of one probe over faces [0, count), after a warm-up. */
/* Milliseconds per face at batch 1; with a placement matrix m, the attack
 * on a face as placed in its photo (apf_probe_gradient_placed). */
static double b1_ms_at(apf_probe *p, const uint8_t *faces, int count, int S, const double *m, int8_t *g)
{
    size_t per = (size_t)S * S * 3;
    apf_probe_gradient_placed(p, faces, NULL, 1, S, m, g);
    double t0 = now_ms();
    for (int k = 0; k < count; k++)
        apf_probe_gradient_placed(p, faces + k * per, NULL, 1, S, m, g);
    return (now_ms() - t0) / count;
}

/* Milliseconds of one face's attack at batch 1 (no warm-up), as
 * apf_photo_job_create runs it: with the reach, so that a shipped
 * setting's SSIM floor is timed too (reach: S * S * 3 bytes). */
static double one_ms(apf_probe *p, const uint8_t *face, int S, const double *m, int8_t *g, uint8_t *reach)
{
    double t0 = now_ms();
    apf_probe_gradient_reach(p, face, NULL, 1, S, m, g, reach);
    return now_ms() - t0;
}

static double b1_ms(apf_probe *p, const uint8_t *faces, int count, int S, int8_t *g)
{
    return b1_ms_at(p, faces, count, S, NULL, g);
}

/* A face as LFW's 150x150 photos hold it: 0.74 photo pixels per aligned
 * pixel (apf-bench-photos), turned a little. */
static const double PLACED[6] = {0.737, -0.064, 20.0, 0.064, 0.737, 25.0};
/* A face larger in its photo than the crop, as in most camera photos
 * (1.48 photo pixels per aligned pixel): no round trip, but re-alignment
 * jitter on every draw the input diversity leaves as it is. */
static const double PLACED_LARGE[6] = {1.474, -0.128, 40.0, 0.128, 1.474, 50.0};

/* The device setting's gradient smoothing (--smooth; apf protect's by default). */
static float ens_smooth = PROBE_LIST_SMOOTH;
/* Its decoy faces (--decoys FILE|none; by default apf protect's, beside
 * the models folder), read once by main. */
static const char *ens_decoys;
static uint8_t *decoy_faces;
static int n_decoys;

/* Give the probe its decoys afresh: their embeddings are computed when a
 * face first needs one, and a single-photo run of apf protect starts with
 * none, so every timed face pays for its decoy's. */
static int fresh_decoys(apf_probe *p)
{
    if (!decoy_faces)
        return 0;
    if (apf_probe_set_decoys(p, decoy_faces, n_decoys, DECOY_SIDE)) {
        fprintf(stderr, "decoys: %s\n", apf_last_error());
        return 1;
    }
    return 0;
}

/* Each ensemble setting against the paper's probe, alternating the two
 * face by face over three rounds so that both see the same machine. */
static int time_ensembles(const char **ens, int n_ens, const char *models, int threads,
                          const uint8_t *faces, int nfaces, int S)
{
    int8_t *g = malloc((size_t)S * S * 3);
    uint8_t *reach = malloc((size_t)S * S * 3);
    char msg[512];
    apf_probe_options o;
    apf_probe *base = paper_probe(models, threads, &o), *p = NULL;
    int rc = 1;
    if (!base || !g || !reach)
        goto out;
    int count = nfaces < 8 ? nfaces : 8;
    printf("\n| device setting | models | iterations | b1 ms/face | paper's DI2-FGSM b1 ms/face | ratio | "
           "placed in a photo (scale 0.74) b1 ms/face | ratio | placed at scale 1.48 b1 ms/face | ratio | "
           "wire bytes/face |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int e = 0; e < n_ens; e++) {
        char spec[1024], *it = NULL, *sched = NULL;
        snprintf(spec, sizeof spec, "%s", ens[e]);
        /* LIST:ITERATIONS[:rotate]; the list's own ':' are weights, so split from the right */
        char *last = strrchr(spec, ':');
        if (last && !strcmp(last + 1, "rotate")) {
            sched = last + 1;
            *last = 0;
            last = strrchr(spec, ':');
        }
        if (!last) {
            fprintf(stderr, "--ensemble %s: want LIST:ITERATIONS[:rotate]\n", ens[e]);
            goto out;
        }
        it = last + 1;
        *last = 0;
        /* the shipped setting (apf protect's), with this row's list and
         * iterations: every part of it that costs time is timed */
        apf_probe_options eo;
        probe_list_options_init(&eo);
        eo.threads = threads;
        eo.iterations = atoi(it);
        eo.smooth_sigma = ens_smooth;
        eo.schedule = sched ? APF_SCHEDULE_ROTATE : APF_SCHEDULE_ALL;
        if (probe_list_create(spec, models, &eo, &p, msg, sizeof msg)) {
            fprintf(stderr, "%s\n", msg);
            goto out;
        }
        /* face by face, the four side by side: a neighbour that slows the
         * machine for a few seconds slows all four alike */
        double te = 0, tb = 0, tp = 0, tl = 0;
        if (fresh_decoys(p))
            goto out;
        one_ms(base, faces, S, NULL, g, reach), one_ms(p, faces, S, NULL, g, reach); /* warm-up */
        for (int round = 0; round < 3; round++)
            for (int k = 0; k < count; k++) {
                const uint8_t *face = faces + (size_t)k * S * S * 3;
                tb += one_ms(base, face, S, NULL, g, reach) / count;
                if (fresh_decoys(p))
                    goto out;
                te += one_ms(p, face, S, NULL, g, reach) / count;
                if (fresh_decoys(p))
                    goto out;
                tp += one_ms(p, face, S, PLACED, g, reach) / count;
                if (fresh_decoys(p))
                    goto out;
                tl += one_ms(p, face, S, PLACED_LARGE, g, reach) / count;
            }
        size_t total = 0;
        for (int k = 0; k < count; k++) {
            void *blob;
            size_t size;
            if (apf_probe_gradient_blob(p, faces + (size_t)k * S * S * 3, NULL, 1, S, &blob, &size))
                goto out;
            total += size;
            free(blob);
        }
        printf("| %s | %d | %d%s | %.1f | %.1f | %.2f | %.1f | %.2f | %.1f | %.2f | %.0f |\n", ens[e],
               apf_probe_model_count(p), eo.iterations, sched ? " (rotating)" : "", te / 3, tb / 3, te / tb, tp / 3,
               tp / tb, tl / 3, tl / tb, (double)total / count);
        apf_probe_free(p);
        p = NULL;
    }
    rc = 0;
out:
    apf_probe_free(p);
    apf_probe_free(base);
    free(g);
    free(reach);
    return rc;
}

/* The loaded case: quiet, then with n busy neighbour processes. */
static int time_under_load(const char *models, int threads, int neighbours, const uint8_t *faces, int nfaces,
                           int S)
{
    apf_probe_options o;
    apf_probe *p = paper_probe(models, threads, &o);
    if (!p)
        return 1;
    int8_t *g = malloc((size_t)S * S * 3);
    int count = nfaces < 4 ? nfaces : 4;
    double quiet = b1_ms(p, faces, count, S, g);
    pid_t kids[64];
    int n = neighbours < 64 ? neighbours : 64;
    for (int k = 0; k < n; k++)
        if ((kids[k] = fork()) == 0) {
            volatile unsigned long x = 0;
            for (;;)
                x++;
        }
    usleep(200000);
    double loaded = b1_ms(p, faces, count, S, g);
    for (int k = 0; k < n; k++) {
        kill(kids[k], SIGKILL);
        waitpid(kids[k], NULL, 0);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double share = (double)cores / (n + threads);
    if (share > 1)
        share = 1;
    const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    printf("\nunder load (paper's DI2-FGSM, b1, %d threads, OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s): quiet "
           "%.1f ms/face, beside %d busy processes %.1f ms/face: %.2fx slower, against %.2fx for the CPU "
           "share lost\n",
           threads, wait ? wait : "(unset)", spin ? spin : "(unset)", quiet, n, loaded, loaded / quiet, 1 / share);
    apf_probe_free(p);
    free(g);
    return 0;
}

/* The five attacks of the paper on the probe alone: batch 1 and batch 16
 * device time, wire bytes per face, peak memory. */
static int attack_table(const char *model, int threads, const uint8_t *faces, int nfaces, int S, int8_t *g)
{
    size_t per = (size_t)S * S * 3;
    printf("\n| attack | iterations | b1 ms/face | b16 ms/face | wire bytes/face |\n|---|---|---|---|---|\n");
    double b1[APF_ATTACK_COUNT], bytes[APF_ATTACK_COUNT];
    apf_probe *pr[APF_ATTACK_COUNT];
    for (int a = 0; a < APF_ATTACK_COUNT; a++) {
        apf_probe_options o;
        apf_probe_options_init(&o);
        o.attack = (apf_attack)a;
        o.threads = threads;
        if (apf_probe_create(model, &o, &pr[a])) {
            fprintf(stderr, "%s\n", apf_last_error());
            return 1;
        }
        /* batch 1 over 4 faces (after one warm-up) and wire size over all faces */
        apf_probe_gradient(pr[a], faces, NULL, 1, S, g);
        double t0 = now_ms();
        for (int k = 0; k < 4; k++)
            apf_probe_gradient(pr[a], faces + k * per, NULL, 1, S, g);
        b1[a] = (now_ms() - t0) / 4;
        size_t total = 0;
        for (int k = 0; k < nfaces; k++) {
            void *blob;
            size_t size;
            if (apf_probe_gradient_blob(pr[a], faces + k * per, NULL, 1, S, &blob, &size)) {
                fprintf(stderr, "%s\n", apf_last_error());
                return 1;
            }
            total += size;
            free(blob);
        }
        bytes[a] = (double)total / nfaces;
        apf_probe_free(pr[a]);
    }
    long rss1 = peak_rss_kb();
    for (int a = 0; a < APF_ATTACK_COUNT; a++) {
        apf_probe_options o;
        apf_probe_options_init(&o);
        o.attack = (apf_attack)a;
        o.threads = threads;
        apf_probe_create(model, &o, &pr[a]);
        apf_probe_gradient(pr[a], faces, NULL, 16, S, g); /* warm-up */
        double t0 = now_ms();
        apf_probe_gradient(pr[a], faces, NULL, 16, S, g);
        double b16 = (now_ms() - t0) / 16;
        printf("| %s | %d | %.1f | %.1f | %.0f |\n", apf_attack_name((apf_attack)a),
               a == APF_ATTACK_FGSM ? 1 : o.iterations, b1[a], b16, bytes[a]);
        apf_probe_free(pr[a]);
    }
    printf("\npeak RSS after batch-1 runs: %.1f MB; after batch-16 runs: %.1f MB\n", rss1 / 1024.0,
           peak_rss_kb() / 1024.0);
    return 0;
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    const char *models = "models", *lfw = NULL;
    int threads = 2, nfaces = 32, n_ens = 0, neighbours = 2, table = 1;
    const char *ens[8];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--neighbours") && i + 1 < argc) {
            neighbours = atoi(argv[++i]);
            continue;
        }
        if (!strcmp(argv[i], "--ensembles-only")) { /* skip the five attacks' table */
            table = 0;
            continue;
        }
        if (!strcmp(argv[i], "--ensemble") && i + 1 < argc && n_ens < 8) {
            ens[n_ens++] = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--smooth") && i + 1 < argc)
            ens_smooth = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--decoys") && i + 1 < argc)
            ens_decoys = argv[++i];
        else if (!strcmp(argv[i], "--lfw") && i + 1 < argc)
            lfw = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--faces") && i + 1 < argc)
            nfaces = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--models DIR] [--lfw DIR] [--threads T] [--faces N] "
                            "[--ensemble LIST:ITERATIONS[:rotate]]... [--ensembles-only] [--smooth SIGMA] [--decoys FILE|none] "
                            "[--neighbours N]\n", argv[0]);
            return 2;
        }
    }
    if (nfaces < 16)
        nfaces = 16;
    char pairs[4096], root[4096], model[4096];
    if (!(lfw = lfw_root(lfw, "apf-bench-probe")))
        return 2;
    snprintf(pairs, sizeof pairs, "%s/pairs.txt", lfw);
    snprintf(root, sizeof root, "%s/aligned112", lfw);
    snprintf(model, sizeof model, "%s/mobilefacenet.apfm", models);
    lfw_set set;
    if (lfw_load(pairs, root, 8, &set))
        return 1;
    if (nfaces > set.n_images)
        nfaces = set.n_images;
    const int S = 112;
    size_t per = (size_t)S * S * 3;
    float *ff = malloc(nfaces * per * sizeof(float));
    uint8_t *faces = malloc(nfaces * per);
    if (lfw_read_faces(&set, 0, nfaces, S, ff))
        return 1;
    for (size_t i = 0; i < nfaces * per; i++)
        faces[i] = (uint8_t)ff[i];
    free(ff);
    printf("end side: %d LFW fold-8 faces, %d threads, probe %s\n", nfaces, threads, model);
    int8_t *g = malloc(16 * per);
    if (table && attack_table(model, threads, faces, nfaces, S, g))
        return 1;
    if (!n_ens)
        ens[n_ens++] = PROBE_LIST_DEFAULT ":" PROBE_LIST_ITERATIONS_S;
    static char decoys_beside[4096];
    if (!ens_decoys) {
        decoy_file_beside(models, decoys_beside, sizeof decoys_beside);
        ens_decoys = decoys_beside;
    }
    char msg[4400];
    if (PROBE_LIST_RANDOM_TARGET > 0 && strcmp(ens_decoys, "none") &&
        decoy_file_read(ens_decoys, &decoy_faces, &n_decoys, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    if (time_ensembles(ens, n_ens, models, threads, faces, nfaces, S))
        return 1;
    if (neighbours > 0 && time_under_load(models, threads, neighbours, faces, nfaces, S))
        return 1;
    free(g), free(decoy_faces);
    free(faces);
    lfw_free(&set);
    return 0;
}
