/* Execution plans of a graph for one batch size: the layers (engine.h),
 * one pool of activation and gradient buffers shared by the forward and
 * the backward pass, and the passes themselves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eltwise.h"
#include "graph.h"
#include "ops.h"

struct gplan {
    const graph *g;
    int batch, flags;
    eng_layer **layer;   /* per node, conv/fc/pool only */
    float **act;         /* per node output, batch x h x w x c (aliases for fused clips) */
    float **grad;        /* per node, same size */
    int *uses;           /* consumers per node */
    size_t *size;        /* floats per node output (whole batch) */
    float *scratch;      /* largest node size, for accumulating gradients */
    float **dw, **db;    /* per conv node, with ENG_TRAIN_WEIGHTS */
    float **bufs;        /* owned activation buffers (act[] points into these) */
    unsigned char **mask; /* per PReLU in training plans: x > 0 per element */
    int n_bufs;
    size_t buf_bytes; /* what the n_bufs buffers hold */
    int has_forward;
};

static size_t node_size(const gnode *n, int batch)
{
    return (size_t)batch * n->h * n->w * n->c;
}

void gplan_free(gplan *p)
{
    if (!p)
        return;
    for (int j = 0; p->g && j < p->g->n; j++) {
        if (p->layer)
            eng_layer_free(p->layer[j]);
    }
    for (int b = 0; b < p->n_bufs; b++)
        free(p->bufs[b]);
    for (int j = 0; p->dw && j < p->g->n; j++) {
        free(p->dw[j]);
        free(p->db[j]);
    }
    free(p->dw);
    free(p->db);
    free(p->bufs);
    free(p->layer);
    free(p->act);
    free(p->grad);
    free(p->uses);
    free(p->size);
    free(p->scratch);
    for (int j = 0; p->mask && j < p->g->n; j++)
        free(p->mask[j]);
    free(p->mask);
    free(p);
}

/* A zeroed activation or gradient buffer of n floats on a cache-line
 * boundary. calloc's large blocks start 16 bytes into a page, so every
 * other 32-byte vector access of the kernels straddled two cache lines. */
static float *plan_buffer(size_t n)
{
    void *p = NULL;
    size_t bytes;
    if (apf_mul_size(n, sizeof(float), &bytes) || bytes == 0 || posix_memalign(&p, 64, bytes))
        return NULL;
    return memset(p, 0, bytes);
}

/* Best-fitting free buffer of at least `need` floats from a pool, or a new one. */
typedef struct pool {
    float **bufs;
    size_t *cap;
    char *busy;
    int n;
} pool;

static int pool_take(pool *pl, size_t need, int reuse)
{
    int pick = -1;
    for (int b = 0; reuse && b < pl->n; b++)
        if (!pl->busy[b] && pl->cap[b] >= need && (pick < 0 || pl->cap[b] < pl->cap[pick]))
            pick = b;
    if (pick < 0) {
        pick = pl->n;
        if (!(pl->bufs[pick] = plan_buffer(need)))
            return -1;
        pl->cap[pick] = need;
        pl->n++;
    }
    pl->busy[pick] = 1;
    return pick;
}

/* Does PReLU node j overwrite its input with its output? When it is the
 * only reader of a convolution's output that is not a graph output: the
 * activation is then written once, in cache, instead of into a second
 * buffer. (Its backward pass reads the byte mask every PReLU keeps in
 * training plans, not the input.) */
static int prelu_in_place(const gplan *p, int j)
{
    const graph *g = p->g;
    const gnode *nd = &g->nodes[j];
    if (nd->op != OP_PRELU || g->nodes[nd->in[0]].op != OP_CONV || p->uses[nd->in[0]] != 1)
        return 0;
    for (int k = 0; k < g->n_out; k++)
        if (g->out[k] == nd->in[0])
            return 0;
    return 1;
}

/* Does the backward pass read node j's output? Weight gradients read the
 * input of each conv/fc. Everything else backpropagates from gradients
 * alone (a PReLU or a clip from its byte mask: a quarter of the traffic of
 * reading the float output back, which by then has left the cache). */
