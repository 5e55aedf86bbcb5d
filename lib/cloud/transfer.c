/* apf_transfer: the U-Net T (paper section 3.4), built on the core's graph
 * plans with weight gradients, trained with Adam. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_cloud.h"
#include "../core/net.h"
#include "../core/rng.h"
#include "adam.h"

#define S APF_CLOUD_SIZE

struct apf_transfer {
    net net;   /* graph, engine, cached plans, lock, threads (core/net.h) */
    adam *opt; /* per node: [0] weights, [1] bias (conv nodes only) */
    long steps;
    int have_grad;
};

/* ---- building the U-Net ---- */

typedef struct builder {
    graph *g;
    int cap;
    rng r;
    int fail;
} builder;

static gnode *add(builder *b, int op, int in0, int in1, int h, int w, int c)
{
    if (b->g->n >= b->cap) {
        b->fail = 1;
        return NULL;
    }
    gnode *n = &b->g->nodes[b->g->n++];
    memset(n, 0, sizeof *n);
    n->op = op, n->in[0] = in0, n->in[1] = in1, n->h = h, n->w = w, n->c = c;
    n->fused_into = -1;
    return n;
}

static float gauss(rng *r)
{
    float u1 = rng_uniform(r, 1e-7f, 1.0f), u2 = rng_uniform(r, 0.0f, 1.0f);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

/* conv k x k (stride s, SAME padding) with He-normal weights; relu adds a clip. */
static int conv(builder *b, int in, int cout, int k, int s, int relu, float gain)
{
    const gnode *x = &b->g->nodes[in];
    int oh = (x->h + s - 1) / s, ow = (x->w + s - 1) / s;
    int pad = (oh - 1) * s + k - x->h, padw = (ow - 1) * s + k - x->w;
    gnode *n = add(b, OP_CONV, in, -1, oh, ow, cout);
    if (!n)
        return -1;
    int a[A_COUNT] = {[A_KH] = k, [A_KW] = k, [A_SH] = s, [A_SW] = s, [A_PT] = pad / 2,
                      [A_PB] = pad - pad / 2, [A_PL] = padw / 2, [A_PR] = padw - padw / 2,
                      [A_GROUPS] = 1, [A_DH] = 1, [A_DW] = 1, [A_COUT] = cout};
    memcpy(n->a, a, sizeof a);
    n->tn[0] = (size_t)cout * k * k * x->c;
    n->tn[1] = (size_t)cout;
    n->t[0] = calloc(n->tn[0], sizeof(float));
    n->t[1] = calloc(n->tn[1], sizeof(float));
    if (!n->t[0] || !n->t[1]) {
        b->fail = 1;
        return -1;
    }
    float std = gain * sqrtf(2.0f / (float)(k * k * x->c));
    for (size_t i = 0; i < n->tn[0]; i++)
        n->t[0][i] = std * gauss(&b->r);
    int id = b->g->n - 1;
    if (relu) {
        gnode *c = add(b, OP_CLIP, id, -1, oh, ow, cout);
        if (!c)
            return -1;
        c->f[0] = 0.0f, c->f[1] = 3e38f;
        id = b->g->n - 1;
    }
    return id;
}

static int scale(builder *b, int in, float k)
{
    const gnode *x = &b->g->nodes[in];
    gnode *n = add(b, OP_SCALE_SHIFT, in, -1, x->h, x->w, x->c);
    if (!n)
        return -1;
    n->tn[0] = n->tn[1] = (size_t)x->c;
    n->t[0] = malloc(x->c * sizeof(float));
    n->t[1] = calloc(x->c, sizeof(float));
    if (!n->t[0] || !n->t[1]) {
        b->fail = 1;
        return -1;
    }
    for (int c = 0; c < x->c; c++)
        n->t[0][c] = k;
    return b->g->n - 1;
}

static int up_cat(builder *b, int low, int skip)
{
    const gnode *x = &b->g->nodes[low], *y = &b->g->nodes[skip];
    gnode *u = add(b, OP_UPSAMPLE, low, -1, x->h * 2, x->w * 2, x->c);
    if (!u)
        return -1;
    u->a[A_KH] = u->a[A_KW] = 2;
    if (!add(b, OP_CONCAT, b->g->n - 1, skip, y->h, y->w, x->c + y->c))
        return -1;
    return b->g->n - 1;
}

/* g (pixels) -> /eps -> encoder levels at 112, 56, 28, ... with c, 2c, 4c,
 * ... channels (the first level at full resolution, each next one
 * downsampling by a stride-2 convolution) -> decoder: upsample, concatenate
 * the encoder level of that resolution, convolve -> 1x1 -> 3 -> *eps.
 * `convs` 3x3 convolutions + ReLU per level. levels 3, convs 1 is the
 * original small network (apf_transfer_create()). */
static apf_status build_unet(graph *g, int c, int levels, int convs, int residual, float eps, uint64_t seed)
{
    builder b = {g, 18 + levels * (6 * convs + 4), {seed}, 0};
    g->nodes = calloc((size_t)b.cap, sizeof(gnode));
    if (!g->nodes)
        return apf_fail(APF_E_NOMEM, "transfer: out of memory");
    g->n = 0;
    gnode *in = add(&b, OP_INPUT, -1, -1, S, S, 3);
    (void)in;
    int enc[APF_TRANSFER_MAX_LEVELS];
    int x = scale(&b, 0, 1.0f / eps);
    for (int l = 0; l < levels; l++) {
        x = conv(&b, x, c << l, 3, l ? 2 : 1, 1, 1.0f);
        for (int k = 1; k < convs; k++)
            x = conv(&b, x, c << l, 3, 1, 1, 1.0f);
        enc[l] = x;
    }
    for (int l = levels - 2; l >= 0; l--) {
        x = conv(&b, up_cat(&b, x, enc[l]), c << l, 3, 1, 1, 1.0f);
        for (int k = 1; k < convs; k++)
            x = conv(&b, x, c << l, 3, 1, 1, 1.0f);
    }
    /* residual: T(g) = g + eps * U(g) with U's last layer starting at zero,
     * so an untrained T passes the device's g through unchanged */
    int o = conv(&b, x, 3, 1, 1, 0, residual ? 0.0f : 0.5f);
    int y = scale(&b, o, eps);
    if (residual && y >= 0)
        add(&b, OP_ADD, y, 0, S, S, 3);
    if (b.fail)
        return apf_fail(APF_E_NOMEM, "transfer: building the U-Net failed");
    g->n_out = 1;
    g->out[0] = g->n - 1;
    return graph_finalize(g);
}

/* ---- handle ---- */

static apf_status finish(apf_transfer *t, apf_transfer **out)
{
    /* trainable: training plans carry weight gradients; the inference plan
     * is kept beside them (validation runs between training batches) */
    apf_status st = net_open(&t->net, ENG_TRAIN_DATA | ENG_TRAIN_WEIGHTS, 0);
    if (st) {
        net_close(&t->net);
        free(t);
        return st;
    }
    *out = t;
    return APF_OK;
}

apf_status apf_transfer_create_unet(int base, int levels, int convs, int residual, float eps, uint64_t seed,
                                    apf_transfer **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "transfer: out is NULL");
    *out = NULL;
    if (base < 4 || base > 64 || !(eps > 0 && eps <= APF_EPS_MAX) || levels < 2 ||
        levels > APF_TRANSFER_MAX_LEVELS || convs < 1 || convs > 3)
        return apf_fail(APF_E_INVALID, "transfer: base channels 4..64, levels 2..%d, convs 1..3, eps (0, 64]",
                        APF_TRANSFER_MAX_LEVELS);
    apf_transfer *t = calloc(1, sizeof *t);
    if (!t)
        return apf_fail(APF_E_NOMEM, "transfer: out of memory");
    apf_status st = build_unet(&t->net.g, base, levels, convs, residual, eps, seed ? seed : 1);
    if (st) {
        net_close(&t->net);
        free(t);
        return st;
    }
    if (levels == 3 && convs == 1 && !residual)
        snprintf(t->net.meta.name, sizeof t->net.meta.name, "apf-transfer-unet%d", base);
    else
        snprintf(t->net.meta.name, sizeof t->net.meta.name, "apf-transfer-unet%d-l%d-c%d%s", base, levels, convs,
                 residual ? "-res" : "");
    t->net.meta.in_h = t->net.meta.in_w = S, t->net.meta.in_c = 3;
    t->net.meta.scale[0] = t->net.meta.scale[1] = t->net.meta.scale[2] = 1.0f;
    t->net.meta.flags = APFM_FLAG_MAP_OUTPUT; /* outputs a map, not an embedding */
    return finish(t, out);
}

