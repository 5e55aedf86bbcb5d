/* Cloud side: U-Net shapes, save/load, training lowers its loss, enhancer
 * gradients, the filter on good and hostile blobs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_cloud.h"
#include "testutil.h"

#define S APF_CLOUD_SIZE
#define PER (S * S * 3)

static unsigned rs = 3;
static float fr(void)
{
    rs = rs * 1664525u + 1013904223u;
    return (float)((rs >> 8) / 8388608.0 - 1.0);
}

static int8_t *ternary(int n)
{
    int8_t *g = malloc((size_t)n * PER);
    for (size_t i = 0; i < (size_t)n * PER; i++)
        g[i] = (int8_t)((int)(fr() * 1.5f));
    return g;
}

START_TEST(transfer_forward_save_load)
{
    apf_transfer *t, *u;
    ck_assert_int_eq(apf_transfer_create(8, 8.0f, 7, &t), APF_OK);
    apf_transfer_set_threads(t, 2);
    float *g = malloc(2 * PER * 4), *a = malloc(2 * PER * 4), *b = malloc(2 * PER * 4);
    for (int i = 0; i < 2 * PER; i++)
        g[i] = 8.0f * (float)((int)(fr() * 1.5f));
    ck_assert_int_eq(apf_transfer_forward(t, g, 2, 0, a), APF_OK);
    double mag = 0;
    for (int i = 0; i < 2 * PER; i++)
        mag += fabs(a[i]);
    ck_assert_double_gt(mag, 0); /* a random network is not all zeros */
    const char *path = tu_path(tu_tmpdir(), "t.apfm");
    ck_assert_int_eq(apf_transfer_save(t, path), APF_OK);
    ck_assert_int_eq(apf_transfer_load(path, &u), APF_OK);
    ck_assert_int_eq(apf_transfer_forward(u, g, 2, 0, b), APF_OK);
    for (int i = 0; i < 2 * PER; i++)
        ck_assert_float_eq_tol(a[i], b[i], 1e-5f);
    apf_transfer_free(u);
    /* a recognizer file is not a transfer network */
    ck_assert_int_eq(apf_transfer_load(tu_path(tu_models_dir(), "mobileface.apfm"), &u) != APF_OK, 1);
    g[5] = NAN;
    ck_assert_int_eq(apf_transfer_forward(t, g, 2, 0, a), APF_E_NUMERIC);
    ck_assert_int_eq(apf_transfer_backward(t, a, 3), APF_E_STATE);
    ck_assert_int_eq(apf_transfer_adam_step(t, 1e-3f), APF_E_STATE);
    ck_assert_int_eq(apf_transfer_create(2, 8.0f, 1, &u), APF_E_INVALID);
    ck_assert_int_eq(apf_transfer_create_unet(8, 1, 1, 0, 8.0f, 1, &u), APF_E_INVALID);
    ck_assert_int_eq(apf_transfer_create_unet(8, APF_TRANSFER_MAX_LEVELS + 1, 1, 0, 8.0f, 1, &u), APF_E_INVALID);
    ck_assert_int_eq(apf_transfer_create_unet(8, 3, 0, 0, 8.0f, 1, &u), APF_E_INVALID);
    /* the 3-level, 1-conv U-Net is apf_transfer_create's network, weight for weight */
    g[5] = 0;
    ck_assert_int_eq(apf_transfer_forward(t, g, 2, 0, a), APF_OK);
    ck_assert_int_eq(apf_transfer_create_unet(8, 3, 1, 0, 8.0f, 7, &u), APF_OK);
    apf_transfer_set_threads(u, 2);
    ck_assert_int_eq(apf_transfer_forward(u, g, 2, 0, b), APF_OK);
    ck_assert_int_eq(memcmp(a, b, 2 * PER * 4), 0);
    apf_transfer_free(u);
    /* residual: an untrained T returns g itself */
    ck_assert_int_eq(apf_transfer_create_unet(8, 4, 2, 1, 8.0f, 5, &u), APF_OK);
    apf_transfer_set_threads(u, 2);
    ck_assert_int_eq(apf_transfer_forward(u, g, 2, 0, b), APF_OK);
    for (int i = 0; i < 2 * PER; i++)
        ck_assert_float_eq(b[i], g[i]);
    apf_transfer_free(u);
    /* a deep one keeps its shape through save and load */
    ck_assert_int_eq(apf_transfer_create_unet(4, 5, 2, 0, 8.0f, 3, &u), APF_OK);
    ck_assert_int_eq(apf_transfer_save(u, path), APF_OK);
    apf_transfer_free(u);
    ck_assert_int_eq(apf_transfer_load(path, &u), APF_OK);
    ck_assert_int_eq(apf_transfer_forward(u, g, 2, 0, b), APF_OK);
    apf_transfer_free(u);
    free(g), free(a), free(b);
    apf_transfer_free(t);
    apf_transfer_free(NULL);
}
END_TEST