static int read_by_backward(int j, int flags, const int *first_consumer_op_mask)
{
    if (j == 0)
        return 1;
    if ((flags & ENG_TRAIN_WEIGHTS) && (first_consumer_op_mask[j] & ((1 << OP_CONV) | (1 << OP_FC))))
        return 1;
    return 0;
}

/* Give every node an activation buffer (and, in training plans, a gradient
 * buffer). A buffer is recycled once nothing will read it again: inference
 * plans recycle every activation after its last reader, training plans all
 * but those the backward pass reads, and gradients are recycled in reverse
 * order once their node has been processed. Activations and gradients
 * share one pool, so the backward pass writes into buffers the forward pass
 * has just used. This keeps the working set in cache: MobileFaceNet's
 * training plan needed 64 MB of buffers without recycling; sharing the
 * pool took the probe's peak RSS at batch 16 from 231 to 183 MB and won 9
 * of 12 alternating rounds of bench/ab.sh (best 7.94 -> 7.64 ms). */
static apf_status assign_buffers(gplan *p)
{
    const graph *g = p->g;
    int n = g->n, train = (p->flags & ENG_TRAIN_DATA) != 0;
    int *buf_of = calloc((size_t)n, sizeof *buf_of), *last = calloc((size_t)n, sizeof *last);
    int *cons_ops = calloc((size_t)n, sizeof *cons_ops), *keep = calloc((size_t)n, sizeof *keep);
    int *first_writer = calloc((size_t)n, sizeof *first_writer), *gbuf = calloc((size_t)n, sizeof *gbuf);
    int *owner = calloc((size_t)n, sizeof *owner);
    int *second_writer = calloc((size_t)n, sizeof *second_writer);
    /* One pool for activations and gradients (at most one new buffer per
     * node for each): the backward pass reuses the buffers of activations
     * it does not read. */
    pool pl = {calloc((size_t)2 * n, sizeof(float *)), calloc((size_t)2 * n, sizeof(size_t)),
               calloc((size_t)2 * n, 1), 0};
    apf_status st = APF_OK;
    if (!buf_of || !last || !cons_ops || !keep || !first_writer || !gbuf || !owner ||
        !second_writer || !pl.bufs || !pl.cap || !pl.busy)
        goto nomem;
    /* a node shares its owner's buffer: a fused clip its conv's, an in-place
     * PReLU its input's */
    for (int j = 0; j < n; j++) {
        owner[j] = j;
        if (g->nodes[j].fused_into >= 0)
            owner[j] = g->nodes[j].fused_into;
        else if (prelu_in_place(p, j))
            owner[j] = owner[g->nodes[j].in[0]];
    }
    for (int j = 0; j < n; j++) {
        const gnode *nd = &g->nodes[j];
        if (owner[j] != j && j > last[owner[j]])
            last[owner[j]] = j;
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0) {
                cons_ops[nd->in[k]] |= 1 << nd->op;
                if (j > last[owner[nd->in[k]]])
                    last[owner[nd->in[k]]] = j;
                if (j > first_writer[nd->in[k]]) {
                    second_writer[nd->in[k]] = first_writer[nd->in[k]];
                    first_writer[nd->in[k]] = j; /* backward reaches it first from here */
                }
            }
    }
    last[owner[n - 1]] = n; /* outputs are read after the pass */
    for (int k = 0; k < g->n_out; k++)
        last[owner[g->out[k]]] = n;
    for (int j = 0; j < n; j++)
        if (train && read_by_backward(j, p->flags, cons_ops))
            keep[owner[j]] = 1;
    /* forward activations */
    for (int j = 0; j < n; j++) {
        const gnode *nd = &g->nodes[j];
        if (owner[j] != j) {
            buf_of[j] = buf_of[owner[j]];
            p->act[j] = p->act[owner[j]];
            continue;
        }
        int b = pool_take(&pl, p->size[j], 1);
        if (b < 0)
            goto nomem;
        buf_of[j] = b;
        p->act[j] = pl.bufs[b];
        for (int k = 0; k < 2; k++) {
            int i = nd->in[k];
            if (i >= 0 && last[owner[i]] == j && !keep[owner[i]])
                pl.busy[buf_of[owner[i]]] = 0;
        }
    }
    /* gradients, simulating the backward walk */
    if (train) {
        int b = pool_take(&pl, p->size[n - 1], 1);
        if (b < 0)
            goto nomem;
        gbuf[n - 1] = b;
        /* pl.busy counts the nodes whose gradient a buffer holds and the
         * walk has not processed yet. */
        for (int j = n - 1; j >= 1; j--) {
            const gnode *nd = &g->nodes[j];
            int u = nd->in[0], v = nd->in[1];
            /* An add passes its gradient on unchanged and a PReLU scales it
             * element by element: the first input can take over the node's
             * own gradient buffer (no copy; the PReLU works in place, on a
             * buffer still in cache, instead of filling a cold one). */
            int pass[2] = {(nd->op == OP_ADD || nd->op == OP_PRELU) && first_writer[u] == j && v != u, 0};
            /* A residual add can hand the same buffer to its second input as
             * well, when the first input's gradient is only read, and used up,
             * before anything writes into the second's: the first is a conv
             * (its backward reads the buffer and writes elsewhere; a PReLU or
             * add would pass the buffer on and change it) with no other
             * reader, and the second's other readers all come before it. */
            pass[1] = pass[0] && nd->op == OP_ADD && g->nodes[u].op == OP_CONV && p->uses[u] == 1 &&
                      first_writer[v] == j && second_writer[v] < u;
            for (int k = 0; k < 2; k++) {
                int i = nd->in[k];
                if (pass[k]) {
                    gbuf[i] = gbuf[j];
                    pl.busy[gbuf[j]]++;
                } else if (i >= 0 && first_writer[i] == j && !(k == 1 && u == i)) {
                    if ((b = pool_take(&pl, p->size[i], 1)) < 0)
                        goto nomem;
                    gbuf[i] = b;
                }
            }
            pl.busy[gbuf[j]]--;
        }
        for (int j = 0; j < n; j++)
            p->grad[j] = pl.bufs[gbuf[j]];
    }
    p->bufs = calloc((size_t)pl.n, sizeof *p->bufs);
    if (!p->bufs)
        goto nomem;
    for (int b2 = 0; b2 < pl.n; b2++) {
        p->bufs[p->n_bufs++] = pl.bufs[b2];
        p->buf_bytes += pl.cap[b2] * sizeof(float);
    }
    pl.n = 0;
    goto out;
