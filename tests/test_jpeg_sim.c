/* The probe's JPEG stand-in (lib/end/jpeg_sim.c) against libjpeg itself:
 * on real faces its round trip must land close to the file's, much
 * closer than the face itself is to its re-encoding, and a lower quality
 * must lose more. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/end/jpeg_sim.h"
#include "apf/apf_photo.h"
#include "testutil.h"
#include "tu_jpeg.h"

#define S 112
#define PER (S * S * 3)

static const char *FACES[3] = {"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0001.jpg",
                               "Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg"};

static void load(int k, apf_image **im)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/lfw/aligned112/%s", FACES[k]);
    ck_assert_int_eq(apf_image_load(tu_path(tu_shared_dir(), rel), im), APF_OK);
}

static double mean_abs(const float *a, const float *b)
{
    double s = 0;
    for (int i = 0; i < PER; i++)
        s += fabs((double)a[i] - b[i]);
    return s / PER;
}

START_TEST(close_to_libjpeg)
{
    float *x = malloc(PER * 4), *sim = malloc(PER * 4), *real = malloc(PER * 4), *scratch = malloc(PER * 4);
    for (int k = 0; k < 3; k++) {
        apf_image *im;
        load(k, &im);
        const uint8_t *px = apf_image_pixels(im);
        for (int q = 50; q <= 85; q += 5) { /* below 90 apf_image_encode_jpeg halves the chroma as the stand-in does */
            for (int i = 0; i < PER; i++)
                x[i] = sim[i] = px[i];
            jpeg_sim(sim, S, q, scratch);
            tu_jpeg_round_trip(px, S, q, real);
            double lost = mean_abs(x, real), off = mean_abs(sim, real);
            if (getenv("APF_TEST_VERBOSE")) printf("face %d q%d: libjpeg moved %.3f, stand-in off by %.3f\n", k, q, lost, off);
            ck_assert_msg(lost > 0.5, "face %d q%d: libjpeg changed only %.3f", k, q, lost);
            ck_assert_msg(off < 0.5 * lost, "face %d q%d: stand-in %.3f from libjpeg, which moved %.3f", k, q,
                          off, lost);
        }
        apf_image_free(im);
    }
    free(x), free(sim), free(real), free(scratch);
}
END_TEST

START_TEST(lower_quality_loses_more)
{
    float *x = malloc(PER * 4), *a = malloc(PER * 4), *b = malloc(PER * 4), *scratch = malloc(PER * 4);
    apf_image *im;
    load(0, &im);
    const uint8_t *px = apf_image_pixels(im);
    for (int i = 0; i < PER; i++)
        x[i] = a[i] = b[i] = px[i];
    jpeg_sim(a, S, 95, scratch);
    jpeg_sim(b, S, 30, scratch);
    ck_assert_double_lt(mean_abs(x, a), mean_abs(x, b));
    for (int i = 0; i < PER; i++)
        ck_assert(a[i] >= 0 && a[i] <= 255 && b[i] == rintf(b[i]));
    /* an odd size (edge pixels repeated into the last blocks) stays finite and close */
    float odd[37 * 37 * 3], scratch_odd[37 * 37 * 3];
    for (int i = 0; i < 37 * 37 * 3; i++)
        odd[i] = 100.0f + (float)(i % 11);
    jpeg_sim(odd, 37, 75, scratch_odd);
    for (int i = 0; i < 37 * 37 * 3; i++)
        ck_assert(fabsf(odd[i] - (100.0f + (float)(i % 11))) < 20.0f);
    apf_image_free(im);
    free(x), free(a), free(b), free(scratch);
}
END_TEST

/* The AVX2 build of the stand-in (picked at run time on CPUs with AVX2)
 * must give the baseline build's bits: the probe's g may not depend on
 * which one ran. Sizes with whole and partial 8x8 blocks and 2x2 chroma
 * cells, odd and even, sizes past one row chunk, every quality band, and
 * values in and out of 0..255. */
START_TEST(avx2_gives_the_baseline_bits)
{
    const int sizes[] = {1, 3, 8, 9, 16, 37, 64, 65, 112, 150, 200};
    const int n_sizes = (int)(sizeof sizes / sizeof sizes[0]), most = 200 * 200 * 3;
    float *a = malloc(most * 4), *b = malloc(most * 4), *scratch = malloc(most * 4);
    unsigned seed = 12345;
    int differing = 0;
    for (int t = 0; t < n_sizes; t++)
        for (int q = 1; q <= 100; q += 11) {
            int s = sizes[t], n = s * s * 3;
            for (int i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                a[i] = b[i] = (float)((seed >> 8) % 3000) / 10.0f - 20.0f; /* -20 .. 280 in tenths */
            }
            jpeg_sim(a, s, q, scratch);
            jpeg_sim_baseline(b, s, q, scratch);
            if (memcmp(a, b, (size_t)n * 4)) {
                differing++;
                printf("size %d quality %d: the two builds differ\n", s, q);
            }
        }
    ck_assert_int_eq(differing, 0);
    free(a), free(b), free(scratch);
}
END_TEST

Suite *jpeg_sim_suite(void)
{
    Suite *s = suite_create("jpeg_sim");
    TCase *t = tcase_create("core");
    tcase_add_test(t, close_to_libjpeg);
    tcase_add_test(t, lower_quality_loses_more);
    tcase_add_test(t, avx2_gives_the_baseline_bits);
    suite_add_tcase(s, t);
    return s;
}
