/* oneDNN 2.6 implementation of engine.h. See docs/architecture.md. */
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "col2im.h"
#include "dw_adjoint.h"
#include "engine.h"

/* Scratchpad: oneDNN's default (library-managed) scratchpad is one buffer
 * per thread shared by every primitive made on that thread, and a primitive
 * may then only run on the thread that made it. A libapf handle is used
 * from whichever thread calls it (one at a time, under its lock), so every
 * primitive here takes its scratchpad from its context instead: one buffer
 * per context (per model or network), as large as its largest primitive
 * needs, valid on any thread. */
struct eng_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    void *scratch;       /* 64-byte aligned, scratch_size bytes */
    size_t scratch_size;
};

enum kind { K_CONV, K_FC, K_POOL };

/* One primitive plus the memory objects its arguments bind to. */
typedef struct prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    dnnl_memory_t scratch; /* its scratchpad, aimed at the context's buffer per call; NULL: none */
} prim;

struct eng_layer {
    enum kind kind;
    eng_ctx *ctx;
    int flags;
    prim fwd, bwd_data, bwd_w;
    /* plain descriptors */
    dnnl_memory_desc_t src_md, dst_md, w_user_md, b_md;
    /* weights in each primitive's preferred layout */
    dnnl_memory_t w_fwd, w_bwd, bias;
    dnnl_memory_t ws; /* max-pool workspace */
    /* Memory objects for the caller's plain buffers, made once and re-aimed
     * with dnnl_memory_set_data_handle per call (creating and destroying
     * them per primitive call cost ~3% of a MobileFaceNet pass). */
    dnnl_memory_t user_src, user_dst, user_bias;
    size_t w_count, b_count;
    /* Convolutions on few input channels (the image layer) take their
     * backward-to-input as a 1x1 convolution ddst -> columns plus a col2im
     * gather (see lowered_create). */
    eng_conv_desc geom;
    prim low;
    dnnl_memory_t w_low, col;
    dnnl_memory_desc_t col_md;
    int col_k, col_kpad; /* kh*kw*c, rounded up to 8 (pointwise: c) */
    col2im *gather;
    dw_adjoint *dw_gather; /* see depthwise_gather_wanted */
};