nomem:
    st = apf_fail(APF_E_NOMEM, "plan: out of memory for batch %d", p->batch);
out:
    for (int b2 = 0; b2 < pl.n; b2++)
        free(pl.bufs[b2]);
    free(pl.bufs), free(pl.cap), free(pl.busy);
    free(buf_of), free(last), free(cons_ops), free(keep), free(first_writer), free(gbuf), free(owner);
    free(second_writer);
    return st;
}

apf_status gplan_create(eng_ctx *ctx, const graph *g, int batch, int flags, gplan **out)
{
    apf_status st = APF_OK;
    gplan *p = calloc(1, sizeof *p);
    if (!p)
        return apf_fail(APF_E_NOMEM, "plan: out of memory");
    p->g = g;
    p->batch = batch;
    p->flags = flags;
    int n = g->n;
    p->layer = calloc((size_t)n, sizeof *p->layer);
    p->act = calloc((size_t)n, sizeof *p->act);
    p->grad = calloc((size_t)n, sizeof *p->grad);
    p->uses = calloc((size_t)n, sizeof *p->uses);
    p->size = calloc((size_t)n, sizeof *p->size);
    if (!p->layer || !p->act || !p->grad || !p->uses || !p->size)
        goto nomem;
    size_t biggest = 0;
    for (int j = 0; j < n; j++) {
        const gnode *nd = &g->nodes[j];
        p->size[j] = node_size(nd, batch);
        if (p->size[j] > biggest)
            biggest = p->size[j];
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0)
                p->uses[nd->in[k]]++;
        const gnode *x = j ? &g->nodes[nd->in[0]] : NULL;
        if (nd->op == OP_CONV) {
            int fuse = j + 1 < n && g->nodes[j + 1].fused_into == j;
            eng_conv_desc d = {batch, x->h, x->w, x->c, nd->c, nd->a[A_KH], nd->a[A_KW],
                               nd->a[A_SH], nd->a[A_SW], nd->a[A_PT], nd->a[A_PB], nd->a[A_PL],
                               nd->a[A_PR], nd->a[A_GROUPS], nd->a[A_DH], nd->a[A_DW], nd->h,
                               nd->w, fuse, fuse ? g->nodes[j + 1].f[0] : 0,
                               fuse ? g->nodes[j + 1].f[1] : 0};
            if ((st = eng_conv_create(ctx, &d, flags, &p->layer[j])))
                goto fail;
        } else if (nd->op == OP_FC) {
            if ((st = eng_fc_create(ctx, batch, x->h * x->w * x->c, nd->c, flags, &p->layer[j])))
                goto fail;
        } else if (nd->op == OP_MAXPOOL || nd->op == OP_AVGPOOL) {
            eng_pool_desc d = {batch, x->h, x->w, x->c, nd->a[A_KH], nd->a[A_KW], nd->a[A_SH],
                               nd->a[A_SW], nd->a[A_PT], nd->a[A_PB], nd->a[A_PL], nd->a[A_PR],
                               nd->h, nd->w, nd->op == OP_MAXPOOL};
            if ((st = eng_pool_create(ctx, &d, flags, &p->layer[j])))
                goto fail;
        }
        if (p->layer[j] && (nd->op == OP_CONV || nd->op == OP_FC) &&
            (st = eng_layer_set_weights(p->layer[j], nd->t[0], nd->t[1])))
            goto fail;
    }
    if ((flags & ENG_TRAIN_DATA) && !(p->scratch = plan_buffer(biggest)))
        goto nomem;
    if (flags & ENG_TRAIN_WEIGHTS) {
        if (!(p->dw = calloc((size_t)n, sizeof *p->dw)) || !(p->db = calloc((size_t)n, sizeof *p->db)))
            goto nomem;
        for (int j = 0; j < n; j++)
            if (g->nodes[j].op == OP_CONV &&
                (!(p->dw[j] = apf_calloc(g->nodes[j].tn[0], sizeof(float))) ||
                 !(p->db[j] = apf_calloc(g->nodes[j].tn[1], sizeof(float)))))
                goto nomem;
    }
    if (!(p->mask = calloc((size_t)n, sizeof *p->mask)))
        goto nomem;
    for (int j = 0; j < n; j++)
        if ((flags & ENG_TRAIN_DATA) && (g->nodes[j].op == OP_PRELU || g->nodes[j].op == OP_CLIP) &&
            !(p->mask[j] = malloc(p->size[j])))
            goto nomem;
    if ((st = assign_buffers(p)))
        goto fail;
    *out = p;
    return APF_OK;
