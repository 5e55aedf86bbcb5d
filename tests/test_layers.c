/* Every layer's forward against a naive double-precision reference, and its
 * backward against finite differences of that forward. Graphs are built in
 * memory through the internal graph API. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eltwise.h"
#include "graph.h"
#include "testutil.h"

static unsigned rng = 12345; /* tu_frand's state */

/* ---- a tiny builder over the internal graph ---- */
static graph G;
static void g_begin(int h, int w, int c)
{
    graph_free(&G);
    G.nodes = calloc(64, sizeof(gnode));
    G.n = 1;
    G.n_out = 0;
    G.nodes[0] = (gnode){.op = OP_INPUT, .in = {-1, -1}, .h = h, .w = w, .c = c};
}
static gnode *g_add(int op, int in0, int in1, int h, int w, int c)
{
    gnode *n = &G.nodes[G.n++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in[0] = in0;
    n->in[1] = in1;
    n->h = h, n->w = w, n->c = c;
    return n;
}
static float *g_tensor(gnode *n, int k, size_t count)
{
    n->t[k] = malloc(count * sizeof(float));
    n->tn[k] = count;
    for (size_t i = 0; i < count; i++)
        n->t[k][i] = tu_frand(&rng) * 0.5f;
    return n->t[k];
}

static eng_ctx *ctx;
/* Every test starts from the same random stream, so adding or failing one
 * test does not change the data of the others (finite differences across
 * a kink depend on the exact values). */
static void setup(void)
{
    rng = 12345;
    ck_assert_int_eq(eng_ctx_create(&ctx), APF_OK);
}
static void teardown(void)
{
    graph_free(&G);
    eng_ctx_free(ctx);
}

static size_t count_of(const gnode *n, int batch) { return (size_t)batch * n->h * n->w * n->c; }

/* L = sum(w * f(x)); check dL/dx from backward along random directions
 * against central differences, and return max rel error. */
/* h: the difference step; large for linear graphs (exact up to rounding),
 * small where kinks (ReLU, clip, max) could be crossed. */
static void check_backward(int batch, float h)
{
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    gplan *p;
    ck_assert_int_eq(gplan_create(ctx, &G, batch, ENG_TRAIN_DATA, &p), APF_OK);
    size_t nin = count_of(&G.nodes[0], batch), nout = count_of(&G.nodes[G.n - 1], batch);
    float *x = malloc(nin * 4), *y = malloc(nout * 4), *w = malloc(nout * 4), *dx = malloc(nin * 4);
    float *u = malloc(nin * 4), *xp = malloc(nin * 4);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    for (size_t i = 0; i < nout; i++)
        w[i] = tu_frand(&rng);
    ck_assert_int_eq(gplan_forward(p, x, y), APF_OK);
    ck_assert_int_eq(gplan_backward(p, w, dx), APF_OK);
    for (int trial = 0; trial < 3; trial++) {
        for (size_t i = 0; i < nin; i++)
            u[i] = tu_frand(&rng);
        double analytic = 0;
        for (size_t i = 0; i < nin; i++)
            analytic += (double)dx[i] * u[i];
        double L[2];
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < nin; i++)
                xp[i] = x[i] + (s ? -h : h) * u[i];
            ck_assert_int_eq(gplan_forward(p, xp, y), APF_OK);
            L[s] = 0;
            for (size_t i = 0; i < nout; i++)
                L[s] += (double)w[i] * y[i];
        }
        double fd = (L[0] - L[1]) / (2 * h);
        ck_assert_msg(fabs(fd - analytic) <= 2e-3 * (fabs(analytic) + 1.0),
                      "op %d: fd %.6f vs backward %.6f", G.nodes[G.n - 1].op, fd, analytic);
    }
    free(x), free(y), free(w), free(dx), free(u), free(xp);
    gplan_free(p);
}

/* Naive NHWC convolution in double. */
static void conv_ref(const float *x, int n, int h, int w, int c, const gnode *nd, double *y)
{
    int g = nd->a[A_GROUPS], o = nd->c, cg = c / g, og = o / g;
    for (int b = 0; b < n; b++)
        for (int i = 0; i < nd->h; i++)
            for (int j = 0; j < nd->w; j++)
                for (int oc = 0; oc < o; oc++) {
                    double s = nd->t[1][oc];
                    int grp = oc / og;
                    for (int ki = 0; ki < nd->a[A_KH]; ki++)
                        for (int kj = 0; kj < nd->a[A_KW]; kj++) {
                            int si = i * nd->a[A_SH] - nd->a[A_PT] + ki * nd->a[A_DH];
                            int sj = j * nd->a[A_SW] - nd->a[A_PL] + kj * nd->a[A_DW];
                            if (si < 0 || si >= h || sj < 0 || sj >= w)
                                continue;
                            for (int ic = 0; ic < cg; ic++)
                                s += (double)x[(((size_t)b * h + si) * w + sj) * c + grp * cg + ic] *
                                     nd->t[0][(((size_t)oc * nd->a[A_KH] + ki) * nd->a[A_KW] + kj) * cg + ic];
                        }
                    y[(((size_t)b * nd->h + i) * nd->w + j) * o + oc] = s;
                }
}

static gnode *add_conv(int in, int o, int k, int s, int pt, int pb, int pl, int pr, int groups, int dil)
{
    const gnode *x = &G.nodes[in];
    int keff = (k - 1) * dil + 1;
    int oh = (x->h + pt + pb - keff) / s + 1, ow = (x->w + pl + pr - keff) / s + 1;
    gnode *n = g_add(OP_CONV, in, -1, oh, ow, o);
    int a[A_COUNT] = {[A_KH] = k, [A_KW] = k, [A_SH] = s, [A_SW] = s, [A_PT] = pt, [A_PB] = pb,
                      [A_PL] = pl, [A_PR] = pr, [A_GROUPS] = groups, [A_DH] = dil, [A_DW] = dil,
                      [A_COUT] = o};
    memcpy(n->a, a, sizeof a);
    g_tensor(n, 0, (size_t)o * k * k * (x->c / groups));
    g_tensor(n, 1, (size_t)o);
    return n;
}