START_TEST(training_lowers_regression_loss)
{
    /* Stage-1 shape: regress a fixed target (a shifted, scaled copy of g),
     * with the original 3-level network, a 4-level one of 2 convolutions
     * per level, and the same with the residual connection. */
    static const int shapes[3][3] = {{3, 1, 0}, {4, 2, 0}, {4, 2, 1}};
    apf_transfer *t;
    ck_assert_int_eq(apf_transfer_create_unet(8, shapes[_i][0], shapes[_i][1], shapes[_i][2], 8.0f, 11, &t), APF_OK);
    apf_transfer_set_threads(t, 2);
    int n = 4;
    float *g = malloc(n * PER * 4), *tg = malloc(n * PER * 4), *y = malloc(n * PER * 4), *d = malloc(n * PER * 4);
    for (int i = 0; i < n * PER; i++) {
        g[i] = 8.0f * (float)((int)(fr() * 1.5f));
        tg[i] = 0.5f * g[i] + 1.0f;
    }
    double first = 0, last = 0;
    for (int step = 0; step < 40; step++) {
        ck_assert_int_eq(apf_transfer_forward(t, g, n, 1, y), APF_OK);
        double loss = 0;
        for (int i = 0; i < n * PER; i++) {
            float r = y[i] - tg[i];
            loss += r * r;
            d[i] = 2.0f * r / (n * PER);
        }
        loss /= n * PER;
        if (step == 0)
            first = loss;
        last = loss;
        ck_assert_int_eq(apf_transfer_backward(t, d, n), APF_OK);
        ck_assert_int_eq(apf_transfer_adam_step(t, 3e-3f), APF_OK);
    }
    /* the residual net starts with its last layer at zero, so its first
     * steps move less: it must still go clearly down */
    ck_assert_msg(last < (shapes[_i][2] ? 0.9 : 0.5) * first, "loss %g -> %g", first, last);
    free(g), free(tg), free(y), free(d);
    apf_transfer_free(t);
}
END_TEST

/* Data parallelism's premise: two workers that each back-propagate half of
 * a batch (loss scaled by the whole batch) and sum their gradient vectors
 * hold the gradient of the whole batch; set on a copy of T, one Adam step
 * gives the weights a single worker's step gives. */