nomem:
    st = apf_fail(APF_E_NOMEM, "plan: out of memory for batch %d", batch);
fail:
    gplan_free(p);
    return st;
}

const float *gplan_output(const gplan *p, int k)
{
    return k >= 0 && k < p->g->n_out ? p->act[p->g->out[k]] : NULL;
}

int gplan_batch(const gplan *p)
{
    return p->batch;
}

size_t gplan_buffer_bytes(const gplan *p)
{
    return p->buf_bytes;
}

int gplan_flags(const gplan *p)
{
    return p->flags;
}

const float *gplan_weight_grad(const gplan *p, int j, const float **bias_grad)
{
    if (!p->dw || j < 0 || j >= p->g->n || !p->dw[j])
        return NULL;
    if (bias_grad)
        *bias_grad = p->db[j];
    return p->dw[j];
}

apf_status gplan_refresh_weights(gplan *p, int j)
{
    const gnode *nd = &p->g->nodes[j];
    if (!p->layer[j] || nd->op != OP_CONV)
        return apf_fail(APF_E_INVALID, "plan: node %d has no weights", j);
    return eng_layer_set_weights(p->layer[j], nd->t[0], nd->t[1]);
}

apf_status gplan_forward(gplan *p, const float *in, float *out)
{
    const graph *g = p->g;
    apf_status st;
    /* Keep our own copy: backward may need the input after the caller
     * reused its buffer. */
    memcpy(p->act[0], in, p->size[0] * sizeof(float));
    p->has_forward = 0;
    for (int j = 1; j < g->n; j++) {
        const gnode *n = &g->nodes[j];
        const float *x = p->act[n->in[0]];
        float *y = p->act[j];
        const gnode *xn = &g->nodes[n->in[0]];
        size_t pixels = (size_t)p->batch * n->h * n->w;
        switch (n->op) {
        case OP_CONV:
        case OP_FC:
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            if ((st = eng_layer_forward(p->layer[j], x, y)))
                return st;
            break;
        case OP_CLIP:
            if (n->fused_into < 0)
                op_clip(x, y, p->size[j], n->f[0], n->f[1]);
            if (p->mask[j]) /* while y is still in the cache */
                eltw_clip_mask(y, p->mask[j], p->size[j], n->f[0], n->f[1]);
            break;
        case OP_PRELU:
            /* y may be x (in place) */
            if (p->mask[j])
                eltw_prelu_fwd_masked(x, y, p->mask[j], n->t[0], pixels, n->c);
            else
                eltw_prelu_fwd(x, y, n->t[0], pixels, n->c);
            break;
        case OP_SCALE_SHIFT:
            op_scale_shift(x, y, n->t[0], n->t[1], pixels, n->c);
            break;
        case OP_ADD:
            eltw_add(x, p->act[n->in[1]], y, p->size[j]);
            break;
        case OP_GAP: {
            size_t hw = (size_t)xn->h * xn->w;
            for (int b = 0; b < p->batch; b++)
                for (int k = 0; k < n->c; k++) {
                    double s = 0;
                    for (size_t q = 0; q < hw; q++)
                        s += x[((size_t)b * hw + q) * n->c + k];
                    y[(size_t)b * n->c + k] = (float)(s / (double)hw);
                }
            break;
        }
        case OP_PAD:
            memset(y, 0, p->size[j] * sizeof(float));
            op_pad(x, y, n, xn, p->batch, 1);
            break;
        case OP_UPSAMPLE:
            op_upsample(x, y, xn, n, p->batch, 0);
            break;
        case OP_CONCAT:
            op_concat(x, p->act[n->in[1]], y, xn->c, g->nodes[n->in[1]].c, pixels, 0);
            break;
        default:
            return apf_fail(APF_E_UNSUPPORTED, "plan: op %d", n->op);
        }
    }
    memcpy(out, p->act[g->n - 1], p->size[g->n - 1] * sizeof(float));
    p->has_forward = 1;
    return APF_OK;
}