#define CHECK(call)                                                                   \
    do {                                                                              \
        dnnl_status_t s_ = (call);                                                    \
        if (s_ != dnnl_success)                                                       \
            return apf_fail(APF_E_BACKEND, "oneDNN: %s failed (%d)", #call, (int)s_); \
    } while (0)

apf_status eng_ctx_create(eng_ctx **out)
{
    eng_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return apf_fail(APF_E_NOMEM, "engine: out of memory");
    if (dnnl_engine_create(&c->engine, dnnl_cpu, 0) != dnnl_success) {
        free(c);
        return apf_fail(APF_E_BACKEND, "oneDNN: no CPU engine");
    }
    if (dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(c->engine);
        free(c);
        return apf_fail(APF_E_BACKEND, "oneDNN: cannot create stream");
    }
    *out = c;
    return APF_OK;
}

void eng_ctx_free(eng_ctx *ctx)
{
    if (!ctx)
        return;
    dnnl_stream_destroy(ctx->stream);
    dnnl_engine_destroy(ctx->engine);
    free(ctx->scratch);
    free(ctx);
}

/* The context's scratchpad grown to at least size bytes. Only while no
 * primitive of the context runs (the handle's lock is held). */
static apf_status scratch_reserve(eng_ctx *ctx, size_t size)
{
    if (size <= ctx->scratch_size)
        return APF_OK;
    size_t rounded = (size + 63) / 64 * 64;
    void *buf = NULL;
    if (posix_memalign(&buf, 64, rounded))
        return apf_fail(APF_E_NOMEM, "engine: out of memory for a %zu-byte scratchpad", size);
    free(ctx->scratch);
    ctx->scratch = buf;
    ctx->scratch_size = rounded;
    return APF_OK;
}

/* attr (may be NULL) plus a user-managed scratchpad (see struct eng_ctx) */
static apf_status make_prim(eng_ctx *ctx, const_dnnl_op_desc_t od, const_dnnl_primitive_attr_t attr,
                            const_dnnl_primitive_desc_t hint, prim *out)
{
    dnnl_primitive_attr_t a = NULL;
    dnnl_status_t ds = attr ? dnnl_primitive_attr_clone(&a, attr) : dnnl_primitive_attr_create(&a);
    if (ds == dnnl_success)
        ds = dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
    if (ds == dnnl_success)
        ds = dnnl_primitive_desc_create(&out->pd, od, a, ctx->engine, hint);
    if (a)
        dnnl_primitive_attr_destroy(a);
    if (ds != dnnl_success)
        return apf_fail(APF_E_BACKEND, "oneDNN: primitive descriptor creation failed (%d)", (int)ds);
    CHECK(dnnl_primitive_create(&out->p, out->pd));
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(out->pd, dnnl_query_scratchpad_md, 0);
    size_t size = md ? dnnl_memory_desc_get_size(md) : 0;
    if (size > 0) {
        apf_status st = scratch_reserve(ctx, size);
        if (st)
            return st;
        CHECK(dnnl_memory_create(&out->scratch, md, ctx->engine, DNNL_MEMORY_NONE));
    }
    return APF_OK;
}

static void free_prim(prim *p)
{
    if (p->scratch)
        dnnl_memory_destroy(p->scratch);
    if (p->p)
        dnnl_primitive_destroy(p->p);
    if (p->pd)
        dnnl_primitive_desc_destroy(p->pd);
    p->p = NULL;
    p->pd = NULL;
    p->scratch = NULL;
}

/* Execute with plain user buffers bound by (arg, md, ptr) triples. A
 * triple may name a reusable memory object in *slot: it is created on first
 * use and re-aimed at ptr afterwards; without a slot a temporary is used. */
typedef struct bind {
    int arg;
    const dnnl_memory_desc_t *md;
    const void *ptr;
    dnnl_memory_t mem;   /* or an existing memory object */
    dnnl_memory_t *slot; /* or a reusable wrapper for ptr */
} bind;

static apf_status run(eng_ctx *ctx, const prim *p, bind *b, int nb)
{
    dnnl_exec_arg_t args[9];
    dnnl_memory_t tmp[8] = {0};
    apf_status st = APF_OK;
    for (int i = 0; i < nb; i++) {
        args[i].arg = b[i].arg;
        if (b[i].mem) {
            args[i].memory = b[i].mem;
            continue;
        }
        dnnl_memory_t *m = b[i].slot ? b[i].slot : &tmp[i];
        dnnl_status_t ds = *m ? dnnl_memory_set_data_handle(*m, (void *)b[i].ptr)
                              : dnnl_memory_create(m, b[i].md, ctx->engine, (void *)b[i].ptr);
        if (ds != dnnl_success) {
            st = apf_fail(APF_E_BACKEND, "oneDNN: cannot wrap buffer");
            goto out;
        }
        args[i].memory = *m;
    }
    int na = nb;
    if (p->scratch) {
        if (dnnl_memory_set_data_handle(p->scratch, ctx->scratch) != dnnl_success) {
            st = apf_fail(APF_E_BACKEND, "oneDNN: cannot wrap the scratchpad");
            goto out;
        }
        args[na].arg = DNNL_ARG_SCRATCHPAD;
        args[na++].memory = p->scratch;
    }
    if (dnnl_primitive_execute(p->p, ctx->stream, na, args) != dnnl_success ||
        dnnl_stream_wait(ctx->stream) != dnnl_success)
        st = apf_fail(APF_E_BACKEND, "oneDNN: primitive execution failed");
out:
    for (int i = 0; i < nb; i++)
        if (tmp[i])
            dnnl_memory_destroy(tmp[i]);
    return st;
}

static apf_status reorder(eng_ctx *ctx, const dnnl_memory_desc_t *from, const void *from_ptr,
                          dnnl_memory_t from_mem, const dnnl_memory_desc_t *to, void *to_ptr,
                          dnnl_memory_t to_mem)
{
    /* made, run and freed here, on one thread: oneDNN's own scratchpad */
    prim r = {0};
    CHECK(dnnl_reorder_primitive_desc_create(&r.pd, from, ctx->engine, to, ctx->engine, NULL));
    if (dnnl_primitive_create(&r.p, r.pd) != dnnl_success) {
        free_prim(&r);
        return apf_fail(APF_E_BACKEND, "oneDNN: reorder failed");
    }
    bind b[2] = {{DNNL_ARG_FROM, from, from_ptr, from_mem, NULL}, {DNNL_ARG_TO, to, to_ptr, to_mem, NULL}};
    apf_status st = run(ctx, &r, b, 2);
    free_prim(&r);
    return st;
}

static const dnnl_memory_desc_t *query(const prim *p, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(p->pd, what, 0);
}

static apf_status alloc_like(eng_ctx *ctx, const prim *p, dnnl_query_t what, dnnl_memory_t *out)
{
    CHECK(dnnl_memory_create(out, query(p, what), ctx->engine, DNNL_MEMORY_ALLOCATE));
    return APF_OK;
}

static eng_layer *new_layer(eng_ctx *ctx, enum kind k, int flags)
{
    eng_layer *l = calloc(1, sizeof *l);
    if (l) {
        l->kind = k;
        l->ctx = ctx;
        l->flags = flags;
    }
    return l;
}

#define TRY(x)                    \
    do {                          \
        if ((st = (x)) != APF_OK) \
            goto fail;            \
    } while (0)

/* Inside the create functions: on failure release the half-built layer. */
#define TRYD(call)                                                                       \
    do {                                                                                 \
        dnnl_status_t s_ = (call);                                                       \
        if (s_ != dnnl_success) {                                                        \
            st = apf_fail(APF_E_BACKEND, "oneDNN: %s failed (%d)", #call, (int)s_);      \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

/* Two kinds of convolution take their backward-to-input as a forward 1x1
 * convolution from ddst's O channels ("lowered"), which oneDNN runs better
 * than its backward-data kernels there:
 *
 * - Few input channels (the image layer): oneDNN's direct backward kernels
 *   vectorise over input channels, so on an RGB image (3 of 8 lanes) the
 *   first layer ran at 30-48 GFLOP/s, ~4% of a MobileFaceNet
 *   forward+backward pass on its own. Instead: col = ddst x W, a 1x1
 *   convolution to the kh*kw*c taps of each output pixel (padded to 8, well
 *   vectorised), then every input pixel sums the taps that read it
 *   (col2im.c).
 * - Pointwise (1x1, stride 1, no padding): the backward-to-input is exactly
 *   the forward convolution with the weights transposed, written straight
 *   into dsrc. oneDNN's jit_1x1 backward-data kernel is slower when dsrc has
 *   fewer channels than ddst (MobileFaceNet's expansions, e.g. 128 -> 64
 *   channels at 28x28: 113 us against 81 us for the same work forward). */
static int pointwise(const eng_conv_desc *d)
{
    return d->groups == 1 && d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 &&
           d->dh == 1 && d->dw == 1 && !(d->pt | d->pb | d->pl | d->pr);
}

static int lowered_wanted(const eng_conv_desc *d, int flags)
{
    return (flags & ENG_TRAIN_DATA) && d->groups == 1 &&
           ((d->c <= 4 && d->kh * d->kw > 1) || pointwise(d));
}

/* Strided depthwise convolutions take their backward-to-input as a gather
 * in C (dw_adjoint.c): in the model, oneDNN 2.6's jit_dw backward-data
 * kernel ran MobileFaceNet's stride-2 ones at 2-3x their forward time
 * (56x56x128 -> 28x28: 117-150 us against 36-62 us forward, per-node best of
 * 1000-1500 passes). Stride 1 stays with oneDNN (backward as fast as
 * forward there). */
static int depthwise_gather_wanted(const eng_conv_desc *d, int flags)
{
    return (flags & ENG_TRAIN_DATA) && d->c > 1 && d->groups == d->c && d->o == d->c &&
           (d->sh > 1 || d->sw > 1) && d->kh * d->kw <= DW_ADJOINT_MAX_TAPS;
}

static apf_status lowered_create(eng_ctx *ctx, eng_layer *l)
{
    const eng_conv_desc *d = &l->geom;
    int direct = pointwise(d);
    l->col_k = d->kh * d->kw * d->c;
    l->col_kpad = direct ? d->c : (l->col_k + 7) / 8 * 8;
    dnnl_dims_t col = {d->n, l->col_kpad, d->oh, d->ow}, wd = {l->col_kpad, d->o, 1, 1};
    dnnl_dims_t one = {1, 1}, zero = {0, 0};
    dnnl_memory_desc_t w_any;
    dnnl_memory_desc_init_by_tag(&l->col_md, 4, col, dnnl_f32, dnnl_nhwc);
    dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                             &l->dst_md, &w_any, NULL, &l->col_md, one, zero, zero));
    apf_status st = make_prim(ctx, &cd, NULL, NULL, &l->low);
    if (st)
        return st;
    if ((st = alloc_like(ctx, &l->low, dnnl_query_weights_md, &l->w_low)))
        return st;
    if (direct)
        return APF_OK; /* no columns: the 1x1 convolution writes dsrc */
    CHECK(dnnl_memory_create(&l->col, &l->col_md, ctx->engine, DNNL_MEMORY_ALLOCATE));
    if (!(l->gather = col2im_make(d)))
        return apf_fail(APF_E_NOMEM, "conv: out of memory");
    return APF_OK;
}

/* Plain OHWI weights (o rows of kh*kw*c taps) transposed to the 1x1
 * convolution's kpad x o, zero rows for the padding. */
static apf_status lowered_set_weights(eng_layer *l, const float *w)
{
    int o = l->geom.o, k = l->col_k, kpad = l->col_kpad;
    float *t = calloc((size_t)kpad * o, sizeof *t);
    if (!t)
        return apf_fail(APF_E_NOMEM, "conv: out of memory");
    for (int oc = 0; oc < o; oc++)
        for (int j = 0; j < k; j++)
            t[(size_t)j * o + oc] = w[(size_t)oc * k + j];
    dnnl_dims_t wd = {kpad, o, 1, 1};
    dnnl_memory_desc_t user;
    dnnl_memory_desc_init_by_tag(&user, 4, wd, dnnl_f32, dnnl_ohwi);
    apf_status st = reorder(l->ctx, &user, t, NULL, query(&l->low, dnnl_query_weights_md), NULL, l->w_low);
    free(t);
    return st;
}

static apf_status lowered_backward(eng_layer *l, const float *ddst, float *dsrc)
{
    bind b[3] = {{DNNL_ARG_SRC, &l->dst_md, ddst, NULL, &l->user_dst},
                 {DNNL_ARG_WEIGHTS, NULL, NULL, l->w_low, NULL},
                 {DNNL_ARG_DST, NULL, NULL, l->col, NULL}};
    if (!l->gather) { /* pointwise: straight into dsrc */
        b[2].md = &l->src_md;
        b[2].ptr = dsrc;
        b[2].mem = NULL;
        b[2].slot = &l->user_src;
    }
    apf_status st = run(l->ctx, &l->low, b, 3);
    if (st || !l->gather)
        return st;
    void *cp = NULL;
    CHECK(dnnl_memory_get_data_handle(l->col, &cp));
    col2im_run(l->gather, cp, l->col_kpad, dsrc);
    return APF_OK;
}

apf_status eng_conv_create(eng_ctx *ctx, const eng_conv_desc *d, int flags, eng_layer **out)
{
    apf_status st;
    if (d->groups < 1 || d->c % d->groups || d->o % d->groups)
        return apf_fail(APF_E_INVALID, "conv: bad groups");
    eng_layer *l = new_layer(ctx, K_CONV, flags);
    if (!l)
        return apf_fail(APF_E_NOMEM, "conv: out of memory");
    l->geom = *d;
    dnnl_dims_t src = {d->n, d->c, d->h, d->w}, dst = {d->n, d->o, d->oh, d->ow};
    dnnl_dims_t bias = {d->o};
    dnnl_dims_t strides = {d->sh, d->sw}, dil = {d->dh - 1, d->dw - 1};
    dnnl_dims_t pl = {d->pt, d->pl}, pr = {d->pb, d->pr};
    dnnl_memory_desc_t w_any;
    int g = d->groups;
    if (g > 1) {
        dnnl_dims_t wd = {g, d->o / g, d->c / g, d->kh, d->kw};
        dnnl_memory_desc_init_by_tag(&l->w_user_md, 5, wd, dnnl_f32, dnnl_gohwi);
        dnnl_memory_desc_init_by_tag(&w_any, 5, wd, dnnl_f32, dnnl_format_tag_any);
    } else {
        dnnl_dims_t wd = {d->o, d->c, d->kh, d->kw};
        dnnl_memory_desc_init_by_tag(&l->w_user_md, 4, wd, dnnl_f32, dnnl_ohwi);
        dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any);
    }
    l->w_count = (size_t)d->o * (d->c / g) * d->kh * d->kw;
    l->b_count = (size_t)d->o;
    dnnl_memory_desc_init_by_tag(&l->src_md, 4, src, dnnl_f32, dnnl_nhwc);
    dnnl_memory_desc_init_by_tag(&l->dst_md, 4, dst, dnnl_f32, dnnl_nhwc);
    dnnl_memory_desc_init_by_tag(&l->b_md, 1, bias, dnnl_f32, dnnl_a);

    dnnl_convolution_desc_t cd;
    dnnl_prop_kind_t prop = flags ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (dnnl_dilated_convolution_forward_desc_init(&cd, prop, dnnl_convolution_direct, &l->src_md,
                                                   &w_any, &l->b_md, &l->dst_md, strides, dil, pl,
                                                   pr) != dnnl_success) {
        st = apf_fail(APF_E_INVALID, "conv: oneDNN rejected the shape");
        goto fail;
    }
    if (d->has_clip) {
        dnnl_primitive_attr_create(&attr);
        dnnl_post_ops_create(&po);
        dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip_v2, d->clip_lo, d->clip_hi);
        dnnl_primitive_attr_set_post_ops(attr, po);
    }
    st = make_prim(ctx, &cd, attr, NULL, &l->fwd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (st)
        goto fail;
    TRY(alloc_like(ctx, &l->fwd, dnnl_query_weights_md, &l->w_fwd));
    TRYD(dnnl_memory_create(&l->bias, &l->b_md, ctx->engine, DNNL_MEMORY_ALLOCATE));
    if (lowered_wanted(d, flags)) {
        TRY(lowered_create(ctx, l));
    } else if (depthwise_gather_wanted(d, flags)) {
        if (!(l->dw_gather = dw_adjoint_make(d))) {
            st = apf_fail(APF_E_NOMEM, "conv: out of memory");
            goto fail;
        }
    } else if (flags & ENG_TRAIN_DATA) {
        dnnl_convolution_desc_t bd;
        if (dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &l->src_md,
                                                             &w_any, &l->dst_md, strides, dil, pl,
                                                             pr) != dnnl_success) {
            st = apf_fail(APF_E_INVALID, "conv: backward shape rejected");
            goto fail;
        }
        TRY(make_prim(ctx, &bd, NULL, l->fwd.pd, &l->bwd_data));
        TRY(alloc_like(ctx, &l->bwd_data, dnnl_query_weights_md, &l->w_bwd));
    }
    if (flags & ENG_TRAIN_WEIGHTS) {
        dnnl_convolution_desc_t wd;
        if (dnnl_dilated_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct,
                                                                &l->src_md, &w_any, &l->b_md,
                                                                &l->dst_md, strides, dil, pl,
                                                                pr) != dnnl_success) {
            st = apf_fail(APF_E_INVALID, "conv: weight-gradient shape rejected");
            goto fail;
        }
        TRY(make_prim(ctx, &wd, NULL, l->fwd.pd, &l->bwd_w));
    }
    *out = l;
    return APF_OK;