static const int CONV_CASES[][9] = {
    /* o, k, s, pt, pb, pl, pr, groups, dil */
    {8, 3, 1, 1, 1, 1, 1, 1, 1},  /* same 3x3 */
    {8, 3, 2, 0, 1, 0, 1, 1, 1},  /* TF SAME stride 2: pad after only */
    {6, 3, 1, 1, 1, 1, 1, 6, 1},  /* depthwise */
    {6, 3, 2, 1, 1, 1, 1, 6, 1},  /* depthwise stride 2 */
    {4, 1, 1, 0, 0, 0, 0, 1, 1},  /* pointwise */
    {4, 3, 1, 2, 2, 2, 2, 1, 2},  /* dilated */
    {6, 7, 2, 0, 0, 0, 0, 2, 1},  /* grouped, valid 7x7 */
};

START_TEST(conv_forward_matches_naive)
{
    const int *cs = CONV_CASES[_i];
    g_begin(11, 10, 6);
    gnode *n = add_conv(0, cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7], cs[8]);
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    gplan *p;
    ck_assert_int_eq(gplan_create(ctx, &G, 2, 0, &p), APF_OK);
    size_t nin = count_of(&G.nodes[0], 2), nout = count_of(n, 2);
    float *x = malloc(nin * 4), *y = malloc(nout * 4);
    double *r = malloc(nout * 8);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    ck_assert_int_eq(gplan_forward(p, x, y), APF_OK);
    conv_ref(x, 2, 11, 10, 6, n, r);
    for (size_t i = 0; i < nout; i++)
        ck_assert_msg(fabs(y[i] - r[i]) <= 1e-4 * (1 + fabs(r[i])), "case %d at %zu: %f vs %f",
                      _i, i, y[i], r[i]);
    free(x), free(y), free(r);
    gplan_free(p);
}
END_TEST

START_TEST(conv_backward_matches_fd)
{
    const int *cs = CONV_CASES[_i];
    g_begin(11, 10, 6);
    add_conv(0, cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7], cs[8]);
    check_backward(2, 1e-2f);
}
END_TEST

/* Convolutions that the engine does not hand to oneDNN's backward-data
 * kernels: image-like inputs (<= 4 channels: 1x1 convolution to columns,
 * then col2im), pointwise ones (the forward 1x1 convolution with
 * transposed weights) and strided depthwise ones (dw_adjoint.c). Compare
 * them element by element with the naive adjoint. */
static const int LOWERED_CONV_CASES[][11] = {
    /* c, o, k, s, pt, pb, pl, pr, dil, h, groups */
    {3, 64, 3, 2, 0, 1, 0, 1, 1, 14, 1}, /* MobileFaceNet's first layer, TF SAME */
    {3, 16, 7, 2, 3, 3, 3, 3, 1, 15, 1}, /* ResNet stem */
    {3, 8, 3, 1, 1, 1, 1, 1, 1, 9, 1},   /* same 3x3 */
    {1, 5, 5, 3, 2, 0, 1, 2, 1, 13, 1},  /* greyscale, odd stride, uneven pads */
    {4, 8, 3, 1, 2, 2, 2, 2, 2, 10, 1},  /* dilated */
    {3, 4, 2, 2, 0, 0, 0, 0, 1, 7, 1},   /* 2x2 stride 2: last row and column unread */
    {16, 40, 1, 1, 0, 0, 0, 0, 1, 7, 1}, /* pointwise expansion */
    {40, 16, 1, 1, 0, 0, 0, 0, 1, 7, 1}, /* pointwise projection */
    {13, 7, 1, 1, 0, 0, 0, 0, 1, 5, 1},  /* pointwise, channels off the vector width */
    {64, 24, 1, 1, 0, 0, 0, 0, 1, 1, 1}, /* pointwise on 1 x 2 pixels (embedding head) */
    {16, 16, 3, 2, 1, 1, 1, 1, 1, 12, 16}, /* depthwise stride 2 */
    {20, 20, 3, 2, 0, 1, 0, 1, 1, 13, 20}, /* depthwise TF SAME stride 2, off the vector width */
    {8, 8, 5, 3, 2, 0, 1, 2, 1, 14, 8},    /* depthwise stride 3, uneven pads */
    {8, 8, 3, 2, 2, 2, 2, 2, 2, 11, 8},    /* depthwise dilated, stride 2 */
    {8, 8, 2, 2, 0, 0, 0, 0, 1, 7, 8},     /* depthwise 2x2 stride 2, unread last row/column */
};

