/* Cloud-side benchmark: milliseconds per face of the cloud filter (blob in,
 * blob out) at batch 1 and 32, and training throughput of T (forward +
 * backward + Adam) at batch 16. Uses the shipped T (and E when
 * DIR/enhancer.apfm exists), else a fresh U-Net of the same shape; the
 * gradients are uniform random ternary maps.
 *
 *   apf-bench-cloud [--weights DIR] [--threads T]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apf/apf_cloud.h"
#include "clock.h"

#define S APF_CLOUD_SIZE
#define PER ((size_t)S * S * 3)

int main(int argc, char **argv)
{
    const char *weights = "weights";
    int threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--weights"))
            weights = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    char p[4096], what_buf[4096];
    apf_transfer *T;
    apf_enhancer *E = NULL;
    snprintf(p, sizeof p, "%s/transfer.apfm", weights);
    snprintf(what_buf, sizeof what_buf, "%s", p);
    const char *what = what_buf;
    if (apf_transfer_load(p, &T)) {
        what = "a fresh U-Net (base 16)";
        if (apf_transfer_create(16, 8.0f, 1, &T)) {
            fprintf(stderr, "%s\n", apf_last_error());
            return 1;
        }
    }
    snprintf(p, sizeof p, "%s/enhancer.apfm", weights);
    int have_e = apf_enhancer_load(p, &E) == APF_OK;
    if (!have_e)
        apf_enhancer_create(NULL, &E);
    apf_transfer_set_threads(T, threads);
    printf("cloud side: T %s, E %s, %d threads\n\n| batch | filter ms/face | blob bytes in/face | blob bytes out/face |\n|---|---|---|---|\n",
           what, have_e ? p : "none (identity, u = 0)", threads);
    int8_t *g = malloc(32 * PER);
    unsigned r = 1;
    for (size_t i = 0; i < 32 * PER; i++) {
        r = r * 1664525u + 1013904223u;
        g[i] = (int8_t)((r >> 24) % 3) - 1;
    }
    int batches[2] = {1, 32};
    for (int b = 0; b < 2; b++) {
        int n = batches[b];
        apf_wire_info in = {APF_WIRE_GRADIENT, 3, n, S, S, 3, 8.0f, 0};
        void *gb, *sb;
        size_t gs, ss;
        apf_wire_encode(&in, g, &gb, &gs);
        apf_cloud_filter(T, E, gb, gs, &sb, &ss); /* warm-up builds the plan */
        free(sb);
        int reps = n == 1 ? 20 : 3;
        double best = 1e30;
        for (int k = 0; k < reps; k++) {
            double t0 = now_ms();
            if (apf_cloud_filter(T, E, gb, gs, &sb, &ss)) {
                fprintf(stderr, "%s\n", apf_last_error());
                return 1;
            }
            double t = now_ms() - t0;
            best = t < best ? t : best;
            free(sb);
        }
        printf("| %d | %.2f | %.0f | %.0f |\n", n, best / n, (double)gs / n, (double)ss / n);
        free(gb);
    }
    /* training throughput of T alone (the recognizers' cost comes on top) */
    apf_transfer *Tt;
    apf_transfer_create(16, 8.0f, 2, &Tt);
    apf_transfer_set_threads(Tt, threads);
    float *x = malloc(16 * PER * sizeof(float)), *y = malloc(16 * PER * sizeof(float));
    for (size_t i = 0; i < 16 * PER; i++)
        x[i] = 8.0f * g[i];
    apf_transfer_forward(Tt, x, 16, 1, y);
    double t0 = now_ms();
    int steps = 5;
    for (int k = 0; k < steps; k++) {
        apf_transfer_forward(Tt, x, 16, 1, y);
        for (size_t i = 0; i < 16 * PER; i++)
            y[i] *= 1e-6f;
        apf_transfer_backward(Tt, y, 16);
        apf_transfer_adam_step(Tt, 1e-4f);
    }
    printf("\nT training step (forward + backward + Adam), batch 16: %.1f faces/s\n",
           16.0 * steps / ((now_ms() - t0) / 1e3));
    apf_transfer_free(T);
    apf_transfer_free(Tt);
    apf_enhancer_free(E);
    free(g), free(x), free(y);
    return 0;
}