fail:
    eng_layer_free(l);
    return st;
}

apf_status eng_fc_create(eng_ctx *ctx, int n, int ic, int oc, int flags, eng_layer **out)
{
    apf_status st;
    eng_layer *l = new_layer(ctx, K_FC, flags);
    if (!l)
        return apf_fail(APF_E_NOMEM, "fc: out of memory");
    dnnl_dims_t src = {n, ic}, dst = {n, oc}, w = {oc, ic}, b = {oc};
    dnnl_memory_desc_t w_any;
    dnnl_memory_desc_init_by_tag(&l->src_md, 2, src, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&l->dst_md, 2, dst, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&l->w_user_md, 2, w, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&w_any, 2, w, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&l->b_md, 1, b, dnnl_f32, dnnl_a);
    l->w_count = (size_t)oc * ic;
    l->b_count = (size_t)oc;
    dnnl_inner_product_desc_t d;
    dnnl_prop_kind_t prop = flags ? dnnl_forward_training : dnnl_forward_inference;
    if (dnnl_inner_product_forward_desc_init(&d, prop, &l->src_md, &w_any, &l->b_md, &l->dst_md) !=
        dnnl_success) {
        st = apf_fail(APF_E_INVALID, "fc: oneDNN rejected the shape");
        goto fail;
    }
    TRY(make_prim(ctx, &d, NULL, NULL, &l->fwd));
    TRY(alloc_like(ctx, &l->fwd, dnnl_query_weights_md, &l->w_fwd));
    TRYD(dnnl_memory_create(&l->bias, &l->b_md, ctx->engine, DNNL_MEMORY_ALLOCATE));
    if (flags & ENG_TRAIN_DATA) {
        dnnl_inner_product_desc_t bd;
        TRYD(dnnl_inner_product_backward_data_desc_init(&bd, &l->src_md, &w_any, &l->dst_md));
        TRY(make_prim(ctx, &bd, NULL, l->fwd.pd, &l->bwd_data));
        TRY(alloc_like(ctx, &l->bwd_data, dnnl_query_weights_md, &l->w_bwd));
    }
    if (flags & ENG_TRAIN_WEIGHTS) {
        dnnl_inner_product_desc_t wd;
        TRYD(dnnl_inner_product_backward_weights_desc_init(&wd, &l->src_md, &w_any, &l->b_md,
                                                            &l->dst_md));
        TRY(make_prim(ctx, &wd, NULL, l->fwd.pd, &l->bwd_w));
    }
    *out = l;
    return APF_OK;
fail:
    eng_layer_free(l);
    return st;
}

