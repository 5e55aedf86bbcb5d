/* Evaluator: SSIM against scikit-image's golden values, thresholds, ASR. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_eval.h"
#include "apf/apf_photo.h"
#include "testutil.h"

START_TEST(ssim_matches_golden)
{
    char *txt = tu_read_file(tu_path(tu_shared_dir(), "reference/ssim/ssim_golden.json"), NULL);
    ck_assert_ptr_nonnull(txt);
    cJSON *j = cJSON_Parse(txt), *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases"))
    {
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "reference/ssim/%s", cJSON_GetObjectItem(c, "a")->valuestring);
        snprintf(pb, sizeof pb, "reference/ssim/%s", cJSON_GetObjectItem(c, "b")->valuestring);
        apf_image *a, *b;
        ck_assert_int_eq(apf_image_load(tu_path(tu_shared_dir(), pa), &a), APF_OK);
        ck_assert_int_eq(apf_image_load(tu_path(tu_shared_dir(), pb), &b), APF_OK);
        double s, per[3];
        ck_assert_int_eq(apf_ssim(apf_image_pixels(a), apf_image_pixels(b), apf_image_width(a),
                                  apf_image_height(a), &s, per), APF_OK);
        double want = cJSON_GetObjectItem(c, "ssim_mean_rgb")->valuedouble;
        ck_assert_msg(fabs(s - want) <= 1e-4, "%s: %.6f vs %.6f", pa, s, want);
        for (int k = 0; k < 3; k++)
            ck_assert(fabs(per[k] - cJSON_GetArrayItem(cJSON_GetObjectItem(c, "ssim_per_channel"), k)->valuedouble) <= 1e-4);
        apf_image_free(a);
        apf_image_free(b);
        cases++;
    }
    ck_assert_int_ge(cases, 12);
    cJSON_Delete(j);
    free(txt);
}
END_TEST

START_TEST(ssim_properties)
{
    uint8_t a[20 * 20 * 3], b[20 * 20 * 3];
    for (int i = 0; i < 1200; i++)
        a[i] = (uint8_t)(i * 37), b[i] = a[i];
    double s;
    ck_assert_int_eq(apf_ssim(a, b, 20, 20, &s, NULL), APF_OK);
    ck_assert_double_eq_tol(s, 1.0, 1e-12);
    b[600] ^= 0x40;
    ck_assert_int_eq(apf_ssim(a, b, 20, 20, &s, NULL), APF_OK);
    ck_assert_double_lt(s, 1.0);
    ck_assert_int_eq(apf_ssim(a, b, 10, 20, &s, NULL), APF_E_INVALID);
    ck_assert_int_eq(apf_ssim(NULL, b, 20, 20, &s, NULL), APF_E_INVALID);
}
END_TEST

START_TEST(thresholds)
{
    float sim[8] = {0.9f, 0.8f, 0.7f, 0.35f, 0.6f, 0.3f, 0.2f, 0.1f};
    uint8_t same[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    float t;
    double acc;
    ck_assert_int_eq(apf_threshold_best_accuracy(sim, same, 8, &t, &acc), APF_OK);
    ck_assert_double_eq_tol(acc, 7.0 / 8, 1e-12); /* 0.6 negative above 0.35 positive */
    ck_assert(t > 0.3f && t <= 0.7f);
    ck_assert_int_eq(apf_threshold_at_far(sim, same, 8, 0.0, &t), APF_OK);
    ck_assert(t > 0.6f && t < 0.6001f); /* no negative accepted */
    ck_assert_int_eq(apf_threshold_at_far(sim, same, 8, 0.25, &t), APF_OK);
    ck_assert(t > 0.3f && t <= 0.6f); /* one of four negatives may pass */
    uint8_t allpos[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    ck_assert_int_eq(apf_threshold_at_far(sim, allpos, 8, 0.001, &t), APF_E_INVALID);
    sim[2] = NAN;
    ck_assert_int_eq(apf_threshold_best_accuracy(sim, same, 8, &t, &acc), APF_E_NUMERIC);
}
END_TEST

START_TEST(asr_on_real_faces)
{
    /* Two photos each of two people: clean positives match under
     * MobileFaceNet; replacing one side by noise-scrambled copies drops them. */
    const char *paths[1] = {tu_path(tu_models_dir(), "mobilefacenet.apfm")};
    apf_evaluator *ev;
    ck_assert_int_eq(apf_evaluator_create(paths, 1, 2, &ev), APF_OK);
    const char *names[4] = {"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg",
                            "Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0002.jpg"};
    const int P = 112 * 112 * 3;
    uint8_t *f = malloc(4 * P);
    for (int k = 0; k < 4; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/lfw/aligned112/%s", names[k]);
        apf_image *im;
        ck_assert_int_eq(apf_image_load(tu_path(tu_shared_dir(), rel), &im), APF_OK);
        memcpy(f + k * P, apf_image_pixels(im), P);
        apf_image_free(im);
    }
    /* pairs: (0,1) same, (2,3) same, (0,2) diff, (1,3) diff */
    uint8_t *a = malloc(4 * P), *b = malloc(4 * P);
    int pa[4] = {0, 2, 0, 1}, pb[4] = {1, 3, 2, 3};
    uint8_t same[4] = {1, 1, 0, 0};
    for (int k = 0; k < 4; k++) {
        memcpy(a + k * P, f + pa[k] * P, P);
        memcpy(b + k * P, f + pb[k] * P, P);
    }
    ck_assert_int_eq(apf_evaluator_asr(ev, 0, a, a, b, 2, 112, &(double){0}, NULL, NULL), APF_E_STATE);
    ck_assert_int_eq(apf_evaluator_calibrate(ev, a, b, same, 4, 112), APF_OK);
    float t, ft;
    double acc;
    ck_assert_int_eq(apf_evaluator_thresholds(ev, 0, &t, &acc, &ft), APF_OK);
    ck_assert_double_eq(acc, 1.0);
    double asr;
    int before, after;
    ck_assert_int_eq(apf_evaluator_asr(ev, 0, a, a, b, 2, 112, &asr, &before, &after), APF_OK);
    ck_assert_int_eq(before, 2);
    ck_assert_double_eq(asr, 0.0);
    /* a heavily scrambled "protection" breaks matching */
    uint8_t *scr = malloc(2 * P);
    for (int i = 0; i < 2 * P; i++)
        scr[i] = (uint8_t)(a[i] ^ (i * 97 & 0xff));
    ck_assert_int_eq(apf_evaluator_asr(ev, 0, a, scr, b, 2, 112, &asr, &before, &after), APF_OK);
    ck_assert_int_eq(after, 0);
    ck_assert_double_eq(asr, 1.0);
    free(f), free(a), free(b), free(scr);
    apf_evaluator_free(ev);
}
END_TEST

Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *t = tcase_create("eval");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, ssim_matches_golden);
    tcase_add_test(t, ssim_properties);
    tcase_add_test(t, thresholds);
    tcase_add_test(t, asr_on_real_faces);
    suite_add_tcase(s, t);
    return s;
}