START_TEST(lowered_conv_backward_matches_adjoint)
{
    const int *cs = LOWERED_CONV_CASES[_i];
    int c = cs[0], h = cs[9], w = cs[9] + 1, batch = 2, groups = cs[10];
    g_begin(h, w, c);
    gnode *n = add_conv(0, cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7], groups, cs[8]);
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    gplan *p;
    ck_assert_int_eq(gplan_create(ctx, &G, batch, ENG_TRAIN_DATA, &p), APF_OK);
    size_t nin = count_of(&G.nodes[0], batch), nout = count_of(n, batch);
    float *x = malloc(nin * 4), *y = malloc(nout * 4), *dy = malloc(nout * 4), *dx = malloc(nin * 4);
    double *ref = calloc(nin, sizeof *ref);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    for (size_t i = 0; i < nout; i++)
        dy[i] = tu_frand(&rng);
    ck_assert_int_eq(gplan_forward(p, x, y), APF_OK);
    ck_assert_int_eq(gplan_backward(p, dy, dx), APF_OK);
    int k = cs[2], o = cs[1], cg = c / groups, og = o / groups;
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < n->h; i++)
            for (int j = 0; j < n->w; j++)
                for (int oc = 0; oc < o; oc++)
                    for (int ki = 0; ki < k; ki++)
                        for (int kj = 0; kj < k; kj++) {
                            int si = i * cs[3] - cs[4] + ki * cs[8], sj = j * cs[3] - cs[6] + kj * cs[8];
                            if (si < 0 || si >= h || sj < 0 || sj >= w)
                                continue;
                            for (int ic = 0; ic < cg; ic++)
                                ref[(((size_t)b * h + si) * w + sj) * c + oc / og * cg + ic] +=
                                    (double)dy[(((size_t)b * n->h + i) * n->w + j) * o + oc] *
                                    n->t[0][(((size_t)oc * k + ki) * k + kj) * cg + ic];
                        }
    for (size_t i = 0; i < nin; i++)
        ck_assert_msg(fabs(dx[i] - ref[i]) <= 1e-4 * (1 + fabs(ref[i])), "case %d at %zu: %f vs %f",
                      _i, i, dx[i], ref[i]);
    /* The layer alone, into a buffer of NaNs (a plan's buffers start zeroed,
     * a reused one does not): every element must be written. */
    eng_conv_desc d = {.n = batch, .h = h, .w = w, .c = c, .o = o, .kh = k, .kw = k, .sh = cs[3],
                       .sw = cs[3], .pt = cs[4], .pb = cs[5], .pl = cs[6], .pr = cs[7],
                       .groups = groups, .dh = cs[8], .dw = cs[8], .oh = n->h, .ow = n->w};
    eng_layer *l;
    ck_assert_int_eq(eng_conv_create(ctx, &d, ENG_TRAIN_DATA, &l), APF_OK);
    ck_assert_int_eq(eng_layer_set_weights(l, n->t[0], n->t[1]), APF_OK);
    /* with guard floats on both sides, which must stay untouched */
    enum { GUARD = 64 };
    float *dxg = malloc((nin + 2 * GUARD) * sizeof *dxg);
    for (size_t i = 0; i < nin + 2 * GUARD; i++)
        dxg[i] = i < GUARD || i >= nin + GUARD ? 1234.5f : NAN;
    ck_assert_int_eq(eng_layer_backward_data(l, dy, dxg + GUARD), APF_OK);
    for (size_t i = 0; i < nin; i++)
        ck_assert_msg(fabs(dxg[GUARD + i] - ref[i]) <= 1e-4 * (1 + fabs(ref[i])),
                      "case %d alone at %zu: %f vs %f", _i, i, dxg[GUARD + i], ref[i]);
    for (size_t i = 0; i < GUARD; i++)
        ck_assert_msg(dxg[i] == 1234.5f && dxg[nin + GUARD + i] == 1234.5f,
                      "case %d: wrote outside dsrc", _i);
    free(dxg);
    eng_layer_free(l);
    free(x), free(y), free(dy), free(dx), free(ref);
    gplan_free(p);
}
END_TEST

START_TEST(conv_clip_fused_backward)
{
    /* conv followed by relu6 runs as one primitive with a post-op */
    g_begin(9, 9, 4);
    gnode *c = add_conv(0, 8, 3, 1, 1, 1, 1, 1, 1, 1);
    gnode *r = g_add(OP_CLIP, 1, -1, c->h, c->w, c->c);
    r->f[0] = 0.0f, r->f[1] = 0.3f;
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    ck_assert_int_eq(G.nodes[2].fused_into, 1);
    check_backward(1, 2e-4f);
}
END_TEST

START_TEST(elementwise_backward)
{
    /* conv -> prelu -> scale_shift -> add(residual) -> clip -> pad -> gap -> fc */
    g_begin(8, 8, 4);
    gnode *c = add_conv(0, 4, 3, 1, 1, 1, 1, 1, 1, 1);
    gnode *pr = g_add(OP_PRELU, 1, -1, c->h, c->w, 4);
    g_tensor(pr, 0, 4);
    gnode *ss = g_add(OP_SCALE_SHIFT, 2, -1, 8, 8, 4);
    g_tensor(ss, 0, 4);
    g_tensor(ss, 1, 4);
    g_add(OP_ADD, 3, 0, 8, 8, 4);
    gnode *cl = g_add(OP_CLIP, 4, -1, 8, 8, 4);
    cl->f[0] = -0.5f, cl->f[1] = 0.5f;
    gnode *pd = g_add(OP_PAD, 5, -1, 8 + 1 + 2, 8 + 0 + 1, 4 + 3);
    pd->a[A_PT] = 1, pd->a[A_PB] = 2, pd->a[A_PL] = 0, pd->a[A_PR] = 1, pd->a[A_CPAD] = 3;
    g_add(OP_GAP, 6, -1, 1, 1, 7);
    gnode *fc = g_add(OP_FC, 7, -1, 1, 1, 5);
    fc->a[A_COUT] = 5;
    g_tensor(fc, 0, 5 * 7);
    g_tensor(fc, 1, 5);
    check_backward(2, 2e-4f);
}
END_TEST

/* Forward output and input gradient of the current graph at batch 2, from
 * a training plan; also the inference plan's output in y_inf. */
static void run_plans(const float *x, float *y, float *y_inf, const float *dy, float *dx)
{
    gplan *p, *q;
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    ck_assert_int_eq(gplan_create(ctx, &G, 2, ENG_TRAIN_DATA, &p), APF_OK);
    ck_assert_int_eq(gplan_create(ctx, &G, 2, 0, &q), APF_OK);
    ck_assert_int_eq(gplan_forward(p, x, y), APF_OK);
    ck_assert_int_eq(gplan_backward(p, dy, dx), APF_OK);
    ck_assert_int_eq(gplan_forward(q, x, y_inf), APF_OK);
    gplan_free(p);
    gplan_free(q);
}