apf_status eng_pool_create(eng_ctx *ctx, const eng_pool_desc *d, int flags, eng_layer **out)
{
    apf_status st;
    eng_layer *l = new_layer(ctx, K_POOL, flags & ENG_TRAIN_DATA);
    if (!l)
        return apf_fail(APF_E_NOMEM, "pool: out of memory");
    dnnl_dims_t src = {d->n, d->c, d->h, d->w}, dst = {d->n, d->c, d->oh, d->ow};
    dnnl_dims_t k = {d->kh, d->kw}, s = {d->sh, d->sw}, dil = {0, 0};
    dnnl_dims_t pl = {d->pt, d->pl}, pr = {d->pb, d->pr};
    dnnl_memory_desc_init_by_tag(&l->src_md, 4, src, dnnl_f32, dnnl_nhwc);
    dnnl_memory_desc_init_by_tag(&l->dst_md, 4, dst, dnnl_f32, dnnl_nhwc);
    dnnl_alg_kind_t alg = d->is_max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
    dnnl_prop_kind_t prop = (flags & ENG_TRAIN_DATA) ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_pooling_v2_desc_t pd;
    if (dnnl_pooling_v2_forward_desc_init(&pd, prop, alg, &l->src_md, &l->dst_md, s, k, dil, pl, pr) !=
        dnnl_success) {
        st = apf_fail(APF_E_INVALID, "pool: oneDNN rejected the shape");
        goto fail;
    }
    TRY(make_prim(ctx, &pd, NULL, NULL, &l->fwd));
    if (flags & ENG_TRAIN_DATA) {
        const dnnl_memory_desc_t *ws = query(&l->fwd, dnnl_query_workspace_md);
        if (ws && dnnl_memory_desc_get_size(ws) > 0)
            TRYD(dnnl_memory_create(&l->ws, ws, ctx->engine, DNNL_MEMORY_ALLOCATE));
        dnnl_pooling_v2_desc_t bd;
        TRYD(dnnl_pooling_v2_backward_desc_init(&bd, alg, &l->src_md, &l->dst_md, s, k, dil, pl, pr));
        TRY(make_prim(ctx, &bd, NULL, l->fwd.pd, &l->bwd_data));
    }
    *out = l;
    return APF_OK;
fail:
    eng_layer_free(l);
    return st;
}

