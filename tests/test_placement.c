/* The probe's placement R (lib/end/placement.c): the round trip a face's
 * noise takes through its photo. R^T must be R's exact transpose (the
 * attack's gradient flows through it), a face as large in the photo as
 * aligned is left alone, and at a small scale the photo's grid drops
 * what it cannot carry. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/end/placement.h"
#include "testutil.h"

#define S 112
#define N (S * S * 3)

static unsigned seed = 777; /* tu_frand's state */

/* aligned -> photo: scale, a rotation of deg degrees, an offset */
static void matrix(double scale, double deg, double m[6])
{
    double c = cos(deg * M_PI / 180) * scale, s = sin(deg * M_PI / 180) * scale;
    m[0] = c, m[1] = -s, m[2] = 40.3;
    m[3] = s, m[4] = c, m[5] = 17.8;
}

START_TEST(backward_is_the_transpose)
{
    static const double scales[] = {0.45, 0.7, 0.93};
    double m[6];
    matrix(scales[_i], 11.0 * _i - 7.0, m);
    placement pl;
    ck_assert_int_eq(placement_init(&pl, m, S), APF_OK);
    ck_assert(pl.active);
    float *x = malloc(N * 4), *y = malloc(N * 4), *rx = malloc(N * 4), *rty = malloc(N * 4);
    for (int i = 0; i < N; i++)
        x[i] = tu_frand(&seed), y[i] = tu_frand(&seed);
    placement_forward(&pl, x, rx);
    placement_backward(&pl, y, rty);
    double a = tu_dot(rx, y, N), b = tu_dot(x, rty, N);
    ck_assert_msg(fabs(a - b) <= 1e-4 * fmax(fabs(a), 1.0), "<Rx,y> %g vs <x,R'y> %g", a, b);
    ck_assert(tu_dot(rx, rx, N) > 0);
    placement_free(&pl);
    free(x), free(y), free(rx), free(rty);
}
END_TEST

START_TEST(fades_at_the_edge_and_keeps_the_inside)
{
    double m[6];
    matrix(0.6, 0, m);
    placement pl;
    ck_assert_int_eq(placement_init(&pl, m, S), APF_OK);
    float *one = malloc(N * 4), *out = malloc(N * 4);
    for (int i = 0; i < N; i++)
        one[i] = 1.0f;
    placement_forward(&pl, one, out);
    ck_assert_float_eq_tol(out[(56 * S + 56) * 3], 1.0f, 1e-4f);
    ck_assert_float_lt(out[0], 0.05f);           /* the corner: faded out */
    ck_assert_float_lt(out[(56 * S + 1) * 3], 0.3f); /* one pixel in from the left edge */
    placement_free(&pl);
    free(one), free(out);
}
END_TEST

START_TEST(small_faces_lose_fine_noise)
{
    /* A one-pixel checkerboard, the finest noise the crop holds: at half
     * the crop's scale the photo cannot carry it, a coarse pattern it can. */
    double m[6];
    matrix(0.5, 0, m);
    placement pl;
    ck_assert_int_eq(placement_init(&pl, m, S), APF_OK);
    float *fine = malloc(N * 4), *coarse = malloc(N * 4), *out = malloc(N * 4);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                int in = x >= 16 && y >= 16 && x < S - 16 && y < S - 16;
                fine[(y * S + x) * 3 + c] = in ? (float)(((x + y) & 1) * 2 - 1) : 0.0f;
                coarse[(y * S + x) * 3 + c] = in ? (float)((((x / 8) + (y / 8)) & 1) * 2 - 1) : 0.0f;
            }
    placement_forward(&pl, fine, out);
    double kept_fine = tu_dot(out, fine, N) / tu_dot(fine, fine, N);
    placement_forward(&pl, coarse, out);
    double kept_coarse = tu_dot(out, coarse, N) / tu_dot(coarse, coarse, N);
    ck_assert_msg(kept_fine < 0.2 && kept_coarse > 0.6, "kept: fine %.3f, coarse %.3f", kept_fine,
                  kept_coarse);
    placement_free(&pl);
    free(fine), free(coarse), free(out);
}
END_TEST

START_TEST(identity_without_a_small_face)
{
    double m[6];
    matrix(1.3, 20, m);
    placement pl;
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(placement_init(&pl, k ? m : NULL, S), APF_OK);
        ck_assert(!pl.active);
        /* with a matrix the face is still in a photo: re-detected, so jittered */
        ck_assert_int_eq(pl.placed, k);
        float *x = malloc(N * 4), *out = malloc(N * 4);
        for (int i = 0; i < N; i++)
            x[i] = tu_frand(&seed);
        placement_forward(&pl, x, out);
        ck_assert_mem_eq(x, out, N * 4);
        placement_backward(&pl, x, out);
        ck_assert_mem_eq(x, out, N * 4);
        placement_free(&pl);
        free(x), free(out);
    }
}
END_TEST

START_TEST(bad_matrices)
{
    double m[6];
    placement pl;
    matrix(0.5, 0, m);
    m[4] = NAN;
    ck_assert_int_eq(placement_init(&pl, m, S), APF_E_INVALID);
    matrix(0.5, 0, m);
    m[3] = m[0], m[4] = m[1]; /* rows equal: singular */
    ck_assert_int_eq(placement_init(&pl, m, S), APF_E_INVALID);
}
END_TEST

Suite *placement_suite(void)
{
    Suite *s = suite_create("placement");
    TCase *t = tcase_create("placement");
    tcase_add_loop_test(t, backward_is_the_transpose, 0, 3);
    tcase_add_test(t, fades_at_the_edge_and_keeps_the_inside);
    tcase_add_test(t, small_faces_lose_fine_noise);
    tcase_add_test(t, identity_without_a_small_face);
    tcase_add_test(t, bad_matrices);
    suite_add_tcase(s, t);
    return s;
}