/* A PReLU that is the only reader of a conv's output overwrites it and
 * keeps a byte mask for the backward pass. Differential check: the same
 * graph with the convs also listed as outputs (so nothing runs in place)
 * must give bit-identical outputs and input gradients, with positive,
 * zero and negative slopes (a negative slope makes the output's sign
 * useless as a mask, which is why the mask exists). */
START_TEST(prelu_in_place_matches_out_of_place)
{
    g_begin(9, 8, 5);
    gnode *c1 = add_conv(0, 8, 3, 1, 1, 1, 1, 1, 1, 1);
    gnode *p1 = g_add(OP_PRELU, 1, -1, c1->h, c1->w, 8);
    float *a1 = g_tensor(p1, 0, 8);
    gnode *c2 = add_conv(2, 8, 1, 1, 0, 0, 0, 0, 1, 1);
    gnode *p2 = g_add(OP_PRELU, 3, -1, c2->h, c2->w, 8);
    g_tensor(p2, 0, 8);
    a1[0] = 0.0f, a1[1] = -0.4f, a1[2] = 0.3f;
    size_t nin = count_of(&G.nodes[0], 2), nout = count_of(p2, 2);
    float *x = malloc(nin * 4), *dy = malloc(nout * 4), *y[4], *dx[2];
    for (int k = 0; k < 4; k++)
        y[k] = malloc(nout * 4);
    dx[0] = malloc(nin * 4), dx[1] = malloc(nin * 4);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    for (size_t i = 0; i < nout; i++)
        dy[i] = tu_frand(&rng);
    run_plans(x, y[0], y[1], dy, dx[0]);
    G.n_out = 3, G.out[0] = 4, G.out[1] = 1, G.out[2] = 3;
    run_plans(x, y[2], y[3], dy, dx[1]);
    for (int k = 1; k < 4; k++)
        ck_assert_msg(memcmp(y[0], y[k], nout * 4) == 0, "forward %d differs", k);
    ck_assert_msg(memcmp(dx[0], dx[1], nin * 4) == 0, "input gradient differs");
    free(x), free(dy), free(y[0]), free(y[1]), free(y[2]), free(y[3]), free(dx[0]), free(dx[1]);
}
END_TEST

/* Residual blocks whose add hands one gradient buffer to both inputs
 * (graph.c, assign_buffers): MobileFaceNet's shape (the add's first input
 * a conv), mobileface's (a PReLU, whose in-place backward must not get the
 * shared buffer), and a block input read again before the add (must not
 * share), each checked against finite differences. */
START_TEST(residual_gradient_sharing)
{
    g_begin(8, 8, 4);
    gnode *stem = add_conv(0, 8, 3, 1, 1, 1, 1, 1, 1, 1);      /* 1: the block input */
    if (_i == 2) { /* the block input read again between the branch and the add: no sharing */
        add_conv(1, 8, 1, 1, 0, 0, 0, 0, 1, 1);                /* 2 */
        add_conv(1, 8, 1, 1, 0, 0, 0, 0, 1, 1);                /* 3 */
        g_add(OP_ADD, 2, 1, stem->h, stem->w, 8);              /* 4 */
        g_add(OP_ADD, 4, 3, stem->h, stem->w, 8);              /* 5 */
        add_conv(5, 4, 1, 1, 0, 0, 0, 0, 1, 1);
        check_backward(2, 1e-2f); /* linear: exact up to rounding */
        return;
    }
    gnode *e = add_conv(1, 8, 1, 1, 0, 0, 0, 0, 1, 1);         /* 2: expand */
    gnode *pr = g_add(OP_PRELU, 2, -1, e->h, e->w, 8);          /* 3 */
    float *a = g_tensor(pr, 0, 8);
    gnode *last = add_conv(3, 8, 1, 1, 0, 0, 0, 0, 1, 1);      /* 4: project */
    if (_i) {                                                   /* end the branch on a PReLU */
        gnode *p2 = g_add(OP_PRELU, 4, -1, last->h, last->w, 8); /* 5 */
        float *a2 = g_tensor(p2, 0, 8);
        for (int k = 0; k < 8; k++)
            a2[k] = 0.5f;
        last = p2;
    }
    g_add(OP_ADD, G.n - 1, 1, stem->h, stem->w, 8);
    add_conv(G.n - 1, 4, 1, 1, 0, 0, 0, 0, 1, 1);
    for (int k = 0; k < 8; k++)
        a[k] = 0.5f;
    (void)last;
    check_backward(2, 1e-3f);
}
END_TEST

START_TEST(pool_backward)
{
    g_begin(9, 9, 3);
    gnode *mp = g_add(OP_MAXPOOL, 0, -1, 4, 4, 3);
    int a[A_COUNT] = {[A_KH] = 3, [A_KW] = 3, [A_SH] = 2, [A_SW] = 2};
    memcpy(mp->a, a, sizeof a);
    gnode *ap = g_add(OP_AVGPOOL, 1, -1, 2, 2, 3);
    int b[A_COUNT] = {[A_KH] = 2, [A_KW] = 2, [A_SH] = 2, [A_SW] = 2};
    memcpy(ap->a, b, sizeof b);
    check_backward(2, 2e-4f);
}
END_TEST

START_TEST(fc_on_spatial_input)
{
    g_begin(3, 2, 4);
    gnode *fc = g_add(OP_FC, 0, -1, 1, 1, 6);
    fc->a[A_COUT] = 6;
    g_tensor(fc, 0, 6 * 24);
    g_tensor(fc, 1, 6);
    check_backward(3, 1e-2f);
}
END_TEST