apf_status eng_layer_set_weights(eng_layer *l, const float *w, const float *bias)
{
    apf_status st;
    if (l->kind == K_POOL)
        return apf_fail(APF_E_INVALID, "pool has no weights");
    if ((st = reorder(l->ctx, &l->w_user_md, w, NULL, query(&l->fwd, dnnl_query_weights_md), NULL,
                      l->w_fwd)))
        return st;
    if (l->w_bwd &&
        (st = reorder(l->ctx, &l->w_user_md, w, NULL, query(&l->bwd_data, dnnl_query_weights_md),
                      NULL, l->w_bwd)))
        return st;
    if (l->low.p && (st = lowered_set_weights(l, w)))
        return st;
    if (l->dw_gather)
        dw_adjoint_set_weights(l->dw_gather, w);
    void *bp = NULL;
    CHECK(dnnl_memory_get_data_handle(l->bias, &bp));
    memcpy(bp, bias, l->b_count * sizeof(float));
    return APF_OK;
}

apf_status eng_layer_forward(eng_layer *l, const float *src, float *dst)
{
    if (l->kind == K_POOL) {
        bind b[3] = {{DNNL_ARG_SRC, &l->src_md, src, NULL, &l->user_src},
                     {DNNL_ARG_DST, &l->dst_md, dst, NULL, &l->user_dst},
                     {DNNL_ARG_WORKSPACE, NULL, NULL, l->ws, NULL}};
        return run(l->ctx, &l->fwd, b, l->ws ? 3 : 2);
    }
    bind b[4] = {{DNNL_ARG_SRC, &l->src_md, src, NULL, &l->user_src},
                 {DNNL_ARG_WEIGHTS, NULL, NULL, l->w_fwd, NULL},
                 {DNNL_ARG_BIAS, NULL, NULL, l->bias, NULL},
                 {DNNL_ARG_DST, &l->dst_md, dst, NULL, &l->user_dst}};
    return run(l->ctx, &l->fwd, b, 4);
}