apf_status apf_transfer_create(int base, float eps, uint64_t seed, apf_transfer **out)
{
    return apf_transfer_create_unet(base, 3, 1, 0, eps, seed, out);
}

apf_status apf_transfer_load(const char *path, apf_transfer **out)
{
    if (!path || !out)
        return apf_fail(APF_E_INVALID, "transfer: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    apf_status rs = apf_read_file(path, APFM_MAX_PAYLOAD + APFM_HEADER_SIZE, "transfer", &buf, &size);
    if (rs)
        return rs;
    apf_transfer *t = calloc(1, sizeof *t);
    if (!t) {
        free(buf);
        return apf_fail(APF_E_NOMEM, "transfer: out of memory");
    }
    apf_status st = apfm_parse(buf, size, &t->net.meta, &t->net.g);
    free(buf);
    if (!st) {
        const gnode *o = &t->net.g.nodes[t->net.g.n - 1];
        if (t->net.meta.in_h != S || t->net.g.n_out != 1 || o->h != S || o->w != S || o->c != 3)
            st = apf_fail(APF_E_FORMAT, "transfer: %s is not a 112x112x3 -> 112x112x3 network", path);
    }
    if (st) {
        net_close(&t->net);
        free(t);
        return st;
    }
    return finish(t, out);
}

apf_status apf_transfer_save(const apf_transfer *t, const char *path)
{
    if (!t || !path)
        return apf_fail(APF_E_INVALID, "transfer: NULL argument");
    return apfm_write(path, &t->net.meta, &t->net.g);
}

static void free_opt(apf_transfer *t)
{
    for (int j = 0; t->opt && j < t->net.g.n; j++)
        for (int k = 0; k < 2; k++) {
            free(t->opt[2 * j + k].m);
            free(t->opt[2 * j + k].v);
        }
    free(t->opt);
    t->opt = NULL;
}

void apf_transfer_free(apf_transfer *t)
{
    if (!t)
        return;
    free_opt(t);
    net_close(&t->net);
    free(t);
}

apf_status apf_transfer_set_threads(apf_transfer *t, int threads)
{
    if (!t)
        return apf_fail(APF_E_INVALID, "transfer: NULL argument");
    return net_set_threads(&t->net, threads, "transfer");
}

apf_status apf_transfer_forward(apf_transfer *t, const float *g, int n, int train, float *ghat)
{
    if (!t || !g || !ghat || n < 1 || n > APF_WIRE_MAX_FACES)
        return apf_fail(APF_E_INVALID, "transfer: bad arguments");
    if (apf_has_nonfinite(g, (size_t)n * S * S * 3))
        return apf_fail(APF_E_NUMERIC, "transfer: input is not finite");
    int omp_previous = net_enter(&t->net);
    apf_status st = net_forward(&t->net, n, train, g, ghat);
    net_leave(&t->net, omp_previous);
    return st;
}

apf_status apf_transfer_backward(apf_transfer *t, const float *d_ghat, int n)
{
    if (!t || !d_ghat)
        return apf_fail(APF_E_INVALID, "transfer: bad arguments");
    int omp_previous = net_enter(&t->net);
    apf_status st = net_backward(&t->net, n, d_ghat, NULL);
    t->have_grad = !st;
    net_leave(&t->net, omp_previous);
    return st;
}

/* ---- the weight gradients as one vector, for data-parallel training ----
 * Every convolution's weight gradient then its bias gradient, in node
 * order: the order apf_transfer_adam_step() applies them in. Workers that
 * each ran a backward on their share of a batch sum these vectors (e.g.
 * with MPI_Allreduce) and set the sum before the step. */

static size_t gradient_count(const apf_transfer *t)
{
    size_t n = 0;
    for (int j = 0; j < t->net.g.n; j++)
        if (t->net.g.nodes[j].op == OP_CONV)
            n += t->net.g.nodes[j].tn[0] + t->net.g.nodes[j].tn[1];
    return n;
}

apf_status apf_transfer_gradient_size(const apf_transfer *t, size_t *n)
{
    if (!t || !n)
        return apf_fail(APF_E_INVALID, "transfer: bad arguments");
    *n = gradient_count(t);
    return APF_OK;
}

/* Copies between the plan's gradient buffers and `v`; to_plan picks the direction. */
static apf_status copy_gradients(apf_transfer *t, float *v, size_t n, int to_plan)
{
    if (!t || !v)
        return apf_fail(APF_E_INVALID, "transfer: bad arguments");
    if (n != gradient_count(t))
        return apf_fail(APF_E_INVALID, "transfer: gradient vector has %zu values, T has %zu", n,
                        gradient_count(t));
    if (!t->have_grad)
        return apf_fail(APF_E_STATE, "transfer: no gradient (call apf_transfer_backward first)");
    if (to_plan && apf_has_nonfinite(v, n))
        return apf_fail(APF_E_NUMERIC, "transfer: gradient is not finite");
    int omp_previous = net_enter(&t->net);
    size_t at = 0;
    for (int j = 0; j < t->net.g.n; j++) {
        const gnode *nd = &t->net.g.nodes[j];
        if (nd->op != OP_CONV)
            continue;
        const float *db, *dw = net_weight_grad(&t->net, j, &db);
        /* the plan owns these buffers; they are plain arrays it rewrites on each backward */
        float *w = (float *)dw, *b = (float *)db;
        if (to_plan) {
            memcpy(w, v + at, nd->tn[0] * sizeof(float));
            memcpy(b, v + at + nd->tn[0], nd->tn[1] * sizeof(float));
        } else {
            memcpy(v + at, w, nd->tn[0] * sizeof(float));
            memcpy(v + at + nd->tn[0], b, nd->tn[1] * sizeof(float));
        }
        at += nd->tn[0] + nd->tn[1];
    }
    net_leave(&t->net, omp_previous);
    return APF_OK;
}

apf_status apf_transfer_get_gradients(apf_transfer *t, float *grad, size_t n)
{
    return copy_gradients(t, grad, n, 0);
}

apf_status apf_transfer_set_gradients(apf_transfer *t, const float *grad, size_t n)
{
    return copy_gradients(t, (float *)grad, n, 1);
}

apf_status apf_transfer_adam_step(apf_transfer *t, float lr)
{
    if (!t || !(lr > 0 && lr < 1))
        return apf_fail(APF_E_INVALID, "transfer: learning rate must be in (0, 1)");
    int omp_previous = net_enter(&t->net);
    apf_status st = APF_OK;
    if (!t->have_grad) {
        st = apf_fail(APF_E_STATE, "transfer: no gradient to apply");
        goto out;
    }
    if (!t->opt) {
        t->opt = calloc((size_t)t->net.g.n * 2, sizeof *t->opt);
        for (int j = 0; t->opt && j < t->net.g.n; j++)
            for (int k = 0; k < 2 && t->net.g.nodes[j].op == OP_CONV; k++) {
                t->opt[2 * j + k].m = apf_calloc(t->net.g.nodes[j].tn[k], sizeof(float));
                t->opt[2 * j + k].v = apf_calloc(t->net.g.nodes[j].tn[k], sizeof(float));
                if (!t->opt[2 * j + k].m || !t->opt[2 * j + k].v) {
                    free_opt(t);
                    break;
                }
            }
        if (!t->opt) {
            st = apf_fail(APF_E_NOMEM, "transfer: out of memory for Adam");
            goto out;
        }
    }
    t->steps++;
    for (int j = 0; j < t->net.g.n && !st; j++) {
        gnode *nd = &t->net.g.nodes[j];
        if (nd->op != OP_CONV)
            continue;
        const float *db, *dw = net_weight_grad(&t->net, j, &db);
        adam_update(&t->opt[2 * j], nd->t[0], dw, nd->tn[0], lr, t->steps);
        adam_update(&t->opt[2 * j + 1], nd->t[1], db, nd->tn[1], lr, t->steps);
        st = net_refresh_weights(&t->net, j);
    }
    t->have_grad = 0;
out:
    net_leave(&t->net, omp_previous);
    return st;
}
