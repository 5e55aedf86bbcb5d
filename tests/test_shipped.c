/* The shipped cloud weights load and protect: the README's main job, as a
 * test, on the bundled sample faces. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf.h"
#include "testutil.h"

#define S 112
#define PER (S * S * 3)

static const char *FACES[4] = {"Aleksander_Kwasniewski_0001.jpg", "Aleksander_Kwasniewski_0002.jpg",
                               "Ali_Naimi_0001.jpg", "Arnold_Schwarzenegger_0022.jpg"};

static float sim(apf_model *m, const uint8_t *a, const uint8_t *b)
{
    int dim = apf_model_embedding_dim(m);
    float *x = malloc(2 * PER * 4), *e = malloc(2 * dim * 4);
    for (int i = 0; i < PER; i++)
        x[i] = a[i], x[PER + i] = b[i];
    ck_assert_int_eq(apf_model_embed(m, x, 2, S, e), APF_OK);
    double d = 0;
    for (int k = 0; k < dim; k++)
        d += (double)e[k] * e[dim + k];
    free(x), free(e);
    return (float)d;
}

START_TEST(shipped_weights_protect)
{
    apf_transfer *T;
    ck_assert_int_eq(apf_transfer_load(APF_SOURCE_DIR "/weights/transfer.apfm", &T), APF_OK);
    apf_enhancer *E;
    ck_assert_int_eq(apf_enhancer_load(APF_SOURCE_DIR "/weights/joint/enhancer.apfm", &E), APF_OK);
    apf_transfer *TJ;
    ck_assert_int_eq(apf_transfer_load(APF_SOURCE_DIR "/weights/joint/transfer.apfm", &TJ), APF_OK);
    apf_transfer_set_threads(T, 2);
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.threads = 2;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    apf_model *fr;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "faceres.apfm"), &fr), APF_OK);
    apf_model_set_threads(fr, 2);
    uint8_t x[4][PER], y[4][PER];
    for (int k = 0; k < 4; k++) {
        apf_image *im;
        ck_assert_int_eq(apf_image_load(tu_path(APF_SOURCE_DIR "/examples/faces", FACES[k]), &im), APF_OK);
        memcpy(x[k], apf_image_pixels(im), PER);
        apf_image_free(im);
        void *gb, *sb;
        size_t gs, ss;
        ck_assert_int_eq(apf_probe_gradient_blob(p, x[k], NULL, 1, S, &gb, &gs), APF_OK);
        ck_assert_int_eq(apf_cloud_filter(T, NULL, gb, gs, &sb, &ss), APF_OK);
        apf_wire_info info;
        int8_t *s;
        ck_assert_int_eq(apf_wire_decode(sb, ss, &info, &s), APF_OK);
        ck_assert_int_eq(info.kind, APF_WIRE_NOISE);
        for (int i = 0; i < PER; i++)
            ck_assert(s[i] >= -8 && s[i] <= 8);
        ck_assert_int_eq(apf_apply_perturbation(x[k], s, PER, 1.0f, y[k]), APF_OK);
        double ssim;
        ck_assert_int_eq(apf_ssim(x[k], y[k], S, S, &ssim, NULL), APF_OK);
        ck_assert_double_gt(ssim, 0.8);
        /* the probe (white-box through T) no longer matches the face to itself */
        ck_assert_float_lt(sim(apf_probe_model(p), x[k], y[k]), 0.35f);
        free(s), free(sb);
        /* the joint T + E filter also runs on the same blob */
        ck_assert_int_eq(apf_cloud_filter(TJ, E, gb, gs, &sb, &ss), APF_OK);
        free(sb), free(gb);
    }
    /* faceres (a server model) matches the two photos of one person before,
     * and the protected first photo matches the second one less */
    float before = sim(fr, x[0], x[1]), after = sim(fr, y[0], x[1]);
    ck_assert_msg(after < before - 0.1f, "faceres similarity %.3f -> %.3f", before, after);
    apf_model_free(fr);
    apf_probe_free(p);
    apf_transfer_free(T);
    apf_transfer_free(TJ);
    apf_enhancer_free(E);
}
END_TEST

Suite *shipped_suite(void)
{
    Suite *s = suite_create("shipped");
    TCase *t = tcase_create("shipped");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, shipped_weights_protect);
    suite_add_tcase(s, t);
    return s;
}
