/* The input-diversity transform (lib/end/diversity.c): its backward pass
 * must be its forward pass's transpose (the attack's gradient flows through
 * it), and the blur it may add must leave the draws of a probe without the
 * blur exactly as they were, so every earlier measurement still holds. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/end/blur.h"
#include "../lib/end/diversity.h"
#include "testutil.h"

#define S 112
#define N (S * S * 3)

static unsigned seed = 4242; /* tu_frand's state */

/* random values inside a margin of 20 pixels, zero outside: the warp and
 * the blur then never reach the edges, where the blur mirrors */
static void interior_noise(float *v)
{
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                int in = x >= 20 && y >= 20 && x < S - 20 && y < S - 20;
                v[(y * S + x) * 3 + c] = in ? tu_frand(&seed) : 0.0f;
            }
}

static rng seeded(uint64_t s)
{
    rng r = {s};
    return r;
}

/* <F(x) - F(0), y> = <x, F'y>: the warp, the gains and the blur taken
 * back exactly, for transforms with and without a blur */
START_TEST(backward_is_the_transpose)
{
    float *x = malloc(N * 4), *y = malloc(N * 4), *fx = malloc(N * 4), *f0 = calloc(N, 4);
    float *zero = calloc(N, 4), *fty = calloc(N, 4), *scratch = malloc(N * 4), *tmp = malloc(N * 4);
    rng r = seeded(99 + (uint64_t)_i);
    di_transform t;
    int blurred = 0, plain = 0, blur_alone = 0;
    for (int k = 0; k < 40; k++) {
        di_draw(&r, 0.7f, 0.5f, 1.5f, S, &t);
        blurred += t.blur > 0, plain += t.active && t.blur == 0, blur_alone += !t.active && t.blur > 0;
        interior_noise(x), interior_noise(y);
        di_forward(&t, x, fx, tmp, S);
        di_forward(&t, zero, f0, tmp, S); /* the colour offset, the affine part */
        for (int i = 0; i < N; i++)
            fx[i] -= f0[i];
        memset(fty, 0, N * 4);
        di_backward(&t, y, fty, scratch, tmp, S);
        double a = tu_dot(fx, y, N), b = tu_dot(x, fty, N);
        ck_assert_msg(fabs(a - b) <= 1e-4 * fmax(fabs(a), 1.0), "draw %d (blur %.2f): <Fx,y> %g vs <x,F'y> %g",
                      k, t.blur, a, b);
    }
    ck_assert_int_gt(blurred, 5);
    ck_assert_int_gt(plain, 5);
    ck_assert_int_gt(blur_alone, 0);
    free(x), free(y), free(fx), free(f0), free(zero), free(fty), free(scratch), free(tmp);
}
END_TEST

/* Without the blur the stream of transforms does not depend on its sigma
 * and carries no blur; with it, the share and the sigmas asked for. */
START_TEST(blur_draws_as_asked)
{
    rng a = seeded(7), b = seeded(7), c = seeded(7);
    int blurred = 0;
    for (int k = 0; k < 400; k++) {
        di_transform ta, tb, tc;
        di_draw(&a, 0.5f, 0.0f, 1.5f, S, &ta);
        di_draw(&b, 0.5f, 0.0f, 6.0f, S, &tb);
        ck_assert_mem_eq(&ta, &tb, sizeof ta);
        ck_assert_float_eq(ta.blur, 0.0f);
        di_draw(&c, 0.5f, 0.25f, 2.0f, S, &tc);
        if (tc.blur > 0) {
            blurred++;
            ck_assert_float_ge(tc.blur, 0.4f);
            ck_assert_float_le(tc.blur, 2.0f);
        }
    }
    /* 400 draws at 0.25: 100 expected, sd about 9 */
    ck_assert_msg(blurred > 65 && blurred < 135, "%d of 400 draws blurred", blurred);
}
END_TEST

/* A face placed in a photo gets the re-alignment jitter wherever no warp
 * was drawn, a blur or not; a face alone gets none. */
START_TEST(placed_faces_keep_their_jitter_under_a_blur)
{
    rng r = seeded(11);
    di_transform t;
    int jittered_blur = 0;
    for (int k = 0; k < 50; k++) {
        di_draw_for(&r, 1, 0.0f, 0.5f, 1.5f, 1, S, &t);
        ck_assert(t.active); /* the jitter */
        ck_assert_float_eq(t.gain[0], 1.0f);
        jittered_blur += t.blur > 0;
        di_draw_for(&r, 1, 0.0f, 0.5f, 1.5f, 0, S, &t);
        ck_assert(!t.active);
    }
    ck_assert_int_gt(jittered_blur, 10);
    /* without input diversity: the jitter alone, no blur */
    di_draw_for(&r, 0, 0.5f, 1.0f, 1.5f, 1, S, &t);
    ck_assert(t.active);
    ck_assert_float_eq(t.blur, 0.0f);
    di_draw_for(&r, 0, 0.5f, 1.0f, 1.5f, 0, S, &t);
    ck_assert(!t.active);
    ck_assert_float_eq(t.blur, 0.0f);
}
END_TEST

