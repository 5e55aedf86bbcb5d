/* Would the shipped device setting's recognizers run faster side by side,
 * one per core, than one after another on both cores? Times the passes of
 * one pair of the shipped list's iterations (docs/protection.md): each
 * iteration MobileFaceNet at batch 1 and mobileface at batch 8 (its
 * input-diversity samples), and faceres or the dlib ResNet-34 in turns.
 *
 *   sequential: every pass on 2 threads, one after another (as the probe
 *               runs them);
 *   lanes:      two threads, each with its own copies of the models on 1
 *               thread: one runs faceres / dlib, the other MobileFaceNet
 *               and mobileface; a barrier ends each iteration.
 *
 * Prints ms per iteration for each, rounds in turns. Passes only: the
 * warps, stand-ins and sums around them are not timed. Each lane loads
 * its own models, so every oneDNN primitive runs on the thread that made
 * it (oneDNN's library-managed scratchpad asks for that).
 *
 *   apf-bench-lanes [--models DIR] [--lfw DIR] [--iterations N] [--rounds R] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_core.h"
#include "clock.h"
#include "lfw.h"

#define PER (112 * 112 * 3)
#define SAMPLES 8

static const char *models_dir = "models";
static float face[PER * SAMPLES], d_embed[1024 * SAMPLES];
static int iterations = 40, rounds = 3;
static pthread_barrier_t barrier;
static double lane_ms[2];
static atomic_int failed; /* set by any thread, read by all */

static apf_model *load(const char *name, int threads)
{
    char path[4096];
    apf_model *m = NULL;
    snprintf(path, sizeof path, "%s/%s.apfm", models_dir, name);
    if (apf_model_load(path, &m) || apf_model_set_threads(m, threads)) {
        fprintf(stderr, "apf-bench-lanes: %s: %s\n", path, apf_last_error());
        apf_model_free(m);
        return NULL;
    }
    return m;
}

static void pass(apf_model *m, int batch, float *d_faces)
{
    if (apf_model_embed_backward(m, face, batch, 112, NULL, NULL, d_embed, NULL, d_faces)) {
        fprintf(stderr, "apf-bench-lanes: %s\n", apf_last_error());
        failed = 1;
    }
}

/* lane 0: faceres / dlib in turns; lane 1: MobileFaceNet and mobileface */
static void *lane(void *arg)
{
    int id = (int)(size_t)arg;
    float *d = malloc(sizeof(float) * PER * SAMPLES);
    apf_model *a = load(id ? "mobilefacenet" : "faceres", 1);
    apf_model *b = load(id ? "mobileface" : "faceapi-recognition", 1);
    if (!d || !a || !b)
        failed = 1;
    else { /* the first calls build the plans */
        pass(a, 1, d);
        pass(b, id ? SAMPLES : 1, d);
    }
    pthread_barrier_wait(&barrier); /* plans built: the timing starts */
    for (int r = 0; r < rounds; r++) {
        pthread_barrier_wait(&barrier);
        double t0 = now_ms();
        for (int i = 0; i < iterations; i++) {
            pthread_barrier_wait(&barrier);
            if (failed)
                continue;
            if (id) {
                pass(a, 1, d);
                pass(b, SAMPLES, d);
            } else {
                pass(i % 2 ? b : a, 1, d);
            }
        }
        pthread_barrier_wait(&barrier);
        lane_ms[id] = (now_ms() - t0) / iterations;
        pthread_barrier_wait(&barrier);
    }
    apf_model_free(a);
    apf_model_free(b);
    free(d);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *lfw = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models_dir = argv[++i];
        else if (!strcmp(argv[i], "--lfw") && i + 1 < argc)
            lfw = argv[++i];
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--models DIR] [--lfw DIR] [--iterations N] [--rounds R]\n", argv[0]);
            return 2;
        }
    }
    if (iterations < 2 || iterations > 100000 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "apf-bench-lanes: need --iterations >= 2 and --rounds >= 1\n");
        return 2;
    }
    char pairs[4096], root[4096];
    lfw_set set;
    if (!(lfw = lfw_root(lfw, "apf-bench-lanes")))
        return 2;
    snprintf(pairs, sizeof pairs, "%s/pairs.txt", lfw);
    snprintf(root, sizeof root, "%s/aligned112", lfw);
    if (lfw_load(pairs, root, 8, &set) || lfw_read_faces(&set, 0, 1, 112, face))
        return 1;
    lfw_free(&set);
    for (int s = 1; s < SAMPLES; s++)
        memcpy(face + s * PER, face, sizeof(float) * PER);
    for (int k = 0; k < 1024 * SAMPLES; k++)
        d_embed[k] = (k % 7) * 0.01f - 0.03f;

    float *d = malloc(sizeof(float) * PER * SAMPLES);
    apf_model *mfn = load("mobilefacenet", 2), *mf = load("mobileface", 2);
    apf_model *fr = load("faceres", 2), *dl = load("faceapi-recognition", 2);
    if (!d || !mfn || !mf || !fr || !dl)
        return 1;
    pass(mfn, 1, d), pass(mf, SAMPLES, d), pass(fr, 1, d), pass(dl, 1, d);
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_t t[2];
    for (int id = 0; id < 2; id++)
        pthread_create(&t[id], NULL, lane, (void *)(size_t)id);
    pthread_barrier_wait(&barrier); /* the lanes' plans are built, not timed beside a round */
    printf("| round | sequential, 2 threads: ms per iteration | lanes, 1 thread each: ms per iteration | lanes / sequential |\n");
    printf("|---|---|---|---|\n");
    for (int r = 0; r < rounds; r++) { /* every round, so the lanes' barriers are met even after a failure */
        double t0 = now_ms();
        for (int i = 0; i < iterations && !failed; i++) {
            pass(mfn, 1, d);
            pass(mf, SAMPLES, d);
            pass(i % 2 ? dl : fr, 1, d);
        }
        double seq = (now_ms() - t0) / iterations;
        pthread_barrier_wait(&barrier); /* the lanes' round */
        for (int i = 0; i < iterations; i++)
            pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
        double lanes = lane_ms[0] > lane_ms[1] ? lane_ms[0] : lane_ms[1];
        if (!failed)
            printf("| %d | %.2f | %.2f | %.3f |\n", r + 1, seq, lanes, lanes / seq);
    }
    for (int id = 0; id < 2; id++)
        pthread_join(t[id], NULL);
    apf_model_free(mfn), apf_model_free(mf), apf_model_free(fr), apf_model_free(dl);
    free(d);
    return failed;
}
