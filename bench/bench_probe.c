/* End-side benchmark: milliseconds per face for each attack at batch 1 and
 * 16, peak resident memory, and bytes per face on the wire.
 *
 *   apf-bench-probe [--models DIR] [--lfw DIR] [--threads T] [--faces N]
 *
 * Peak RSS is read from /proc/self/status (VmHWM) after the batch-1 runs
 * (the device scenario) and again at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apf/apf_end.h"
#include "lfw.h"
#include "clock.h"

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

int main(int argc, char **argv)
{
    const char *models = "models", *lfw = NULL;
    int threads = 2, nfaces = 32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--lfw") && i + 1 < argc)
            lfw = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--faces") && i + 1 < argc)
            nfaces = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--models DIR] [--lfw DIR] [--threads T] [--faces N]\n", argv[0]);
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
    printf("end side: %d LFW fold-8 faces, %d threads, probe %s\n\n", nfaces, threads, model);
    printf("| attack | iterations | b1 ms/face | b16 ms/face | wire bytes/face |\n|---|---|---|---|---|\n");
    double b1[APF_ATTACK_COUNT], bytes[APF_ATTACK_COUNT];
    apf_probe *pr[APF_ATTACK_COUNT];
    int8_t *g = malloc(16 * per);
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
    free(g);
    free(faces);
    lfw_free(&set);
    return 0;
}