START_TEST(conv_weight_gradient_matches_fd)
{
    /* The cloud U-Net trains its convs: check backward-to-weights. */
    const int *cs = CONV_CASES[_i];
    eng_conv_desc d = {2, 9, 8, 6, cs[0], cs[1], cs[1], cs[2], cs[2], cs[3], cs[4], cs[5], cs[6],
                       cs[7], cs[8], cs[8], 0, 0, 0, 0, 0};
    int keff = (cs[1] - 1) * cs[8] + 1;
    d.oh = (9 + cs[3] + cs[4] - keff) / cs[2] + 1;
    d.ow = (8 + cs[5] + cs[6] - keff) / cs[2] + 1;
    eng_layer *l;
    ck_assert_int_eq(eng_conv_create(ctx, &d, ENG_TRAIN_DATA | ENG_TRAIN_WEIGHTS, &l), APF_OK);
    size_t nw = (size_t)cs[0] * cs[1] * cs[1] * (6 / cs[7]), nb = cs[0];
    size_t nin = 2 * 9 * 8 * 6, nout = (size_t)2 * d.oh * d.ow * cs[0];
    float *wt = malloc(nw * 4), *bias = malloc(nb * 4), *x = malloc(nin * 4), *y = malloc(nout * 4);
    float *dy = malloc(nout * 4), *dw = malloc(nw * 4), *db = malloc(nb * 4), *wp = malloc(nw * 4);
    for (size_t i = 0; i < nw; i++)
        wt[i] = tu_frand(&rng);
    for (size_t i = 0; i < nb; i++)
        bias[i] = tu_frand(&rng);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    for (size_t i = 0; i < nout; i++)
        dy[i] = tu_frand(&rng);
    ck_assert_int_eq(eng_layer_set_weights(l, wt, bias), APF_OK);
    ck_assert_int_eq(eng_layer_backward_weights(l, x, dy, dw, db), APF_OK);
    /* the loss is linear in w, so a central difference is exact up to rounding */
    for (int probe = 0; probe < 5; probe++) {
        size_t k = (size_t)(rng % nw);
        rng = rng * 1664525u + 1013904223u;
        double L[2];
        for (int s = 0; s < 2; s++) {
            memcpy(wp, wt, nw * 4);
            wp[k] += s ? -0.01f : 0.01f;
            ck_assert_int_eq(eng_layer_set_weights(l, wp, bias), APF_OK);
            ck_assert_int_eq(eng_layer_forward(l, x, y), APF_OK);
            L[s] = 0;
            for (size_t i = 0; i < nout; i++)
                L[s] += (double)dy[i] * y[i];
        }
        double fd = (L[0] - L[1]) / 0.02;
        ck_assert_msg(fabs(fd - dw[k]) <= 1e-2 * (1 + fabs(fd)), "dw[%zu] %f vs fd %f", k, dw[k], fd);
    }
    double sum = 0;
    for (size_t i = 0; i < nout; i++)
        sum += dy[i];
    double dbs = 0;
    for (size_t i = 0; i < nb; i++)
        dbs += db[i];
    ck_assert_msg(fabs(sum - dbs) < 1e-3 * (1 + fabs(sum)), "bias grad sum %f vs %f", dbs, sum);
    free(wt), free(bias), free(x), free(y), free(dy), free(dw), free(db), free(wp);
    eng_layer_free(l);
}
END_TEST