apf_status eng_layer_backward_data(eng_layer *l, const float *ddst, float *dsrc)
{
    if (l->low.p)
        return lowered_backward(l, ddst, dsrc);
    if (l->dw_gather) {
        dw_adjoint_run(l->dw_gather, ddst, dsrc);
        return APF_OK;
    }
    if (!l->bwd_data.p)
        return apf_fail(APF_E_STATE, "layer built without backward-to-input");
    if (l->kind == K_POOL) {
        bind b[3] = {{DNNL_ARG_DIFF_DST, &l->dst_md, ddst, NULL, &l->user_dst},
                     {DNNL_ARG_DIFF_SRC, &l->src_md, dsrc, NULL, &l->user_src},
                     {DNNL_ARG_WORKSPACE, NULL, NULL, l->ws, NULL}};
        return run(l->ctx, &l->bwd_data, b, l->ws ? 3 : 2);
    }
    bind b[3] = {{DNNL_ARG_DIFF_DST, &l->dst_md, ddst, NULL, &l->user_dst},
                 {DNNL_ARG_WEIGHTS, NULL, NULL, l->w_bwd, NULL},
                 {DNNL_ARG_DIFF_SRC, &l->src_md, dsrc, NULL, &l->user_src}};
    return run(l->ctx, &l->bwd_data, b, 3);
}

