/* protect-one: protect one aligned face end to end in one process.
 *
 *   protect-one PROBE.apfm TRANSFER.apfm FACE.jpg OUT.png
 *
 * Device: g blob from the probe. Cloud: noise blob from the transfer
 * network. Device: add s, save (never over an existing file), then report
 * SSIM and how similar the probe finds the protected face to the original. */
#include <stdio.h>
#include <stdlib.h>

#include "apf/apf.h"

#define N (112 * 112 * 3)

static int fail(const char *what)
{
    fprintf(stderr, "protect-one: %s: %s\n", what, apf_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PROBE.apfm TRANSFER.apfm FACE.jpg OUT.png\n", argv[0]);
        return 2;
    }
    apf_image *img = NULL, *prot = NULL;
    apf_probe *probe = NULL;
    apf_transfer *t = NULL;
    void *g = NULL, *s = NULL;
    size_t g_size = 0, s_size = 0;
    apf_wire_info info;
    int8_t *noise = NULL;
    float *x = malloc(2 * N * sizeof *x), emb[2 * 512];
    double ssim = 0;
    int rc = 1;
    if (!x)
        fprintf(stderr, "protect-one: out of memory\n");
    else if (apf_image_load(argv[3], &img) || apf_image_width(img) != 112 || apf_image_height(img) != 112)
        rc = img ? (fprintf(stderr, "protect-one: need a 112x112 aligned face\n"), 1) : fail(argv[3]);
    else if (apf_probe_create(argv[1], NULL, &probe))
        rc = fail(argv[1]);
    else if (apf_transfer_load(argv[2], &t))
        rc = fail(argv[2]);
    else if (apf_probe_gradient_blob(probe, apf_image_pixels(img), NULL, 1, 112, &g, &g_size))
        rc = fail("probe");
    else if (apf_cloud_filter(t, NULL, g, g_size, &s, &s_size))
        rc = fail("cloud filter");
    else if (apf_wire_decode(s, s_size, &info, &noise) || apf_image_create(112, 112, &prot) ||
             apf_apply_perturbation(apf_image_pixels(img), noise, N, 1.0f, apf_image_pixels(prot)))
        rc = fail("apply");
    else if (apf_image_save(prot, argv[4], 95))
        rc = fail(argv[4]);
    else if (apf_ssim(apf_image_pixels(img), apf_image_pixels(prot), 112, 112, &ssim, NULL))
        rc = fail("ssim");
    else {
        apf_model *m = apf_probe_model(probe);
        for (int i = 0; i < N; i++) {
            x[i] = apf_image_pixels(img)[i];
            x[N + i] = apf_image_pixels(prot)[i];
        }
        int dim = apf_model_embedding_dim(m);
        if (dim > 512 || apf_model_embed(m, x, 2, 112, emb))
            rc = fail("embed");
        else {
            double cos = 0;
            for (int i = 0; i < dim; i++)
                cos += emb[i] * emb[dim + i];
            printf("%s: sent %zu bytes, received %zu; SSIM %.3f; probe similarity %.3f\n",
                   argv[4], g_size, s_size, ssim, cos);
            rc = 0;
        }
    }
    free(noise);
    free(s);
    free(g);
    free(x);
    apf_transfer_free(t);
    apf_probe_free(probe);
    apf_image_free(prot);
    apf_image_free(img);
    return rc;
}