START_TEST(gradient_vectors_sum_over_half_batches)
{
    apf_transfer *whole, *half;
    ck_assert_int_eq(apf_transfer_create_unet(8, 3, 1, 0, 8.0f, 21, &whole), APF_OK);
    ck_assert_int_eq(apf_transfer_create_unet(8, 3, 1, 0, 8.0f, 21, &half), APF_OK);
    int n = 4;
    size_t gn = 0, gn2 = 0;
    ck_assert_int_eq(apf_transfer_gradient_size(whole, &gn), APF_OK);
    ck_assert_int_eq(apf_transfer_gradient_size(half, &gn2), APF_OK);
    ck_assert_uint_eq(gn, gn2);
    float *g = malloc(n * PER * 4), *y = malloc(n * PER * 4), *d = malloc(n * PER * 4);
    float *gw = malloc(gn * 4), *ga = malloc(gn * 4), *gb = malloc(gn * 4);
    for (int i = 0; i < n * PER; i++)
        g[i] = 8.0f * (float)((int)(fr() * 1.5f));
    /* d loss / d y for L = mean over the whole batch of (y - 0.5 g)^2 */
#define DLOSS(t, first, count)                                                          \
    do {                                                                                \
        ck_assert_int_eq(apf_transfer_forward(t, g + (first) * PER, count, 1, y), APF_OK); \
        for (int i = 0; i < (count) * PER; i++)                                         \
            d[i] = 2.0f * (y[i] - 0.5f * g[(first) * PER + i]) / (n * PER);             \
        ck_assert_int_eq(apf_transfer_backward(t, d, count), APF_OK);                   \
    } while (0)
    DLOSS(whole, 0, n);
    ck_assert_int_eq(apf_transfer_get_gradients(whole, gw, gn), APF_OK);
    DLOSS(half, 0, n / 2);
    ck_assert_int_eq(apf_transfer_get_gradients(half, ga, gn), APF_OK);
    DLOSS(half, n / 2, n / 2);
    ck_assert_int_eq(apf_transfer_get_gradients(half, gb, gn), APF_OK);
    double worst = 0, scale = 0, apart = 0;
    for (size_t i = 0; i < gn; i++) {
        ga[i] += gb[i];
        worst = fmax(worst, fabs(ga[i] - gw[i]));
        scale = fmax(scale, fabs(gw[i]));
        apart = fmax(apart, fabs(gb[i] - gw[i]));
    }
    ck_assert_msg(scale > 0 && worst <= 1e-4 * scale, "summed halves differ by %g (scale %g)", worst, scale);
    ck_assert_msg(apart > 0.1 * scale, "one half alone is already the whole batch's gradient");
    ck_assert_int_eq(apf_transfer_set_gradients(half, ga, gn), APF_OK);
    ck_assert_int_eq(apf_transfer_get_gradients(half, gb, gn), APF_OK);
    ck_assert_int_eq(memcmp(ga, gb, gn * 4), 0);
    ck_assert_int_eq(apf_transfer_set_gradients(half, ga, gn - 1), APF_E_INVALID);
    ga[0] = NAN;
    ck_assert_int_eq(apf_transfer_set_gradients(half, ga, gn), APF_E_NUMERIC);
    ck_assert_int_eq(apf_transfer_adam_step(whole, 1e-3f), APF_OK);
    ck_assert_int_eq(apf_transfer_adam_step(half, 1e-3f), APF_OK);
    ck_assert_int_eq(apf_transfer_get_gradients(half, gb, gn), APF_E_STATE); /* the step used them */
    /* the same weights: same outputs */
    float *y2 = malloc(n * PER * 4);
    ck_assert_int_eq(apf_transfer_forward(whole, g, n, 0, y), APF_OK);
    ck_assert_int_eq(apf_transfer_forward(half, g, n, 0, y2), APF_OK);
    double dy = 0;
    for (int i = 0; i < n * PER; i++)
        dy = fmax(dy, fabs(y[i] - y2[i]));
    ck_assert_msg(dy < 1e-3, "outputs differ by %g after the step", dy);
#undef DLOSS
    free(g), free(y), free(y2), free(d), free(gw), free(ga), free(gb);
    apf_transfer_free(whole);
    apf_transfer_free(half);
}
END_TEST

START_TEST(enhancer_identity_gradient_and_file)
{
    float *u = malloc(PER * 4), *eu = malloc(PER * 4), *w = malloc(PER * 4);
    for (int i = 0; i < PER; i++)
        u[i] = 8.0f * fr();
    apf_enhancer *e, *f;
    ck_assert_int_eq(apf_enhancer_create(u, &e), APF_OK);
    ck_assert_int_eq(apf_enhancer_output(e, eu), APF_OK);
    for (int i = 0; i < PER; i++)
        ck_assert_float_eq(eu[i], u[i]); /* E starts as the identity */
    /* one Adam step along dL/dE(u) = w changes E(u) against w: L drops */
    for (int i = 0; i < PER; i++)
        w[i] = fr();
    double l0 = 0, l1 = 0;
    for (int i = 0; i < PER; i++)
        l0 += (double)w[i] * eu[i];
    ck_assert_int_eq(apf_enhancer_backward(e, w), APF_OK);
    ck_assert_int_eq(apf_enhancer_adam_step(e, 1e-2f), APF_OK);
    apf_enhancer_output(e, eu);
    for (int i = 0; i < PER; i++)
        l1 += (double)w[i] * eu[i];
    ck_assert_double_lt(l1, l0);
    const char *path = tu_path(tu_tmpdir(), "e.apfm");
    ck_assert_int_eq(apf_enhancer_save(e, path), APF_OK);
    ck_assert_int_eq(apf_enhancer_load(path, &f), APF_OK);
    float *eu2 = malloc(PER * 4);
    apf_enhancer_output(f, eu2);
    ck_assert_mem_eq(eu, eu2, PER * 4);
    apf_enhancer_free(f);
    u[0] = INFINITY;
    ck_assert_int_eq(apf_enhancer_set_universal(e, u), APF_E_NUMERIC);
    ck_assert_int_eq(apf_enhancer_load(tu_path(tu_models_dir(), "mobileface.apfm"), &f) != APF_OK, 1);
    /* gain 0: E(u) is exactly zero, and one step along w moves it off zero, against w */
    ck_assert_int_eq(apf_enhancer_set_gain(e, NAN), APF_E_NUMERIC);
    ck_assert_int_eq(apf_enhancer_set_gain(e, 17.0f), APF_E_INVALID);
    apf_enhancer_free(e);
    u[0] = 1.0f;
    ck_assert_int_eq(apf_enhancer_create(u, &e), APF_OK);
    ck_assert_int_eq(apf_enhancer_set_gain(e, 0.0f), APF_OK);
    apf_enhancer_output(e, eu);
    for (int i = 0; i < PER; i++)
        ck_assert_float_eq(eu[i], 0.0f);
    for (int i = 0; i < PER; i++)
        w[i] = u[i] / 8.0f + 0.25f * fr(); /* a loss that u helps to lower when subtracted */
    ck_assert_int_eq(apf_enhancer_backward(e, w), APF_OK);
    ck_assert_int_eq(apf_enhancer_adam_step(e, 1e-2f), APF_OK);
    apf_enhancer_output(e, eu);
    l1 = 0;
    for (int i = 0; i < PER; i++)
        l1 += (double)w[i] * eu[i];
    ck_assert_double_lt(l1, 0.0);
    free(u), free(eu), free(eu2), free(w);
    apf_enhancer_free(e);
}
END_TEST

