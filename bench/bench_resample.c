/* The resampling an attack runs on every iteration, outside the models:
 * a 112x112 colour warp (the input diversity's turn and rescale) and its
 * adjoint, and the resizes to faceres's 224 and the dlib ResNet's 150
 * pixels and their adjoints. Median milliseconds per call on 1 core and
 * on T cores (the results are the same to the bit on both: test
 * image.resampling_is_the_same_on_any_number_of_cores).
 *
 *   apf-bench-resample [--reps N] [--threads T] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_core.h"
#include "clock.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct job {
    const char *name;
    int dst_side; /* 0: the warp (112 -> 112) */
    int adjoint;
} job;

static double median_ms(const job *j, int reps, float *src, float *dst, float *acc)
{
    const double turn[6] = {0.95, -0.16, 11.0, 0.16, 0.95, -7.0};
    double *t = malloc(reps * sizeof *t);
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        int side = j->dst_side ? j->dst_side : 112;
        if (!j->dst_side)
            apf_warp_affine(j->adjoint ? acc : src, 112, 112, 3, dst, side, side, turn, j->adjoint);
        else
            apf_resize(j->adjoint ? acc : src, 112, 112, 3, dst, side, side, j->adjoint);
        t[r] = now_ms() - t0;
    }
    qsort(t, reps, sizeof *t, by_value);
    double m = t[reps / 2];
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    int reps = 400, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--reps N] [--threads T]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || threads < 1) {
        fprintf(stderr, "apf-bench-resample: --reps and --threads must be positive\n");
        return 2;
    }
    size_t big = 224 * 224 * 3;
    float *src = malloc(112 * 112 * 3 * sizeof *src), *acc = calloc(112 * 112 * 3, sizeof *acc);
    float *dst = malloc(big * sizeof *dst);
    if (!src || !acc || !dst)
        return 1;
    for (size_t i = 0; i < 112 * 112 * 3; i++)
        src[i] = (float)((i * 7919) % 256);
    for (size_t i = 0; i < big; i++)
        dst[i] = (float)((i * 104729) % 17) - 8.0f;
    const job jobs[] = {{"warp 112 (turned)", 0, 0}, {"warp 112 adjoint", 0, 1}, {"resize 112 -> 224", 224, 0},
                        {"resize 112 -> 224 adjoint", 224, 1}, {"resize 112 -> 150", 150, 0},
                        {"resize 112 -> 150 adjoint", 150, 1}};
    printf("| operation | 1 core ms | %d cores ms | speed-up |\n|---|---|---|---|\n", threads);
    for (size_t k = 0; k < sizeof jobs / sizeof jobs[0]; k++) {
        omp_set_num_threads(1);
        double one = median_ms(&jobs[k], reps, src, dst, acc);
        omp_set_num_threads(threads);
        double many = median_ms(&jobs[k], reps, src, dst, acc);
        printf("| %s | %.3f | %.3f | %.2fx |\n", jobs[k].name, one, many, one / many);
    }
    free(src), free(acc), free(dst);
    return 0;
}
