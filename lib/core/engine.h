/* The engine layer: the only part of libapf that speaks oneDNN.
 *
 * It offers the compute-heavy layers (convolution, fully connected, pooling)
 * as small objects that each own their forward and backward primitives for
 * one fixed batch shape. Activations are always plain NHWC float buffers
 * owned by the caller; weights are given plain (OHWI / OI) and reordered once
 * into whatever layout the chosen kernels prefer.
 */
#ifndef APF_ENGINE_H
#define APF_ENGINE_H

#include "internal.h"

typedef struct eng_ctx eng_ctx;
typedef struct eng_layer eng_layer;

enum {
    ENG_TRAIN_DATA = 1,    /* build backward-to-input primitives */
    ENG_TRAIN_WEIGHTS = 2, /* build backward-to-weights primitives */
};

typedef struct eng_conv_desc {
    int n, h, w, c;          /* input */
    int o, kh, kw;           /* output channels, kernel */
    int sh, sw;              /* strides */
    int pt, pb, pl, pr;      /* explicit zero padding */
    int groups;              /* 1, or c for depthwise */
    int dh, dw;              /* dilation, 1 = dense */
    int oh, ow;              /* output size (checked against the above) */
    int has_clip;            /* fuse y = clamp(y, lo, hi) as a post-op */
    float clip_lo, clip_hi;
} eng_conv_desc;

typedef struct eng_pool_desc {
    int n, h, w, c;
    int kh, kw, sh, sw, pt, pb, pl, pr;
    int oh, ow;
    int is_max;              /* max pooling, else average excluding padding */
} eng_pool_desc;

#define eng_ctx_create apf__eng_ctx_create
#define eng_ctx_free apf__eng_ctx_free
APF_PRIVATE apf_status eng_ctx_create(eng_ctx **out);
APF_PRIVATE void eng_ctx_free(eng_ctx *ctx);

apf_status eng_conv_create(eng_ctx *ctx, const eng_conv_desc *d, int flags, eng_layer **out);
/* n x ic -> n x oc; the input is any NHWC tensor flattened. */
apf_status eng_fc_create(eng_ctx *ctx, int n, int ic, int oc, int flags, eng_layer **out);
apf_status eng_pool_create(eng_ctx *ctx, const eng_pool_desc *d, int flags, eng_layer **out);

/* Conv and FC: load plain weights (conv OHWI with I = c/groups, FC OI) and
 * bias. Call again after a weight update. */
apf_status eng_layer_set_weights(eng_layer *l, const float *w, const float *bias);
apf_status eng_layer_forward(eng_layer *l, const float *src, float *dst);
/* dsrc = d(loss)/d(src) given ddst; overwrites dsrc. */
apf_status eng_layer_backward_data(eng_layer *l, const float *ddst, float *dsrc);
/* Conv and FC only: plain-layout weight and bias gradients (overwritten). */
apf_status eng_layer_backward_weights(eng_layer *l, const float *src, const float *ddst,
                                      float *dw, float *db);
/* Name of the kernel the forward primitive picked (e.g. "jit:avx2"). */
const char *eng_layer_impl(const eng_layer *l);
void eng_layer_free(eng_layer *l);

#endif