START_TEST(filter_blobs)
{
    int8_t *g = ternary(2);
    apf_wire_info in = {APF_WIRE_GRADIENT, 3, 2, S, S, 3, 8.0f, 42};
    void *gb, *sb;
    size_t gs, ss;
    ck_assert_int_eq(apf_wire_encode(&in, g, &gb, &gs), APF_OK);
    /* T = identity, no E: s is exactly eps * g */
    ck_assert_int_eq(apf_cloud_filter(NULL, NULL, gb, gs, &sb, &ss), APF_OK);
    apf_wire_info out;
    int8_t *s;
    ck_assert_int_eq(apf_wire_decode(sb, ss, &out, &s), APF_OK);
    ck_assert_int_eq(out.kind, APF_WIRE_NOISE);
    ck_assert_uint_eq(out.model_hash, 42);
    for (int i = 0; i < 2 * PER; i++)
        ck_assert_int_eq(s[i], 8 * g[i]);
    free(s), free(sb);
    /* with a network and an enhancer: within eps */
    apf_transfer *t;
    apf_enhancer *e;
    float *u = malloc(PER * 4);
    for (int i = 0; i < PER; i++)
        u[i] = 6.0f * fr();
    ck_assert_int_eq(apf_transfer_create(8, 8.0f, 5, &t), APF_OK);
    ck_assert_int_eq(apf_enhancer_create(u, &e), APF_OK);
    ck_assert_int_eq(apf_cloud_filter(t, e, gb, gs, &sb, &ss), APF_OK);
    ck_assert_int_eq(apf_wire_decode(sb, ss, &out, &s), APF_OK);
    int nonzero = 0;
    for (int i = 0; i < 2 * PER; i++) {
        ck_assert(s[i] >= -8 && s[i] <= 8);
        nonzero += s[i] != 0;
    }
    ck_assert_int_gt(nonzero, PER);
    free(s), free(sb);
    /* hostile or wrong blobs */
    ((uint8_t *)gb)[60] ^= 1;
    ck_assert_int_eq(apf_cloud_filter(t, e, gb, gs, &sb, &ss), APF_E_CHECKSUM);
    ck_assert_ptr_null(sb);
    ck_assert_int_eq(apf_cloud_filter(t, e, gb, 10, &sb, &ss), APF_E_FORMAT);
    free(gb);
    in.kind = APF_WIRE_NOISE;
    ck_assert_int_eq(apf_wire_encode(&in, g, &gb, &gs), APF_OK);
    ck_assert_int_eq(apf_cloud_filter(t, e, gb, gs, &sb, &ss), APF_E_FORMAT);
    free(gb);
    apf_wire_info small = {APF_WIRE_GRADIENT, 0, 1, 32, 32, 3, 8.0f, 0};
    ck_assert_int_eq(apf_wire_encode(&small, g, &gb, &gs), APF_OK);
    ck_assert_int_eq(apf_cloud_filter(t, e, gb, gs, &sb, &ss), APF_E_UNSUPPORTED);
    free(gb), free(g), free(u);
    apf_transfer_free(t);
    apf_enhancer_free(e);
}
END_TEST

Suite *cloud_suite(void)
{
    Suite *s = suite_create("cloud");
    TCase *t = tcase_create("cloud");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, transfer_forward_save_load);
    tcase_add_loop_test(t, training_lowers_regression_loss, 0, 3);
    tcase_add_test(t, gradient_vectors_sum_over_half_batches);
    tcase_add_test(t, enhancer_identity_gradient_and_file);
    tcase_add_test(t, filter_blobs);
    suite_add_tcase(s, t);
    return s;
}
