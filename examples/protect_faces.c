/* protect-faces: the APF split on aligned 112x112 faces, end to end.
 *
 *   protect-faces [--weights DIR] [--models DIR] [--out DIR] FACE.jpg...
 *
 * For each face: the device computes g with the probe and encodes it (the
 * only bytes that would leave the device); the cloud filter turns the blob
 * into a noise blob using the trained T and E; the device decodes s, adds it
 * and writes OUT/<name>.protected.png (or -1, -2... : never over any file). It prints the
 * bytes each way, SSIM, and each recognizer's similarity between the
 * original and the protected face. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apf/apf.h"
#include "wait_policy.h"

#define S 112
#define PER (S * S * 3)

static int fail(const char *what)
{
    fprintf(stderr, "protect-faces: %s: %s\n", what, apf_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    const char *weights = "weights", *models = "models", *out = "out/protected";
    int first = 1;
    for (; first < argc && !strncmp(argv[first], "--", 2); first += 2) {
        if (first + 1 >= argc)
            break;
        if (!strcmp(argv[first], "--weights"))
            weights = argv[first + 1];
        else if (!strcmp(argv[first], "--models"))
            models = argv[first + 1];
        else if (!strcmp(argv[first], "--out"))
            out = argv[first + 1];
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--weights DIR] [--models DIR] [--out DIR] FACE.jpg...\n", argv[0]);
        return 2;
    }
    char p[4096], q[4096];
    mkdir("out", 0755);
    mkdir(out, 0755);
    apf_probe *probe;
    snprintf(p, sizeof p, "%s/mobilefacenet.apfm", models);
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.threads = 2;
    if (apf_probe_create(p, &o, &probe))
        return fail(p);
    apf_transfer *T;
    apf_enhancer *E = NULL;
    snprintf(p, sizeof p, "%s/transfer.apfm", weights);
    snprintf(q, sizeof q, "%s/enhancer.apfm", weights);
    if (apf_transfer_load(p, &T))
        return fail(p);
    if (access(q, F_OK) == 0 && apf_enhancer_load(q, &E)) /* E is optional: s = clip(T(g)) */
        return fail(q);
    apf_transfer_set_threads(T, 2);
    const char *names[3] = {"mobilefacenet", "faceres", "faceapi-recognition"};
    apf_model *rec[3];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/%s.apfm", models, names[k]);
        if (apf_model_load(p, &rec[k]))
            return fail(p);
        apf_model_set_threads(rec[k], 2);
    }
    printf("| face | bytes sent | bytes back | SSIM | mobilefacenet sim | faceres sim | faceapi sim |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int errors = 0;
    for (int i = first; i < argc; i++) {
        apf_image *im;
        if (apf_image_load(argv[i], &im) || apf_image_width(im) != S || apf_image_height(im) != S) {
            fprintf(stderr, "protect-faces: %s: %s\n", argv[i],
                    im ? "not an aligned 112x112 face" : apf_last_error());
            apf_image_free(im);
            errors++;
            continue; /* one file's error does not stop the others */
        }
        uint8_t *x = apf_image_pixels(im);
        /* device: g -> blob (the only data that leaves the device) */
        void *gblob, *sblob;
        size_t gsize, ssize;
        if (apf_probe_gradient_blob(probe, x, NULL, 1, S, &gblob, &gsize))
            return fail("probe");
        /* cloud: blob -> blob */
        if (apf_cloud_filter(T, E, gblob, gsize, &sblob, &ssize))
            return fail("cloud filter");
        /* device: decode s, add it */
        apf_wire_info info;
        int8_t *s;
        if (apf_wire_decode(sblob, ssize, &info, &s))
            return fail("noise blob");
        apf_image *prot;
        apf_image_create(S, S, &prot);
        apf_apply_perturbation(x, s, PER, 1.0f, apf_image_pixels(prot));
        double ssim;
        apf_ssim(x, apf_image_pixels(prot), S, S, &ssim, NULL);
        float sims[3];
        float *fx = malloc(2 * PER * sizeof(float));
        for (int k = 0; k < PER; k++)
            fx[k] = x[k], fx[PER + k] = apf_image_pixels(prot)[k];
        for (int k = 0; k < 3; k++) {
            int dim = apf_model_embedding_dim(rec[k]);
            float *e = malloc(2 * dim * sizeof(float));
            apf_model_embed(rec[k], fx, 2, S, e);
            double d = 0;
            for (int j = 0; j < dim; j++)
                d += (double)e[j] * e[dim + j];
            sims[k] = (float)d;
            free(e);
        }
        char base[1024];
        snprintf(base, sizeof base, "%s", argv[i]);
        char *dot = strrchr(basename(base), '.');
        if (dot)
            *dot = 0;
        /* never replace a file: take the first free name.protected[-N].png */
        apf_status st = APF_E_EXISTS;
        for (int k = 0; k < 1000 && st == APF_E_EXISTS; k++) {
            if (k)
                snprintf(p, sizeof p, "%s/%s.protected-%d.png", out, basename(base), k);
            else
                snprintf(p, sizeof p, "%s/%s.protected.png", out, basename(base));
            st = apf_image_save(prot, p, 0);
        }
        if (st)
            fprintf(stderr, "protect-faces: %s\n", apf_last_error()), errors++;
        printf("| %s | %zu | %zu | %.3f | %.3f | %.3f | %.3f |\n", basename(base), gsize, ssize, ssim,
               sims[0], sims[1], sims[2]);
        free(fx), free(s), free(gblob), free(sblob);
        apf_image_free(prot);
        apf_image_free(im);
    }
    printf("\nsimilarity = cosine between the original and the protected face (LFW match thresholds: "
           "mobilefacenet 0.35, faceres 0.51, faceapi 0.95)\n");
    for (int k = 0; k < 3; k++)
        apf_model_free(rec[k]);
    apf_transfer_free(T);
    apf_enhancer_free(E);
    apf_probe_free(probe);
    return errors ? 1 : 0;
}