/* A blur alone keeps the face where it is (no warp, no colour change)
 * and takes fine detail out: a one-pixel checkerboard fades, a flat area
 * stays as it was. */
START_TEST(blur_alone_keeps_the_face_and_softens_detail)
{
    rng r = seeded(3);
    di_transform t;
    do
        di_draw(&r, 0.0f, 0.5f, 1.5f, S, &t);
    while (t.blur < 0.8f);
    float *x = malloc(N * 4), *out = malloc(N * 4), *tmp = malloc(N * 4);
    for (int y = 0; y < S; y++)
        for (int xx = 0; xx < S; xx++)
            for (int c = 0; c < 3; c++)
                x[(y * S + xx) * 3 + c] = xx < S / 2 ? 100.0f + 50.0f * (float)((xx + y) & 1) : 200.0f;
    di_forward(&t, x, out, tmp, S);
    int mid = (S / 2 * S + 3 * S / 4) * 3; /* in the flat half */
    ck_assert_float_eq_tol(out[mid], 200.0f, 1e-3f);
    int fine = (S / 2 * S + S / 4) * 3; /* in the checkerboard: towards its mean 125 */
    ck_assert_float_lt(fabsf(out[fine] - 125.0f), 12.0f);
    free(x), free(out), free(tmp);
}
END_TEST

/* The Gaussian blur (built for AVX2 and for the baseline; the machine
 * picks one) against a direct evaluation of its definition in doubles:
 * normalised taps exp(-i^2 / 2 sigma^2), |i| <= ceil(3 sigma), rows then
 * columns, edges mirrored. */
START_TEST(blur_matches_its_definition)
{
    const float sigmas[] = {0.3f, 0.5f, 1.5f};
    float *x = malloc(N * 4), *tmp = malloc(N * 4), *y = malloc(N * 4);
    double *rows = malloc(N * sizeof *rows);
    for (int i = 0; i < N; i++)
        x[i] = 255.0f * tu_frand(&seed);
    for (int q = 0; q < 3; q++) {
        float sg = sigmas[q];
        int r = (int)ceilf(3.0f * sg);
        double k[16], sum = 0;
        for (int i = -r; i <= r; i++)
            sum += k[i + r] = exp(-0.5 * i * i / ((double)sg * sg));
        blur_hwc(x, tmp, y, S, sg);
#define MIRROR(u) ((u) < 0 ? -(u) : (u) >= S ? 2 * S - 2 - (u) : (u))
        for (int yy = 0; yy < S; yy++)
            for (int xx = 0; xx < S; xx++)
                for (int c = 0; c < 3; c++) {
                    double v = 0;
                    for (int i = -r; i <= r; i++)
                        v += k[i + r] / sum * x[(yy * S + MIRROR(xx + i)) * 3 + c];
                    rows[(yy * S + xx) * 3 + c] = v;
                }
        double worst = 0;
        for (int yy = 0; yy < S; yy++)
            for (int xx = 0; xx < S; xx++)
                for (int c = 0; c < 3; c++) {
                    double v = 0;
                    for (int i = -r; i <= r; i++)
                        v += k[i + r] / sum * rows[(MIRROR(yy + i) * S + xx) * 3 + c];
                    worst = fmax(worst, fabs(v - y[(yy * S + xx) * 3 + c]));
                }
#undef MIRROR
        ck_assert_msg(worst < 1e-3, "sigma %.1f: off by %g", sg, worst);
    }
    free(x), free(tmp), free(y), free(rows);
}
END_TEST

Suite *diversity_suite(void)
{
    Suite *s = suite_create("diversity");
    TCase *t = tcase_create("diversity");
    tcase_add_loop_test(t, backward_is_the_transpose, 0, 2);
    tcase_add_test(t, blur_draws_as_asked);
    tcase_add_test(t, blur_matches_its_definition);
    tcase_add_test(t, blur_alone_keeps_the_face_and_softens_detail);
    tcase_add_test(t, placed_faces_keep_their_jitter_under_a_blur);
    suite_add_tcase(s, t);
    return s;
}