/* Where a backward step should write its result for input k: straight into
 * k's gradient when nothing was written there yet (saves a copy), else into
 * scratch, to be added by grad_add. */
static float *grad_dst(gplan *p, int k, const int *written)
{
    return written[k] ? p->scratch : p->grad[k];
}

/* Add src into the gradient of node k (first writer may just copy). */
static void grad_add(gplan *p, int k, const float *src, int *written)
{
    float *d = p->grad[k];
    int first = !written[k];
    written[k] = 1;
    if (!first) {
        eltw_add(d, src, d, p->size[k]);
        return;
    }
    if (src == d)
        return;
    op_copy(src, d, p->size[k]);
}

apf_status gplan_backward(gplan *p, const float *d_out, float *d_in)
{
    const graph *g = p->g;
    apf_status st = APF_OK;
    if (!(p->flags & ENG_TRAIN_DATA))
        return apf_fail(APF_E_STATE, "plan was built for inference only");
    if (!p->has_forward)
        return apf_fail(APF_E_STATE, "backward needs a forward pass first");
    int *written = calloc((size_t)g->n, sizeof *written);
    if (!written)
        return apf_fail(APF_E_NOMEM, "backward: out of memory");
    memcpy(p->grad[g->n - 1], d_out, p->size[g->n - 1] * sizeof(float));
    written[g->n - 1] = 1;
    for (int j = 0; p->dw && j < g->n; j++)
        if (p->dw[j]) {
            memset(p->dw[j], 0, g->nodes[j].tn[0] * sizeof(float));
            memset(p->db[j], 0, g->nodes[j].tn[1] * sizeof(float));
        }
    for (int j = g->n - 1; j >= 1; j--) {
        const gnode *n = &g->nodes[j];
        int xi = n->in[0];
        const gnode *xn = &g->nodes[xi];
        float *dy = p->grad[j];
        if (!written[j])
            continue; /* no gradient reaches this node */
        const float *x = p->act[xi];
        size_t pixels = (size_t)p->batch * n->h * n->w;
        size_t nx = p->size[xi];
        float *tmp = grad_dst(p, xi, written);
        if (n->op == OP_CONV && p->dw &&
            (st = eng_layer_backward_weights(p->layer[j], x, dy, p->dw[j], p->db[j])))
            goto out;
        switch (n->op) {
        case OP_CONV:
        case OP_FC:
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            if (xi == 0 && !d_in)
                break;
            if ((st = eng_layer_backward_data(p->layer[j], dy, tmp)))
                goto out;
            grad_add(p, xi, tmp, written);
            break;
        case OP_CLIP: {
            eltw_clip_bwd_masked(p->mask[j], dy, tmp, nx);
            grad_add(p, xi, tmp, written);
            break;
        }
        case OP_PRELU:
            eltw_prelu_bwd_masked(p->mask[j], dy, tmp, n->t[0], pixels, n->c);
            grad_add(p, xi, tmp, written);
            break;
        case OP_SCALE_SHIFT: {
            op_scale_backward(dy, tmp, n->t[0], pixels, n->c);
            grad_add(p, xi, tmp, written);
            break;
        }
        case OP_ADD:
            grad_add(p, xi, dy, written);
            grad_add(p, n->in[1], dy, written);
            break;
        case OP_GAP: {
            size_t hw = (size_t)xn->h * xn->w;
            float inv = 1.0f / (float)hw;
            for (int b = 0; b < p->batch; b++)
                for (size_t q = 0; q < hw; q++)
                    for (int k = 0; k < n->c; k++)
                        tmp[((size_t)b * hw + q) * n->c + k] = dy[(size_t)b * n->c + k] * inv;
            grad_add(p, xi, tmp, written);
            break;
        }
        case OP_PAD:
            op_pad(tmp, dy, n, xn, p->batch, 0);
            grad_add(p, xi, tmp, written);
            break;
        case OP_UPSAMPLE:
            op_upsample(tmp, dy, xn, n, p->batch, 1);
            grad_add(p, xi, tmp, written);
            break;
        case OP_CONCAT: {
            /* split into scratch halves, then accumulate each */
            int x2 = n->in[1], ca = xn->c, cb = g->nodes[x2].c;
            float *ta = p->scratch, *tb = p->scratch + p->size[xi];
            op_concat(ta, tb, dy, ca, cb, pixels, 1);
            grad_add(p, xi, ta, written);
            grad_add(p, x2, tb, written);
            break;
        }
        default:
            st = apf_fail(APF_E_UNSUPPORTED, "plan: op %d", n->op);
            goto out;
        }
    }
    if (d_in) {
        if (written[0])
            memcpy(d_in, p->grad[0], p->size[0] * sizeof(float));
        else
            memset(d_in, 0, p->size[0] * sizeof(float));
    }
out:
    free(written);
    return st;
}