apf_status eng_layer_backward_weights(eng_layer *l, const float *src, const float *ddst, float *dw,
                                      float *db)
{
    apf_status st;
    if (!l->bwd_w.p)
        return apf_fail(APF_E_STATE, "layer built without backward-to-weights");
    dnnl_memory_t dwm = NULL;
    const dnnl_memory_desc_t *dw_md = query(&l->bwd_w, dnnl_query_diff_weights_md);
    CHECK(dnnl_memory_create(&dwm, dw_md, l->ctx->engine, DNNL_MEMORY_ALLOCATE));
    bind b[4] = {{DNNL_ARG_SRC, &l->src_md, src, NULL, &l->user_src},
                 {DNNL_ARG_DIFF_DST, &l->dst_md, ddst, NULL, &l->user_dst},
                 {DNNL_ARG_DIFF_WEIGHTS, NULL, NULL, dwm, NULL},
                 {DNNL_ARG_DIFF_BIAS, &l->b_md, db, NULL, &l->user_bias}};
    st = run(l->ctx, &l->bwd_w, b, 4);
    if (!st)
        st = reorder(l->ctx, dw_md, NULL, dwm, &l->w_user_md, dw, NULL);
    dnnl_memory_destroy(dwm);
    return st;
}

const char *eng_layer_impl(const eng_layer *l)
{
    const char *impl = "?";
    if (l && l->fwd.pd)
        dnnl_primitive_desc_query(l->fwd.pd, dnnl_query_impl_info_str, 0, &impl);
    return impl;
}

void eng_layer_free(eng_layer *l)
{
    if (!l)
        return;
    free_prim(&l->fwd);
    free_prim(&l->bwd_data);
    free_prim(&l->bwd_w);
    free_prim(&l->low);
    col2im_free(l->gather);
    dw_adjoint_free(l->dw_gather);
    if (l->w_low)
        dnnl_memory_destroy(l->w_low);
    if (l->col)
        dnnl_memory_destroy(l->col);
    if (l->w_fwd)
        dnnl_memory_destroy(l->w_fwd);
    if (l->w_bwd)
        dnnl_memory_destroy(l->w_bwd);
    if (l->bias)
        dnnl_memory_destroy(l->bias);
    if (l->ws)
        dnnl_memory_destroy(l->ws);
    dnnl_memory_t user[3] = {l->user_src, l->user_dst, l->user_bias};
    for (int i = 0; i < 3; i++)
        if (user[i])
            dnnl_memory_destroy(user[i]);
    free(l);
}