START_TEST(unet_ops_backward)
{
    /* conv(s2) -> upsample x2 -> concat with the input -> conv: the U-Net's skeleton */
    g_begin(8, 8, 3);
    gnode *c = add_conv(0, 4, 3, 2, 0, 1, 0, 1, 1, 1); /* 4x4x4 */
    gnode *up = g_add(OP_UPSAMPLE, 1, -1, 8, 8, 4);
    up->a[A_KH] = 2, up->a[A_KW] = 2;
    g_add(OP_CONCAT, 2, 0, 8, 8, 7);
    add_conv(3, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    (void)c;
    check_backward(2, 1e-2f);
}
END_TEST

START_TEST(plan_weight_gradients)
{
    /* L = sum(w * f(x)) over a small U-Net-like graph with a ReLU; every
     * conv's weight gradient from the plan matches central differences. */
    g_begin(8, 8, 3);
    add_conv(0, 4, 3, 2, 0, 1, 0, 1, 1, 1);
    gnode *r = g_add(OP_CLIP, 1, -1, 4, 4, 4);
    r->f[0] = 0, r->f[1] = 3e38f;
    gnode *up = g_add(OP_UPSAMPLE, 2, -1, 8, 8, 4);
    up->a[A_KH] = 2, up->a[A_KW] = 2;
    g_add(OP_CONCAT, 3, 0, 8, 8, 7);
    add_conv(4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    gplan *p;
    ck_assert_int_eq(gplan_create(ctx, &G, 2, ENG_TRAIN_DATA | ENG_TRAIN_WEIGHTS, &p), APF_OK);
    size_t nin = 2 * 8 * 8 * 3, nout = nin;
    float *x = malloc(nin * 4), *y = malloc(nout * 4), *w = malloc(nout * 4);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    for (size_t i = 0; i < nout; i++)
        w[i] = tu_frand(&rng);
    ck_assert_int_eq(gplan_forward(p, x, y), APF_OK);
    ck_assert_int_eq(gplan_backward(p, w, NULL), APF_OK);
    int convs[2] = {1, 5};
    for (int ci = 0; ci < 2; ci++) {
        int j = convs[ci];
        const float *db, *dw = gplan_weight_grad(p, j, &db);
        ck_assert_ptr_nonnull(dw);
        float *dwc = malloc(G.nodes[j].tn[0] * 4);
        memcpy(dwc, dw, G.nodes[j].tn[0] * 4);
        for (int probe = 0; probe < 4; probe++) {
            size_t k = (size_t)(probe * 7919 + ci * 13) % G.nodes[j].tn[0];
            float keep = G.nodes[j].t[0][k];
            double L[2];
            for (int s2 = 0; s2 < 2; s2++) {
                G.nodes[j].t[0][k] = keep + (s2 ? -1e-3f : 1e-3f);
                ck_assert_int_eq(gplan_refresh_weights(p, j), APF_OK);
                ck_assert_int_eq(gplan_forward(p, x, y), APF_OK);
                L[s2] = 0;
                for (size_t i = 0; i < nout; i++)
                    L[s2] += (double)w[i] * y[i];
            }
            G.nodes[j].t[0][k] = keep;
            gplan_refresh_weights(p, j);
            double fd = (L[0] - L[1]) / 2e-3;
            ck_assert_msg(fabs(fd - dwc[k]) <= 1e-2 * (1 + fabs(fd)), "conv %d dw[%zu] %f vs fd %f", j, k,
                          dwc[k], fd);
        }
        free(dwc);
    }
    ck_assert_ptr_null(gplan_weight_grad(p, 2, NULL));
    free(x), free(y), free(w);
    gplan_free(p);
}
END_TEST

START_TEST(inference_plan_reuses_buffers)
{
    /* A long chain must give identical results with recycled buffers. */
    g_begin(8, 8, 4);
    int prev = 0;
    for (int k = 0; k < 6; k++) {
        gnode *c = add_conv(prev, 4, 3, 1, 1, 1, 1, 1, 1, 1);
        (void)c;
        gnode *pr = g_add(OP_PRELU, G.n - 1, -1, 8, 8, 4);
        g_tensor(pr, 0, 4);
        gnode *ad = g_add(OP_ADD, G.n - 1, prev, 8, 8, 4);
        (void)ad;
        prev = G.n - 1;
    }
    G.n_out = 1, G.out[0] = G.n - 1;
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
    gplan *inf, *tr;
    ck_assert_int_eq(gplan_create(ctx, &G, 2, 0, &inf), APF_OK);
    ck_assert_int_eq(gplan_create(ctx, &G, 2, ENG_TRAIN_DATA, &tr), APF_OK);
    /* plan buffers start on cache lines (vector loads must not straddle two) */
    ck_assert_uint_eq((uintptr_t)gplan_output(inf, 0) % 64, 0);
    ck_assert_uint_eq((uintptr_t)gplan_output(tr, 0) % 64, 0);
    size_t nin = 2 * 8 * 8 * 4;
    /* The training plan's gradients reuse the activation buffers the
     * backward pass does not read: one tensor more than inference (three),
     * not three more as with separate pools. */
    ck_assert_uint_le(gplan_buffer_bytes(tr), gplan_buffer_bytes(inf) + nin * sizeof(float));
    float *x = malloc(nin * 4), *y1 = malloc(nin * 4), *y2 = malloc(nin * 4);
    for (size_t i = 0; i < nin; i++)
        x[i] = tu_frand(&rng);
    ck_assert_int_eq(gplan_forward(inf, x, y1), APF_OK);
    ck_assert_int_eq(gplan_forward(tr, x, y2), APF_OK);
    for (size_t i = 0; i < nin; i++)
        ck_assert_float_eq(y1[i], y2[i]);
    ck_assert_int_eq(gplan_backward(inf, y1, x), APF_E_STATE);
    free(x), free(y1), free(y2);
    gplan_free(inf);
    gplan_free(tr);
}
END_TEST

/* Index of the first y[i] that differs from the plain loop of `what`
 * (0 PReLU, 1 its backward, 2 add), or n. */
static size_t first_diff(const float *y, const float *x, const float *dy, const float *a, size_t n,
                         int c, int what)
{
    for (size_t i = 0; i < n; i++) {
        float want = what == 2 ? x[i] + dy[i]
                               : (x[i] > 0 ? 1.0f : a[i % c]) * (what ? dy[i] : x[i]);
        if (y[i] != want)
            return i;
    }
    return n;
}

/* The vectorised element-wise kernels against plain loops (PReLU forward
 * plain and masked, masked backward, add): channel counts that leave vector
 * tails, pixel counts on both sides of the threading threshold, in place,
 * and an add written over one of its inputs. Results must be bit-identical
 * (each output is one multiply or one add). */
START_TEST(eltwise_kernels_match_plain_loops)
{
    const int chans[] = {1, 3, 5, 8, 13, 64};
    const size_t pix[] = {1, 7, 6000};
    for (int ci = 0; ci < 6; ci++)
        for (int pi = 0; pi < 3; pi++) {
            int c = chans[ci];
            size_t n = pix[pi] * c;
            float *x = malloc(n * 4), *dy = malloc(n * 4), *y = malloc(n * 4), *a = malloc(c * 4);
            for (size_t i = 0; i < n; i++)
                x[i] = tu_frand(&rng), dy[i] = tu_frand(&rng);
            x[0] = 0.0f; /* the kink itself counts as negative */
            for (int k = 0; k < c; k++)
                a[k] = tu_frand(&rng);
            eltw_prelu_fwd(x, y, a, pix[pi], c);
            ck_assert_msg(first_diff(y, x, dy, a, n, c, 0) == n, "prelu c=%d at %zu", c,
                          first_diff(y, x, dy, a, n, c, 0));
            unsigned char *m = malloc(n);
            float *z = malloc(n * 4);
            eltw_prelu_fwd_masked(x, z, m, a, pix[pi], c);
            ck_assert_msg(first_diff(z, x, dy, a, n, c, 0) == n, "masked prelu c=%d", c);
            size_t wrong = 0;
            for (size_t i = 0; i < n; i++)
                wrong += m[i] != (x[i] > 0);
            ck_assert_msg(wrong == 0, "mask c=%d: %zu wrong", c, wrong);
            memcpy(z, x, n * 4);
            memset(m, 2, n);
            eltw_prelu_fwd_masked(z, z, m, a, pix[pi], c); /* in place, keeping x > 0 */
            ck_assert_msg(first_diff(z, x, dy, a, n, c, 0) == n, "in-place masked prelu c=%d", c);
            wrong = 0;
            for (size_t i = 0; i < n; i++)
                wrong += m[i] != (x[i] > 0);
            ck_assert_msg(wrong == 0, "in-place mask c=%d: %zu wrong", c, wrong);
            eltw_prelu_bwd_masked(m, dy, y, a, pix[pi], c);
            ck_assert_msg(first_diff(y, x, dy, a, n, c, 1) == n, "prelu' c=%d at %zu", c,
                          first_diff(y, x, dy, a, n, c, 1));
            memcpy(y, dy, n * 4); /* in place, as the backward pass runs it */
            eltw_prelu_bwd_masked(m, y, y, a, pix[pi], c);
            ck_assert_msg(first_diff(y, x, dy, a, n, c, 1) == n, "in-place prelu' c=%d at %zu", c,
                          first_diff(y, x, dy, a, n, c, 1));
            free(z), free(m);
            memcpy(y, x, n * 4);
            eltw_add(y, dy, y, n);
            ck_assert_msg(first_diff(y, x, dy, a, n, c, 2) == n, "add c=%d at %zu", c,
                          first_diff(y, x, dy, a, n, c, 2));
            free(x), free(dy), free(y), free(a);
        }
}
END_TEST

START_TEST(graph_rejects_bad_shapes)
{
    g_begin(8, 8, 4);
    gnode *c = add_conv(0, 4, 3, 1, 1, 1, 1, 1, 1, 1);
    c->h = 9; /* stored shape disagrees with the attributes */
    ck_assert_int_eq(graph_finalize(&G), APF_E_FORMAT);
    c->h = 8;
    c->tn[0]--; /* weight count off by one */
    ck_assert_int_eq(graph_finalize(&G), APF_E_FORMAT);
    c->tn[0]++;
    c->in[0] = 1; /* reads its own output */
    ck_assert_int_eq(graph_finalize(&G), APF_E_FORMAT);
    c->in[0] = 0;
    c->t[0][0] = NAN;
    ck_assert_int_eq(graph_finalize(&G), APF_E_NUMERIC);
    c->t[0][0] = 0;
    c->a[A_GROUPS] = 3;
    ck_assert_int_eq(graph_finalize(&G), APF_E_FORMAT);
    c->a[A_GROUPS] = 1;
    ck_assert_int_eq(graph_finalize(&G), APF_OK);
}
END_TEST

/* apf_warp_affine on colour images takes AVX2 for rows of eight points
 * whose taps lie inside (when the CPU has it; this file also runs against
 * the baseline build): every value must be the plain per-point bilinear
 * sum's to the bit (coordinates in double, weights and sums in float, the
 * taps in order), and the adjoint's the plain serial scatter's, for
 * matrices that turn, scale, shift and reach outside the source, on sizes
 * that leave a partial group of eight. */
static void bilinear_reference(float *src, int sh, int sw, float *dst, int dh, int dw, const double m[6],
                               int clamp, int adjoint)
{
    if (!adjoint)
        memset(dst, 0, (size_t)dh * dw * 3 * sizeof *dst);
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            double sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
            if (clamp) {
                sx = fmin(fmax(sx, 0.0), sw - 1.0), sy = fmin(fmax(sy, 0.0), sh - 1.0);
            } else if (!(sx > -1.0 && sx < sw && sy > -1.0 && sy < sh)) {
                continue;
            }
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            float ax = (float)(sx - x0), ay = (float)(sy - y0);
            float w[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
            for (int k = 0; k < 4; k++) {
                int xs = x0 + (k & 1), ys = y0 + (k >> 1);
                if (clamp) /* the far edge's tap on the edge pixel, with weight 0 */
                    xs = xs < sw ? xs : sw - 1, ys = ys < sh ? ys : sh - 1;
                if (xs < 0 || xs >= sw || ys < 0 || ys >= sh || w[k] == 0.0f)
                    continue;
                float *sv = src + ((size_t)ys * sw + xs) * 3, *dv = dst + ((size_t)y * dw + x) * 3;
                for (int c = 0; c < 3; c++)
                    if (adjoint)
                        sv[c] += w[k] * dv[c];
                    else
                        dv[c] += w[k] * sv[c];
            }
        }
}

START_TEST(warp_matches_the_plain_bilinear_sum)
{
    int threads_before = omp_get_max_threads();
    const int sizes[][4] = {{112, 112, 112, 112}, {150, 150, 112, 112}, {37, 53, 29, 61}, {83, 83, 112, 112}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int sh = sizes[t][0], sw = sizes[t][1], dh = sizes[t][2], dw = sizes[t][3];
        float *src = malloc((size_t)sh * sw * 3 * sizeof *src);
        float *a = malloc((size_t)dh * dw * 3 * sizeof *a), *b = malloc((size_t)dh * dw * 3 * sizeof *b);
        float *ga = malloc((size_t)sh * sw * 3 * sizeof *ga), *gb = malloc((size_t)sh * sw * 3 * sizeof *gb);
        for (int i = 0; i < sh * sw * 3; i++)
            src[i] = tu_frand(&rng) * 255.0f;
        for (int k = 0; k < 12; k++) {
            double turn = (tu_frand(&rng) - 0.5) * 0.6, scale = 0.6 + 0.8 * tu_frand(&rng);
            double c = cos(turn) * scale * sw / dw, s = sin(turn) * scale * sh / dh;
            /* k = 0: a shift by a whole pixel (weights of exactly 0 and 1) */
            const double m[6] = {k ? c : 1, k ? -s : 0, k ? (tu_frand(&rng) - 0.3) * sw * 0.3 : 1,
                                 k ? s : 0, k ? c : 1, k ? (tu_frand(&rng) - 0.3) * sh * 0.3 : -2};
            ck_assert_int_eq(apf_warp_affine(src, sh, sw, 3, a, dh, dw, m, 0), APF_OK);
            bilinear_reference(src, sh, sw, b, dh, dw, m, 0, 0);
            ck_assert_msg(!memcmp(a, b, (size_t)dh * dw * 3 * sizeof *a), "size %zu matrix %d differs", t, k);
            /* the adjoint, added into a source that is not zero (on one
             * core and on the band split of two) */
            for (int threads = 1; threads <= 2; threads++) {
                for (int i = 0; i < sh * sw * 3; i++)
                    ga[i] = gb[i] = (float)(i % 7) - 3.0f;
                omp_set_num_threads(threads);
                ck_assert_int_eq(apf_warp_affine(ga, sh, sw, 3, a, dh, dw, m, 1), APF_OK);
                bilinear_reference(gb, sh, sw, a, dh, dw, m, 0, 1);
                ck_assert_msg(!memcmp(ga, gb, (size_t)sh * sw * 3 * sizeof *ga), "size %zu matrix %d: adjoint on %d differs",
                              t, k, threads);
            }
        }
        free(src), free(a), free(b), free(ga), free(gb);
    }
    omp_set_num_threads(threads_before);
}
END_TEST

/* apf_resize on colour images reads each tap's three channels with one
 * 4-wide load: the same bits as bilinear_reference with the resize's
 * matrix and the edge clamp (the taps summed in order; the adjoint a
 * serial scatter), on one core and two, up and down, including the
 * source's last pixel. */
START_TEST(resize_matches_the_plain_bilinear_sum)
{
    int threads_before = omp_get_max_threads();
    const int sizes[][4] = {{112, 112, 224, 224}, {112, 112, 150, 150}, {150, 150, 112, 112}, {37, 53, 64, 29}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int sh = sizes[t][0], sw = sizes[t][1], dh = sizes[t][2], dw = sizes[t][3];
        size_t ns = (size_t)sh * sw * 3, nd = (size_t)dh * dw * 3;
        float *src = malloc(ns * sizeof *src), *a = malloc(nd * sizeof *a), *b = malloc(nd * sizeof *b);
        float *ga = malloc(ns * sizeof *ga), *gb = malloc(ns * sizeof *gb);
        for (size_t i = 0; i < ns; i++)
            src[i] = tu_frand(&rng) * 255.0f;
        /* the resize's matrix (pixel centres aligned), sampled with the edge clamp */
        double fx = (double)sw / dw, fy = (double)sh / dh;
        const double m[6] = {fx, 0, 0.5 * fx - 0.5, 0, fy, 0.5 * fy - 0.5};
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            ck_assert_int_eq(apf_resize(src, sh, sw, 3, a, dh, dw, 0), APF_OK);
            bilinear_reference(src, sh, sw, b, dh, dw, m, 1, 0);
            ck_assert_msg(!memcmp(a, b, nd * sizeof *a), "size %zu on %d: resize differs", t, threads);
            for (size_t i = 0; i < nd; i++)
                a[i] = tu_frand(&rng) - 0.5f;
            for (size_t i = 0; i < ns; i++)
                ga[i] = gb[i] = (float)(i % 7) - 3.0f;
            ck_assert_int_eq(apf_resize(ga, sh, sw, 3, a, dh, dw, 1), APF_OK);
            bilinear_reference(gb, sh, sw, a, dh, dw, m, 1, 1);
            ck_assert_msg(!memcmp(ga, gb, ns * sizeof *ga), "size %zu on %d: adjoint differs", t, threads);
        }
        free(src), free(a), free(b), free(ga), free(gb);
    }
    omp_set_num_threads(threads_before);
}
END_TEST

Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *t = tcase_create("layers");
    tcase_add_checked_fixture(t, setup, teardown);
    int nconv = sizeof CONV_CASES / sizeof CONV_CASES[0];
    tcase_add_loop_test(t, conv_forward_matches_naive, 0, nconv);
    tcase_add_loop_test(t, conv_backward_matches_fd, 0, nconv);
    tcase_add_loop_test(t, conv_weight_gradient_matches_fd, 0, nconv);
    tcase_add_loop_test(t, lowered_conv_backward_matches_adjoint, 0,
                        sizeof LOWERED_CONV_CASES / sizeof LOWERED_CONV_CASES[0]);
    tcase_add_test(t, conv_clip_fused_backward);
    tcase_add_test(t, elementwise_backward);
    tcase_add_loop_test(t, residual_gradient_sharing, 0, 3);
    tcase_add_test(t, prelu_in_place_matches_out_of_place);
    tcase_add_test(t, pool_backward);
    tcase_add_test(t, fc_on_spatial_input);
    tcase_add_test(t, inference_plan_reuses_buffers);
    tcase_add_test(t, unet_ops_backward);
    tcase_add_test(t, plan_weight_gradients);
    tcase_add_test(t, graph_rejects_bad_shapes);
    tcase_add_test(t, eltwise_kernels_match_plain_loops);
    tcase_add_test(t, warp_matches_the_plain_bilinear_sum);
    tcase_add_test(t, resize_matches_the_plain_bilinear_sum);
    suite_add_tcase(s, t);
    return s;
}
