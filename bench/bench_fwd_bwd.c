/* One model's forward + backward-to-input at batch 1, timed many times, for
 * the 8 ms target of MobileFaceNet and for A/B comparisons of two builds
 * (bench/ab.sh). A machine shared with other tenants is noisy, so it prints the distribution
 * (min, 10th percentile, median) rather than one number. With --batch B
 * the pass takes B copies of the face at once and the figures are per face:
 * what the probe's input-diversity samples of one model cost when they go
 * through it together.
 *
 *   apf-bench-fwd-bwd [--reps N] [--threads T] [--batch B] [--lfw DIR] MODEL.apfm
 *
 * The input is the first face of LFW fold 8 (aligned112). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apf/apf_core.h"
#include "lfw.h"
#include "clock.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *lfw = NULL, *path = NULL;
    int reps = 500, threads = 2, batch = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lfw") && i + 1 < argc)
            lfw = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (!path || reps < 1 || reps > 1000000 || batch < 1 || batch > 64) {
        fprintf(stderr, "usage: %s [--reps N] [--threads T] [--batch 1..64] [--lfw DIR] MODEL.apfm\n", argv[0]);
        return 2;
    }
    char pairs[4096], root[4096];
    if (!(lfw = lfw_root(lfw, "apf-bench-fwd-bwd")))
        return 2;
    snprintf(pairs, sizeof pairs, "%s/pairs.txt", lfw);
    snprintf(root, sizeof root, "%s/aligned112", lfw);
    lfw_set set;
    const size_t per = 112 * 112 * 3;
    float *face = malloc(per * batch * sizeof(float));
    if (!face || lfw_load(pairs, root, 8, &set) || lfw_read_faces(&set, 0, 1, 112, face))
        return 1;
    for (int b = 1; b < batch; b++)
        memcpy(face + b * per, face, per * sizeof(float));
    apf_model *m;
    if (apf_model_load(path, &m) || apf_model_set_threads(m, threads)) {
        fprintf(stderr, "%s: %s\n", path, apf_last_error());
        return 1;
    }
    int dim = apf_model_embedding_dim(m);
    float *e = malloc((size_t)dim * batch * sizeof(float)), *de = malloc((size_t)dim * batch * sizeof(float));
    float *dx = malloc(per * batch * sizeof(float));
    double *t = malloc((size_t)reps * sizeof(double));
    for (int k = 0; k < dim * batch; k++)
        de[k] = (k % 7) * 0.01f - 0.03f;
    int rc = 0;
    for (int r = -1; r < reps && !rc; r++) { /* r = -1 builds the plan */
        double t0 = now_ms();
        if (apf_model_embed_backward(m, face, batch, 112, e, NULL, de, NULL, dx)) {
            fprintf(stderr, "%s: %s\n", path, apf_last_error());
            rc = 1;
        } else if (r >= 0) {
            t[r] = (now_ms() - t0) / batch;
        }
    }
    if (!rc) {
        qsort(t, (size_t)reps, sizeof *t, by_value);
        printf("%s fwd+bwd b%d, %d threads, %d runs: min %.2f p10 %.2f median %.2f ms per face\n",
               apf_model_name(m), batch, threads, reps, t[0], t[reps / 10], t[reps / 2]);
    }
    free(t), free(dx), free(de), free(e), free(face);
    apf_model_free(m);
    lfw_free(&set);
    return rc;
}
